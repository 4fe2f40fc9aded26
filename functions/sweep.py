"""Lambda entry for the order sweep (EventBridge, every minute): settle or close orders left unpaid."""

from __future__ import annotations

import logging
from typing import Any

from functions.bootstrap import Services, services_from_env
from handlers.sweep_orders import SweepReport, sweep_orders

log = logging.getLogger("parkpass.sweep")


def run(s: Services) -> SweepReport:
    return sweep_orders(s.orders, s.cards, s.lots, s.fulfilments, s.provider, s.clock)


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    report = run(services_from_env())
    counts = {name: len(ids) for name, ids in vars(report).items()}
    log.info("sweep: %s", counts)
    return counts
