"""Renewal orders and what a payment does: the period bought, the ledger line, the gate's news.

The order keeps a snapshot of the package it sold, so a later price change or
a disabled package never alters what was paid for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.card import Card, CardState
from domain.card_change import AuditEntry, card_plan, unpaid_claim
from domain.entitlement import Entitlement
from domain.errors import (
    DomainError,
    OrderKeyUsed,
    OrderPaid,
    OrderRefundedAlready,
    OrderSettled,
    StaleCard,
    UnpaidOrderExists,
)
from domain.lot import Lot
from domain.package import Package
from domain.plan import CardUnchanged, Claim, Holder, LotMove, OrderWrite, Plan, Release, Take
from domain.receipt import GENESIS, Receipt, receipt_for
from domain.reminder import Slot
from domain.renewal import bought_until, quote

UNPAID_ORDER_LIFETIME = timedelta(minutes=15)
"""An order waiting for payment closes this long after it was made (renewals, bills and visits alike)."""


class Channel(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    CASH = "cash"
    """Taken at the property office (like `pos` and `transfer`): entered by a cashier, paid at once."""
    POS = "pos"
    TRANSFER = "transfer"

    @property
    def online(self) -> bool:
        return self in (Channel.WECHAT, Channel.ALIPAY)


class OrderState(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    REFUNDED = "refunded"


class RefundState(StrEnum):
    """Where a refunded order's money is: the card's days go back when the office refunds, the money when the
    provider says so (WeChat Pay answers a refund PROCESSING, then notifies REFUND.SUCCESS / ABNORMAL / CLOSED)."""

    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    ABNORMAL = "abnormal"
    """The payer's account could not take it (a closed bank card): the office returns it another way."""
    CLOSED = "closed"
    """The provider gave the refund up: no money went back."""


REFUND_MOVES: dict[RefundState | None, frozenset[RefundState]] = {
    None: frozenset(RefundState),
    RefundState.PROCESSING: frozenset({RefundState.SUCCEEDED, RefundState.ABNORMAL, RefundState.CLOSED}),
    RefundState.ABNORMAL: frozenset({RefundState.SUCCEEDED, RefundState.CLOSED}),
}
"""What a refund may become from where it is; SUCCEEDED and CLOSED are final (an abnormal refund the merchant sends
to another account in the merchant platform succeeds later)."""


@dataclass(frozen=True)
class Order:
    id: str
    """Also the out_trade_no sent to the provider."""
    owner_id: str
    card_id: str
    lot_id: str
    package: Package
    amount_fen: int
    channel: Channel
    quoted_from: date
    quoted_until: date
    state: OrderState
    created_at: datetime
    expires_at: datetime
    """An unpaid order closes then (here and at the provider)."""
    paid_at: datetime | None = None
    transaction_id: str | None = None
    new_valid_from: date | None = None
    new_valid_until: date | None = None
    """The period the payment actually bought (it may differ from the quote if the card changed)."""
    owner_label: str = "微信用户"
    """How receipts name the owner: the masked phone when bound."""
    staff: str | None = None
    """Who entered an offline payment (cash, POS, transfer)."""
    refund: RefundState | None = None
    """A refunded order's money, as the provider last said; None until refunded."""


def offline_transaction_id(order: Order) -> str:
    """An offline payment's reference (cash has none): derived from the order, so a retry books the same."""
    return f"{order.channel.value}-{order.id}"


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    lot_id: str
    order_id: str
    card_id: str
    owner_id: str
    amount_fen: int
    channel: Channel
    transaction_id: str
    booked_at: datetime
    package: str = ""
    """The package's name, for the office's revenue by package."""


@dataclass(frozen=True)
class Fulfilment:
    order: Order
    card: Card
    ledger: LedgerEntry
    entitlements: tuple[Entitlement, ...]
    was: OrderState
    """The order's state before: a pending order still holds its card's one unpaid slot."""
    reminders: tuple[Slot, ...] = ()
    """The expiry reminders of the card's new cycle."""
    audit: AuditEntry | None = None
    receipt: Receipt | None = None
    """The payment's e-receipt, next in the lot's chain (signed by the handler)."""
    plan: Plan = field(default_factory=Plan)
    """What the payment writes, in one transaction (I3, I4, I5, I6)."""


