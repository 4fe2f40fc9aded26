"""Lambda entry for the daily reconciliation (EventBridge, each morning): yesterday's statements of every payment
channel against the ledger. `{"date": "YYYY-MM-DD"}` in the event reconciles that day instead (a rerun)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from domain.errors import InvalidInput, PaymentUnavailable, UpstreamUnavailable
    from domain.reconciliation import PROVIDER_ZONE
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.reconcile import reconcile_day

log = logging.getLogger("parkpass.reconcile")


class StatementsMissing(PaymentUnavailable):
    """A channel's statement could not be had: the invocation fails, so the schedule's retry asks again."""


def run(s: Services, day: date | None = None) -> dict[str, dict[str, int]]:
    """Each channel's day (yesterday in Beijing by default): lines on each side and differences found."""
    today = s.clock.now().astimezone(PROVIDER_ZONE).date()
    day = day or today - timedelta(days=1)
    if day >= today:
        raise InvalidInput("statement_not_out", day=day.isoformat())  # not a provider failure: nothing to retry
    done: dict[str, dict[str, int]] = {}
    missing = []
    for channel, source in s.statements().items():
        try:
            result = reconcile_day(channel, day, source, s.reconciling)
        except UpstreamUnavailable:
            s.metrics.count("ReconciliationsFailed", channel=channel.value)
            missing.append(channel.value)
            continue
        done[channel.value] = {
            "provider_lines": result.provider_lines,
            "ledger_lines": result.ledger_lines,
            "differences": len(result.differences),
            "repaired": sum(d.repaired for d in result.differences),
        }
    if missing:
        log.warning("no statement of %s from %s", day.isoformat(), ", ".join(missing))
        raise StatementsMissing()
    return done


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, dict[str, int]]:
    asked = event.get("date") if isinstance(event, dict) else None
    return run(services_from_env(), date.fromisoformat(asked) if isinstance(asked, str) else None)
