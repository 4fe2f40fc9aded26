"""A car at the barrier: the gate reports the passage (plate, direction, its own event id and time) and is told
whether to open and what its display says, in one request; the passage, the plate's visit and the count of cars
inside are recorded by the one commit path. The same event id again answers the same decision and records nothing
twice; a passage the gate reports after the fact (it was offline: `opened` says what it did) is recorded as it
happened, and visits pair up whatever order the reports arrive in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from domain.barrier import Car
from domain.card import Card
from domain.card_change import card_plan
from domain.card_plates import Direction as CardDirection
from domain.card_plates import passed
from domain.entitlement import entitlements_of
from domain.errors import Conflict, InvalidInput, LotNotFound, RecordedAlready, StaleCard, StaleLot, StaleVisit
from domain.gate import Reason, Whitelist
from domain.lot import Lot
from domain.money import yuan_text
from domain.parking import AtBarrier, PassageRecord, PassKind, Reported, pass_through
from domain.plan import Claim, Plan, Take
from domain.plate import normalise_plate
from handlers.notify import Notices, notify_owner
from handlers.ports import (
    AtGate,
    Billing,
    CardRepository,
    Clock,
    Gate,
    LotRepository,
    OwnerRepository,
    ParkingRecords,
    Sealer,
    UnitOfWork,
)
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

AHEAD_MOST = timedelta(seconds=300)
"""A passage's own time may be this far ahead of ours (the gates' signed requests allow as much)."""
LATE_MOST = timedelta(days=30)
"""A gate offline longer uploads what it did no more: the office counts the cars instead."""
PropertyArrears = Callable[[Card, Lot, datetime], int]
"""What the card holder's units owe in property fees past due, in fen (0: nothing): a reminder at the barrier, never
a refusal."""
ARREARS_PAGE = "pages/bills/index"


@dataclass(frozen=True)
class Answer:
    record: PassageRecord
    card: Card | None = None
    """The card the plate is on, as the passage left it (None: on none)."""
    remind: str | None = None

    @property
    def pay_path(self) -> str | None:
        """The mini-program page a visitor pays at (what the gate's QR code opens)."""
        r = self.record
        if r.allow or not r.fee_fen or r.visit_id is None:
            return None  # nothing to pay (a visitor at the exit, or a car refused at the entrance for its debts)
        return f"/pages/visit/pay?lot_id={r.lot_id}&visit_id={r.visit_id}"


@dataclass(frozen=True)
class Barrier:
    parking: ParkingRecords
    cards: CardRepository
    lots: LotRepository
    uow: UnitOfWork
    clock: Clock
    arrears: PropertyArrears | None = None
    notices: Notices | None = None
    """Where the card holder is reminded of property fees past due (at most once a day)."""

    def passage(self, gate: Gate, seen: Reported, lang: str = "zh") -> Answer:
        seen = replace(seen, plate=normalise_plate(seen.plate), at=seen.at.astimezone(UTC))  # times compared in UTC
        now = self.clock.now()
        if seen.at > now + AHEAD_MOST:  # a gate's clock gone wrong would freeze the plate's stay in the future
            raise InvalidInput("passage_at_future", most=int(AHEAD_MOST.total_seconds()))
        if seen.at < now - LATE_MOST:
            raise InvalidInput("passage_at_old", days=LATE_MOST.days)
        for attempt in range(MAX_ATTEMPTS):
            read = self.parking.at_gate(gate.lot_id, gate.id, seen.event_id, seen.plate)
            if read.passage is not None:  # the same event again: the same answer, nothing recorded twice
                return Answer(read.passage, self.cards.card_for_plate(gate.lot_id, seen.plate))
            lot = self.lots.get(gate.lot_id)
            if lot is None:
                raise LotNotFound(gate.lot_id)
            now = self.clock.now()
            card = self.cards.card_for_plate(lot.id, seen.plate)
            owed = self.arrears(card, lot, now) if card is not None and self.arrears is not None else 0
            known = self._at_barrier(lot, card, read, now, owed)
            passed_ = pass_through(seen, known, now, lang)
            plan, after = passed_.plan, card
            if card is not None and passed_.plan.stays:  # the car went through: a card's other plates wait
                plan, after = _with_card(plan, card, lot, seen, gate.id, now)
            try:
                self.uow.commit(plan)
            except RecordedAlready:
                continue  # the same event reported twice at once: the next round reads what the other recorded
            except (StaleVisit, StaleCard, StaleLot):
                wait_before_retry(attempt)
                continue
            if passed_.decision.remind and card is not None:
                self._remind(card, lot, owed, now)
            return Answer(passed_.record, after, passed_.decision.remind)
        raise Conflict("kept_changing")

    def _remind(self, card: Card, lot: Lot, owed: int, now: datetime) -> None:
        """A push to the card holder about property fees past due: at most once a day (a claim of the lot-local
        day), whatever passages happen; a failed send is dropped (the display said it too)."""
        if self.notices is None:
            return
        key = f"arrears-push:{card.owner_id}:{lot.today(now).isoformat()}"
        if self.uow.claimed(key) is not None:
            return
        try:
            self.uow.commit(Plan(takes=(Take(Claim(key, owner_id=card.owner_id), RecordedAlready()),)))
        except RecordedAlready:
            return  # another passage of the day reminded
        data = {
            "thing1": {"value": lot.name[:20]},
            "amount2": {"value": f"{yuan_text(owed)}元"},
            "date3": {"value": lot.today(now).isoformat()},
            "thing4": {"value": "物业费已欠缴 请及时缴纳"},
        }
        notify_owner(card.owner_id, data, ARREARS_PAGE, self.notices)

    def _at_barrier(self, lot: Lot, card: Card | None, read: AtGate, now: datetime, owed: int) -> AtBarrier:
        today = lot.today(now)
        stay, plate = read.stay, read.stay.plate
        passes = [p for p in read.passes if p.holds(today)]
        car = Car(
            plate,
            card_until=_card_until(card, lot, plate, today, now),
            exempt=any(p.kind in (PassKind.EXEMPT, PassKind.GUEST) for p in passes),
            blacklisted=any(p.kind is PassKind.BLACKLISTED for p in passes),
            owes_visits_fen=stay.owed_fen,
            property_arrears=owed > 0,
        )
        visit = self.parking.visit(stay.visit_id) if stay.visit_id else None
        return AtBarrier(car, stay, visit, read.occupancy, read.setup, lot.timezone, today)


def _card_until(card: Card | None, lot: Lot, plate: str, today: date, now: datetime) -> date | None:
    """The last day the card lets the plate in, as a gate decides it (grace days included); an expired card's end
    (the lot's policy decides); None when the plate is on no card it may use today (paused, not yet valid, another
    plate of the card inside: it comes in as a visitor)."""
    if card is None:
        return None
    whitelist = Whitelist(lot.id)
    for e in entitlements_of(card, lot, now):
        whitelist.entries[e.plate] = e.grant(0)
    decision = whitelist.check(plate, today)
    if decision.allow:
        grant = whitelist.entries[plate]
        return grant.grace_until or grant.valid_until
    return decision.valid_until if decision.reason is Reason.EXPIRED else None


def _with_card(plan: Plan, card: Card, lot: Lot, seen: Reported, gate_id: str, now: datetime) -> tuple[Plan, Card]:
    after = passed(card, seen.plate, CardDirection(seen.direction.value), seen.at)
    if after == card:
        return plan, card
    moved = card_plan(card, after, lot, now, f"gate:{gate_id}", f"passage_{seen.direction.value}")
    return plan + moved, replace(after, version=card.version + 1)


def property_arrears(billing: Billing, owners: OwnerRepository, sealer: Sealer) -> PropertyArrears:
    """What a card holder's units (found by the owner's verified phone, as the office entered it) in the communities
    of the lot owe in bills past due (by the lot's day): the barrier shows a reminder, never refuses. Another
    company's receivables are never shown at this barrier."""

    def owes(card: Card, lot: Lot, now: datetime) -> int:
        from domain.bill_payment import arrears

        owner = owners.get(card.owner_id)
        if owner is None or owner.phone is None:
            return 0
        bills = []
        for unit_id in billing.units_of_phone(sealer.fingerprint(owner.phone, "phone")):
            unit = billing.unit(unit_id)
            community = billing.community(unit.community_id) if unit else None
            if community is not None and lot.id in community.lot_ids:  # this lot's own office: no other's debts
                bills += billing.bills_of_unit(unit_id)
        return sum(a.principal_fen for a in arrears(bills, {}, lot.today(now)))

    return owes
