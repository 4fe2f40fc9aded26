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
from domain.card_change import AuditEntry, card_plan, entry_time, plate_claim
from domain.errors import ApplicationClosed, InvalidCard, PlateTaken, StaleCard
from domain.ids import checked_id
from domain.lot import Approval, Lot
from domain.plan import ApplicationWrite, Claim, Holder, Plan, Release, Take


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
    CANCELLED = "cancelled"
    """Its card was cancelled by the office (a restore makes it approved again)."""


OPEN = (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED, ApplicationState.APPROVED)
"""While one of these, the application holds its plates in the lot (unless `held_elsewhere`)."""
AUTO_APPROVAL = "system:auto-approval"


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
    held_elsewhere: tuple[str, ...] = ()
    """Its plates that were on another card or application of the lot when it came: it holds no plate then,
    and waits for the office's review (the applicant is never told who holds them)."""

    def __post_init__(self) -> None:
        checked_id("application_id", self.id)
        if len(self.id) > 59:
            raise InvalidCard("application_id_long")
        checked_id("lot_id", self.lot_id)
        checked_id("package_id", self.package_id)
        if not 1 <= len(self.plates) <= MAX_PLATES_PER_CARD or len(set(self.plates)) != len(self.plates):
            raise InvalidCard("application_plates", most=MAX_PLATES_PER_CARD)
        if len(self.note) > 200:
            raise InvalidCard("note_long", most=200)

    @property
    def holds_plates(self) -> bool:
        """I2: an open application holds its plates in the lot, unless it waits for review over them."""
        return self.state in OPEN and not self.held_elsewhere

    @property
    def queue_key(self) -> str:
        """Its place in the lot's waiting list: arrival time, then id for applications in the same instant."""
        return f"{self.applied_at.astimezone(UTC).isoformat(timespec='microseconds')}#{self.id}"


def card_id_for(application: Application) -> str:
    """The card an approval creates has an id derived from the application, so approving twice creates one."""
    return f"card-{application.id}"


def application_id_of(card: Card) -> str | None:
    """The application a card came from, if an approval created it (its id says so)."""
    return card.id.removeprefix("card-") if card.id.startswith("card-") else None


def approved(application: Application, lot: Lot, card_id: str, actor: str, at: datetime) -> tuple[Application, Card]:
    """The application approved and its pending card, to be paid for within the lot's days."""
    _still_open(application, ApplicationState.APPROVED)
    if len(application.plates) > lot.cards.max_plates:
        raise InvalidCard("too_many_plates", lot=lot.name, most=lot.cards.max_plates)
    unseen = lot.cards.approval is Approval.AUTO and actor.startswith("system:")  # no one at the office looked
    days = lot.cards.auto_pay_within_days if unseen else lot.cards.pay_within_days
    pay_by = lot.today(at) + timedelta(days=days)
    card = Card(card_id, lot.id, application.owner_id, application.plates, None, None, CardState.PENDING, pay_by=pay_by)
    decided = replace(
        application,
        state=ApplicationState.APPROVED,
        decided_at=at,
        decided_by=actor,
        card_id=card_id,
        pay_by=pay_by,
        held_elsewhere=(),
    )
    return decided, card


def waitlisted(application: Application, actor: str, at: datetime) -> Application:
    _still_open(application, ApplicationState.WAITLISTED)
    return replace(application, state=ApplicationState.WAITLISTED, decided_at=at, decided_by=actor, held_elsewhere=())


def rejected(application: Application, actor: str, at: datetime, reason: str) -> Application:
    if application.state is ApplicationState.REJECTED:
        return application
    _still_open(application, ApplicationState.REJECTED)
    if application.state is ApplicationState.APPROVED:
        raise ApplicationClosed("application_approved")
    return replace(application, state=ApplicationState.REJECTED, decided_at=at, decided_by=actor, reason=reason)


def _still_open(application: Application, to: ApplicationState) -> None:
    if application.state not in (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED):
        raise ApplicationClosed("application_closed", state=application.state.value, to=to.value)


def application_audit(
    before: Application, at: datetime, actor: str, action: str, reason: str | None, after: Application | None
) -> AuditEntry:
    return AuditEntry(
        f"application:{before.id}",
        f"{entry_time(at)}#{action}",
        at,
        actor,
        action,
        reason,
        {"state": before.state.value},
        {"state": after.state.value, "card_id": after.card_id} if after else None,
    )


