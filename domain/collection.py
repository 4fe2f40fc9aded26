"""Door-to-door collection (上门收费): a community's collection windows and the slots owners book, a booking's life,
the collector's route for an evening, and the cash in a collector's hands. Pure.

Slots come from the community's windows per weekday in its own zone (weekday evenings 19:00-21:00, weekends
9:00-12:00 and 14:00-18:00, every 30 minutes), each taking a number of visits. The route visits the booked slots in
time order and, within a slot, goes to the nearest building next (from where the collector stands), which walks
less than the order the bookings came in. What happens at the door is domain.door.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.bill_order import unpaid_bill_claim
from domain.bill_reminder import visit_reminder
from domain.bill_run import Bill, BillState
from domain.errors import BillInOrder, BillNotPayable, BookingChanged, InvalidInput, OrderKeyUsed, SlotFull
from domain.order import order_key_claim
from domain.plan import BillWrite, BookingWrite, Claim, Holder, Plan, Release, Take


@dataclass(frozen=True)
class Window:
    weekday: int
    """0 Monday ... 6 Sunday."""
    starts: time
    ends: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6 or self.ends <= self.starts:
            raise ValueError("a window is on a weekday (0-6) and ends after it starts")


def evenings_and_weekends() -> tuple[Window, ...]:
    """The source document's hours: weekday evenings 19:00-21:00; weekends 9:00-12:00 and 14:00-18:00."""
    weekdays = tuple(Window(d, time(19), time(21)) for d in range(5))
    weekends = tuple(
        Window(d, start, end) for d in (5, 6) for start, end in ((time(9), time(12)), (time(14), time(18)))
    )
    return weekdays + weekends


@dataclass(frozen=True)
class Building:
    id: str
    x_m: float
    """Metres east of a point the office chose (the gate, say)."""
    y_m: float
    """Metres north of it."""


@dataclass(frozen=True)
class CollectionHours:
    """A community's collection hours and how its slots fill."""

    community_id: str
    windows: tuple[Window, ...] = field(default_factory=evenings_and_weekends)
    slot_minutes: int = 30
    visits_per_slot: int = 2
    """How many homes one collector visits in a slot."""
    change_until_hours: int = 2
    """An owner changes or cancels a booking up to this long before its slot."""
    buildings: tuple[Building, ...] = ()
    """Where the community's buildings stand (the office enters them): the route walks between them."""
    origin: tuple[float, float] | None = None
    """The latitude and longitude of the point the buildings are placed from: a check-in at a door is compared with
    its building's place (None: not placed, nothing is flagged)."""

    def __post_init__(self) -> None:
        if self.slot_minutes <= 0 or self.visits_per_slot <= 0 or self.change_until_hours < 0:
            raise ValueError("slots last some minutes and take at least one visit; the cut-off is never negative")


@dataclass(frozen=True)
class Slot:
    starts: datetime
    ends: datetime


def slots_on(hours: CollectionHours, day: date, timezone: str) -> list[Slot]:
    """The slots of a community-local day, as aware times."""
    zone = ZoneInfo(timezone)
    step = timedelta(minutes=hours.slot_minutes)
    found = []
    for window in sorted((w for w in hours.windows if w.weekday == day.weekday()), key=lambda w: w.starts):
        at = datetime.combine(day, window.starts, zone)
        end = datetime.combine(day, window.ends, zone)
        while at + step <= end:
            found.append(Slot(at, at + step))
            at += step
    return found


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """A community-local day as the instants it starts and the next one starts."""
    zone = ZoneInfo(timezone)
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0), zone)


@dataclass(frozen=True)
class CheckIn:
    """Where the collector's phone says it is at the door, how sure it is, and when."""

    latitude: float
    longitude: float
    accuracy_m: float
    at: datetime

    def __post_init__(self) -> None:
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180 and 0 <= self.accuracy_m <= 100_000):
            raise InvalidInput("door_check_in")


class BookingState(StrEnum):
    BOOKED = "booked"
    ASSIGNED = "assigned"
    """A collector takes it."""
    COLLECTED = "collected"
    NOT_HOME = "not_home"
    CANCELLED = "cancelled"


OPEN_BOOKINGS = (BookingState.BOOKED, BookingState.ASSIGNED)


@dataclass(frozen=True)
class Booking:
    id: str
    community_id: str
    unit_id: str
    owner_id: str
    slot: datetime
    """When the slot starts."""
    bill_ids: tuple[str, ...] = ()
    card_id: str | None = None
    """A card to renew at the door (with `package_id`)."""
    package_id: str | None = None
    notes: str = ""
    """"will pay cash", "elderly alone, call first"."""
    state: BookingState = BookingState.BOOKED
    collector: str | None = None
    seat: int = 0
    """Which of its slot's visits it takes (its claim)."""
    tries: int = 0
    """Tries at the door so far (a QR code shown, cash taken): each takes the claim of its number."""
    order_id: str | None = None
    """The order of the last try at the door."""
    outcome: str = ""
    """Why nobody paid (not at home, ...), as the collector entered it."""
    check_in: CheckIn | None = None
    """Where the collector checked in, when the visit ended unpaid."""
    version: int = 0
    """Writes so far: a change is written only over the version read (an office assign cannot undo a try at the
    door that happened meanwhile)."""


def changeable(booking: Booking, hours: CollectionHours, now: datetime) -> bool:
    """An owner may still change or cancel it: open, and the cut-off before its slot not yet reached."""
    return booking.state in OPEN_BOOKINGS and now <= booking.slot - timedelta(hours=hours.change_until_hours)


