"""Lambda entry for the reminder tick (EventBridge, every 15 minutes): finds the expiry, bill (dunning) and visit
reminders fallen due and puts them on the work queue; the work consumer (functions/work.py) sends them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from domain.lot import Lot
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.ports import Metrics
    from handlers.reminders import TickReport
    from handlers.scheduled_work import WorkReport, key_of

log = logging.getLogger("parkpass.reminders")


def run(s: Services, at: datetime | None = None) -> int:
    """Put what is due on the work queue; answer how many messages."""
    assert s.work_queue is not None, "PARKPASS_WORK_QUEUE_URL is not set"
    return s.scheduled_work.enqueue_due(at or s.clock.now(), s.work_queue)


def run_here(s: Services, at: datetime | None = None) -> WorkReport:
    """Find and send in this process, in series (`parkpass reminders` against a table with no queue)."""
    now = at or s.clock.now()
    work, report, lots = s.scheduled_work, WorkReport(), dict[str, Lot]()
    for message in work.find(now):
        report.count(key_of(message), work.do(message, now, lots))
    return report


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s = services_from_env()
    if s.work_queue is None:  # a deployment without the queue (zappa_settings.json): the tick sends them itself
        report = run_here(s)
        counted(report, s.metrics)
        counts = {"sent": len(report.sent), "skipped": len(report.skipped), "failed": len(report.failed)}
        log.info("reminders: %s", counts, extra=counts)
        return counts
    enqueued = run(s)
    s.metrics.count("RemindersEnqueued", enqueued)
    log.info("reminders: %d enqueued", enqueued, extra={"enqueued": enqueued})
    return {"enqueued": enqueued}


def counted(report: TickReport, metrics: Metrics) -> None:
    metrics.count("RemindersSent", len(report.sent))
    metrics.count("RemindersFailed", len(report.failed))
