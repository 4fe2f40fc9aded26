"""A fixed-window limit per caller on the routes an attacker would hammer (login, payment notifications).

Counted in the shared store, so every Lambda container sees the same count.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import RateLimited
from handlers.ports import RateCounter


def limit(counter: RateCounter, route: str, caller: str, per_minute: int, now: datetime) -> None:
    window = int(now.timestamp()) // 60
    key = f"rate:{route}:{caller[:64]}:{window}"
    if counter.hit(key, datetime.fromtimestamp((window + 2) * 60, now.tzinfo)) > per_minute:
        raise RateLimited(60 - int(now.timestamp()) % 60)
