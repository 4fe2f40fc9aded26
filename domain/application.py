"""Applying for a new card at a lot, and the office's answer.

An approval takes one of the lot's monthly places and creates a pending card
the owner pays for with a normal renewal order. When the lot is full the
application waits on the lot's list in the order applications arrived, and
is offered the next place that frees up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from domain.card import MAX_PLATES_PER_CARD, Card, CardState
from domain.errors import ApplicationClosed, InvalidCard
from domain.ids import checked_id
from domain.lot import Lot


class ApplicationState(StrEnum):
    SUBMITTED = "submitted"
    """In the office's queue."""
    WAITLISTED = "waitlisted"
    """Approved in principle, but the lot is full: waits for a place, first come first served."""
    APPROVED = "approved"
    """A place is held: a pending card waits for the first payment."""
    REJECTED = "rejected"
    LAPSED = "lapsed"
    """Approved but not paid for in time: the place went to the next in line."""


OPEN = (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED, ApplicationState.APPROVED)
"""While one of these, the application holds its plates in the lot."""


@dataclass(frozen=True)
class Application:
    id: str
    lot_id: str
    owner_id: str
    plates: tuple[str, ...]
    package_id: str
    note: str
    state: ApplicationState
    applied_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    """Why it was rejected, shown to the owner."""
    card_id: str | None = None
    pay_by: date | None = None

    def __post_init__(self) -> None:
        checked_id("application_id", self.id)
        if len(self.id) > 59:
            raise InvalidCard("an application id is at most 59 characters (its card's id adds 5)")
        checked_id("lot_id", self.lot_id)
        checked_id("package_id", self.package_id)
        if not 1 <= len(self.plates) <= MAX_PLATES_PER_CARD or len(set(self.plates)) != len(self.plates):
            raise InvalidCard(f"an application names 1 to {MAX_PLATES_PER_CARD} different plates")
        if len(self.note) > 200:
            raise InvalidCard("the note is at most 200 characters")

    @property
    def queue_key(self) -> str:
        """Its place in the lot's waiting list: arrival time, then id for applications in the same instant."""
        return f"{self.applied_at.astimezone(UTC).isoformat(timespec='microseconds')}#{self.id}"


def card_id_for(application: Application) -> str:
    """The card an approval creates has an id derived from the application, so approving twice creates one."""
    return f"card-{application.id}"


def application_id_of(card: Card) -> str | None:
    """The application a pending card came from (cards approved online carry `pay_by`)."""
    return card.id.removeprefix("card-") if card.pay_by is not None and card.id.startswith("card-") else None


def approved(application: Application, lot: Lot, card_id: str, actor: str, at: datetime) -> tuple[Application, Card]:
    """The application approved and its pending card, to be paid for within the lot's days."""
    _still_open(application, ApplicationState.APPROVED)
    if len(application.plates) > lot.cards.max_plates:
        raise InvalidCard(f"a card at {lot.name} carries at most {lot.cards.max_plates} plate(s)")
    pay_by = lot.today(at) + timedelta(days=lot.cards.pay_within_days)
    card = Card(card_id, lot.id, application.owner_id, application.plates, None, None, CardState.PENDING, pay_by=pay_by)
    decided = replace(
        application,
        state=ApplicationState.APPROVED,
        decided_at=at,
        decided_by=actor,
        card_id=card_id,
        pay_by=pay_by,
    )
    return decided, card


def waitlisted(application: Application, actor: str, at: datetime) -> Application:
    _still_open(application, ApplicationState.WAITLISTED)
    return replace(application, state=ApplicationState.WAITLISTED, decided_at=at, decided_by=actor)


def rejected(application: Application, actor: str, at: datetime, reason: str) -> Application:
    if application.state is ApplicationState.REJECTED:
        return application
    _still_open(application, ApplicationState.REJECTED)
    if application.state is ApplicationState.APPROVED:
        raise ApplicationClosed("this application was approved; cancel its card instead")
    return replace(application, state=ApplicationState.REJECTED, decided_at=at, decided_by=actor, reason=reason)


def _still_open(application: Application, to: ApplicationState) -> None:
    if application.state not in (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED):
        raise ApplicationClosed(f"this application is {application.state.value}; it cannot become {to.value}")
