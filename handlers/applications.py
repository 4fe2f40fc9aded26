"""Applying for a new card online, the office's approve/reject, the lot's quota and waitlist.

Approval takes a place with a conditional counter on the lot (`held < quota`),
in the same transaction that creates the pending card, so a lot is never
oversold, whatever approves at once. A full lot puts applications on its
waitlist in arrival order; a place freed by a cancelled or lapsed card is
offered to the first in line, who is told through the owner's message channel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.application import (
    AUTO_APPROVAL,
    Application,
    ApplicationDecided,
    ApplicationState,
    application_slot,
    approval_plan,
    occupies_slot,
    rejection_plan,
    submit_plan,
    waitlist_plan,
)
from domain.card_change import plate_claim
from domain.errors import (
    ApplicationClosed,
    ApplicationNotFound,
    Conflict,
    LotFull,
    LotNotFound,
    PackageNotFound,
    PlateTaken,
    StaleCard,
    StaleLot,
    TooManyApplications,
)
from domain.ids import checked_id
from domain.lot import Approval, Lot
from domain.plan import Plan
from domain.plate import normalise_plate
from handlers.follow_ups import run_follow_ups
from handlers.notify import Notices, notify_owner
from handlers.ports import (
    ApplicationRepository,
    CardRepository,
    Clock,
    IdSource,
    LotRepository,
    PackageRepository,
    UnitOfWork,
)
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

APPLICATION_TEMPLATE = "sim-application"
"""The local simulator's template id for decisions on applications; deployments set PARKPASS_APPLICATION_TEMPLATE."""
APPLY_PAGE = "pages/apply/index"
AUTO = AUTO_APPROVAL
WAITLIST = "system:waitlist"
MAX_OFFERS = 50


@dataclass(frozen=True)
class ApplicationView:
    application: Application
    lot: Lot
    waitlist_position: int | None
    """1 for the first in line; None unless waitlisted."""


def apply_for_card(
    owner_id: str,
    lot_id: str,
    plates: list[str],
    package_id: str,
    note: str,
    lots: LotRepository,
    packages: PackageRepository,
    store: ApplicationRepository,
    uow: UnitOfWork,
    ids: IdSource,
    clock: Clock,
    notices: Notices,
    cards: CardRepository,
) -> Application:
    """A new application in one of the owner's few slots at the lot, holding its plates; applying again for
    the same plates answers the first. A plate held by anyone else's card or application is not refused
    (that would tell the applicant where the car parks): the application waits for the office's review."""
    lot = lots.get(checked_id("lot_id", lot_id))
    if lot is None:
        raise LotNotFound(lot_id)
    package = packages.get(lot.id, checked_id("package_id", package_id))
    if package is None or not package.enabled:
        raise PackageNotFound(package_id)
    application = Application(
        id=ids.new_id("app"),
        lot_id=lot.id,
        owner_id=owner_id,
        plates=tuple(dict.fromkeys(normalise_plate(p) for p in plates)),
        package_id=package.id,
        note=note.strip(),
        state=ApplicationState.SUBMITTED,
        applied_at=clock.now(),
    )
    for attempt in range(MAX_ATTEMPTS):
        earlier = _same_application(application, store)
        if earlier is not None:
            return earlier
        slot, freed_from = _free_slot(application, lot, store, uow, cards)
        try:
            uow.commit(submit_plan(application, f"owner:{owner_id}", slot, freed_from))
        except PlateTaken:
            if _same_application(application, store) is None:
                application = replace(application, held_elsewhere=_held(application, uow))
            continue  # asked again at once (the first answers), or for review
        except (StaleCard, StaleLot):  # a concurrent transaction touched the same claims: try again
            wait_before_retry(attempt)
            continue
        break
    else:
        raise Conflict("kept_changing")
    if lot.cards.approval is Approval.AUTO and not application.held_elsewhere:
        return approve_application(application.id, AUTO, lots, store, uow, clock, notices)
    return application


def _same_application(application: Application, store: ApplicationRepository) -> Application | None:
    """The owner's open application holding the first of these plates: this one, asked for again."""
    earlier = store.holding(application.lot_id, application.plates[0])
    return earlier if earlier is not None and earlier.owner_id == application.owner_id else None


def _free_slot(
    application: Application, lot: Lot, store: ApplicationRepository, uow: UnitOfWork, cards: CardRepository
) -> tuple[str, str | None]:
    """A slot of the owner's at the lot that is free, or held by an application that no longer occupies it
    (decided, paid for, lapsed: slots are given back lazily, so no other change has to); none: refused."""
    for n in range(lot.cards.open_applications_per_owner):
        slot = application_slot(lot.id, application.owner_id, n)
        claim = uow.claimed(slot)
        if claim is None or claim.application_id is None:
            return slot, None
        held_by = store.get(claim.application_id)
        card = cards.get(held_by.card_id) if held_by is not None and held_by.card_id else None
        if held_by is None or not occupies_slot(held_by, card):
            return slot, claim.application_id
    raise TooManyApplications(lot=lot.name, most=lot.cards.open_applications_per_owner)


def _held(application: Application, uow: UnitOfWork) -> tuple[str, ...]:
    """Its plates some card or application of the lot holds now."""
    return tuple(p for p in application.plates if uow.claimed(plate_claim(application.lot_id, p)) is not None)


