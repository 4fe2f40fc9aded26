"""Lambda entry for gates' applied-version reports: IoT Core's topic rule on parkpass/lots/+/gates/+/applied.

The rule hands over the message's fields plus lot_id and gate_id from the
topic. A report that fails its check is logged and dropped: raising would only
make IoT Core retry a message that cannot get better.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from domain.errors import DomainError
    from functions.bootstrap import Services, services_from_env
    from handlers.gate_status import record_applied, report_from_rule

security = logging.getLogger("parkpass.security")


def run(s: Services, event: dict[str, Any]) -> bool:
    try:
        return record_applied(report_from_rule(event), s.gates, s.clock.now())
    except DomainError as e:
        security.warning("gate report refused: %s (gate %s)", e.code, str(event.get("gate_id", "?"))[:64])
        return False


def handler(event: dict[str, Any], context: object) -> dict[str, bool]:
    return {"recorded": run(services_from_env(), event)}
