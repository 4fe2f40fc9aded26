"""What the engineer on call reads: one payment followed by its order id through every function's JSON log lines,
and each metric as Powertools prints it (CloudWatch embedded metric format), with its dimensions."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import leaks_in
from tests.e2e.test_gate_agent import agent_for, owner_headers, renew, wait_for


@pytest.fixture
def logs(json_log_lines: io.StringIO) -> io.StringIO:
    """Every parkpass JSON line written during the test (tests/e2e/conftest.py)."""
    return json_log_lines


def read(lines: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]


def emitted(out: str, name: str) -> list[dict[str, Any]]:
    """The EMF documents for metric `name` in captured stdout, each with its dimension names."""
    found = []
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        doc = json.loads(line)
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        if any(m["Name"] == name for m in directive["Metrics"]):
            assert directive["Namespace"] == "ParkPass"
            found.append(doc | {"dimensions": sorted(directive["Dimensions"][0])})
    return found


def test_one_payment_is_followed_by_its_order_id_from_the_api_through_notify_and_fan_out_to_the_gate_report(
    stack: DevStack, tmp_path: Path, logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ApiClient(stack.api_url)
    agent = agent_for(stack, tmp_path / "gate.sqlite")
    agent.report_every_s = 0.2
    agent.start()
    try:
        wait_for(lambda: "粤B12345" in agent.entries())
        renew(api, stack, owner_headers(api, "sim:demo-owner"), "card-demo", "follow-me-1", "demo-3m")
        renewals = [line for line in read(logs) if line.get("route", "").endswith("/renewals")]
        order_id = renewals[0]["order_id"]
        wait_for(lambda: any(line["name"] == "parkpass.gate_status" and line.get("order_id") == order_id
                             for line in read(logs)))  # fmt: skip
    finally:
        agent.stop()

    lines = [line for line in read(logs) if line["name"] != "parkpass.gate"]  # the gate agent is no function of ours
    missing = [line for line in lines if not ("correlation_id" in line and line["service"] == "parkpass")]
    assert missing == []
    followed = [line for line in lines if line.get("order_id") == order_id]
    routes = {line.get("route") for line in followed if line["name"] == "parkpass.request"}
    assert routes >= {"/api/v1/cards/<card_id>/renewals", "/api/v1/payments/wechat/notify"}
    assert {"parkpass.payments", "parkpass.fanout", "parkpass.gate_status"} <= {line["name"] for line in followed}
    notified = next(line for line in followed if line["name"] == "parkpass.payments")
    assert notified["card_id"] == "card-demo" and notified["lot_id"] == "demo-lot"
    # Each function's lines carry their own correlation id; the order id is what joins them.
    assert len({line["correlation_id"] for line in followed}) >= 3

    out = capsys.readouterr().out
    fulfilled = emitted(out, "PaymentsFulfilled")
    assert [(d["dimensions"], d["provider"], d["via"]) for d in fulfilled] == [
        (["provider", "service", "via"], "wechatpay", "notification")
    ]
    assert sum(d["FanoutPublished"][0] for d in emitted(out, "FanoutPublished")) >= 1
    for name in ("FanoutLag", "GateAppliedLag"):
        docs = emitted(out, name)
        assert docs and all(d["dimensions"] == ["service"] and d[name][0] >= 0 for d in docs)

    # The same notification again: counted as already fulfilled, nothing else.
    head, body = stack.wechatpay.notification(order_id)
    assert requests.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=head,
                         timeout=10).status_code == 204  # fmt: skip
    again = emitted(capsys.readouterr().out, "PaymentsAlreadyFulfilled")
    assert [(d["provider"], d["via"]) for d in again] == [("wechatpay", "notification")]
    assert emitted(capsys.readouterr().out, "PaymentsFulfilled") == []


def test_a_rejected_notification_is_counted_with_its_provider_and_reason(
    stack: DevStack, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ApiClient(stack.api_url)
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-3m", "channel": "wechat", "idempotency_key": "rejected-1"},
        headers=owner_headers(api, "sim:demo-owner"),
    )
    order_id = r.json()["order_id"]
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(order_id)
    head, body = stack.wechatpay.notification(order_id)
    forged = requests.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(),
                           headers=head | {"Wechatpay-Signature": "AAAA"}, timeout=10)  # fmt: skip
    assert forged.status_code == 400
    docs = emitted(capsys.readouterr().out, "NotificationsRejected")
    assert [(d["dimensions"], d["provider"]) for d in docs] == [(["provider", "reason", "service"], "wechatpay")]
    assert docs[0]["reason"].startswith("notice_")


def test_the_sweep_counts_a_payment_it_found_by_asking(stack: DevStack, capsys: pytest.CaptureFixture[str]) -> None:
    api = ApiClient(stack.api_url)
    made = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-3m", "channel": "wechat", "idempotency_key": "swept-0001"},
        headers=owner_headers(api, "sim:demo-owner"),
    ).json()
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(made["order_id"])
    assert api.post("/sim/clock", json={"now": (stack.clock.now() + timedelta(minutes=2)).isoformat()}).ok
    assert stack.sweep().fulfilled == [made["order_id"]]
    docs = emitted(capsys.readouterr().out, "PaymentsFulfilled")
    assert [(d["dimensions"], d["via"], d["PaymentsFulfilled"]) for d in docs] == [(["service", "via"], "query", [1.0])]


def _office(api: ApiClient) -> dict[str, str]:
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    return {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}


def test_an_office_refund_is_counted_once_with_its_state_and_channel(
    stack: DevStack, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ApiClient(stack.api_url)
    renew(api, stack, owner_headers(api, "sim:demo-owner"), "card-demo", "refund-count-1", "demo-3m")
    (order_id,) = stack.wechatpay.transactions
    office = _office(api)
    for _ in range(2):  # the same form sent twice
        r = api.post(f"/admin/api/v1/orders/{order_id}/refund", json={"reason": "车主搬走"}, headers=office)
        assert r.status_code == 200, r.text
    docs = emitted(capsys.readouterr().out, "Refunds")
    assert [(d["dimensions"], d["state"], d["channel"]) for d in docs] == [
        (["channel", "service", "state"], "refunded", "wechat")
    ]


def test_login_failures_and_locks_are_counted_per_kind_of_login(
    stack: DevStack, capsys: pytest.CaptureFixture[str]
) -> None:
    api = ApiClient(stack.api_url)
    assert api.post("/api/v1/auth/login", json={"code": "sim:erin"}).ok
    assert api.post("/api/v1/auth/login", json={"code": "sim:erin"}).status_code == 400  # a used code
    wrong = {"email": DEMO_ADMIN_EMAIL, "password": "not-the-password-at-all"}
    answers = [api.post("/admin/api/v1/auth/login", json=wrong).status_code for _ in range(12)]
    assert 401 in answers and 429 in answers
    out = capsys.readouterr().out
    failures = emitted(out, "LoginFailures")
    assert {(tuple(d["dimensions"]), d["who"]) for d in failures} == {
        (("service", "who"), "owner"), (("service", "who"), "office")
    }
    assert sum(1 for d in failures if d["who"] == "office") == answers.count(401)
    locks = emitted(out, "LoginLocks")
    assert [d["who"] for d in locks] == ["office"] * answers.count(429)


def test_the_suite_wide_log_check_finds_a_phone_a_token_a_key_and_a_stack_secret() -> None:
    lines = [
        {"message": "bound 13912345678", "correlation_id": "a13912345678b"},
        {"message": "ok", "token": "eyJzdWIiOiJ4In0.aGVsbG8.c2ln"},
        {"message": "-----BEGIN PRIVATE KEY-----"},
        {"message": "asked with s3cr3t-app"},
        {"message": "order o_13912345678x at 2026-12-02", "correlation_id": "13912345678"},
    ]
    found = leaks_in("\n".join(json.dumps(line) for line in lines), ["s3cr3t-app"])
    assert [leak.split(":")[0] for leak in found] == ["phone", "token", "private key", "secret"]
