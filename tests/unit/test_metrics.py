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


def _named(docs: list[dict[str, Any]]) -> list[tuple[str, list[list[str]], dict[str, str]]]:
    found = []
    for d in docs:
        directive = d["_aws"]["CloudWatchMetrics"][0]
        dims = {k: d[k] for k in directive["Dimensions"][0] if k != "service"}
        found.append((directive["Metrics"][0]["Name"], directive["Dimensions"], dims))
    return found


def test_a_reconciliation_counts_its_run_its_differences_and_a_statement_it_could_not_have(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, date, datetime

    from domain.errors import PaymentUnavailable
    from domain.order import Channel
    from domain.reconciliation import LineKind, StatementLine
    from functions import reconcile
    from tests.fakes import fake_services

    s = replace(fake_services(datetime(2026, 12, 2, 2, 30, tzinfo=UTC)), metrics=EmfMetrics())
    paid = StatementLine(LineKind.PAYMENT, "order-unknown1", "tx", 100, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))

    class Statements:
        def __init__(self, works: bool) -> None:
            self.works = works

        def statement(self, day: date) -> list[StatementLine]:
            if not self.works:
                raise PaymentUnavailable()
            return [paid]

    s = replace(s, wechatpay=Statements(True), alipay=Statements(False))  # type: ignore[arg-type]
    with pytest.raises(reconcile.StatementsMissing):
        reconcile.run(s)
    assert _named(documents(capsys.readouterr().out)) == [
        ("Reconciliations", [["service", "channel"]], {"channel": "wechat"}),
        ("ReconciliationDifferences", [["service", "channel", "kind"]], {"channel": "wechat", "kind": "unfulfilled"}),
        ("ReconciliationsFailed", [["service", "channel"]], {"channel": "alipay"}),
    ]
    assert s.reconciliations.recent(Channel.WECHAT, 1, date(2026, 12, 1))[0].day == date(2026, 12, 1)


def test_a_refunds_result_is_counted_with_its_state_and_channel(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    from domain.order import RefundState
    from handlers.refund_results import settle_refund
    from tests.builders import monthly_lot
    from tests.fakes import NoPayments
    from tests.unit.test_refund_results import refunded

    s = replace(monthly_lot(datetime(2026, 12, 2, 2, 0, tzinfo=UTC)), metrics=EmfMetrics())
    order = s.orders.get(refunded(s, NoPayments(RefundState.PROCESSING)))
    assert order is not None
    capsys.readouterr()
    settle_refund(order, RefundState.ABNORMAL, s.orders, s.uow, s.metrics)
    assert _named(documents(capsys.readouterr().out)) == [
        ("RefundResults", [["service", "state", "channel"]], {"state": "abnormal", "channel": "wechat"})
    ]
