"""A car owner, known to us by the WeChat (or Alipay) identity they log in with."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ids import checked_id


@dataclass(frozen=True)
class Owner:
    id: str
    openid: str
    unionid: str | None = None

    def __post_init__(self) -> None:
        checked_id("owner_id", self.id)
