"""Lambda entry for the card jobs (EventBridge: daily after lot-local midnight, and every 15 minutes): finds the
cards whose end or pay-by day has passed and puts one message each on the work queue; the work consumer
(functions/work.py) expires or lapses each, once, and offers the freed places."""

from __future__ import annotations

import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.card_jobs import JobReport, due_card_jobs, run_card_jobs
    from handlers.scheduled_work import enqueue_all

log = logging.getLogger("parkpass.card_jobs")


def run(s: Services) -> int:
    """Put each due card job on the work queue; answer how many. A job still undone by the next run is found and
    enqueued again: a card expires or lapses once however often its message comes."""
    assert s.work_queue is not None, "PARKPASS_WORK_QUEUE_URL is not set"
    found = due_card_jobs(s.card_queries, s.card_life)
    return enqueue_all(({"kind": kind, "card_id": card_id} for kind, card_id in found), s.work_queue)


def run_here(s: Services) -> JobReport:
    """Every due card job in this process, in turn (a deployment without the queue, `parkpass` against a table)."""
    return run_card_jobs(s.card_queries, s.card_life)


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s = services_from_env()
    if s.work_queue is None:  # a deployment without the queue (zappa_settings.json): done here, in series
        counts = {name: len(ids) for name, ids in vars(run_here(s)).items()}
        log.info("card jobs: %s", counts, extra=counts)
        return counts
    enqueued = run(s)
    log.info("card jobs: %d enqueued", enqueued, extra={"enqueued": enqueued})
    return {"enqueued": enqueued}
