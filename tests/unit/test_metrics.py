"""Metrics the scheduled functions and the invoicing emit, as Powertools prints them (CloudWatch EMF)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from functions import reminders
from handlers.invoices import retry_invoices
from handlers.reminders import TickReport
from infra.metrics import EmfMetrics
from tests.fakes import FakeIssuer
from tests.unit.test_invoices_and_receipts import ask, services


def documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_an_invoice_the_provider_did_not_answer_is_counted_each_time_with_its_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = services()
    s = replace(s, metrics=EmfMetrics())
    issuer = s.invoice_issuer
    assert isinstance(issuer, FakeIssuer)
    issuer.failing = True
    ask(s)
    retry_invoices(s.orders, s.lots, s.invoicing)
    docs = documents(capsys.readouterr().out)
    assert [(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], d["kind"], d["InvoiceIssueFailures"]) for d in docs] == [
        ([["service", "kind"]], "blue", [1.0])
    ] * 2
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ParkPass" for d in docs)


def test_a_reminder_tick_counts_what_it_sent_and_what_failed(capsys: pytest.CaptureFixture[str]) -> None:
    reminders.counted(TickReport(sent=["a", "b"], skipped=["c"], failed=["d"]), EmfMetrics())
    docs = documents(capsys.readouterr().out)
    assert [(d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], d["_aws"]["CloudWatchMetrics"][0]["Dimensions"])
            for d in docs] == [("RemindersSent", [["service"]]), ("RemindersFailed", [["service"]])]  # fmt: skip
    assert [d.get("RemindersSent", d.get("RemindersFailed")) for d in docs] == [[2.0], [1.0]]


def test_a_metric_that_cannot_be_recorded_never_fails_its_caller(caplog: pytest.LogCaptureFixture) -> None:
    EmfMetrics().count("Odd", 1, unit="Fortnights")  # returns: a payment is never failed by its count
    assert [r.getMessage() for r in caplog.records if r.name == "parkpass.metrics"] == [
        "metric Odd not recorded: ValueError"
    ]