_UNDECIDED = (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED)


@dataclass(frozen=True)
class ApplicationDecided:
    """After the commit: the owner hears of a decision they did not see happen (the office's, the waitlist's)."""

    application: Application
    lot_name: str


def application_slot(lot_id: str, owner_id: str, n: int) -> str:
    """One of an owner's `open_applications_per_owner` places for applications at a lot (a claim)."""
    return f"applying:{lot_id}:{owner_id}:{n}"


def occupies_slot(application: Application, card: Card | None) -> bool:
    """In review, on the waitlist, or approved and its card not yet paid for."""
    if application.state in (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED):
        return True
    return application.state is ApplicationState.APPROVED and card is not None and card.state is CardState.PENDING


def submit_plan(application: Application, actor: str, slot: str, freed_from: str | None) -> Plan:
    """A new application in one of its owner's slots at the lot (taken over from `freed_from`, an application
    that no longer occupies it), holding its plates while it is open (I2) unless they wait for review."""
    holder = Holder("application_id", freed_from) if freed_from else None
    takes = [Take(Claim(slot, application.owner_id, application_id=application.id), StaleCard(slot), holder)]
    if not application.held_elsewhere:
        takes += [Take(_plate(application, p), PlateTaken(p)) for p in application.plates]
    audit = application_audit(application, application.applied_at, actor, "apply", None, None)
    return Plan(applications=(ApplicationWrite(application),), takes=tuple(takes), audit=(audit,))


def _plate(application: Application, plate: str) -> Claim:
    return Claim(plate_claim(application.lot_id, plate), application.owner_id, application_id=application.id)


def approval_plan(application: Application, lot: Lot, actor: str, at: datetime) -> tuple[Application, Plan]:
    """Approved into one of the lot's places (`held < quota`, I1) with a new pending card holding its plates."""
    decided, card = approved(application, lot, card_id_for(application), actor, at)
    closed = ApplicationClosed("application_decided")
    plan = card_plan(None, card, lot, at, actor, "approve", claims_from=Holder("application_id", application.id))
    plan = replace(plan, cards=tuple(replace(c, error=closed) for c in plan.cards))
    decision = Plan(
        applications=(ApplicationWrite(decided, _UNDECIDED, closed),),
        audit=(application_audit(application, at, actor, "approve", None, decided),),
        follow_ups=(ApplicationDecided(decided, lot.name),),
    )
    return decided, decision + plan


def waitlist_plan(application: Application, lot: Lot, actor: str, at: datetime) -> tuple[Application, Plan]:
    """On the lot's waitlist; one that waited for review over its plates takes them now (they must be free)."""
    waiting = waitlisted(application, actor, at)
    takes = tuple(Take(_plate(application, p), PlateTaken(p)) for p in application.plates if application.held_elsewhere)
    return waiting, Plan(
        takes=takes,
        applications=(ApplicationWrite(waiting, _UNDECIDED),),
        audit=(application_audit(application, at, actor, "waitlist", None, waiting),),
        follow_ups=(ApplicationDecided(waiting, lot.name),),
    )


def rejection_plan(
    application: Application, lot: Lot, actor: str, at: datetime, reason: str
) -> tuple[Application, Plan]:
    """Rejected, its plates free again."""
    decided = rejected(application, actor, at, reason)
    holder = Holder("application_id", application.id)
    held = application.plates if application.holds_plates else ()
    releases = tuple(Release(plate_claim(application.lot_id, p), holder, StaleCard(p)) for p in held)
    return decided, Plan(
        applications=(ApplicationWrite(decided, _UNDECIDED),),
        releases=releases,
        audit=(application_audit(application, at, actor, "reject", reason, decided),),
        follow_ups=(ApplicationDecided(decided, lot.name),),
    )


def follows_card(application: Application, to: ApplicationState) -> ApplicationWrite | None:
    """The application moving with its card: cancelled or lapsed with it, approved again on a restore."""
    back = to is ApplicationState.APPROVED
    was = (ApplicationState.CANCELLED, ApplicationState.LAPSED) if back else (ApplicationState.APPROVED,)
    if application.state not in was:
        return None
    return ApplicationWrite(replace(application, state=to), was, StaleCard(application.card_id or application.id))