def fulfil(order: Order, card: Card, lot: Lot, paid_at: datetime, transaction_id: str) -> Fulfilment:
    """What a confirmed payment changes, computed from the card as it is now.

    The payment buys the package's duration: if the card changed since the
    quote (an admin fix, a pause), the period runs on from the card's present
    end. A paid order is never refused, not even for the max date.
    """
    today = lot.today(paid_at)
    bought = quote(card, replace(order.package, enabled=True), lot, today)
    running = card.valid_until is not None and card.valid_until >= today
    renewed = replace(
        card,
        valid_from=card.valid_from if running else bought.new_valid_from,
        valid_until=bought.new_valid_until,
        state=CardState.ACTIVE if card.state in (CardState.PENDING, CardState.EXPIRED) else card.state,
        pay_by=None,
    )
    paid = replace(
        order,
        state=OrderState.PAID,
        paid_at=paid_at,
        transaction_id=transaction_id,
        new_valid_from=bought.new_valid_from,
        new_valid_until=bought.new_valid_until,
    )
    ledger = LedgerEntry(
        id=f"payment:{order.id}",
        lot_id=order.lot_id,
        order_id=order.id,
        card_id=card.id,
        owner_id=order.owner_id,
        amount_fen=order.amount_fen,
        channel=order.channel,
        transaction_id=transaction_id,
        booked_at=paid_at,
        package=order.package.name,
    )
    receipt = receipt_for(paid, lot.name, card.plates, lot.receipt_seq + 1, lot.receipt_hash or GENESIS)
    changed = card_plan(card, renewed, lot, paid_at, f"payment:{order.channel.value}", "renew", f"订单 {order.id}")
    # I6: the order moves pending|closed -> paid once; a pending online order gives back the card's unpaid slot.
    frees_slot = order.state is OrderState.PENDING and order.channel.online
    money = Plan(
        lot=LotMove(lot.id, feed_at=lot.entitlement_version, receipt_at=lot.receipt_seq),
        # held by another order: this one closed and another took the slot since it was read: read again
        releases=(Release(unpaid_claim(card.id), Holder("order_id", order.id), StaleCard(card.id)),)
        if frees_slot
        else (),
        orders=(OrderWrite(paid, (OrderState.PENDING, OrderState.CLOSED)),),
        ledger=(ledger,),
        receipt=receipt,
    )
    plan = money + changed
    news, reminders, audit = plan.events, plan.reminders, plan.audit[0]
    return Fulfilment(paid, renewed, ledger, news, order.state, reminders, audit, receipt, plan)


def place_order(order: Order, idempotency_key: str, card_version: int, who: str | None = None) -> Plan:
    """A new order for the card as it was quoted (at `card_version`), claimed by its idempotency key; an online
    one also takes the card's one unpaid slot.

    Offline payments (cash, POS, transfer) are paid as they are entered, so they never
    hold the slot: an owner paying online in the same minute is not blocked. A card
    cancelled or lapsed since the quote is read again (it is then refused).
    """
    key = order_key_claim(who or buyer(order), idempotency_key)
    claim = Claim(key, order.owner_id, order.card_id, order_id=order.id)
    takes = [Take(claim, OrderKeyUsed())]
    if order.channel.online:
        slot = Claim(unpaid_claim(order.card_id), order.owner_id, order.card_id, order_id=order.id)
        takes.append(Take(slot, UnpaidOrderExists("?")))
    return Plan(
        orders=(OrderWrite(order),), takes=tuple(takes), unchanged=(CardUnchanged(order.card_id, card_version),)
    )


def order_key_claim(who: str, idempotency_key: str) -> str:
    """One order per idempotency key of whoever made it (`owner:<id>` in the mini-program, `admin:<email>` at the
    office's till): a retried purchase finds the first, and no one's key can meet another's."""
    return f"order-key:{who}:{idempotency_key}"


def buyer(order: Order) -> str:
    """Who made an order the owner made: the namespace of their idempotency keys."""
    return f"owner:{order.owner_id}"


def close_order(order: Order) -> Plan:
    """An unpaid order closes (pending -> closed) and gives back the card's unpaid slot."""
    closed = replace(order, state=OrderState.CLOSED)
    release = Release(unpaid_claim(order.card_id), Holder("order_id", order.id), OrderSettled(order.id))
    return Plan(orders=(OrderWrite(closed, (OrderState.PENDING,)),), releases=(release,))


def cancel_refusal(order: Order) -> DomainError | None:
    """Why an owner's cancel leaves the order as it is: it was paid (perhaps just now: money taken is never
    refused, I6) or refunded. None for an order that is closed, or pending (the provider decides which)."""
    refused: OrderPaid | OrderRefundedAlready
    if order.state is OrderState.PAID:
        refused = OrderPaid(order.id, (order.new_valid_until or order.quoted_until).isoformat())
    elif order.state is OrderState.REFUNDED:
        refused = OrderRefundedAlready(order.id)
    else:
        return None
    refused.order = order
    return refused


@dataclass(frozen=True)
class OrderRefunded:
    """After a refund commits: an invoice of the order is reversed (or withdrawn)."""

    order_id: str


@dataclass(frozen=True)
class Refund:
    order: Order
    card: Card
    ledger: LedgerEntry
    entitlements: tuple[Entitlement, ...]
    reminders: tuple[Slot, ...] = ()
    audit: AuditEntry | None = None
    plan: Plan = field(default_factory=Plan)


