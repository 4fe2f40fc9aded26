"""Ports shared by several use cases. Adapters in infra/ implement them.

`add` creates only when absent and answers whether it did, so seeding and
retries never overwrite what is there. `save` of a card is conditional on its
version (optimistic locking) and raises StaleCard when someone wrote first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.card import Card
from domain.lot import Lot
from domain.owner import Owner
from domain.package import Package


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, time-zone aware (UTC on Lambda)."""
        ...


class LotRepository(Protocol):
    def get(self, lot_id: str) -> Lot | None: ...

    def add(self, lot: Lot) -> bool: ...


class PackageRepository(Protocol):
    def list_for_lot(self, lot_id: str) -> list[Package]: ...

    def get(self, lot_id: str, package_id: str) -> Package | None: ...

    def add(self, package: Package) -> bool: ...


class CardRepository(Protocol):
    def get(self, card_id: str) -> Card | None: ...

    def add(self, card: Card) -> bool: ...

    def save(self, card: Card) -> Card:
        """Write `card` if the stored version is still `card.version`; return it with the new version."""
        ...

    def list_for_owner(self, owner_id: str) -> list[Card]: ...


class OwnerRepository(Protocol):
    def get(self, owner_id: str) -> Owner | None: ...

    def add(self, owner: Owner) -> bool: ...
