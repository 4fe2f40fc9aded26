"""Lambda entry for the order sweep (EventBridge, every minute): settle or close orders left unpaid."""

from __future__ import annotations

import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.invoices import retry_invoices
    from handlers.ports import Metrics
    from handlers.refund_results import ask_about_refunds
    from handlers.sweep_orders import ASK_AFTER, SweepReport, sweep_orders

log = logging.getLogger("parkpass.sweep")


def run(s: Services) -> SweepReport:
    report = sweep_orders(s.orders, s.cards, s.uow, s.provider, s.clock, s.receipt_signer)
    bills = s.bill_payments.sweep(s.provider, ASK_AFTER)
    visits = s.visit_payments.sweep(s.provider, ASK_AFTER)
    for other in (bills, visits):
        for name in ("fulfilled", "closed", "waiting", "failed"):
            getattr(report, name).extend(getattr(other, name))
    report.invoices = [i.order_id for i in retry_invoices(s.orders, s.lots, s.invoicing)]
    report.refunds = ask_about_refunds(s.orders, s.uow, s.provider, s.metrics).settled
    return report


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s = services_from_env()
    report = run(s)
    counted(report, s.metrics)
    counts = {name: len(ids) for name, ids in vars(report).items()}
    log.info("sweep: %s", counts, extra=counts)
    return counts


def counted(report: SweepReport, metrics: Metrics) -> None:
    """Payments the provider confirmed only when asked: their notifications were lost or late."""
    if report.fulfilled:
        metrics.count("PaymentsFulfilled", len(report.fulfilled), via="query")
