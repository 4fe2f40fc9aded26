"""Door-to-door collection (上门收费), the bookings: the office sets a community's hours; an owner books a slot for
one of their units with the bills to pay at the door and notes ("will pay cash", "call first"), and cancels it up to
the cut-off. A booking takes a seat of its slot and holds its bills through the one commit path, so a bill is paid
at the door or online, never both; a cancel gives both back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.admin import Permission, Staff
from domain.bill_order import BillOrder, close_bill_order
from domain.bill_run import BillState
from domain.card_change import AuditEntry
from domain.collection import (
    BOOKING_PREFIX,
    OPEN_BOOKINGS,
    Booking,
    BookingState,
    CollectionHours,
    Slot,
    assign,
    book,
    cancel_booking,
    changeable,
    day_bounds,
    evening,
    move_booking,
    seat_claim,
    slots_on,
)
from domain.community import Community
from domain.errors import (
    BillNotFound,
    BillNotPayable,
    BookingChanged,
    BookingNotFound,
    Conflict,
    InvalidInput,
    OrderKeyUsed,
    SlotFull,
)
from domain.ids import checked_id
from domain.labels import local_time
from domain.order import OrderState
from domain.plan import Plan
from handlers.bill_payments import BillPayments
from handlers.notify import Notices, notify_owner
from handlers.office_keys import order_of_key
from handlers.ports import Billing, Clock, CollectionRecords, IdSource, StaffRepository, UnitOfWork
from handlers.property import community_for
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

COLLECTION_PAGE = "pages/collection/index"
DAYS_AHEAD = 14
"""Owners book up to two weeks ahead."""


@dataclass(frozen=True)
class OpenSlot:
    slot: Slot
    free: int
    """Visits still free in it."""


@dataclass(frozen=True)
class Collecting:
    records: CollectionRecords
    billing: Billing
    payments: BillPayments
    """Whose units an owner's are (by the verified phone)."""
    uow: UnitOfWork
    ids: IdSource
    clock: Clock
    staff: StaffRepository | None = None
    """Who a booking may be assigned to: an account of the community's company."""
    notices: Notices | None = None
    """Where an owner is told a visit is booked."""
    close_at_provider: Callable[[BillOrder], None] | None = None
    """Closes a door's QR code at its provider (a booking cancelled while one is shown must not be paid)."""

    def set_hours(self, account: Staff, hours: CollectionHours) -> CollectionHours:
        community_for(account, hours.community_id, self.billing, Permission.MANAGE)
        self.records.save_hours(hours)
        return hours

    def slots(self, community_id: str, day: date) -> list[OpenSlot]:
        """A day's slots still open to book (after the cut-off, from now on), with their free visits."""
        community = self.billing.community(checked_id("community_id", community_id))
        if community is None:
            raise BillNotFound("community", community_id)
        hours, now = self.records.hours(community.id), self.clock.now()
        found = slots_on(hours, day, community.timezone)
        if not found:
            return []
        taken = self.records.bookings_between(community.id, found[0].starts, found[-1].ends)
        cut_off = timedelta(hours=hours.change_until_hours)
        return [
            OpenSlot(
                s, hours.visits_per_slot - sum(1 for b in taken if b.slot == s.starts and b.state in OPEN_BOOKINGS)
            )
            for s in found
            if s.starts - cut_off >= now
        ]

    def book(self, owner_id: str, unit_id: str, slot: datetime, bill_ids: Sequence[str], notes: str,
             key: str) -> Booking:  # fmt: skip
        """A visit to one of the owner's units in an open slot, holding the bills to pay there; the same key
        answers the booking it made."""
        who = f"owner:{owner_id}"
        earlier = order_of_key(who, key, self.uow)
        if earlier is not None:
            made = self.records.booking(earlier)
            if made is None or made.unit_id != unit_id or made.slot != slot:
                raise Conflict("idempotency_key_reused")
            return made
        unit = self.billing.unit(checked_id("unit_id", unit_id))
        if unit is None or unit.id not in self.payments.my_units(owner_id):
            raise BillNotFound("unit", unit_id)
        community = self.billing.community(unit.community_id)
        assert community is not None
        hours = self.records.hours(community.id)
        if not self._open(hours, community.timezone, community.today(slot), slot):
            raise InvalidInput("booking_slot")
        wanted = list(dict.fromkeys(checked_id("bill_id", b) for b in bill_ids))
        # Only the unit's published bills exist here (another unit's, or a draft, is nobody's to book).
        bills = [b for b in self.billing.bills(wanted) if b.unit_id == unit.id and b.state is not BillState.DRAFT]
        missing = [b for b in wanted if b not in {x.id for x in bills}]
        if missing:
            raise BillNotFound("bill", missing[0])
        for b in bills:
            if b.state is not BillState.UNPAID:
                raise BillNotPayable(b.id)
        booking = Booking(BOOKING_PREFIX + self.ids.new_id("booking").removeprefix("booking-"), community.id, unit.id,
                          owner_id, slot, tuple(b.id for b in bills), notes=notes.strip()[:200])  # fmt: skip
        for attempt in range(MAX_ATTEMPTS):
            seat = self._free_seat(community.id, slot, hours)
            try:
                self.uow.commit(book(booking, seat, bills, who, key))
            except OrderKeyUsed:
                return self.book(owner_id, unit_id, slot, bill_ids, notes, key)  # the same form, sent at once
            except SlotFull:
                wait_before_retry(attempt)  # another owner took that seat meanwhile: the next one, if any
                continue
            self._confirm(booking, community.name, f"{unit.building}{unit.number}", community.timezone)
            return self.records.booking(booking.id) or booking
        raise SlotFull(slot.isoformat())

    def _confirm(self, booking: Booking, community: str, unit: str, timezone: str) -> None:
        """The owner is told the visit is booked (a subscribe message with consent, else the official account); a
        failed send is dropped: the booking shows in the mini-program."""
        if self.notices is None:
            return
        data = {
            "thing1": {"value": f"{community} {unit}"[:20]},
            "time2": {"value": local_time(booking.slot, timezone)},
            "thing3": {"value": (booking.notes or "上门收费")[:20]},
        }
        notify_owner(booking.owner_id, data, COLLECTION_PAGE, self.notices)

    def cancel(self, owner_id: str, booking_id: str) -> Booking:
        """The owner cancels up to the cut-off; cancelling twice cancels once."""
        booking = self.records.booking(checked_id("booking_id", booking_id))
        if booking is None or booking.owner_id != owner_id:
            raise BookingNotFound(booking_id)
        if booking.state is BookingState.CANCELLED:
            return booking
        if not changeable(booking, self.records.hours(booking.community_id), self.clock.now()):
            raise InvalidInput("booking_too_late")
        return self.end(booking, cancel_booking(booking) + self.close_code(booking), BookingState.CANCELLED)

    def change(self, owner_id: str, booking_id: str, slot: datetime, notes: str | None) -> Booking:
        """The owner moves a booking to another open slot, or changes its notes, up to the cut-off (of the slot it
        has); the bills stay held. Asked twice, the second finds it done."""
        booking = self.records.booking(checked_id("booking_id", booking_id))
        if booking is None or booking.owner_id != owner_id:
            raise BookingNotFound(booking_id)
        hours = self.records.hours(booking.community_id)
        text = booking.notes if notes is None else notes.strip()[:200]
        if booking.slot == slot and booking.notes == text and booking.state in OPEN_BOOKINGS:
            return booking
        if not changeable(booking, hours, self.clock.now()):
            raise InvalidInput("booking_too_late")
        community = self.billing.community(booking.community_id)
        assert community is not None
        if slot != booking.slot and not self._open(hours, community.timezone, community.today(slot), slot):
            raise InvalidInput("booking_slot")
        for attempt in range(MAX_ATTEMPTS):
            seat = self._free_seat(community.id, slot, hours) if slot != booking.slot else booking.seat
            try:
                self.uow.commit(move_booking(booking, slot, seat, text))
            except SlotFull:
                wait_before_retry(attempt)  # another owner took that seat meanwhile: the next one, if any
                continue
            except BookingChanged:
                again = self.records.booking(booking.id)
                if again is not None and again.slot == slot and again.notes == text:
                    return again  # the same change, sent twice at once
                raise
            return self.records.booking(booking.id) or booking
        raise SlotFull(slot.isoformat())

    def my_bookings(self, owner_id: str) -> list[Booking]:
        """The owner's bookings, of every unit found by their verified phone, newest slot first."""
        found = [b for unit in self.payments.my_units(owner_id) for b in self.records.bookings_of_unit(unit)]
        return sorted(found, key=lambda b: (b.slot, b.id), reverse=True)

    def assign(self, account: Staff, booking_id: str, collector: str) -> Booking:
        """The office gives an open booking to a collector (an account of the company); assigning it again moves it."""
        booking = self.records.booking(checked_id("booking_id", booking_id))
        if booking is None:
            raise BookingNotFound(booking_id)
        community = community_for(account, booking.community_id, self.billing, Permission.MANAGE)
        who = self.staff.get(collector) if self.staff is not None else None
        if who is None or who.tenant_id != community.tenant_id:
            raise InvalidInput("booking_collector")
        if booking.collector == who.email and booking.state is BookingState.ASSIGNED:
            return booking
        self.uow.commit(assign(booking, who.email))
        return self.records.booking(booking.id) or booking

    def evening(
        self, account: Staff, community_id: str, day: date | None, collector: str | None = None
    ) -> list[Booking]:
        """A day's open bookings of the community (or one collector's) in the order to visit them (None: today)."""
        community = community_for(account, community_id, self.billing, Permission.VIEW)
        return self.evening_of(community, day or community.today(self.clock.now()), collector)

    def evening_of(self, community: Community, day: date, collector: str | None = None) -> list[Booking]:
        hours = self.records.hours(community.id)
        start, end = day_bounds(day, community.timezone)
        bookings = self.records.bookings_between(community.id, start, end)
        units = {u: self.billing.unit(u) for u in {b.unit_id for b in bookings}}
        building_of = {u: unit.building for u, unit in units.items() if unit is not None}
        return evening(bookings, hours, building_of, collector)

    def cancel_at_office(self, account: Staff, booking_id: str, reason: str) -> Booking:
        """The office cancels a booking (the owner cannot be reached, the bill is to be taken at the till), with a
        reason; cancelling twice cancels once."""
        booking = self.records.booking(checked_id("booking_id", booking_id))
        if booking is None:
            raise BookingNotFound(booking_id)
        community_for(account, booking.community_id, self.billing, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        if booking.state is BookingState.CANCELLED:
            return booking
        audit = Plan(audit=(self._audit(account, booking, reason.strip()),))
        return self.end(booking, cancel_booking(booking) + audit + self.close_code(booking), BookingState.CANCELLED)

    def end(self, booking: Booking, plan: Plan, state: BookingState) -> Booking:
        """Commit a plan that ends a booking in `state`; ended so meanwhile (the same request twice at once) is
        done, anything else that changed it is BookingChanged."""
        try:
            self.uow.commit(plan)
        except BookingChanged:
            again = self.records.booking(booking.id)
            if again is not None and again.state is state:
                return again
            raise
        return self.records.booking(booking.id) or booking

    def close_code(self, booking: Booking) -> Plan:
        """The QR code shown at the door, if one is waiting: closed at the provider first, then here."""
        shown = self.billing.bill_order(booking.order_id) if booking.order_id else None
        if shown is None or shown.state is not OrderState.PENDING:
            return Plan()
        if self.close_at_provider is not None:
            self.close_at_provider(shown)
        return Plan(bill_orders=close_bill_order(shown).bill_orders)

    def _audit(self, account: Staff, booking: Booking, reason: str) -> AuditEntry:
        at = self.clock.now()
        before, after = {"state": booking.state.value}, {"state": BookingState.CANCELLED.value}
        return AuditEntry(f"booking:{booking.id}", f"{at.isoformat()}#cancelled", at, f"admin:{account.email}",
                          "booking_cancelled", reason, before, after)  # fmt: skip

    def _open(self, hours: CollectionHours, timezone: str, day: date, slot: datetime) -> bool:
        now = self.clock.now()
        return any(s.starts == slot for s in slots_on(hours, day, timezone)) and (
            slot - timedelta(hours=hours.change_until_hours) >= now and slot <= now + timedelta(days=DAYS_AHEAD)
        )

    def _free_seat(self, community_id: str, slot: datetime, hours: CollectionHours) -> int:
        for seat in range(1, hours.visits_per_slot + 1):
            if self.uow.claimed(seat_claim(community_id, slot, seat)) is None:
                return seat
        raise SlotFull(slot.isoformat())
