"""The sweep: ask the provider about orders that stayed unpaid, so a lost notification still extends the card.

Providers only notify successes, and a notification can be lost; an unpaid
order also has to close after its lifetime, at the provider too, or the payer
could still pay it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from domain.errors import Conflict, PaymentRejected, UpstreamUnavailable
from domain.order import Channel, Order
from handlers.fulfil_payment import Outcome, fulfil_payment, paid_as_queried
from handlers.ports import (
    CardRepository,
    Clock,
    OrderRepository,
    PaymentNotice,
    PaymentProvider,
    ReceiptSigner,
    UnitOfWork,
)
from handlers.renewals import close_unpaid

if TYPE_CHECKING:  # bills and visits load with their first order, not with the sweep's start-up
    from domain.bill_order import BillOrder
    from domain.visit_payment import VisitOrder

ASK_AFTER = timedelta(minutes=1)
"""WeChat Pay advises querying an order with no notification after about a minute."""
log = logging.getLogger("parkpass.sweep")


@dataclass
class SweepReport:
    fulfilled: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    """Orders whose invoice the provider was asked about again."""
    refunds: list[str] = field(default_factory=list)
    """Refunds the provider settled since it was last asked."""


Waiting = TypeVar("Waiting", Order, "BillOrder", "VisitOrder")


def settle(order: Waiting, provider: PaymentProvider, now: datetime, fulfil: Callable[[PaymentNotice], Outcome],
           close: Callable[[Waiting], bool], close_now: bool) -> str:  # fmt: skip
    """Ask the provider about one waiting order: paid there -> `fulfil`led here; else, when `close_now`, closed there
    and (`close`) here. Answers `fulfilled`, `closed` or `waiting`. A close the provider refuses because the payer
    just paid raises: the next ask finds it paid."""
    status = provider.query(order)
    if status.paid:
        return "fulfilled" if fulfil(paid_as_queried(order, status, now)) is Outcome.FULFILLED else "waiting"
    if not close_now:
        return "waiting"
    provider.close(order)
    return "closed" if close(order) else "waiting"


def settle_waiting(
    orders: Iterable[Waiting],
    provider_for: Callable[[Channel], PaymentProvider],
    now: datetime,
    fulfil: Callable[[PaymentNotice], Outcome],
    close: Callable[[Waiting], bool],
) -> SweepReport:
    """Each order left unpaid settled as far as the provider says (renewals, bills and visits alike)."""
    report = SweepReport()
    for order in orders:
        try:
            done = settle(order, provider_for(order.channel), now, fulfil, close, close_now=now >= order.expires_at)
        except (UpstreamUnavailable, PaymentRejected, Conflict) as e:
            log.warning("sweep could not settle %s: %s", order.id, e.code)
            report.failed.append(order.id)
            continue
        getattr(report, done).append(order.id)
    return report


def sweep_orders(
    orders: OrderRepository,
    cards: CardRepository,
    uow: UnitOfWork,
    provider_for: Callable[[Channel], PaymentProvider],
    clock: Clock,
    signer: ReceiptSigner | None = None,
) -> SweepReport:
    now = clock.now()
    return settle_waiting(
        orders.pending(created_before=now - ASK_AFTER), provider_for, now,
        lambda notice: fulfil_payment(notice, orders, cards, uow, signer), lambda order: close_unpaid(order, uow),
    )  # fmt: skip