def slot_free(bookings: Sequence[Booking], slot: datetime, hours: CollectionHours, collectors: int) -> bool:
    """Room in the slot: fewer open bookings than its collectors can visit."""
    taken = sum(1 for b in bookings if b.slot == slot and b.state in OPEN_BOOKINGS)
    return taken < hours.visits_per_slot * max(1, collectors)


OFFICE = "物业"
"""The building the collector starts from, when the office placed it."""


def distance(a: Building, b: Building) -> float:
    return math.hypot(a.x_m - b.x_m, a.y_m - b.y_m)


@dataclass(frozen=True)
class Stop:
    booking: Booking
    building: Building


def route(stops: Sequence[Stop], start: Building | None = None) -> list[Stop]:
    """The evening's visits: slot by slot in time order; within a slot, always the nearest building next from where
    the collector is (the first slot from `start`, say the office; else from its first booking's building)."""
    ordered: list[Stop] = []
    here = start
    for slot in sorted({s.booking.slot for s in stops}):
        left = sorted((s for s in stops if s.booking.slot == slot), key=lambda s: s.booking.id)
        while left:
            here = here or left[0].building
            nearest = min(left, key=lambda s: (distance(here, s.building), s.booking.id))  # type: ignore[arg-type]
            ordered.append(nearest)
            left.remove(nearest)
            here = nearest.building
    return ordered


def walked(stops: Sequence[Stop], start: Building | None = None) -> float:
    """Metres walked visiting `stops` in this order."""
    total, here = 0.0, start
    for s in stops:
        if here is not None:
            total += distance(here, s.building)
        here = s.building
    return total


# --- bookings through the one commit path
BOOKING_PREFIX = "bk-"


def seat_claim(community_id: str, slot: datetime, seat: int) -> str:
    """The n-th visit of a slot: two owners booking its last place at once cannot both take it."""
    return f"slot:{community_id}:{slot.astimezone(UTC).isoformat()}:{seat}"


def book(booking: Booking, seat: int, bills: Sequence[Bill], who: str, idempotency_key: str) -> Plan:
    """A new booking: its key once, a seat of its slot, and each of its bills held for the visit (the claim an
    online order would take: a bill is paid at the door or online, never both); each bill must still be unpaid."""
    owner = booking.owner_id
    key = Take(Claim(order_key_claim(who, idempotency_key), owner, order_id=booking.id), OrderKeyUsed())
    place = Claim(seat_claim(booking.community_id, booking.slot, seat), owner, order_id=booking.id)
    held = tuple(Take(Claim(unpaid_bill_claim(b.id), owner, order_id=booking.id), BillInOrder(b.id)) for b in bills)
    return Plan(
        takes=(key, Take(place, SlotFull(booking.slot.isoformat())), *held),
        bills=tuple(BillWrite(b, (BillState.UNPAID,), BillNotPayable(b.id)) for b in bills),
        bookings=(BookingWrite(replace(booking, seat=seat)),),
        bill_reminders=(visit_reminder(booking.id, booking.unit_id, booking.community_id, booking.slot),),
    )


def move_booking(booking: Booking, slot: datetime, seat: int, notes: str) -> Plan:
    """The owner moves an open booking to another slot (its seat there taken, the old one given back) or changes
    its notes; it keeps its bills, its collector and its state; the reminder moves with it."""
    moved = replace(booking, slot=slot, seat=seat, notes=notes)
    reminder = (visit_reminder(moved.id, moved.unit_id, moved.community_id, moved.slot),)
    if slot == booking.slot:
        return Plan(bookings=(BookingWrite(replace(moved, seat=booking.seat), OPEN_BOOKINGS),))
    owner, held = booking.owner_id, Holder("order_id", booking.id)
    old_seat = seat_claim(booking.community_id, booking.slot, booking.seat)
    new_seat = Claim(seat_claim(booking.community_id, slot, seat), owner, order_id=booking.id)
    return Plan(
        releases=(Release(old_seat, held, BookingChanged(booking.id)),),
        takes=(Take(new_seat, SlotFull(slot.isoformat())),),
        bookings=(BookingWrite(moved, OPEN_BOOKINGS),),
        bill_reminders=reminder,
    )


def cancel_booking(booking: Booking, state: BookingState = BookingState.CANCELLED) -> Plan:
    """The booking ends unpaid (cancelled, or nobody at home): its seat and its bills are free again."""
    held = Holder("order_id", booking.id)
    keys = [seat_claim(booking.community_id, booking.slot, booking.seat)]
    keys += [unpaid_bill_claim(b) for b in booking.bill_ids]
    return Plan(
        bookings=(BookingWrite(replace(booking, state=state), OPEN_BOOKINGS),),
        releases=tuple(Release(k, held, BookingChanged(booking.id)) for k in keys),
    )


def assign(booking: Booking, collector: str) -> Plan:
    """The office gives an open booking to a collector (again: to another one)."""
    after = replace(booking, state=BookingState.ASSIGNED, collector=collector)
    return Plan(bookings=(BookingWrite(after, OPEN_BOOKINGS),))


def evening(bookings: Sequence[Booking], hours: CollectionHours, building_of: dict[str, str],
            collector: str | None = None) -> list[Booking]:  # fmt: skip
    """A collector's open bookings (or all open ones) in the order to visit them: slot by slot, the nearest building
    next, starting from the office (the building named `物业`, when placed). `building_of`: each unit's building; a
    building the office placed nowhere stands at the origin."""
    known = {b.id: b for b in hours.buildings}
    stops = [
        Stop(b, known.get(building_of.get(b.unit_id, ""), Building(building_of.get(b.unit_id, ""), 0, 0)))
        for b in bookings
        if b.state in OPEN_BOOKINGS and (collector is None or b.collector == collector)
    ]
    return [s.booking for s in route(stops, start=known.get(OFFICE))]
