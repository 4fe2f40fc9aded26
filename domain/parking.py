"""Parking at the barrier as the lot stores it: its setup (visitor fee rules, barrier policy, spaces), exempt and
blacklisted plates, each plate's stay (the visit it is on, what it still owes), the visits, every passage a gate
reported, and the live count of cars inside. Pure.

A passage becomes a plan for the one commit path: the passage itself (new: a gate's event id is recorded once), the
plate's stay under its version, the visit it opens or closes, and the count of cars inside moved under conditions
(a visitor takes a visitor space only while one is free; a count never goes below zero). What the barrier answers is
domain.barrier's decision; a passage the gate reports after the fact (it was offline) is recorded as it happened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.barrier import BarrierPolicy, Car, Decision, Kind, entry, exit_
from domain.calendar import local_date
from domain.card import CardState
from domain.card_change import AuditEntry
from domain.entitlement import Entitlement
from domain.errors import RecordedAlready
from domain.gate import VISIT
from domain.plan import Claim, LotMove, OccupancyMove, PassageWrite, PassWrite, Plan, StayWrite, Take, VisitWrite
from domain.visitor_fee import VisitorFeeRule, visitor_fee
from domain.visits import Direction, Flag


@dataclass(frozen=True)
class Spaces:
    total: int | None = None
    """All spaces of the lot (None: not counted)."""
    visitor: int | None = None
    """Spaces visitors may take (None: no limit)."""


@dataclass(frozen=True)
class ParkingSetup:
    lot_id: str
    rules: tuple[VisitorFeeRule, ...] = ()
    policy: BarrierPolicy = field(default_factory=BarrierPolicy)
    spaces: Spaces = field(default_factory=Spaces)
    guests_per_month: int = 10
    """How many guest plates one owner may register per month."""

    def with_rule(self, rule: VisitorFeeRule) -> ParkingSetup:
        """A rule from a new day adds to the price history; one from a day already there replaces it."""
        kept = tuple(r for r in self.rules if r.starts != rule.starts)
        return replace(self, rules=tuple(sorted((*kept, rule), key=lambda r: r.starts)))

    def fee(self, entered: datetime, left: datetime, timezone: str) -> int:
        return visitor_fee(self.rules, entered, left, timezone)


class PassKind(StrEnum):
    EXEMPT = "exempt"
    BLACKLISTED = "blacklisted"
    GUEST = "guest"
    """An owner's guest for a day: exempt too, kept apart from the office's exemptions of the plate."""


@dataclass(frozen=True)
class ParkingPass:
    """An exempt plate (emergency, disability, staff, an owner's guest) or a blacklisted one, from `starts`
    through `until` (lot-local days; None: until lifted)."""

    lot_id: str
    plate: str
    kind: PassKind
    reason: str
    starts: date
    until: date | None
    by: str
    at: datetime
    lifted: bool = False
    owner_id: str | None = None
    """Set for a guest an owner registered."""

    def holds(self, today: date) -> bool:
        return not self.lifted and self.starts <= today and (self.until is None or today <= self.until)

    def news(self, epoch: str) -> Entitlement:
        """What the gates keep of it: the plate, its kind and its days (lifted: cancelled)."""
        return Entitlement(
            lot_id=self.lot_id, plate=self.plate, card_id=f"{self.kind.value}:{self.plate}",
            valid_from=self.starts, valid_until=self.until, issued_at=self.at,
            state=CardState.CANCELLED if self.lifted else CardState.ACTIVE, epoch=epoch, kind=self.kind.value,
        )  # fmt: skip


@dataclass(frozen=True)
class ParkedVisit:
    """One stay of a plate in the lot, from the entry a gate reported (or from its exit, when no entry was)."""

    id: str
    lot_id: str
    plate: str
    kind: Kind
    """How the car came in: a visitor's visit is charged, a card holder's or an exempt car's is not."""
    entered_at: datetime | None
    left_at: datetime | None = None
    fee_fen: int = 0
    """What the stay cost (set when it ends; for an open visit, `fee_as_of`)."""
    paid_fen: int = 0
    paid_at: datetime | None = None
    flag: Flag | None = None
    day: date | None = None
    """The lot-local day it began (the office lists visits by it)."""
    version: int = 0

    @property
    def open(self) -> bool:
        return self.left_at is None and self.flag is None

    @property
    def charged(self) -> bool:
        return self.kind is Kind.VISITOR

    @property
    def first_at(self) -> datetime:
        found = self.entered_at or self.left_at
        assert found is not None
        return found


def visit_id(lot_id: str, gate_id: str, event_id: str) -> str:
    """A visit's id, from the passage that began it (so a passage recorded twice begins no second visit)."""
    return "v" + hashlib.sha256(f"{lot_id}|{gate_id}|{event_id}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Stay:
    """Where a plate is in a lot: the visit it is on (None: outside) and what earlier visits left unpaid."""

    lot_id: str
    plate: str
    visit_id: str | None = None
    owed_fen: int = 0
    last_at: datetime | None = None
    """The latest passage applied: an older one reported late changes nothing here."""
    owed_visit: str | None = None
    """The last visit that left a debt: paying it pays the plate's debts."""
    version: int = 0
    """0: never stored."""


@dataclass(frozen=True)
class Occupancy:
    lot_id: str
    inside: int = 0
    """Cars inside, by the passages (an office count corrects it)."""
    visitors: int = 0
    """Of those, visitors (they take visitor spaces)."""

    def visitor_spaces_free(self, spaces: Spaces) -> int | None:
        """The spaces a visitor may take now: the visitor spaces left, and never more than the lot's spaces left;
        None when the lot counts neither."""
        free = []
        if spaces.visitor is not None:
            free.append(spaces.visitor - self.visitors)
        if spaces.total is not None:
            free.append(spaces.total - self.inside)
        return max(0, min(free)) if free else None


@dataclass(frozen=True)
class PassageRecord:
    """A passage a gate reported and what was decided (or, reported after the fact, what the gate did)."""

    lot_id: str
    gate_id: str
    event_id: str
    plate: str
    direction: Direction
    at: datetime
    allow: bool
    kind: Kind
    display: str
    recorded_at: datetime
    visit_id: str | None = None
    fee_fen: int = 0
    opened: bool | None = None
    """Reported after the fact: whether the gate let the car through (its own decision, offline)."""
    photo: str | None = None
    """Where the gate keeps its picture of the car (its own reference: a file name, an object key)."""

    @property
    def id(self) -> str:
        return f"{self.lot_id}#{self.gate_id}#{self.event_id}"


@dataclass(frozen=True)
class Reported:
    """One passage as a gate sends it."""

    gate_id: str
    event_id: str
    plate: str
    direction: Direction
    at: datetime
    opened: bool | None = None
    photo: str | None = None


@dataclass(frozen=True)
class AtBarrier:
    """What is known of a plate when it reaches the barrier: read before deciding."""

    car: Car
    stay: Stay
    visit: ParkedVisit | None
    """Its open visit."""
    occupancy: Occupancy
    setup: ParkingSetup
    timezone: str
    today: date


@dataclass(frozen=True)
class Passed:
    record: PassageRecord
    decision: Decision
    plan: Plan


UNLIMITED = 1_000_000
"""Free spaces of a lot that counts none."""


def pass_through(seen: Reported, known: AtBarrier, now: datetime, lang: str = "zh") -> Passed:
    """The barrier's decision for a car and the plan that records the passage and what it moved."""
    decision = _decide(seen, known, now, lang)
    went = decision.allow if seen.opened is None else seen.opened
    late = known.stay.last_at is not None and seen.at < known.stay.last_at
    visit = known.visit
    # A car refused for what earlier visits left unpaid is shown the visit to pay (its debts with it).
    named = visit.id if visit else (known.stay.owed_visit if decision.fee_fen else None)
    record = PassageRecord(
        known.stay.lot_id, seen.gate_id, seen.event_id, seen.plate, seen.direction, seen.at, decision.allow,
        decision.kind, decision.display, now, named, decision.fee_fen, seen.opened, seen.photo,
    )  # fmt: skip
    plan = Plan(passages=(PassageWrite(record, RecordedAlready()),))
    if not went or late:
        return Passed(record, decision, plan)  # refused (the car did not pass), or older than what the plate knows
    if seen.direction is Direction.IN:
        record, moves = _entered(seen, known, decision, record)
    else:
        moves = _left(seen, known, decision)
    return Passed(record, decision, replace(moves, passages=(PassageWrite(record, RecordedAlready()),)))


def _decide(seen: Reported, known: AtBarrier, now: datetime, lang: str) -> Decision:
    policy = known.setup.policy
    if seen.direction is Direction.IN:
        free = known.occupancy.visitor_spaces_free(known.setup.spaces)
        if free is not None and known.visit is not None and known.visit.charged:
            free += 1  # counted inside still (its exit was never reported): it takes no second space
        return entry(known.car, known.today, UNLIMITED if free is None else free, policy, lang)
    visit = known.visit
    if visit is None or visit.entered_at is None or not visit.charged:
        # No visit known (an exit with no entry), or a card holder's or an exempt car's: decided as such.
        return exit_(known.car, known.today, timedelta(0), 0, 0, None, now, policy, lang)
    fee = fee_as_of(visit, known.setup, known.timezone, max(now, seen.at))
    return exit_(known.car, known.today, seen.at - visit.entered_at, fee, visit.paid_fen, visit.paid_at, now,
                 policy, lang)  # fmt: skip


def fee_as_of(visit: ParkedVisit, setup: ParkingSetup, timezone: str, now: datetime) -> int:
    if not visit.charged or visit.entered_at is None:
        return 0
    return setup.fee(visit.entered_at, visit.left_at or now, timezone)


def _entered(seen: Reported, known: AtBarrier, decision: Decision, record: PassageRecord) -> tuple[PassageRecord, Plan]:
    stay, earlier = known.stay, known.visit
    # A car let through though refused (a gate deciding alone, a guard's hand) parks as a visitor: it pays.
    kind = decision.kind if decision.allow else Kind.VISITOR
    new = ParkedVisit(visit_id(stay.lot_id, seen.gate_id, seen.event_id), stay.lot_id, seen.plate, kind,
                      seen.at, day=local_date(seen.at, known.timezone))  # fmt: skip
    visits = [VisitWrite(new, None)]
    inside, visitors = 1, int(new.charged)
    if earlier is not None:  # two entries in a row: the exit was never reported; the car was out after all
        visits.append(VisitWrite(replace(earlier, flag=Flag.NO_EXIT), earlier.version))
        inside -= 1
        visitors -= int(earlier.charged)
    counted = seen.opened is None and visitors > 0  # decided here: a visitor takes a space only while one is free
    spaces = known.setup.spaces if counted else Spaces()
    after = replace(stay, visit_id=new.id, last_at=seen.at)
    plan = Plan(
        stays=(StayWrite(after, stay.version),),
        visits=tuple(visits),
        occupancy=_moved(known.occupancy, inside, visitors, spaces),
    )
    return replace(record, visit_id=new.id), plan


def _left(seen: Reported, known: AtBarrier, decision: Decision) -> Plan:
    stay, visit = known.stay, known.visit
    if visit is None or visit.entered_at is None:  # an exit with no entry: kept, flagged, nothing to count
        lone = ParkedVisit(visit_id(stay.lot_id, seen.gate_id, seen.event_id), stay.lot_id, seen.plate,
                           Kind.UNKNOWN, None, seen.at, flag=Flag.NO_ENTRY,
                           day=local_date(seen.at, known.timezone))  # fmt: skip
        return Plan(stays=(StayWrite(replace(stay, last_at=seen.at), stay.version),), visits=(VisitWrite(lone, None),))
    fee = fee_as_of(visit, known.setup, known.timezone, seen.at)
    if decision.kind in (Kind.CARD, Kind.EXEMPT) and decision.allow:
        fee = 0  # a card or an exemption since it came in (a guest registered, a card renewed): it leaves free
    window = timedelta(minutes=known.setup.policy.leave_minutes)
    paid_in_time = visit.paid_at is not None and seen.at - visit.paid_at <= window and visit.paid_fen > 0
    fee = min(fee, visit.paid_fen) if paid_in_time else fee
    owed = max(0, fee - visit.paid_fen)
    closed = replace(visit, left_at=seen.at, fee_fen=fee)
    after = replace(stay, visit_id=None, owed_fen=stay.owed_fen + owed, last_at=seen.at,
                    owed_visit=visit.id if owed else stay.owed_visit)  # fmt: skip
    return Plan(
        stays=(StayWrite(after, stay.version),),
        visits=(VisitWrite(closed, visit.version),),
        occupancy=_moved(known.occupancy, -1, -int(visit.charged), Spaces()),
    )


def _moved(now: Occupancy, inside: int, visitors: int, spaces: Spaces) -> OccupancyMove | None:
    """The counts' move, never below zero (a car leaving a lot counted empty moves nothing); a visitor coming in
    stays within the lot's `spaces` (its visitor spaces, and all of them)."""
    inside = max(inside, -now.inside)
    visitors = max(visitors, -now.visitors)
    if inside == 0 and visitors == 0:
        return None
    taking = visitors > 0
    return OccupancyMove(now.lot_id, inside, visitors, visitors_below=spaces.visitor if taking else None,
                         inside_below=spaces.total if taking and inside > 0 else None)  # fmt: skip


def counted(occupancy: Occupancy, inside: int, visitors: int, actor: str, reason: str, at: datetime) -> Plan:
    """The office counted the cars: the live count is set to it (audited)."""
    move = OccupancyMove(occupancy.lot_id, inside - occupancy.inside, visitors - occupancy.visitors,
                         was=(occupancy.inside, occupancy.visitors))  # fmt: skip
    audit = AuditEntry(f"occupancy:{occupancy.lot_id}", f"{at.isoformat()}#counted", at, actor, "occupancy_counted",
                       reason, {"inside": occupancy.inside, "visitors": occupancy.visitors},
                       {"inside": inside, "visitors": visitors})  # fmt: skip
    return Plan(occupancy=move, audit=(audit,))


def pass_plan(found: ParkingPass, feed_at: int, epoch: str, action: str) -> Plan:
    """An exemption or a blacklisting (made, or lifted) written with its news for the gates and its audit."""
    what = {"kind": found.kind.value, "starts": found.starts.isoformat(), "lifted": found.lifted,
            "until": found.until.isoformat() if found.until else None}  # fmt: skip
    audit = AuditEntry(f"plate:{found.lot_id}:{found.plate}", f"{found.at.isoformat()}#{action}", found.at, found.by,
                       action, found.reason, None, what)  # fmt: skip
    return Plan(
        passes=(PassWrite(found),),
        lot=LotMove(found.lot_id, feed_at=feed_at),
        events=(found.news(epoch),),
        audit=(audit,),
    )


def guest_claim(lot_id: str, owner_id: str, month: str, n: int) -> Claim:
    """The owner's n-th guest of the month: two registrations at once cannot both be the n-th."""
    return Claim(f"guest:{lot_id}:{owner_id}:{month}:{n}", owner_id=owner_id)


def guest_plan(guest: ParkingPass, n: int, feed_at: int, epoch: str) -> Plan:
    assert guest.owner_id is not None
    claim = guest_claim(guest.lot_id, guest.owner_id, guest.starts.strftime("%Y-%m"), n)
    return pass_plan(guest, feed_at, epoch, "guest_registered") + Plan(takes=(Take(claim, RecordedAlready()),))


def visit_paid_news(visit: ParkedVisit, leave_by: datetime, epoch: str) -> Entitlement:
    """The gates' news that a visit is paid: its exit opens until `leave_by`."""
    return Entitlement(
        lot_id=visit.lot_id, plate=visit.plate, card_id=visit.id, valid_from=None, valid_until=None,
        state=CardState.ACTIVE, issued_at=visit.paid_at or leave_by, epoch=epoch, kind=VISIT, leave_by=leave_by,
    )  # fmt: skip
