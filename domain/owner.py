"""A car owner, known to us by the WeChat (or Alipay) identity they log in with."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ids import checked_id

MAX_VEHICLES_PER_OWNER = 5


@dataclass(frozen=True)
class Owner:
    id: str
    openid: str
    unionid: str | None = None
    phone: str | None = None
    """Plain text in memory only; the store keeps it encrypted and answers show it masked."""
    vehicles: tuple[str, ...] = ()
    """Normalised plates the owner registered, in no particular order."""
    oa_openid: str | None = None
    """Their openid in the official account, when they follow it."""

    def __post_init__(self) -> None:
        checked_id("owner_id", self.id)