def approve_application(
    application_id: str,
    actor: str,
    lots: LotRepository,
    store: ApplicationRepository,
    uow: UnitOfWork,
    clock: Clock,
    notices: Notices,
) -> Application:
    """Approve it into a place, or onto the waitlist when the lot is full. Approving again changes nothing.

    The office may approve a waitlisted application whenever a place is free; the
    waitlist itself (`WAITLIST`) offers places first in line first.
    """
    for attempt in range(MAX_ATTEMPTS):
        application = _get(application_id, store)
        state = application.state
        if state is ApplicationState.APPROVED:
            return application
        if state not in (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED):
            raise ApplicationClosed("application_closed", state=state.value, to="approved")
        lot = lots.get(application.lot_id)
        if lot is None:
            raise LotNotFound(application.lot_id)
        now = clock.now()
        jumps_line = state is ApplicationState.SUBMITTED and bool(store.waiting(lot.id, limit=1))
        try:
            if lot.has_room() and not jumps_line:
                decided, plan = approval_plan(application, lot, actor, now)
                try:
                    uow.commit(plan)
                except LotFull:
                    pass  # taken meanwhile: it waits in line
                else:
                    _told(plan, notices)
                    return decided
            if state is ApplicationState.WAITLISTED:
                return application  # still no place: it keeps its turn
            waiting, plan = waitlist_plan(application, lot, actor, now)
            uow.commit(plan)
        except ApplicationClosed:
            continue  # decided meanwhile: answer what it became
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
            continue
        _told(plan, notices)
        return waiting
    raise Conflict("kept_changing")


def reject_application(
    application_id: str,
    actor: str,
    reason: str,
    lots: LotRepository,
    store: ApplicationRepository,
    uow: UnitOfWork,
    clock: Clock,
    notices: Notices,
) -> Application:
    application = _get(application_id, store)
    if not reason.strip():
        raise Conflict("reason_for_owner")
    if application.state is ApplicationState.REJECTED:
        return application
    lot = lots.get(application.lot_id)
    if lot is None:
        raise LotNotFound(application.lot_id)
    decided, plan = rejection_plan(application, lot, actor, clock.now(), reason.strip()[:200])
    for attempt in range(MAX_ATTEMPTS):
        try:
            uow.commit(plan)
        except ApplicationClosed:
            now = _get(application_id, store)
            if now.state is ApplicationState.REJECTED:
                return now  # the same rejection, sent twice at once: the other one did it
            raise
        except (StaleCard, StaleLot):  # a concurrent transaction touched it: the next try sees what won
            wait_before_retry(attempt)
            continue
        _told(plan, notices)
        return decided
    raise Conflict("kept_changing")


def offer_free_places(
    lot_id: str, lots: LotRepository, store: ApplicationRepository, uow: UnitOfWork, clock: Clock, notices: Notices
) -> list[Application]:
    """Give the lot's free places to the waitlist, first in line first."""
    offered: list[Application] = []
    for _ in range(MAX_OFFERS):
        lot = lots.get(lot_id)
        if lot is None or not lot.has_room():
            break
        first = store.waiting(lot_id, limit=1)
        if not first:
            break
        result = approve_application(first[0].id, WAITLIST, lots, store, uow, clock, notices)
        if result.state is not ApplicationState.APPROVED:
            break
        offered.append(result)
    return offered


def my_applications(owner_id: str, lots: LotRepository, store: ApplicationRepository) -> list[ApplicationView]:
    mine = store.list_for_owner(owner_id)
    lots_by_id = lots.get_many({a.lot_id for a in mine}) if mine else {}
    views = []
    for a in mine:
        if a.lot_id not in lots_by_id:
            continue
        position = None
        if a.state is ApplicationState.WAITLISTED:
            line = [w.id for w in store.waiting(a.lot_id)]
            position = line.index(a.id) + 1 if a.id in line else None
        views.append(ApplicationView(a, lots_by_id[a.lot_id], position))
    return views


def _get(application_id: str, store: ApplicationRepository) -> Application:
    application = store.get(checked_id("application_id", application_id))
    if application is None:
        raise ApplicationNotFound(application_id)
    return application


def _told(plan: Plan, notices: Notices) -> None:
    run_follow_ups(plan.follow_ups, {ApplicationDecided: lambda e: _tell(e, notices)})


def _tell(decided: ApplicationDecided, notices: Notices) -> None:
    """Decisions the owner did not see happen (the office's, the waitlist's) go out as a message."""
    application = decided.application
    if application.decided_by == AUTO and application.state is ApplicationState.APPROVED:
        return  # approved in the owner's own request: the answer says it
    news = {
        ApplicationState.APPROVED: ("已通过", f"请在 {application.pay_by} 前付款" if application.pay_by else "请付款"),
        ApplicationState.WAITLISTED: ("候补中", "车位已满 有空位时通知您"),
        ApplicationState.REJECTED: ("未通过", (application.reason or "")[:20]),
    }.get(application.state)
    if news is None:
        return
    data = {
        "thing1": {"value": decided.lot_name[:20]},
        "phrase2": {"value": news[0]},
        "thing3": {"value": news[1][:20]},
    }
    notify_owner(application.owner_id, data, APPLY_PAGE, notices)
