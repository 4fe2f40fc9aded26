"""At the door (上门收费), the collector's side: the evening's route with what each home owes, a check-in, cash for
exactly what is due or a one-time QR code the owner scans, the owner's signature, a receipt sealed with that
evidence; a visit nobody answered; a collector's cash handed to a cashier; the day's report per collector; the
office opening a payment's evidence (audited).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from domain.admin import Permission, Role, Staff
from domain.bill_order import BillCharge, BillOrder, charges
from domain.bill_payment import Payable
from domain.bill_run import Bill, BillState, Unit
from domain.card_change import AuditEntry
from domain.collection import OPEN_BOOKINGS, Booking, BookingState, CheckIn, day_bounds
from domain.community import Community
from domain.door import (
    CashEntry,
    CashMove,
    evidence_for,
    hand_over,
    not_at_home,
    open_at_door,
    show_qr,
    take_cash,
)
from domain.errors import (
    BillChanged,
    BillNotFound,
    BillNotPayable,
    BookingChanged,
    BookingNotFound,
    Conflict,
    CustodyChanged,
    InvalidInput,
    NotFound,
    OrderKeyUsed,
    OrderNotFound,
    OrderSettled,
    StaleLot,
)
from domain.ids import BILL_ORDER_PREFIX, checked_id, is_bill_order
from domain.order import UNPAID_ORDER_LIFETIME, Channel, OrderState
from domain.plan import Plan
from handlers.bill_payments import BillPayments
from handlers.collection import Collecting
from handlers.office_keys import order_of_key
from handlers.ports import Billing, Clock, CollectionRecords, IdSource, QrProvider, StaffRepository, UnitOfWork
from handlers.property import community_for, reaches_community
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

DONE = (BookingState.COLLECTED, BookingState.NOT_HOME)
CHECK_IN_AHEAD_MOST = timedelta(minutes=10)
"""A phone's clock a little fast is fine; a check-in from the future is not."""
CHECK_IN_MOST_AGO = timedelta(days=3)


@dataclass(frozen=True)
class Stop:
    """One home of the evening: the booking, its unit, and what it owes today."""

    booking: Booking
    unit: Unit | None
    community: Community
    dues: tuple[Payable, ...]
    names: tuple[str, ...] = ()
    """What each due is, for people (`物业费 2026-11`)."""

    @property
    def due_fen(self) -> int:
        return sum(p.total_fen for p in self.dues)


@dataclass(frozen=True)
class DoorQr:
    order: BillOrder
    code: str
    """What the QR code holds (weixin://... or an Alipay link)."""


@dataclass(frozen=True)
class CollectorDay:
    """One collector's day in a community: what the report shows and the CSV lists."""

    collector: str
    visits: int
    collected: int
    cash_fen: int
    qr_fen: int
    unpaid: tuple[tuple[Booking, str], ...]
    """Each visit not paid, with why (not at home, ...; still open: not visited yet)."""
    paid: tuple[tuple[Booking, BillOrder], ...]
    """Each visit paid, with the order that paid it (its evidence is the order's)."""
    handed_over_fen: int
    counted_fen: int
    in_hand_fen: int

    @property
    def difference_fen(self) -> int:
        return self.counted_fen - self.handed_over_fen


