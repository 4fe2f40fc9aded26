"""Lambda entry for the order sweep (EventBridge, every minute): settle or close orders left unpaid."""

from __future__ import annotations

import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions.bootstrap import Services, services_from_env
    from handlers.invoices import retry_invoices
    from handlers.sweep_orders import SweepReport, sweep_orders

log = logging.getLogger("parkpass.sweep")


def run(s: Services) -> SweepReport:
    report = sweep_orders(s.orders, s.cards, s.uow, s.provider, s.clock, s.receipt_signer)
    report.invoices = [i.order_id for i in retry_invoices(s.orders, s.lots, s.invoicing)]
    return report


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    report = run(services_from_env())
    counts = {name: len(ids) for name, ids in vars(report).items()}
    log.info("sweep: %s", counts)
    return counts
