"""A provider says an order is paid: extend the card exactly once, whatever arrives how often.

The lasting dedupe is the order's conditional move to `paid` inside the one
transaction that also moves the card, books the ledger and tells the gates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.errors import Conflict, InvalidId, OrderSettled, PaymentRejected, StaleCard, StaleLot
from domain.ids import checked_id
from domain.order import Fulfilment, OrderState, fulfil
from domain.receipt import SignedReceipt
from handlers.ports import CardRepository, LotRepository
from handlers.receipts import ReceiptSigner, sign
from handlers.renewals import OrderRepository
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

security = logging.getLogger("parkpass.security")


@dataclass(frozen=True)
class PaymentNotice:
    """A verified, decrypted provider notification (or query answer) about one order."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime
    succeeded: bool


class FulfilmentStore(Protocol):
    def commit(
        self, fulfilment: Fulfilment, card_version: int, lot_version: int, receipt: SignedReceipt | None = None
    ) -> None:
        """All of it in one transaction, or nothing (with the receipt, next in the lot's chain).

        OrderSettled if the order is already paid; StaleCard or StaleLot if the
        card or the lot's entitlement version moved since they were read.
        """
        ...


class Outcome(StrEnum):
    FULFILLED = "fulfilled"
    ALREADY_FULFILLED = "already_fulfilled"
    NOT_PAID = "not_paid"


def fulfil_payment(
    notice: PaymentNotice,
    orders: OrderRepository,
    cards: CardRepository,
    lots: LotRepository,
    store: FulfilmentStore,
    signer: ReceiptSigner | None = None,
) -> Outcome:
    """`signer` set: the payment's e-receipt is signed and committed with it."""
    try:
        order = orders.get(checked_id("out_trade_no", notice.out_trade_no))
    except InvalidId:
        order = None
    if order is None:
        raise _rejected("payment for an unknown order", notice)
    if notice.amount_fen != order.amount_fen:
        raise _rejected(f"amount {notice.amount_fen} differs from the order's {order.amount_fen}", notice)
    if not notice.succeeded:
        return Outcome.NOT_PAID
    if order.state in (OrderState.PAID, OrderState.REFUNDED):
        return Outcome.ALREADY_FULFILLED
    for attempt in range(MAX_ATTEMPTS):
        card, lot = cards.get(order.card_id), lots.get(order.lot_id)
        if card is None or lot is None:
            raise RuntimeError(f"order {order.id} points at a missing card or lot")
        done = fulfil(order, card, lot, notice.paid_at, notice.transaction_id)
        receipt = sign(done.receipt, signer) if signer is not None and done.receipt is not None else None
        try:
            store.commit(done, card.version, lot.entitlement_version, receipt)
        except OrderSettled:
            return Outcome.ALREADY_FULFILLED
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)  # the card or the lot moved meanwhile: recompute from what is there now
            continue
        return Outcome.FULFILLED
    raise Conflict("the card kept changing; the provider will retry")


def _rejected(why: str, notice: PaymentNotice) -> PaymentRejected:
    security.warning("payment notice rejected: %s (out_trade_no=%s)", why, notice.out_trade_no[:64])
    return PaymentRejected(why)
