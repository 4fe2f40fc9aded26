"""Renewal orders and what a payment does: the period bought, the ledger line, the gate's news.

The order keeps a snapshot of the package it sold, so a later price change or
a disabled package never alters what was paid for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.card import Card, CardState
from domain.card_change import AuditEntry, card_audit
from domain.entitlement import Entitlement, entitlements_of
from domain.lot import Lot
from domain.package import Package
from domain.receipt import GENESIS, Receipt, receipt_for
from domain.reminder import Slot, slots_for
from domain.renewal import quote


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
    news = entitlements_of(renewed, lot, paid_at)
    audit = card_audit(card, renewed, paid_at, f"payment:{order.channel.value}", "renew", f"order {order.id}")
    receipt = receipt_for(paid, lot.name, card.plates, lot.receipt_seq + 1, lot.receipt_hash or GENESIS)
    return Fulfilment(paid, renewed, ledger, news, order.state, tuple(slots_for(renewed, lot)), audit, receipt)


@dataclass(frozen=True)
class Refund:
    order: Order
    card: Card
    ledger: LedgerEntry
    entitlements: tuple[Entitlement, ...]
    reminders: tuple[Slot, ...] = ()
    audit: AuditEntry | None = None


def refund(order: Order, card: Card, lot: Lot, refunded_at: datetime, actor: str = "system") -> Refund:
    """Take back what a paid order bought: its days come off the card's end, its money off the ledger.

    Later renewals stacked after it keep their length, so the card ends earlier by
    exactly the refunded period. A refund of everything the card ever had leaves
    it pending, with no validity.
    """
    if order.state is not OrderState.PAID or order.new_valid_from is None or order.new_valid_until is None:
        raise ValueError("only a paid order can be refunded")
    period = order.new_valid_until - order.new_valid_from + timedelta(days=1)
    ends = card.valid_until - period if card.valid_until is not None else None
    if ends is None or card.valid_from is None or ends < card.valid_from:
        taken_back = replace(card, valid_from=None, valid_until=None, state=CardState.PENDING)
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
    return Refund(
        replace(order, state=OrderState.REFUNDED),
        taken_back,
        ledger,
        entitlements_of(taken_back, lot, refunded_at),
        tuple(slots_for(taken_back, lot)),
        card_audit(card, taken_back, refunded_at, actor, "refund", f"order {order.id}"),
    )
