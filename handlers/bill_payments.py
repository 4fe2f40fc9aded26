"""Paying bills: an owner's order for several bills (or a prepayment) paid online, the till's cash/POS/transfer,
a payment notification fulfilled exactly once, a paid bill refunded, an unpaid order closed.

Like a renewal: the server prices the order (late fees as of the community's today), the order is stored before the
provider is asked, and the one transaction that pays it moves the order, the bills and the ledger together.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from domain.admin import Permission, Staff
from domain.bill_order import (
    BillOrder,
    bill_label,
    bill_receipt,
    charges,
    checked_bills,
    close_bill_order,
    credit_balance,
    pay_bills,
    place_bill_order,
    receipt_items,
    receipted,
    refund_bill,
    refund_no,
    take_at_office,
)
from domain.bill_payment import Payable, payable
from domain.bill_run import Bill, BillState
from domain.community import Community, Vacancy
from domain.door import paid_at_door
from domain.errors import (
    BillChanged,
    BillingExists,
    BillInOrder,
    BillNotFound,
    BillNotPayable,
    BookingChanged,
    Conflict,
    InvalidInput,
    InvoiceNotFound,
    OrderKeyUsed,
    OrderSettled,
    PaymentRejected,
    StaleLot,
)
from domain.ids import BILL_ORDER_PREFIX, checked_id, is_bill_order
from domain.labels import label, local_time
from domain.money import yuan_text
from domain.order import UNPAID_ORDER_LIFETIME, Channel, OrderState
from domain.phone import masked_phone
from domain.plan import Plan
from handlers.fulfil_payment import Outcome, signed
from handlers.invoices import Invoicing, reverse_invoice
from handlers.notify import Notices, notify_owner
from handlers.office_keys import order_of_key
from handlers.ports import (
    Billing,
    Clock,
    CollectionRecords,
    IdSource,
    LotRepository,
    OwnerRepository,
    PaymentNotice,
    PaymentProvider,
    ReceiptSigner,
    Sealer,
    UnitOfWork,
)
from handlers.property import community_for
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.sweep_orders import SweepReport, settle_waiting

log = logging.getLogger("parkpass.bills")
RECEIPT_PAGE = "pages/receipt/index"
PREPAY_MOST_FEN = 10_000_000
"""At most 100,000 yuan prepaid at once."""


@dataclass(frozen=True)
class BillOrderToPay:
    order: BillOrder
    payment: dict[str, str]


@dataclass(frozen=True)
class BillPayments:
    billing: Billing
    owners: OwnerRepository
    sealer: Sealer
    uow: UnitOfWork
    ids: IdSource
    clock: Clock
    lots: LotRepository | None = None
    """Where a payment's e-receipt is chained: the community's first lot (none: no receipt)."""
    signer: ReceiptSigner | None = None
    bookings: CollectionRecords | None = None
    """Where a door order's booking is (a QR code paid at the door collects it)."""
    notices: Notices | None = None
    """Who tells an owner their door payment's receipt is ready."""

    # --- owners
    def my_units(self, owner_id: str) -> list[str]:
        """The units whose owner phone (as the office entered it) is the owner's verified phone."""
        owner = self.owners.get(owner_id)
        if owner is None or owner.phone is None:
            return []
        return self.billing.units_of_phone(self.sealer.fingerprint(owner.phone, "phone"))

    def my_bill(self, owner_id: str, bill_id: str) -> Bill:
        """A published bill of one of the owner's units (anything else does not exist for them)."""
        bill = self.billing.bill(checked_id("bill_id", bill_id))
        if bill is None or bill.state is BillState.DRAFT or bill.unit_id not in self.my_units(owner_id):
            raise BillNotFound("bill", bill_id)
        return bill

    def priced(self, bills: Sequence[Bill], community: Community, on: date | None = None) -> list[Payable]:
        """The bills with the late fee of the community's today (or of the day `on`)."""
        today = on or community.today(self.clock.now())
        rules = {}
        for bill in bills:
            found = self.billing.fee_item(bill.fee_item_id)
            rules[bill.id] = found[0].late_fee if found else None
        return [payable(b, rules[b.id], today) for b in bills]

    def order_bills(self, owner_id: str, bill_ids: Sequence[str], channel: Channel, key: str,
                    provider: PaymentProvider) -> BillOrderToPay:  # fmt: skip
        """One order for the owner's bills, priced now (late fees of today included); the same key answers the order
        it made. A bill paid, cancelled or in another unpaid order cannot be ordered."""
        if not channel.online:
            raise InvalidInput("bill_channel")
        owner = self.owners.get(owner_id)
        ids = list(dict.fromkeys(checked_id("bill_id", b) for b in bill_ids))
        earlier = self._made_with(f"owner:{owner_id}", key)
        if earlier is not None:
            return self._answer(_same(earlier, ids, channel), provider, owner.openid if owner else "")
        mine = set(self.my_units(owner_id))
        bills = self.billing.bills(ids)
        if len(bills) != len(ids) or any(b.unit_id not in mine or b.state is BillState.DRAFT for b in bills):
            found = {x.id for x in bills if x.unit_id in mine and x.state is not BillState.DRAFT}
            raise BillNotFound("bill", next((b for b in ids if b not in found), ""))
        community = self._community(checked_bills(bills))
        priced = charges(bills, self.priced(bills, community))
        order = self._new_order(owner_id, community.id, priced, None, sum(c.total_fen for c in priced), channel)
        order = self.labelled(order, bills, None)
        try:
            self.uow.commit(place_bill_order(order, bills, f"owner:{owner_id}", key))
        except OrderKeyUsed:
            earlier = self._made_with(f"owner:{owner_id}", key)
            if earlier is None:
                raise Conflict("kept_changing") from None
            order = earlier
        return self._answer(order, provider, owner.openid if owner else "")

    def prepay(self, owner_id: str, unit_id: str, amount_fen: int, channel: Channel, key: str,
               provider: PaymentProvider) -> BillOrderToPay:  # fmt: skip
        if not channel.online:
            raise InvalidInput("bill_channel")
        if not 0 < amount_fen <= PREPAY_MOST_FEN:
            raise InvalidInput("prepay_amount", most=PREPAY_MOST_FEN)
        unit = self.billing.unit(checked_id("unit_id", unit_id))
        if unit is None or unit.id not in self.my_units(owner_id):
            raise BillNotFound("unit", unit_id)
        owner = self.owners.get(owner_id)
        earlier = self._made_with(f"owner:{owner_id}", key)
        if earlier is not None and (earlier.prepay_unit, earlier.amount_fen, earlier.channel) != (
            unit.id,
            amount_fen,
            channel,
        ):
            raise Conflict("idempotency_key_reused")
        if earlier is None:
            order = self._new_order(owner_id, unit.community_id, (), unit.id, amount_fen, channel)
            order = self.labelled(order, (), unit.id)
            try:
                self.uow.commit(place_bill_order(order, (), f"owner:{owner_id}", key))
            except OrderKeyUsed:
                earlier = self._made_with(f"owner:{owner_id}", key)
                if earlier is None:
                    raise Conflict("kept_changing") from None
                order = earlier
        else:
            order = earlier
        return self._answer(order, provider, owner.openid if owner else "")

    def balance(self, owner_id: str, unit_id: str) -> int:
        unit = self.billing.unit(checked_id("unit_id", unit_id))
        if unit is None or unit.id not in self.my_units(owner_id):
            raise BillNotFound("unit", unit_id)
        return self.billing.balance(unit.id)

    def apply_for_vacancy(self, owner_id: str, unit_id: str, first: date, last: date, reason: str,
                          key: str) -> Vacancy:  # fmt: skip
        """The owner asks for a vacant period of their unit (the office approves it); the same key applies once."""
        unit = self.billing.unit(checked_id("unit_id", unit_id))
        if unit is None or unit.id not in self.my_units(owner_id):
            raise BillNotFound("unit", unit_id)
        if last < first:
            raise InvalidInput("vacancy_dates")
        digest = hashlib.sha256(f"owner:{owner_id}|{key}".encode()).hexdigest()[:24]
        vacancy = Vacancy(f"vacancy-{digest}", unit.community_id, unit.id, first, last, reason.strip())
        try:
            self.billing.add_vacancy(vacancy)
        except BillingExists:
            earlier = self.billing.vacancy(vacancy.id)
            if earlier is None:
                raise
            return earlier
        return vacancy

    def my_order(self, owner_id: str, order_id: str) -> BillOrder:
        order = self.billing.bill_order(checked_id("order_id", order_id)) if is_bill_order(order_id) else None
        if order is None or order.owner_id != owner_id:
            raise BillNotFound("bill", order_id)
        return order

    # --- the office's till and refunds
    def take_at_office(self, account: Staff, bill_ids: Sequence[str], channel: Channel, key: str) -> BillOrder:
        """Cash, POS or transfer for bills of one community, paid as entered; the same form's key answers what it
        did. A bill in an owner's order waiting for payment is refused (BillInOrder)."""
        if channel.online:
            raise InvalidInput("bill_channel")
        account.require(Permission.CASH)
        who = f"admin:{account.email}"
        ids = list(dict.fromkeys(checked_id("bill_id", b) for b in bill_ids))
        earlier = self._made_with(who, key)
        if earlier is not None:
            return _same(earlier, ids, channel)
        bills = self.billing.bills(ids)
        if len(bills) != len(ids):
            raise BillNotFound("bill", next(b for b in ids if b not in {x.id for x in bills}))
        community = community_for(account, bills[0].community_id if bills else "?", self.billing, Permission.CASH)
        community_id = checked_bills(bills)
        priced = charges(bills, self.priced(bills, community))
        now = self.clock.now()
        order = replace(
            self._new_order("office", community_id, priced, None, sum(c.total_fen for c in priced), channel),
            state=OrderState.PAID, paid_at=now, staff=account.email, expires_at=now,
        )  # fmt: skip
        order = self.labelled(replace(order, transaction_id=f"{channel.value}-{order.id}"), bills, None)
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.uow.commit(self.with_receipt(take_at_office(order, bills, who, key), order, bills))
            except OrderKeyUsed:
                earlier = self._made_with(who, key)
                if earlier is None:
                    raise Conflict("kept_changing") from None
                return earlier
            except StaleLot:
                wait_before_retry(attempt)  # another payment took the receipt chain's next number
                continue
            return order
        raise Conflict("kept_changing")

    def refund(
        self,
        account: Staff,
        bill_id: str,
        reason: str,
        provider_for: Callable[[Channel], PaymentProvider],
        invoicing: Invoicing | None = None,
    ) -> Bill:
        """A paid bill's money back to whoever paid it (the provider, the till, or the prepaid balance); refunding
        it twice refunds once. An invoice of its order is reversed (red-letter): it named money no longer paid."""
        bill = self.billing.bill(checked_id("bill_id", bill_id))
        if bill is None:
            raise BillNotFound("bill", bill_id)
        community_for(account, bill.community_id, self.billing, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        if bill.state is BillState.REFUNDED:
            return bill
        order = self.billing.bill_order(bill.order_id) if bill.order_id and is_bill_order(bill.order_id) else None
        plan = refund_bill(bill, order, reason.strip(), self.clock.now(), f"admin:{account.email}")
        if order is not None:
            # Asked first with a number of the bill's own, so a retry after any failure asks for the same refund.
            provider_for(order.channel).refund(order, refund_no(bill.id), bill.paid_fen)
        try:
            self.uow.commit(plan)
        except (BillChanged, OrderSettled):
            done = self.billing.bill(bill.id)
            if done is not None and done.state is BillState.REFUNDED:
                return done
            raise
        if order is not None and invoicing is not None:
            with contextlib.suppress(InvoiceNotFound):  # none asked for
                reverse_invoice(order.id, invoicing)
        return replace(bill, state=BillState.REFUNDED, note=reason.strip())

    # --- payments
    def fulfil(self, notice: PaymentNotice) -> Outcome:
        """A provider says a bill order is paid: its bills are paid once; money for bills paid or cancelled
        meanwhile goes to the unit's prepaid balance (money taken is never refused)."""
        order = self.billing.bill_order(notice.out_trade_no)
        if order is None:
            raise PaymentRejected("notice_unknown_order")
        if notice.amount_fen != order.amount_fen:
            raise PaymentRejected("notice_amount_differs", paid=notice.amount_fen, due=order.amount_fen)
        if not notice.succeeded:
            return Outcome.NOT_PAID
        in_another_order = False
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                order = self.billing.bill_order(order.id) or order
            if order.state in (OrderState.PAID, OrderState.REFUNDED):
                return Outcome.ALREADY_FULFILLED
            bills = self.billing.bills(order.bill_ids)
            payable_now = order.prepay_unit is None and all(b.state is BillState.UNPAID for b in bills)
            if payable_now and len(bills) == len(order.charges) and not in_another_order and order.booking_id:
                booking = self.bookings.booking(order.booking_id) if self.bookings is not None else None
                plan = paid_at_door(order, bills, booking, notice.paid_at, notice.transaction_id)
            elif payable_now and len(bills) == len(order.charges) and not in_another_order:
                plan = pay_bills(order, bills, notice.paid_at, notice.transaction_id)
            else:
                plan = credit_balance(order, notice.paid_at, notice.transaction_id)
                bills = []
            try:
                self.uow.commit(self.with_receipt(plan, plan.bill_orders[0].order, bills))
            except OrderSettled:
                continue  # paid by a twin of this notification, or closed meanwhile: the next round reads which
            except BillInOrder:
                # It closed, and another order took a bill since: that order pays the bill, this money is kept.
                in_another_order = True
                continue
            except (BillNotPayable, BillChanged, StaleLot, BookingChanged):
                wait_before_retry(attempt)  # a bill moved meanwhile: read again (its money may go to the balance)
                continue
            if order.booking_id and bills:
                self.tell_paid_at_door(plan.bill_orders[0].order)
            return Outcome.FULFILLED
        raise Conflict("kept_changing")

    def sweep(self, provider_for: Callable[[Channel], PaymentProvider], asked_after: timedelta) -> SweepReport:
        """Bill orders left unpaid: paid at the provider -> fulfilled (a lost notification); past their lifetime ->
        closed there and here, their bills free for another order."""
        now = self.clock.now()
        waiting = self.billing.pending_bill_orders(created_before=now - asked_after)
        return settle_waiting(waiting, provider_for, now, self.fulfil, self.close)

    def close(self, order: BillOrder) -> bool:
        """pending -> closed, letting its bills go; False if it was no longer pending."""
        try:
            self.uow.commit(close_bill_order(order))
        except (OrderSettled, BillChanged):
            return False
        return True

    def tell_paid_at_door(self, order: BillOrder) -> None:
        """The owner gets the receipt of a door payment at once (its page also asks for the invoice); a failed send
        is dropped: the receipt is in the mini-program."""
        community = self.billing.community(order.community_id)
        if self.notices is None or community is None or order.paid_at is None:
            return
        data = {
            "thing1": {"value": f"{community.name} {order.unit_label}"[:20]},
            "time2": {"value": local_time(order.paid_at, community.timezone)},
            "thing3": {"value": f"上门收费 已收 {yuan_text(order.amount_fen)} 元"[:20]},
        }
        notify_owner(order.owner_id, data, f"{RECEIPT_PAGE}?order_id={order.id}", self.notices)

    # --- helpers
    def with_receipt(self, plan: Plan, paid: BillOrder, bills: Sequence[Bill]) -> Plan:
        """The payment's e-receipt listing what it paid (named when the order was made: nothing more is read but
        the community and its lot), next in the chain of the community's first lot; the plan as it is when the
        community has no lot or this deployment no receipt key."""
        community = self.billing.community(paid.community_id)
        lot = self.lots.get(community.lot_ids[0]) if self.lots and community and community.lot_ids else None
        if lot is None or community is None or self.signer is None:
            return plan
        receipt = bill_receipt(paid, lot, community.name, paid.payer, receipt_items(paid, bool(bills)))
        return signed(receipted(plan, receipt, lot), self.signer)

    def labelled(self, order: BillOrder, bills: Sequence[Bill], unit_id: str | None) -> BillOrder:
        """The order with how its receipt will name its charges, its unit and its payer."""
        units = {u: self.billing.unit(u) for u in {b.unit_id for b in bills} | ({unit_id} if unit_id else set())}
        items = self.billing.fee_items(order.community_id)
        names = {f.id: f.name for f in items}
        # At a door the receipt lists the items by kind (物业费 / 车位费 / 代收代付).
        groups = {f.id: label("fee_category", f.group) for f in items} if order.booking_id else {}

        def unit_text(unit_id: str) -> str:
            unit = units.get(unit_id)
            return f"{unit.building}{unit.number}" if unit else unit_id

        by_id = {b.id: b for b in bills}
        labels = tuple(
            bill_label(
                unit_text(c.unit_id),
                names.get(c.fee_item_id, c.fee_item_id),
                by_id[c.bill_id].period,
                groups.get(c.fee_item_id),
            )
            for c in order.charges
        )
        owner = self.owners.get(order.owner_id)
        if owner is not None and owner.phone:
            payer = masked_phone(owner.phone)
        else:  # the till: the units' owners as the office entered them
            known = dict.fromkeys(o for u in units.values() if u is not None for o in u.owners)
            payer = "、".join(known) if known else "业主"
        unit = unit_id or (bills[0].unit_id if bills else "")
        return replace(order, labels=labels, unit_label=unit_text(unit) if unit else "", payer=payer)

    def _community(self, community_id: str) -> Community:
        community = self.billing.community(community_id)
        if community is None:
            raise BillNotFound("community", community_id)
        return community

    def _new_order(self, owner_id: str, community_id: str, priced: Sequence[object], unit: str | None, amount: int,
                   channel: Channel) -> BillOrder:  # fmt: skip
        now = self.clock.now()
        return BillOrder(
            id=BILL_ORDER_PREFIX + self.ids.new_id("bills").removeprefix("bills-"),
            owner_id=owner_id,
            community_id=community_id,
            charges=tuple(priced),  # type: ignore[arg-type]
            amount_fen=amount,
            channel=channel,
            state=OrderState.PENDING,
            created_at=now,
            expires_at=now + UNPAID_ORDER_LIFETIME,
            prepay_unit=unit,
        )

    def _made_with(self, who: str, key: str) -> BillOrder | None:
        order_id = order_of_key(who, key, self.uow)
        return self.billing.bill_order(order_id) if order_id else None

    def _answer(self, order: BillOrder, provider: PaymentProvider, openid: str) -> BillOrderToPay:
        if order.state is not OrderState.PENDING:
            return BillOrderToPay(order, {})
        # Asked after the order is stored, so a payment can never arrive for an order we do not know.
        return BillOrderToPay(order, provider.prepay(order, openid))


def _same(earlier: BillOrder, bill_ids: Sequence[str], channel: Channel) -> BillOrder:
    """The order a key made, when it is asked for again with the same bills and channel; another purchase with the
    same key is refused."""
    if set(earlier.bill_ids) != set(bill_ids) or earlier.channel is not channel:
        raise Conflict("idempotency_key_reused")
    return earlier
