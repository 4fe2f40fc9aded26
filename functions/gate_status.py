"""Lambda entry for gates' applied-version reports: IoT Core's topic rule on parkpass/lots/+/gates/+/applied.

The rule hands over the message's fields plus lot_id and gate_id from the
topic. A report that fails its check is logged and dropped: raising would only
make IoT Core retry a message that cannot get better.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from domain.errors import DomainError
    from domain.gate import Grant
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from handlers.gate_status import record_applied, report_from_rule

security = logging.getLogger("parkpass.security")
log = logging.getLogger("parkpass.gate_status")


def run(s: Services, event: dict[str, Any]) -> bool:
    named = {k: str(event.get(k, ""))[:64] or None for k in ("gate_id", "lot_id")}  # as the topic names them
    observability.bind(**named)
    try:
        report = report_from_rule(event)
        now = s.clock.now()
        moved = record_applied(report, s.gates, now)
    except DomainError as e:
        security.warning("gate report refused: %s (gate %s)", e.code, str(event.get("gate_id", "?"))[:64])
        return False
    applied = s.feed.since(report.lot_id, report.version - 1, 1)
    event_applied = applied[0] if applied and applied[0].version == report.version else None
    lag_ms = _lag_ms(event_applied, now)
    observability.bind(order_id=event_applied.order_id if event_applied else None)
    log.info("gate applied version %d", report.version, extra={"version": report.version, "lag_ms": lag_ms})
    if lag_ms is not None:
        s.metrics.count("GateAppliedLag", lag_ms, unit="Milliseconds")
    return moved


def _lag_ms(event: Grant | None, now: datetime) -> float | None:
    """From the commit of the event a gate reports applied to the report's arrival (None for an event from
    before this feed, or one without its time)."""
    if event is None or not event.issued_at:
        return None
    committed = datetime.fromisoformat(event.issued_at)
    if committed.tzinfo is None:
        return None
    return round(max(0.0, (now - committed).total_seconds() * 1000), 1)


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, bool]:
    return {"recorded": run(services_from_env(), event)}
