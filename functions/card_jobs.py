"""Lambda entry for the card jobs (EventBridge: daily after lot-local midnight, and every 15 minutes)."""

from __future__ import annotations

import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.card_jobs import JobReport, run_card_jobs

log = logging.getLogger("parkpass.card_jobs")


def run(s: Services) -> JobReport:
    return run_card_jobs(s.card_queries, s.card_life)


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    counts = {name: len(ids) for name, ids in vars(run(services_from_env())).items()}
    log.info("card jobs: %s", counts, extra=counts)
    return counts
