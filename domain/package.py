"""What an owner can buy: a duration at a price."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidPackage
from domain.ids import checked_id


class DurationUnit(StrEnum):
    MONTHS = "months"
    DAYS = "days"


@dataclass(frozen=True)
class Duration:
    unit: DurationUnit
    count: int

    def __post_init__(self) -> None:
        limit = 120 if self.unit is DurationUnit.MONTHS else 3660
        if not 1 <= self.count <= limit:
            raise InvalidPackage("package_duration", unit=self.unit.value, most=limit)


@dataclass(frozen=True)
class Package:
    id: str
    lot_id: str
    name: str
    duration: Duration
    price_fen: int
    """Integer fen (分); never a float."""
    enabled: bool = True
    position: int = 0
    """Where it stands on the owner's list (lower first; equal ones by price)."""

    def __post_init__(self) -> None:
        checked_id("package_id", self.id)
        checked_id("lot_id", self.lot_id)
        if not self.name.strip():
            raise InvalidPackage("package_name")
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int):
            raise InvalidPackage("price_fen")
        if self.price_fen <= 0:
            raise InvalidPackage("price_positive")
