"""An owner cancels an order left unpaid: closed at the provider and here, so the card can be renewed at once.

The provider decides. An order is closed here only once the provider has closed
it (so it can no longer be paid); one the payer paid meanwhile is fulfilled, as
the sweep does for a lost notification, and is not cancelled. Asked twice, or
twice at once, the order closes once: the close is the order's conditional move
pending -> closed in the one commit path, and closing at the provider again is
harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.errors import Conflict, PaymentUnavailable
from domain.order import Channel, Order, OrderState, cancel_refusal
from handlers.fulfil_payment import fulfil_payment, paid_as_queried
from handlers.ports import (
    CardRepository,
    Clock,
    OrderRepository,
    PaymentProvider,
    PaymentStatus,
    ReceiptSigner,
    UnitOfWork,
)
from handlers.renewals import close_unpaid, my_order


def cancel_order(
    owner_id: str,
    order_id: str,
    *,
    orders: OrderRepository,
    cards: CardRepository,
    uow: UnitOfWork,
    provider_for: Callable[[Channel], PaymentProvider],
    clock: Clock,
    signer: ReceiptSigner | None = None,
) -> Order:
    """The owner's order, closed (now or before). OrderPaid when it is paid, found paid at the provider just
    now included (then it has been fulfilled); OrderRefundedAlready; OrderNotFound for anyone else's."""
    order = my_order(owner_id, order_id, orders)
    if order.state is OrderState.PENDING:
        status = _close_at_provider(provider_for(order.channel), order)
        if status.paid:
            fulfil_payment(paid_as_queried(order, status, clock.now()), orders, cards, uow, signer)
        else:
            close_unpaid(order, uow)
        order = orders.get(order.id) or order
    refused = cancel_refusal(order)
    if refused is not None:
        raise refused
    if order.state is not OrderState.CLOSED:  # still pending: the close kept colliding with other writes
        raise Conflict("kept_changing")
    return order


def _close_at_provider(provider: PaymentProvider, order: Order) -> PaymentStatus:
    """Close the order at the provider; what the provider says of it when it refuses (paid, or closed already)."""
    try:
        provider.close(order)
    except PaymentUnavailable:
        status = provider.query(order)  # refused: paid just now, or closed by a cancel at the same moment
        if status.paid or status.closed:
            return status
        raise
    return PaymentStatus(paid=False, closed=True)
