"""Paying property-fee bills: an order for several bills (or a prepayment), and every change a bill's money makes,
as plans for the one commit path.

A bill is paid once: its state moves unpaid -> paid under a condition, and its ledger line's id (`bill:<id>`) can be
booked only once. An unpaid bill sits in at most one order waiting for payment (the claim `bill-unpaid:<id>`). Money
taken for bills someone else paid meanwhile is never refused: it goes to the unit's prepaid balance. A balance moves
by a delta under the condition that it stays at or above zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.bill_payment import Payable
from domain.bill_reminder import reminders_for
from domain.bill_run import Bill, BillState
from domain.card_change import AuditEntry
from domain.errors import BalanceTooLow, BillChanged, BillInOrder, BillNotPayable, InvalidInput, OrderKeyUsed
from domain.ids import ledger_lot
from domain.lot import DEFAULT_TIMEZONE, Lot
from domain.money import yuan_text
from domain.order import Channel, LedgerEntry, OrderState, order_key_claim
from domain.plan import (
    Absent,
    BalanceMove,
    BillOrderWrite,
    BillWrite,
    Claim,
    Holder,
    LotMove,
    Plan,
    Release,
    Take,
)
from domain.receipt import GENESIS, Receipt, receipt_id_for

if TYPE_CHECKING:
    from domain.door import Evidence

BALANCE = "balance"
"""A bill's `order_id` when the unit's prepaid balance paid it."""


@dataclass(frozen=True)
class BillCharge:
    """One bill as an order prices it: its amount and the late fee of the day the order was made."""

    bill_id: str
    unit_id: str
    fee_item_id: str
    principal_fen: int
    late_fee_fen: int

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.late_fee_fen


@dataclass(frozen=True)
class Described:
    name: str


@dataclass(frozen=True)
class BillOrder:
    """An order for bills (`charges`) or a prepayment of one unit (`prepay_unit`, no charges). Its id is also the
    out_trade_no; it starts with `bo-` so a payment notification knows it is one of these."""

    id: str
    owner_id: str
    community_id: str
    charges: tuple[BillCharge, ...]
    amount_fen: int
    channel: Channel
    state: OrderState
    created_at: datetime
    expires_at: datetime
    prepay_unit: str | None = None
    paid_at: datetime | None = None
    transaction_id: str | None = None
    staff: str | None = None
    credited: str | None = None
    """The unit whose balance took the money because its bills were paid or cancelled meanwhile."""
    labels: tuple[str, ...] = ()
    """How its receipt names each charge (`1栋101 / 物业费 2027-01`), made with the order so that paying it reads
    nothing more."""
    unit_label: str = ""
    """How its receipt names the unit of a prepayment (or of the bills, when the money goes to the balance)."""
    payer: str = "业主"
    """How its receipt names who paid: the owner's masked phone."""
    booking_id: str | None = None
    """Taken at the door of this collection booking (which holds the bills, not the order)."""
    evidence: Evidence | None = None
    """At the door: what its receipt is sealed with."""

    # What a payment provider's gateway reads of an order (its id starts with BILL_ORDER_PREFIX).
    card_id = ""
    lot_id = ""

    @property
    def package(self) -> Described:
        return Described("预存物业费" if self.prepay_unit else "物业费")

    @property
    def bill_ids(self) -> tuple[str, ...]:
        return tuple(c.bill_id for c in self.charges)


def unpaid_bill_claim(bill_id: str) -> str:
    """The one order waiting for payment that a bill is in."""
    return f"bill-unpaid:{bill_id}"


def charges(bills: Sequence[Bill], payables: Sequence[Payable]) -> tuple[BillCharge, ...]:
    by_id = {p.bill_id: p for p in payables}
    return tuple(
        BillCharge(b.id, b.unit_id, b.fee_item_id, by_id[b.id].principal_fen, by_id[b.id].late_fee_fen) for b in bills
    )


def checked_bills(bills: Sequence[Bill]) -> str:
    """The community of bills paid together: unpaid, published, of one community."""
    if not bills:
        raise InvalidInput("bills_empty")
    if len({b.community_id for b in bills}) != 1:
        raise InvalidInput("bills_one_community")
    for bill in bills:
        if bill.state is not BillState.UNPAID:
            raise BillNotPayable(bill.id)
    return bills[0].community_id


