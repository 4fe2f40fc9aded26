"""Lambda entry for the reminder tick (EventBridge, every 15 minutes)."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.bill_reminders import BillReminding
    from handlers.ports import Metrics
    from handlers.reminders import EXPIRY_TEMPLATE, TickReport, send_due_reminders

log = logging.getLogger("parkpass.reminders")


def run(s: Services, at: datetime | None = None) -> TickReport:
    template = os.environ.get("PARKPASS_EXPIRY_TEMPLATE", EXPIRY_TEMPLATE)
    now = at or s.clock.now()
    report = send_due_reminders(
        now, s.reminders, s.cards, s.lots, s.reminder_prefs, s.owners, s.consents, s.messenger, template,
        s.reminder_reads,
    )  # fmt: skip
    bills = BillReminding(s.billing, s.owners, s.sealer, s.consents, s.messenger, s.bill_template, s.collection,
                          s.collection_template).send_due(now)  # fmt: skip
    for name in ("sent", "skipped", "failed"):
        getattr(report, name).extend(getattr(bills, name))
    return report


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s = services_from_env()
    report = run(s)
    counted(report, s.metrics)
    counts = {name: len(keys) for name, keys in vars(report).items()}
    log.info("reminders: %s", counts, extra=counts)
    return counts


def counted(report: TickReport, metrics: Metrics) -> None:
    metrics.count("RemindersSent", len(report.sent))
    metrics.count("RemindersFailed", len(report.failed))
