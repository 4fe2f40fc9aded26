"""Ports shared by several use cases. Adapters in infra/ implement them.

`add` creates only when absent and answers whether it did, so seeding and
retries never overwrite what is there. `save` of a card is conditional on its
version (optimistic locking) and raises StaleCard when someone wrote first.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class IdSource(Protocol):
    def new_id(self, kind: str) -> str: ...


class LotRepository(Protocol):
    def get(self, lot_id: str) -> Lot | None: ...

    def get_many(self, lot_ids: set[str]) -> dict[str, Lot]: ...

    def add(self, lot: Lot) -> bool: ...


class PackageRepository(Protocol):
    def list_for_lot(self, lot_id: str) -> list[Package]: ...

    def get(self, lot_id: str, package_id: str) -> Package | None: ...

    def add(self, package: Package) -> bool: ...


class CardRepository(Protocol):
    def get(self, card_id: str) -> Card | None: ...

    def add(self, card: Card) -> bool:
        """Create the card and claim its plates in its lot, together.

        False when the card exists; PlateTaken when a plate is on another card of the lot.
        """
        ...

    def import_card(self, card: Card) -> bool:
        """`add` for bulk imports: the same outcome, not in one transaction (see the adapter)."""
        ...

    def save(self, card: Card) -> Card:
        """Write the card's period and state if the stored version is still `card.version`.

        Answers the card with its new version. Plates, owner and lot are not
        changed here: plate changes move plate claims and have their own use case.
        """
        ...

    def list_for_owner(self, owner_id: str) -> list[Card]: ...

    def list_for_lot(self, lot_id: str) -> list[Card]: ...

    def card_for_plate(self, lot_id: str, plate: str) -> Card | None:
        """The card holding `plate` in the lot (through the plate's claim)."""
        ...


class OwnerRepository(Protocol):
    def get(self, owner_id: str) -> Owner | None: ...

    def find_by_wechat(self, openid: str, unionid: str | None) -> Owner | None: ...

    def add(self, owner: Owner) -> bool:
        """Create the owner and claim its WeChat identities, together; False if any is taken."""
        ...

    def store_session_key(self, owner_id: str, session_key: str) -> None: ...

    def set_phone(self, owner_id: str, phone: str) -> None: ...

    def add_vehicle(self, owner_id: str, plate: str, limit: int) -> None:
        """Add `plate` (idempotent); TooManyVehicles if that would pass `limit`."""
        ...

    def remove_vehicle(self, owner_id: str, plate: str) -> None: ...


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class SessionTokens(Protocol):
    """Our own signed tokens for owners (never WeChat's session_key)."""

    def issue(self, owner_id: str) -> IssuedTokens: ...

    def verify_access(self, token: str) -> str:
        """The owner id in a valid access token; TokenExpired or TokenInvalid otherwise."""
        ...

    def verify_refresh(self, token: str) -> str: ...
