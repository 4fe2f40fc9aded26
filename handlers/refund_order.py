"""Refund a paid order in full: the provider returns the money, then the card, ledger and gates change together.

The provider is asked first, with a refund number derived from the order, so a
retry after any failure asks for the same refund again (providers treat it as
one) and then commits what is still missing. The card's days go back at once;
the money is where the provider says (`Order.refund`: processing until it
confirms, handlers/refund_results.py).
"""

from __future__ import annotations

import contextlib

from domain.errors import Conflict, InvoiceNotFound, OrderNotFound, OrderSettled, StaleCard, StaleLot
from domain.ids import checked_id
from domain.order import Order, OrderRefunded, OrderState, refund
from handlers.follow_ups import run_follow_ups
from handlers.invoices import Invoicing, reverse_invoice
from handlers.ports import CardRepository, Clock, LotRepository, OrderRepository, PaymentProvider, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


def refund_no(order: Order) -> str:
    return f"refund-{order.id}"


def refund_order(
    order_id: str,
    orders: OrderRepository,
    cards: CardRepository,
    lots: LotRepository,
    provider: PaymentProvider,
    uow: UnitOfWork,
    clock: Clock,
    invoicing: Invoicing,
    actor: str = "system",
    reason: str | None = None,
) -> Order:
    """An invoice of the order is reversed (or withdrawn) once the refund is committed, retries included.

    `actor` is who asked and `reason` why (the card's history keeps both). Refunding a refunded order
    changes nothing: a double click or a retry refunds once."""
    order = orders.get(checked_id("order_id", order_id))
    if order is None:
        raise OrderNotFound(order_id)
    if order.state is OrderState.REFUNDED:
        _reverse_invoice(order.id, invoicing)  # a retry after the refund went through: the invoice follows
        return order
    if order.state is not OrderState.PAID:
        raise Conflict("refund_unpaid", order_id=order.id, state=order.state.value)
    money = provider.refund(order, refund_no(order))
    for attempt in range(MAX_ATTEMPTS):
        card, lot = cards.get(order.card_id), lots.get(order.lot_id)
        if card is None or lot is None:
            raise RuntimeError(f"order {order.id} points at a missing card or lot")
        later = tuple(o for o in orders.for_card(card.id) if o.id != order.id)
        done = refund(order, card, lot, clock.now(), actor, later, reason, money)
        try:
            uow.commit(done.plan)
        except OrderSettled:
            _reverse_invoice(order.id, invoicing)
            return orders.get(order.id) or order  # a concurrent refund of the same order got there first
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
            continue
        run_follow_ups(done.plan.follow_ups, {OrderRefunded: lambda e: _reverse_invoice(e.order_id, invoicing)})
        return done.order
    raise Conflict("kept_changing")


def _reverse_invoice(order_id: str, invoicing: Invoicing) -> None:
    with contextlib.suppress(InvoiceNotFound):  # nothing was invoiced
        reverse_invoice(order_id, invoicing)