@dataclass(frozen=True)
class Doorstep:
    records: CollectionRecords
    billing: Billing
    payments: BillPayments
    collecting: Collecting
    uow: UnitOfWork
    ids: IdSource
    clock: Clock
    qr_for: Callable[[Channel], QrProvider]
    staff: StaffRepository | None = None

    # --- the collector's evening
    def route(self, account: Staff, day: date | None = None) -> list[Stop]:
        """The collector's open visits of the day in every community they reach, in the order to walk them, each
        with what it owes today (late fees of today included); then the visits already done, in time order."""
        account.require(Permission.COLLECT)
        stops: list[Stop] = []
        done: list[Stop] = []
        for community in self.billing.communities(account.tenant_id):
            if not reaches_community(account, community):
                continue
            on = day or community.today(self.clock.now())
            for booking in self.collecting.evening_of(community, on, account.email):
                stops.append(self._stop(booking, community))
            start, end = day_bounds(on, community.timezone)
            for booking in self.records.bookings_between(community.id, start, end):
                if booking.collector == account.email and booking.state in DONE:
                    done.append(self._stop(booking, community))
        return stops + sorted(done, key=lambda s: (s.booking.slot, s.booking.id))

    def visit(self, account: Staff, booking_id: str) -> Stop:
        booking, community = self._booking(account, booking_id)
        return self._stop(booking, community)

    # --- at the door
    def take_cash(self, account: Staff, booking_id: str, amount_fen: int, check_in: CheckIn, signature: bytes,
                  key: str) -> BillOrder:  # fmt: skip
        """Cash for exactly what was due at the door (late fees of the check-in's day: an upload after midnight is
        the same payment; change is the collector's business), committed with the evidence: the bills paid, the
        booking collected, the cash in the collector's custody, the receipt sealed. The same key answers the
        payment it made (an upload retried after a lost answer); another payment under it is refused."""
        who = f"collector:{account.email}"
        earlier = self._made_with(who, key, booking_id, Channel.CASH, amount_fen)
        if earlier is not None:
            return earlier
        for attempt in range(MAX_ATTEMPTS):
            booking, community = self._booking(account, booking_id)
            if booking.state is BookingState.COLLECTED:
                raise BookingChanged(booking.id)  # paid already (the QR code, or this cash under another key)
            open_at_door(booking, account.email)
            bills, priced = self._due(booking, community, community.today(check_in.at))
            due = sum(c.total_fen for c in priced)
            if amount_fen != due:
                raise InvalidInput("door_cash_amount", due=due)
            now = self.clock.now()
            order = self._order(booking, community, priced, Channel.CASH, account, check_in, signature, bills)
            order = replace(order, state=OrderState.PAID, paid_at=now, expires_at=now,
                            transaction_id=f"cash-{order.id}")  # fmt: skip
            previous = self._close_previous(booking)  # only once the cash is known to be good
            plan = take_cash(booking, order, bills, previous, signature, who, key)
            try:
                self.uow.commit(self.payments.with_receipt(plan, order, bills))
            except (OrderKeyUsed, OrderSettled):
                # The same upload at once (its key), or the earlier code's order settled meanwhile: read again.
                again = self._made_with(who, key, booking_id, Channel.CASH, amount_fen)
                if again is not None:
                    return again
                wait_before_retry(attempt)
                continue
            except (StaleLot, BookingChanged, BillNotPayable, BillChanged):
                wait_before_retry(attempt)  # the receipt chain or the booking moved: read again
                continue
            self.payments.tell_paid_at_door(order)
            return order
        raise Conflict("kept_changing")

    def show_qr(self, account: Staff, booking_id: str, channel: Channel, check_in: CheckIn, signature: bytes,
                key: str) -> DoorQr:  # fmt: skip
        """A one-time QR code for exactly what is due, signed for first: a new order each time, the previous code
        closed (at the provider first, so it can no longer be paid), only once this one is known to be good."""
        if not channel.online:
            raise InvalidInput("door_qr_channel")
        who = f"collector:{account.email}"
        earlier = self._made_with(who, key, booking_id, channel)
        if earlier is not None:
            return self._answer(earlier)
        booking, community = self._booking(account, booking_id)
        open_at_door(booking, account.email)
        bills, priced = self._due(booking, community)
        order = self._order(booking, community, priced, channel, account, check_in, signature, bills)
        previous = self._close_previous(booking)
        try:
            self.uow.commit(show_qr(booking, order, previous, signature, who, key))
        except (OrderKeyUsed, OrderSettled):
            again = self._made_with(who, key, booking_id, channel)
            if again is None:
                raise BookingChanged(booking.id) from None
            return self._answer(again)
        # Asked after the order is stored, so a payment can never arrive for an order we do not know.
        return self._answer(order)

    def door_order(self, account: Staff, order_id: str) -> BillOrder:
        """A door order as it stands (the page asks until the owner's QR payment is in)."""
        order = self.billing.bill_order(checked_id("order_id", order_id)) if is_bill_order(order_id) else None
        if order is None or order.booking_id is None:
            raise OrderNotFound(order_id)
        self._booking(account, order.booking_id)
        return order

    def not_home(self, account: Staff, booking_id: str, reason: str, check_in: CheckIn | None) -> Booking:
        """Nobody paid at the door (not at home, asked to come another day): the visit ends with its reason and the
        bills are free for the owner to pay another way; saying it twice says it once."""
        if not reason.strip():
            raise InvalidInput("door_reason")
        booking, _ = self._booking(account, booking_id)
        if booking.state is BookingState.NOT_HOME:
            return booking
        open_at_door(booking, account.email)
        plan = not_at_home(booking, reason.strip()[:100], check_in) + self.collecting.close_code(booking)
        return self.collecting.end(booking, plan, BookingState.NOT_HOME)

    # --- cash custody
    def cash_in_hand(self, account: Staff, collector: str | None = None) -> int:
        """A collector's own (or, for the office, any collector's of the company) cash not yet handed over."""
        if collector is None or collector == account.email:
            account.require(Permission.COLLECT)
            return self.records.cash_in_hand(account.email)
        account.require(Permission.CASH)
        return self.records.cash_in_hand(self._collector(account, collector))

    def hand_over(self, account: Staff, collector: str, counted_fen: int, key: str,
                  expected_fen: int | None = None) -> CashEntry:  # fmt: skip
        """The cashier counted a collector's cash (交接): all they held leaves their custody, what was counted and
        the difference are recorded; the same form's key answers the handover it made. `expected_fen`: what the
        cashier was shown the collector held; if cash came in since (an upload that waited for the signal), the
        cashier is asked to count again rather than a false difference recorded."""
        account.require(Permission.CASH)
        who = f"admin:{account.email}"
        collector = self._collector(account, collector)
        if not 0 <= counted_fen <= 100_000_000:
            raise InvalidInput("handover_amount")
        for attempt in range(MAX_ATTEMPTS):
            done = self._handover_of(who, key, collector)
            if done is not None:
                return done
            held, now = self.records.cash_in_hand(collector), self.clock.now()
            if expected_fen is not None and expected_fen != held:
                raise CustodyChanged(collector)
            handover_id = "ho-" + self.ids.new_id("handover").removeprefix("handover-")
            plan = hand_over(handover_id, collector, held, account.email, counted_fen, now, who, key)
            try:
                self.uow.commit(plan)
            except OrderKeyUsed:
                continue  # the same form, sent twice at once: the next round finds what the first did
            except CustodyChanged:
                wait_before_retry(attempt)  # another handover counted this cash meanwhile: read again
                continue
            return plan.cash[0].entry
        raise Conflict("kept_changing")

    def day_report(self, account: Staff, community_id: str, day: date | None) -> list[CollectorDay]:
        """Each collector's day in the community: visits, paid (cash / QR), unpaid with why, handed over, counted,
        the difference, and what is still in hand."""
        community = community_for(account, community_id, self.billing, Permission.VIEW)
        day = day or community.today(self.clock.now())
        start, end = day_bounds(day, community.timezone)
        bookings = [b for b in self.records.bookings_between(community.id, start, end) if b.collector]
        report = []
        for collector in sorted({b.collector for b in bookings if b.collector}):
            mine = [b for b in bookings if b.collector == collector and b.state is not BookingState.CANCELLED]
            collected = [b for b in mine if b.state is BookingState.COLLECTED and b.order_id]
            done = [(b, o) for b in collected if (o := self.billing.bill_order(b.order_id or "")) is not None]
            paid = [o for _, o in done]
            moves = self.records.cash_moves(collector, start, end)
            handovers = [m for m in moves if m.kind is CashMove.HANDED_OVER]
            report.append(
                CollectorDay(
                    collector=collector,
                    visits=len(mine),
                    collected=len(paid),
                    cash_fen=sum(o.amount_fen for o in paid if o.channel is Channel.CASH),
                    qr_fen=sum(o.amount_fen for o in paid if o.channel.online),
                    unpaid=tuple((b, b.outcome) for b in mine if b.state is not BookingState.COLLECTED),
                    paid=tuple(done),
                    handed_over_fen=sum(m.fen for m in handovers),
                    counted_fen=sum(m.counted_fen or 0 for m in handovers),
                    in_hand_fen=self.records.cash_in_hand(collector),
                )
            )
        return report

    # --- the office
    def evidence(self, account: Staff, order_id: str) -> tuple[BillOrder, bytes | None]:
        """A door payment's evidence for the office: the signature image and the check-in; each opening is
        audited (who looked at an owner's signature, and when)."""
        order = self.billing.bill_order(checked_id("order_id", order_id)) if is_bill_order(order_id) else None
        if order is None or order.evidence is None:
            raise OrderNotFound(order_id)
        community_for(account, order.community_id, self.billing, Permission.MANAGE)
        at = self.clock.now()
        entry = AuditEntry(f"bill-order:{order.id}", f"{at.isoformat()}#evidence#{account.email}", at,
                           f"admin:{account.email}", "evidence_opened", None, None, {"order_id": order.id})  # fmt: skip
        with contextlib.suppress(Conflict):  # the same account in the same instant: one record says it
            self.uow.commit(Plan(audit=(entry,)))
        return order, self.records.signature(order.id)

    # --- helpers
    def _booking(self, account: Staff, booking_id: str) -> tuple[Booking, Community]:
        booking = self.records.booking(checked_id("booking_id", booking_id))
        community = self.billing.community(booking.community_id) if booking is not None else None
        if booking is None or community is None or not reaches_community(account, community):
            raise BookingNotFound(booking_id)
        if not account.can(Permission.MANAGE) and booking.collector != account.email:
            raise BookingNotFound(booking_id)  # a collector sees only the visits given to them
        account.require(Permission.COLLECT)
        return booking, community

    def _stop(self, booking: Booking, community: Community) -> Stop:
        bills = [b for b in self.billing.bills(booking.bill_ids) if b.state is BillState.UNPAID]
        dues = self.payments.priced(bills, community) if booking.state in OPEN_BOOKINGS else []
        items = {f.id: f.name for f in self.billing.fee_items(community.id)} if dues else {}
        by_id = {b.id: b for b in bills}

        def name(bill_id: str) -> str:
            bill = by_id[bill_id]
            return f"{items.get(bill.fee_item_id, bill.fee_item_id)} {bill.period or ''}".strip()

        names = tuple(name(p.bill_id) for p in dues)
        return Stop(booking, self.billing.unit(booking.unit_id), community, tuple(dues), names)

    def _due(self, booking: Booking, community: Community,
             on: date | None = None) -> tuple[list[Bill], tuple[BillCharge, ...]]:  # fmt: skip
        bills = self.billing.bills(booking.bill_ids)
        if not bills or len(bills) != len(booking.bill_ids):
            raise BillNotFound("bill", booking.id)
        for bill in bills:
            if bill.state is not BillState.UNPAID:
                raise BillNotPayable(bill.id)
        return bills, charges(bills, self.payments.priced(bills, community, on))

    def _order(self, booking: Booking, community: Community, priced: Sequence[BillCharge], channel: Channel,
               account: Staff, check_in: CheckIn, signature: bytes, bills: Sequence[Bill]) -> BillOrder:  # fmt: skip
        now = self.clock.now()
        # The phone's own time of the check-in (a cash upload may come hours later): never from the future, never
        # older than a phone keeps an upload waiting.
        if not now - CHECK_IN_MOST_AGO <= check_in.at <= now + CHECK_IN_AHEAD_MOST:
            raise InvalidInput("door_check_in")
        unit = self.billing.unit(booking.unit_id)
        hours = self.records.hours(community.id)
        evidence = evidence_for(account.email, check_in, signature, hours, unit.building if unit else "")
        order = BillOrder(
            id=BILL_ORDER_PREFIX + self.ids.new_id("bills").removeprefix("bills-"),
            owner_id=booking.owner_id,
            community_id=community.id,
            charges=tuple(priced),
            amount_fen=sum(c.total_fen for c in priced),
            channel=channel,
            state=OrderState.PENDING,
            created_at=now,
            expires_at=now + UNPAID_ORDER_LIFETIME,
            staff=account.email,
            booking_id=booking.id,
            evidence=evidence,
        )
        return self.payments.labelled(order, bills, None)

    def _close_previous(self, booking: Booking) -> BillOrder | None:
        """The code shown before, closed at the provider (so it can no longer be paid) before anything else."""
        previous = self.billing.bill_order(booking.order_id) if booking.order_id else None
        if previous is not None and previous.state is OrderState.PENDING:
            self.qr_for(previous.channel).close(previous)
        return previous

    def _answer(self, order: BillOrder) -> DoorQr:
        if order.state is not OrderState.PENDING:
            return DoorQr(order, "")
        return DoorQr(order, self.qr_for(order.channel).code(order))

    def _made_with(self, who: str, key: str, booking_id: str, channel: Channel,
                   amount_fen: int | None = None) -> BillOrder | None:  # fmt: skip
        """The door order a key made, when it is asked for again the same way; anything else under it: refused."""
        order_id = order_of_key(who, key, self.uow)
        if order_id is None:
            return None
        order = self.billing.bill_order(order_id)
        same = order is not None and order.booking_id == booking_id and order.channel is channel
        if order is None or not same or amount_fen not in (None, order.amount_fen):
            raise Conflict("idempotency_key_reused")
        return order

    def _handover_of(self, who: str, key: str, collector: str) -> CashEntry | None:
        handover_id = order_of_key(who, key, self.uow)
        if handover_id is None:
            return None
        done = self.records.cash_entry(handover_id)
        if done is None or done.collector != collector:
            raise Conflict("idempotency_key_reused")
        return done

    def _collector(self, account: Staff, collector: str) -> str:
        """A collector the account reaches: of its company and, unless it is the company's admin, working at one of
        its lots (a cashier of another lot cannot see or take a collector's cash)."""
        email = collector.strip().lower()
        who = self.staff.get(email) if self.staff is not None else None
        if who is None or who.tenant_id != account.tenant_id or who.role is not Role.COLLECTOR:
            raise NotFound("staff_not_found", email=email[:254])
        if account.role is not Role.TENANT_ADMIN and not who.lot_ids & account.lot_ids:
            raise NotFound("staff_not_found", email=email[:254])
        return who.email
