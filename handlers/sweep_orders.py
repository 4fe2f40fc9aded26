"""The sweep: ask the provider about orders that stayed unpaid, so a lost notification still extends the card.

Providers only notify successes, and a notification can be lost; an unpaid
order also has to close after its lifetime, at the provider too, or the payer
could still pay it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from domain.errors import PaymentRejected, UpstreamUnavailable
from domain.order import Channel
from handlers.fulfil_payment import Outcome, fulfil_payment, paid_as_queried
from handlers.ports import (
    CardRepository,
    Clock,
    OrderRepository,
    PaymentProvider,
    ReceiptSigner,
    UnitOfWork,
)
from handlers.renewals import close_unpaid

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


def sweep_orders(
    orders: OrderRepository,
    cards: CardRepository,
    uow: UnitOfWork,
    provider_for: Callable[[Channel], PaymentProvider],
    clock: Clock,
    signer: ReceiptSigner | None = None,
) -> SweepReport:
    now = clock.now()
    report = SweepReport()
    for order in orders.pending(created_before=now - ASK_AFTER):
        try:
            provider = provider_for(order.channel)
            status = provider.query(order)
            if status.paid:
                outcome = fulfil_payment(paid_as_queried(order, status, now), orders, cards, uow, signer)
                (report.fulfilled if outcome is Outcome.FULFILLED else report.waiting).append(order.id)
            elif now >= order.expires_at:
                provider.close(order)  # refused if the payer just paid: the next sweep finds it paid
                if close_unpaid(order, uow):
                    report.closed.append(order.id)
            else:
                report.waiting.append(order.id)
        except (UpstreamUnavailable, PaymentRejected) as e:
            log.warning("sweep could not settle %s: %s", order.id, e.code)
            report.failed.append(order.id)
    return report
