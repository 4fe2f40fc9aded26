"""Ports shared by several use cases. Adapters in infra/ implement them.

Every change to a card, a place, an application, an order or money is a plan
(domain/plan.py) committed by the one `UnitOfWork`; the repositories here only
read (and `add` creates lots, packages and owners only when absent, so seeding
and retries never overwrite what is there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from domain.application import Application
from domain.card import Card
from domain.card_change import AuditEntry
from domain.lot import Lot
from domain.order import Order
from domain.owner import Owner
from domain.package import Package
from domain.plan import Plan


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


class UnitOfWork(Protocol):
    def commit(self, plan: Plan) -> None:
        """All of the plan in one transaction, or nothing.

        A failed condition raises the domain error the plan attached to it (the
        first in the plan's order); a collision with a concurrent transaction
        raises StaleCard or StaleLot, so the caller reads again and re-plans.
        """
        ...


class CardRepository(Protocol):
    def get(self, card_id: str) -> Card | None: ...

    def get_many(self, card_ids: set[str]) -> dict[str, Card]: ...

    def list_for_owner(self, owner_id: str) -> list[Card]: ...

    def list_for_lot(self, lot_id: str) -> list[Card]: ...

    def card_for_plate(self, lot_id: str, plate: str) -> Card | None:
        """The card holding `plate` in the lot (through the plate's claim)."""
        ...


class CardQueries(Protocol):
    """What the card jobs and the office look cards up by (sparse indexes and the audit log)."""

    def ended_before(self, day: date) -> list[Card]:
        """Active cards whose end date is before `day`."""
        ...

    def unpaid_before(self, day: date) -> list[Card]:
        """Approved, never-paid cards whose pay-by day is before `day`."""
        ...

    def pauses_to_approve(self, lot_id: str) -> list[Card]:
        """The lot's cards with a pause waiting for the office."""
        ...

    def history(self, card_id: str) -> list[AuditEntry]: ...


class ApplicationRepository(Protocol):
    def get(self, application_id: str) -> Application | None: ...

    def list_for_owner(self, owner_id: str) -> list[Application]:
        """Newest first."""
        ...

    def queue(self, lot_id: str) -> list[Application]:
        """Submitted applications waiting for the office, oldest first."""
        ...

    def waiting(self, lot_id: str, limit: int | None = None) -> list[Application]:
        """The lot's waitlist in arrival order."""
        ...

    def holding(self, lot_id: str, plate: str) -> Application | None:
        """The open application holding `plate` in the lot, if an application is what holds it."""
        ...


class OrderRepository(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def for_card(self, card_id: str) -> list[Order]:
        """The card's orders, newest first."""
        ...

    def pending(self, created_before: datetime) -> list[Order]:
        """Orders still waiting for payment, made before `created_before`."""
        ...

    def made_with(self, owner_id: str, idempotency_key: str) -> Order | None: ...

    def waiting_for(self, card_id: str) -> Order | None:
        """The card's online order waiting for payment, if any."""
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