def place_bill_order(order: BillOrder, bills: Sequence[Bill], who: str, idempotency_key: str) -> Plan:
    """A new online order for the bills as read (each must still be unpaid), each bill taken into it: a bill in
    another order waiting for payment refuses this one."""
    key = Take(Claim(order_key_claim(who, idempotency_key), order.owner_id, order_id=order.id), OrderKeyUsed())
    held = tuple(
        Take(Claim(unpaid_bill_claim(b.id), order.owner_id, order_id=order.id), BillInOrder(b.id)) for b in bills
    )
    unchanged = tuple(BillWrite(b, (BillState.UNPAID,), BillNotPayable(b.id)) for b in bills)
    return Plan(takes=(key, *held), bill_orders=(BillOrderWrite(order),), bills=unchanged)


def pay_bills(order: BillOrder, bills: Sequence[Bill], paid_at: datetime, transaction_id: str) -> Plan:
    """What a confirmed payment of the order writes: the order paid, each bill paid with the late fee it was priced
    with (frozen), one ledger line per bill, the bills let out of the order."""
    paid = replace(order, state=OrderState.PAID, paid_at=paid_at, transaction_id=transaction_id)
    by_id = {b.id: b for b in bills}
    writes, lines, releases = [], [], []
    for charge in order.charges:
        bill = by_id[charge.bill_id]
        settled = replace(
            bill,
            state=BillState.PAID,
            late_fee_fen=charge.late_fee_fen,
            paid_fen=charge.total_fen,
            paid_at=paid_at,
            order_id=order.id,
        )
        writes.append(BillWrite(settled, (BillState.UNPAID,), BillNotPayable(bill.id)))
        lines.append(_line(f"bill:{bill.id}", order, bill.unit_id, bill.id, charge.total_fen, paid_at, transaction_id,
                           bill.fee_item_id))  # fmt: skip
        if order.channel.online and order.state is OrderState.PENDING and order.booking_id is None:
            # held by another order: this one closed and another took the bill since: it is not payable here
            releases.append(Release(unpaid_bill_claim(bill.id), Holder("order_id", order.id), BillInOrder(bill.id)))
    # A closed order let its bills go when it closed: paid late, it pays them only if no other order took them.
    free = tuple(
        Absent(unpaid_bill_claim(b), BillInOrder(b))
        for b in order.bill_ids
        if order.channel.online and order.state is OrderState.CLOSED and order.booking_id is None
    )
    return Plan(
        bill_orders=(BillOrderWrite(paid, (order.state,)),),
        bills=tuple(writes),
        ledger=tuple(lines),
        releases=tuple(releases),
        absent=free,
    )


def credit_balance(order: BillOrder, paid_at: datetime, transaction_id: str) -> Plan:
    """A payment that cannot pay its bills (paid or cancelled meanwhile), or a prepayment: the money goes to the
    unit's prepaid balance, booked once (`prepay:<order>`); the order is paid, and lets its bills go."""
    unit = order.prepay_unit or order.charges[0].unit_id
    credited = None if order.prepay_unit else unit
    paid = replace(order, state=OrderState.PAID, paid_at=paid_at, transaction_id=transaction_id, credited=credited)
    line = _line(f"prepay:{order.id}", order, unit, unit, order.amount_fen, paid_at, transaction_id, "prepay")
    releases = tuple(  # a closed order let them go when it closed (another order may hold them now)
        Release(unpaid_bill_claim(b), Holder("order_id", order.id), BillChanged(b))
        for b in order.bill_ids
        if order.channel.online and order.state is OrderState.PENDING and order.booking_id is None
    )
    return Plan(
        bill_orders=(BillOrderWrite(paid, (order.state,)),),
        ledger=(line,),
        balances=(BalanceMove(unit, order.amount_fen),),
        releases=releases,
    )


def take_at_office(order: BillOrder, bills: Sequence[Bill], actor: str, idempotency_key: str) -> Plan:
    """Cash, POS or transfer at the office: the order is made paid; a bill in an owner's order waiting for payment
    is refused (the owner may be paying it right now)."""
    key = Take(Claim(order_key_claim(actor, idempotency_key), order.owner_id, order_id=order.id), OrderKeyUsed())
    free = tuple(Absent(unpaid_bill_claim(b.id), BillInOrder(b.id)) for b in bills)
    new = replace(order, state=OrderState.PENDING)
    assert order.paid_at is not None and order.transaction_id is not None
    paid = pay_bills(new, bills, order.paid_at, order.transaction_id)
    made = (BillOrderWrite(replace(order, state=OrderState.PAID)),)
    return replace(paid, bill_orders=made, takes=(key,), absent=free)


