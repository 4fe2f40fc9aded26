"""A fixed-window limit per caller on the routes an attacker would hammer (login, payment notifications).

Counted in the shared store, so every Lambda container sees the same count.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from domain.errors import InvalidInput, RateLimited
from handlers.ports import RateCounter

T = TypeVar("T")


def caller_key(address: str) -> str:
    """What limits count an address as: an IPv6 address by its /64 (one subscriber's whole prefix, which
    they can rotate through at will), anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def limit(counter: RateCounter, route: str, caller: str, per_minute: int, now: datetime) -> None:
    key, ends = _window(route, caller, now)
    if counter.hit(key, ends) > per_minute:
        raise RateLimited(60 - int(now.timestamp()) % 60)


def refused_at_most(
    counter: RateCounter, route: str, caller: str, per_minute: int, now: datetime, call: Callable[[], T]
) -> T:
    """`call`, unless it was refused (an InvalidInput) `per_minute` times for this caller in this minute:
    what is counted is refusals, so retries that succeed never meet the limit."""
    key, ends = _window(route, caller, now)
    if counter.count(key) >= per_minute:
        raise RateLimited(60 - int(now.timestamp()) % 60)
    try:
        return call()
    except InvalidInput:
        counter.hit(key, ends)
        raise


def _window(route: str, caller: str, now: datetime) -> tuple[str, datetime]:
    window = int(now.timestamp()) // 60
    return f"rate:{route}:{caller_key(caller)}:{window}", datetime.fromtimestamp((window + 2) * 60, now.tzinfo)
