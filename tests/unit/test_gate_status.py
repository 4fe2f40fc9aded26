"""A gate's applied-version report: signed by the gate for its own topic, fresh, and the version only rises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput, Unauthenticated
from domain.gate_auth import report_signature
from handlers.gate_status import AppliedReport, record_applied, report_from_rule
from handlers.ports import Gate
from tests.fakes import FakeGates

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _gates() -> FakeGates:
    gates = FakeGates()
    gates.add(Gate("gate-1", "lot-a", "s3cret"))
    gates.add(Gate("gate-2", "lot-b", "other"))
    return gates


def report(
    version: int, *, lot: str = "lot-a", gate: str = "gate-1", secret: str = "s3cret", at: datetime = NOW
) -> AppliedReport:
    stamp = str(int(at.timestamp()))
    return AppliedReport(lot, gate, version, stamp, report_signature(secret, lot, gate, version, stamp))


def test_a_signed_report_records_the_version_and_a_late_lower_one_changes_nothing() -> None:
    gates = _gates()
    assert record_applied(report(7), gates, NOW) is True
    assert gates.sync_states("lot-a") == [("gate-1", 7, NOW.isoformat())]
    assert record_applied(report(5), gates, NOW + timedelta(seconds=1)) is False  # arrived late
    assert record_applied(report(7), gates, NOW + timedelta(seconds=2)) is False  # the same again
    assert gates.sync_states("lot-a") == [("gate-1", 7, NOW.isoformat())]
    assert record_applied(report(9, at=NOW + timedelta(seconds=3)), gates, NOW + timedelta(seconds=3)) is True


@pytest.mark.parametrize(
    "forged",
    [
        report(7, secret="guessed"),  # not the gate's secret
        report(7, lot="lot-b"),  # gate-1 signing for another lot's topic
        report(7, gate="gate-9"),  # no such gate
        report(7, at=NOW - timedelta(minutes=10)),  # replayed long after
        AppliedReport("lot-a", "gate-1", 8, report(7).timestamp, report(7).signature),  # version changed
    ],
)
def test_a_report_that_is_not_the_gates_own_and_fresh_is_refused(forged: AppliedReport) -> None:
    gates = _gates()
    with pytest.raises(Unauthenticated):
        record_applied(forged, gates, NOW)
    assert gates.synced == {}


def test_the_rules_event_becomes_a_report_and_a_malformed_one_is_refused() -> None:
    signed = report(3)
    event = {
        "version": 3,
        "timestamp": signed.timestamp,
        "signature": signed.signature,
        "lot_id": "lot-a",
        "gate_id": "gate-1",
    }
    assert report_from_rule(event) == signed
    for broken in ({**event, "version": "3"}, {**event, "version": -1}, {**event, "version": True}, {"version": 3}):
        with pytest.raises(InvalidInput):
            report_from_rule(broken)