def close_bill_order(order: BillOrder) -> Plan:
    """An unpaid order closes and lets its bills go (a door order's are the booking's to let go)."""
    closed = replace(order, state=OrderState.CLOSED)
    releases = tuple(
        Release(unpaid_bill_claim(b), Holder("order_id", order.id), BillChanged(b))
        for b in order.bill_ids
        if order.booking_id is None
    )
    return Plan(bill_orders=(BillOrderWrite(closed, (OrderState.PENDING,)),), releases=releases)


def publish(drafts: Sequence[Bill], balance_fen: int, unit_id: str, at: datetime, actor: str,
            paid_from: Sequence[str] = (), timezone: str = DEFAULT_TIMEZONE) -> Plan:  # fmt: skip
    """A unit's drafts of a run made due (draft -> unpaid), those in `paid_from` paid from its prepaid balance (whole
    bills, oldest due first: domain.bill_payment.paid_from_balance), the balance down by as much, never below
    zero even if a payment moved it meanwhile."""
    writes, taken = [], 0
    for bill in drafts:
        if bill.id in paid_from:
            done = replace(bill, state=BillState.PAID, paid_fen=bill.amount_fen, paid_at=at, order_id=BALANCE)
            taken += bill.amount_fen
        else:
            done = replace(bill, state=BillState.UNPAID)
        writes.append(BillWrite(done, (BillState.DRAFT,), BillChanged(bill.id)))
    if taken > balance_fen:
        raise ValueError("a balance pays whole bills it holds")
    audit = tuple(_audit(b.bill, at, actor, "publish", None) for b in writes)
    balances = (BalanceMove(unit_id, -taken, BalanceTooLow(unit_id)),) if taken else ()
    reminders = tuple(r for w in writes if w.bill.state is BillState.UNPAID for r in reminders_for(w.bill, timezone))
    return Plan(bills=tuple(writes), balances=balances, audit=audit, bill_reminders=reminders)


def cancel_bill(bill: Bill, reason: str, at: datetime, actor: str) -> Plan:
    """A draft or an unpaid bill is cancelled (never edited): not while it is in an order waiting for payment."""
    if bill.state not in (BillState.DRAFT, BillState.UNPAID):
        raise InvalidInput("bill_not_open")
    cancelled = replace(bill, state=BillState.CANCELLED, note=reason)
    return Plan(
        bills=(BillWrite(cancelled, (bill.state,), BillChanged(bill.id)),),
        absent=(Absent(unpaid_bill_claim(bill.id), BillInOrder(bill.id)),),
        audit=(_audit(cancelled, at, actor, "cancel", reason),),
    )


def reissue(bill: Bill, lines: Any, amount_fen: int, reissued_id: str) -> Bill:
    """The bill that replaces a cancelled one: a new id, linked to it, due as it was, waiting to be published."""
    return replace(bill, id=reissued_id, lines=lines, amount_fen=amount_fen, state=BillState.DRAFT, replaces=bill.id,
                   note=None)  # fmt: skip


def waive_late_fee(bill: Bill, reason: str, at: datetime, actor: str) -> Plan:
    if bill.state is not BillState.UNPAID:
        raise BillNotPayable(bill.id)
    waived = replace(bill, waived=reason)
    return Plan(
        bills=(BillWrite(waived, (BillState.UNPAID,), BillChanged(bill.id)),),
        audit=(_audit(waived, at, actor, "waive_late_fee", reason),),
    )


def refund_bill(bill: Bill, order: BillOrder | None, reason: str, at: datetime, actor: str) -> Plan:
    """A paid bill's money back (what was paid for it, late fee included): the bill is refunded, a negative ledger
    line is booked once. Paid from the balance: the money goes back to the balance."""
    if bill.state is not BillState.PAID:
        raise InvalidInput("bill_not_paid")
    refunded = replace(bill, state=BillState.REFUNDED, note=reason)
    writes = (BillWrite(refunded, (BillState.PAID,), BillChanged(bill.id)),)
    audit = (_audit(refunded, at, actor, "refund", reason),)
    if order is None:  # paid from the balance: no money left the property office
        return Plan(bills=writes, balances=(BalanceMove(bill.unit_id, bill.paid_fen),), audit=audit)
    line = _line(f"refund:bill:{bill.id}", order, bill.unit_id, bill.id, -bill.paid_fen, at,
                 order.transaction_id or "", bill.fee_item_id)  # fmt: skip
    return Plan(bills=writes, ledger=(line,), audit=audit)


