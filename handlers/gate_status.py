"""A gate's report of the feed version it has applied, sent over MQTT after messages it received there.

Gates that stay online never call delta sync, so without these reports the
office would see them lagging. A report names its gate and lot in the topic
(on IoT Core the gate's policy lets it publish under its own name only) and is
signed with the gate's secret like its HTTP calls, so any broker will do.
Reports may arrive late and out of order: the recorded version only rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.errors import InvalidInput, Unauthenticated
from domain.gate_auth import REPORT_METHOD, applied_topic
from handlers.gate_sync import authenticated_gate
from handlers.ports import AppliedVersions

APPLIED_TOPICS = "parkpass/lots/+/gates/+/applied"
"""Every gate's reports: what IoT Core's topic rule (and the local stack's stand-in) listens to."""
FROM_TOPIC = {"lot_id": 3, "gate_id": 5}
"""The rule adds these to the message, from the topic's levels (IoT SQL's topic(n), counted from 1)."""


@dataclass(frozen=True)
class AppliedReport:
    lot_id: str
    gate_id: str
    version: int
    timestamp: str
    signature: str


def report_from_rule(event: dict[str, object]) -> AppliedReport:
    """The topic rule's output: the message's fields plus lot_id and gate_id taken from the topic."""
    try:
        version = event["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise InvalidInput("report_version")
        return AppliedReport(
            str(event["lot_id"]), str(event["gate_id"]), version, str(event["timestamp"]), str(event["signature"])
        )
    except KeyError as e:
        raise InvalidInput("report_field", field=e.args[0]) from None


def record_applied(report: AppliedReport, gates: AppliedVersions, now: datetime) -> bool:
    """Record what the gate has applied; True when that moved its recorded version on."""
    gate = authenticated_gate(
        report.gate_id,
        report.timestamp,
        report.signature,
        REPORT_METHOD,
        applied_topic(report.lot_id, report.gate_id),
        gates,
        now,
        str(report.version).encode(),
    )
    if gate.lot_id != report.lot_id:  # signed for another lot's topic: not this gate's report
        raise Unauthenticated("gate_auth")
    return gates.record_applied(gate.id, report.version, now.isoformat())
