"""A provider says an order is paid: extend the card exactly once, whatever arrives how often.

The lasting dedupe is the order's conditional move to `paid` inside the one
transaction that also moves the card, books the ledger and tells the gates.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.errors import Conflict, InvalidId, OrderSettled, PaymentRejected, StaleCard, StaleLot
from domain.ids import checked_id
from domain.order import Order, OrderState, fulfil
from domain.plan import Plan
from handlers.ports import (
    CardRepository,
    OrderRepository,
    PaymentNotice,
    PaymentStatus,
    ReceiptSigner,
    UnitOfWork,
)
from handlers.receipts import sign

if TYPE_CHECKING:
    from domain.bill_order import BillOrder
    from domain.visit_payment import VisitOrder
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

security = logging.getLogger("parkpass.security")


class Outcome(StrEnum):
    FULFILLED = "fulfilled"
    ALREADY_FULFILLED = "already_fulfilled"
    NOT_PAID = "not_paid"


def fulfil_payment(
    notice: PaymentNotice,
    orders: OrderRepository,
    cards: CardRepository,
    uow: UnitOfWork,
    signer: ReceiptSigner | None = None,
) -> Outcome:
    """`signer` set: the payment's e-receipt is signed and committed with it.

    A notice that names its card and lot (`payment_reference`, handed back by the
    provider) reads them with the order in one request: one read and the
    transaction, the least a payment can cost while the owner waits at the barrier."""
    try:
        order_id = checked_id("out_trade_no", notice.out_trade_no)
    except InvalidId:
        raise _rejected(notice, PaymentRejected("notice_unknown_order")) from None
    card = lot = None
    if notice.card_id and notice.lot_id:
        order, card, lot = cards.get_with_order(order_id, notice.card_id, notice.lot_id)
    else:
        order = orders.get(order_id)
    if order is None:
        raise _rejected(notice, PaymentRejected("notice_unknown_order"))
    if notice.amount_fen != order.amount_fen:
        raise _rejected(notice, PaymentRejected("notice_amount_differs", paid=notice.amount_fen, due=order.amount_fen))
    if not notice.succeeded:
        return Outcome.NOT_PAID
    if order.state in (OrderState.PAID, OrderState.REFUNDED):
        return Outcome.ALREADY_FULFILLED
    for attempt in range(MAX_ATTEMPTS):
        if attempt:  # read again: it may have closed meanwhile (then it holds no unpaid slot to give back)
            order = orders.get(order.id) or order
            if order.state in (OrderState.PAID, OrderState.REFUNDED):
                return Outcome.ALREADY_FULFILLED
        if attempt or card is None or lot is None or (card.id, lot.id) != (order.card_id, order.lot_id):
            # The order says which card it is for; the notice's hint only saved a request.
            card, lot = cards.get_with_lot(order.card_id, order.lot_id)  # one request: the owner waits
        if card is None or lot is None:
            raise RuntimeError(f"order {order.id} points at a missing card or lot")
        plan = fulfil(order, card, lot, notice.paid_at, notice.transaction_id).plan
        try:
            uow.commit(signed(plan, signer))
        except OrderSettled:
            return Outcome.ALREADY_FULFILLED
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)  # the card or the lot moved meanwhile: recompute from what is there now
            continue
        return Outcome.FULFILLED
    raise Conflict("kept_changing")


def paid_as_queried(order: Order | BillOrder | VisitOrder, status: PaymentStatus, now: datetime) -> PaymentNotice:
    """What the provider said when asked (a lost notification, or a close it refused) as the notice it would send."""
    return PaymentNotice(order.id, status.transaction_id or "", status.amount_fen or -1, status.paid_at or now, True)


def signed(plan: Plan, signer: ReceiptSigner | None) -> Plan:
    """The plan with its receipt signed; with no receipt key, without a receipt (the chain does not move)."""
    if plan.receipt is None:
        return plan
    if signer is None:
        return plan.unsigned()
    return plan.with_signature(sign(plan.receipt, signer))


def _rejected(notice: PaymentNotice, rejected: PaymentRejected) -> PaymentRejected:
    security.warning("payment notice rejected: %s (out_trade_no=%s)", rejected.message, notice.out_trade_no[:64])
    return rejected