def refund_no(bill_id: str) -> str:
    """The provider's refund number of a bill's refund: one per bill, so a retry is the same refund."""
    return f"rf-{bill_id}"[:64]


def _line(entry_id: str, order: BillOrder, unit_id: str, subject: str, fen: int, at: datetime, transaction_id: str,
          what: str) -> LedgerEntry:  # fmt: skip
    return LedgerEntry(
        id=entry_id,
        lot_id=ledger_lot(order.community_id),
        order_id=order.id,
        card_id=subject,
        owner_id=order.owner_id,
        amount_fen=fen,
        channel=order.channel,
        transaction_id=transaction_id,
        booked_at=at,
        package=what,
    )


def _audit(bill: Bill, at: datetime, actor: str, action: str, reason: str | None) -> AuditEntry:
    after = {"state": bill.state.value, "amount_fen": bill.amount_fen}
    return AuditEntry(f"bill:{bill.id}", f"{at.isoformat()}#{action}", at, actor, action, reason, None, after)


def bill_receipt(order: BillOrder, lot: Lot, community_name: str, payer: str, items: Sequence[str]) -> Receipt:
    """A paid bill order's e-receipt, next in the chain of the community's first lot (the property office's
    receipts are one chain per lot): its `plates` list what was paid (`<unit> / <fee item> <period> / <yuan>`)."""
    if order.paid_at is None:
        raise ValueError("only a paid order has a receipt")
    first, last = items_period(items)
    day = order.paid_at.date().isoformat()  # a prepayment names no period: the day it was paid
    return Receipt(
        id=receipt_id_for(order.id),
        lot_id=lot.id,
        seq=lot.receipt_seq + 1,
        order_id=order.id,
        lot_name=community_name,
        owner=payer,
        plates=tuple(items),
        period_from=first or day,
        period_until=last or day,
        amount_fen=order.amount_fen,
        channel=order.channel.value,
        transaction_id=order.transaction_id or "",
        paid_at=order.paid_at.isoformat(),
        prev_hash=lot.receipt_hash or GENESIS,
        evidence=order.evidence.fields() if order.evidence is not None else None,
    )


def receipted(plan: Plan, receipt: Receipt, lot: Lot) -> Plan:
    """The plan with its receipt, moving the lot's chain from the head read."""
    return replace(plan, receipt=receipt, lot=LotMove(lot.id, receipt_at=lot.receipt_seq))


ITEM_PARTS = " / "


def bill_label(unit: str, what: str, period: str | None, group: str | None = None) -> str:
    """`1栋101 / 物业费 2027-01` (a prepayment names no period); by kind at a door: `[代收代付] 1栋101 / 水费 …`."""
    shown = ITEM_PARTS.join((unit, f"{what} {period}" if period else what))
    return f"[{group}] {shown}" if group else shown


def bill_item(label: str, fen: int) -> str:
    """One line of a bill receipt: `1栋101 / 物业费 2027-01 / 221.25 元`."""
    return ITEM_PARTS.join((label, f"{yuan_text(fen)} 元"))


def receipt_items(order: BillOrder, paid_bills: bool) -> list[str]:
    """What the receipt lists: each bill paid, or the money kept as the unit's balance."""
    if paid_bills and order.labels:
        return [bill_item(label, c.total_fen) for label, c in zip(order.labels, order.charges, strict=True)]
    return [bill_item(bill_label(order.unit_label or order.prepay_unit or "", "预存", None), order.amount_fen)]


def items_period(items: Sequence[str]) -> tuple[str, str]:
    """The first and the last period the items name (`2027-01`); empty when none does."""
    periods = sorted(p for item in items for p in item.split(ITEM_PARTS)[1:2] for p in [p.split(" ")[-1]]
                     if len(p) == 7 and p[4] == "-")  # fmt: skip
    return (periods[0], periods[-1]) if periods else ("", "")
