"""In-memory adapters for unit tests of handlers. They keep the ports' contracts (create-if-absent, versions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.card import Card
from domain.errors import StaleCard
from domain.lot import Lot
from domain.owner import Owner
from domain.package import Package
from functions.bootstrap import Services


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class FakeLots:
    def __init__(self) -> None:
        self.items: dict[str, Lot] = {}

    def get(self, lot_id: str) -> Lot | None:
        return self.items.get(lot_id)

    def add(self, lot: Lot) -> bool:
        return self.items.setdefault(lot.id, lot) is lot


class FakePackages:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Package] = {}

    def list_for_lot(self, lot_id: str) -> list[Package]:
        return [p for (lot, _), p in sorted(self.items.items()) if lot == lot_id]

    def get(self, lot_id: str, package_id: str) -> Package | None:
        return self.items.get((lot_id, package_id))

    def add(self, package: Package) -> bool:
        return self.items.setdefault((package.lot_id, package.id), package) is package


class FakeCards:
    def __init__(self) -> None:
        self.items: dict[str, Card] = {}

    def get(self, card_id: str) -> Card | None:
        return self.items.get(card_id)

    def add(self, card: Card) -> bool:
        if card.id in self.items:
            return False
        self.items[card.id] = replace(card, version=1)
        return True

    def save(self, card: Card) -> Card:
        stored = self.items.get(card.id)
        if (stored.version if stored else 0) != card.version:
            raise StaleCard(card.id)
        self.items[card.id] = saved = replace(card, version=card.version + 1)
        return saved

    def list_for_owner(self, owner_id: str) -> list[Card]:
        return [c for c in self.items.values() if c.owner_id == owner_id]


class FakeOwners:
    def __init__(self) -> None:
        self.items: dict[str, Owner] = {}

    def get(self, owner_id: str) -> Owner | None:
        return self.items.get(owner_id)

    def add(self, owner: Owner) -> bool:
        return self.items.setdefault(owner.id, owner) is owner


def fake_services(now: datetime) -> Services:
    return Services(FixedClock(now), FakeLots(), FakePackages(), FakeCards(), FakeOwners())