def refund(
    order: Order,
    card: Card,
    lot: Lot,
    refunded_at: datetime,
    actor: str = "system",
    later: tuple[Order, ...] = (),
    reason: str | None = None,
    money: RefundState = RefundState.SUCCEEDED,
) -> Refund:
    """Take back what a paid order bought: the card ends as if the order had never been bought.

    `later` are the card's paid orders bought after it: each that ran on from the one
    before (it started after the day it was paid) is counted again from where the card
    now ends, so a month stays a month and month ends stay month ends (I7). Days the
    card moved since (a pause, a fix) stay with it. A refund of everything the card ever
    had leaves it pending, with no validity. `reason`: why (the office's words), kept in the card's history
    (without one, the order's id). `money`: what the provider answered the refund (PROCESSING until it confirms).
    """
    if order.state is not OrderState.PAID or order.new_valid_from is None or order.new_valid_until is None:
        raise ValueError("only a paid order can be refunded")
    ends = _end_without(order, card, lot, later)
    if ends is None or card.valid_from is None or ends < card.valid_from:
        # Nothing left of what it was sold: it waits for a first payment again (a cancelled card stays cancelled).
        # As a new approval: to be paid for within the lot's days, or it lapses and its place goes on.
        pending = card.state is not CardState.CANCELLED
        pay_by = lot.today(refunded_at) + timedelta(days=lot.cards.pay_within_days) if pending else None
        state = CardState.PENDING if pending else CardState.CANCELLED
        taken_back = replace(card, valid_from=None, valid_until=None, state=state, pay_by=pay_by)
    else:
        taken_back = replace(card, valid_until=ends)
    ledger = LedgerEntry(
        id=f"refund:{order.id}",
        lot_id=order.lot_id,
        order_id=order.id,
        card_id=card.id,
        owner_id=order.owner_id,
        amount_fen=-order.amount_fen,
        channel=order.channel,
        transaction_id=order.transaction_id or "",
        booked_at=refunded_at,
        package=order.package.name,
    )
    refunded = replace(order, state=OrderState.REFUNDED, refund=money)
    why = reason.strip() if reason and reason.strip() else f"订单 {order.id}"
    changed = card_plan(card, taken_back, lot, refunded_at, actor, "refund", why)
    books = Plan(
        orders=(OrderWrite(refunded, (OrderState.PAID,), refund_was=(None,)),),
        ledger=(ledger,),
        follow_ups=(OrderRefunded(order.id),),
    )
    plan = books + changed
    news, reminders, audit = plan.events, plan.reminders, plan.audit[0]
    return Refund(refunded, taken_back, ledger, news, reminders, audit, plan)


def refund_settled(order: Order, state: RefundState) -> Plan | None:
    """The provider's word on a refunded order's money, as a plan; None when it changes nothing (said before, or
    late: a PROCESSING after the result). Conditional on the refund being where it was read."""
    if order.state is not OrderState.REFUNDED or state not in REFUND_MOVES.get(order.refund, frozenset()):
        return None
    settled = replace(order, refund=state)
    return Plan(orders=(OrderWrite(settled, (OrderState.REFUNDED,), refund_was=(order.refund,)),))


def _end_without(order: Order, card: Card, lot: Lot, later: tuple[Order, ...]) -> date | None:
    assert order.new_valid_from is not None and order.new_valid_until is not None
    if card.valid_until is None:
        return None
    end = order.new_valid_from - timedelta(days=1)
    was = order.new_valid_until
    chained = sorted(
        (o for o in later if o.new_valid_from and o.new_valid_from > was and o.state is OrderState.PAID),
        key=lambda o: o.new_valid_from or was,
    )
    for o in chained:
        assert o.new_valid_from is not None and o.new_valid_until is not None and o.paid_at is not None
        if o.new_valid_from <= lot.today(o.paid_at) or o.new_valid_until > card.valid_until:
            break  # bought for a lapsed card (it started the day it was paid): it does not run on from this one
        gap = o.new_valid_from - was - timedelta(days=1)  # days the card moved between the two (a pause)
        end = bought_until(end + timedelta(days=1) + gap, o.package, lot)
        was = o.new_valid_until
    return end + (card.valid_until - was)


REFERENCE_MOST = 128
"""WeChat Pay's `attach` holds at most 128 characters."""


def payment_reference(order: Order) -> str | None:
    """What the order asks the provider to hand back, signed, with its notification: the card and the lot, so
    the notification reads the order, the card and the lot at once. None when it would not fit."""
    reference = f"{order.card_id}:{order.lot_id}"
    return reference if order.card_id and len(reference) <= REFERENCE_MOST else None


def referenced(reference: str | None) -> tuple[str, str] | None:
    """(card id, lot id) of a reference handed back; None for none or anything else (only a hint: the order
    read says which card it is for)."""
    card_id, _, lot_id = (reference or "").partition(":")
    return (card_id, lot_id) if card_id and lot_id and ":" not in lot_id else None
