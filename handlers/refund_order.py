"""Refund a paid order in full: the provider returns the money, then the card, ledger and gates change together.

The provider is asked first, with a refund number derived from the order, so a
retry after any failure asks for the same refund again (providers treat it as
one) and then commits what is still missing.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from domain.errors import Conflict, InvoiceNotFound, OrderNotFound, OrderSettled, StaleCard, StaleLot
from domain.ids import checked_id
from domain.order import Order, OrderState, Refund, refund
from handlers.invoices import Invoicing, reverse_invoice
from handlers.ports import CardRepository, Clock, LotRepository
from handlers.renewals import OrderRepository, PaymentProvider
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


class RefundStore(Protocol):
    def commit_refund(self, refund: Refund, card_version: int, lot_version: int) -> None:
        """One transaction: order paid -> refunded, the card shortened, the ledger line, the gates' news.

        OrderSettled if the order is no longer paid; StaleCard or StaleLot if they moved.
        """
        ...


def refund_no(order: Order) -> str:
    return f"refund-{order.id}"


def refund_order(
    order_id: str,
    orders: OrderRepository,
    cards: CardRepository,
    lots: LotRepository,
    provider: PaymentProvider,
    store: RefundStore,
    clock: Clock,
    invoicing: Invoicing,
    actor: str = "system",
) -> Order:
    """An invoice of the order is reversed (or withdrawn) once the refund is committed, retries included.

    `actor` is who asked (the card's history names them)."""
    order = orders.get(checked_id("order_id", order_id))
    if order is None:
        raise OrderNotFound(order_id)
    if order.state is OrderState.REFUNDED:
        _reverse_invoice(order.id, invoicing)  # a retry after the refund went through: the invoice follows
        return order
    if order.state is not OrderState.PAID:
        raise Conflict(f"order {order.id} is {order.state.value}; only a paid order can be refunded")
    provider.refund(order, refund_no(order))
    for attempt in range(MAX_ATTEMPTS):
        card, lot = cards.get(order.card_id), lots.get(order.lot_id)
        if card is None or lot is None:
            raise RuntimeError(f"order {order.id} points at a missing card or lot")
        plan = refund(order, card, lot, clock.now(), actor)
        try:
            store.commit_refund(plan, card.version, lot.entitlement_version)
        except OrderSettled:
            _reverse_invoice(order.id, invoicing)
            return orders.get(order.id) or order  # a concurrent refund of the same order got there first
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
            continue
        _reverse_invoice(order.id, invoicing)
        return plan.order
    raise Conflict("the card kept changing; try the refund again")


def _reverse_invoice(order_id: str, invoicing: Invoicing) -> None:
    with contextlib.suppress(InvoiceNotFound):  # nothing was invoiced
        reverse_invoice(order_id, invoicing)
