"""Cost per operation: DynamoDB requests and items read and written by each hot operation on the local stack,
against bench/budgets.json."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from domain.bill_reminder import reminders_for
from domain.card import Card, CardState
from domain.gate_auth import gate_signature
from functions.dev_stack import BACKGROUND_THREADS, DevStack
from handlers.bill_reminders import BILL_TEMPLATE
from handlers.scheduled_work import bill_message
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests.builders import add_card
from tests.e2e.api_client import ApiClient

BUDGETS = json.loads((Path(__file__).resolve().parents[2] / "bench" / "budgets.json").read_text())


MEASURES = ("requests", "items_read", "items_written")


def cost_of(action: Callable[[], Any]) -> dict[str, int]:
    with DynamoRequestCounter(BACKGROUND_THREADS) as counter:
        action()
    return {"requests": counter.total, "items_read": counter.items_read, "items_written": counter.items_written}


def _bill_reminders_sent(stack: DevStack, api: ApiClient, n: int) -> dict[str, int]:
    """What the work consumer spends on one bill reminder (dunning): `n` units, each with one owner who bound
    the unit's phone and consented to the bill template; their bills' 3-days-before reminders, sent."""
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
    ok = lambda r: r.status_code in (200, 201, 204) or pytest.fail(r.text)  # noqa: E731
    ok(api.post("/admin/api/v1/communities", json={"id": "bc", "name": "预算小区", "lot_ids": []}, headers=staff))
    for i in range(n):
        phone = f"1390000{i:04d}"
        unit = {"id": f"bu{i}", "building": "2", "number": f"20{i}", "area": "80.00", "phones": [phone]}
        ok(api.post("/admin/api/v1/communities/bc/units", json=unit, headers=staff))
        token = api.post("/api/v1/auth/login", json={"code": f"sim:budget-owner-{i}"}).json()["token"]
        owner = {"Authorization": f"Bearer {token}"}
        ok(api.post("/api/v1/me/phone", json={"code": f"sim-phone:{phone}"}, headers=owner))
        ok(api.post("/api/v1/me/subscriptions", json={"template_id": BILL_TEMPLATE, "accepted": True}, headers=owner))
    item = {"id": "bfee", "name": "物业费", "kind": "fixed", "price_fen": 10000, "from": "2026-11-01"}
    ok(api.post("/admin/api/v1/communities/bc/fee-items", json=item, headers=staff))
    run = api.post("/admin/api/v1/communities/bc/bill-runs", json={"period": "2026-12", "fee_item_ids": ["bfee"]},
                   headers=staff).json()  # fmt: skip
    ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    s = stack.services
    first = [reminders_for(b, "Asia/Shanghai")[0] for b in s.billing.bills(b["id"] for b in run["bills"])]
    assert len(first) == n
    stack.clock.set(first[0].due_at + timedelta(minutes=30))
    assert s.work_queue is not None
    s.work_queue.send([bill_message(r) for r in first])
    sent = len(stack.wechat.messages)
    cost = cost_of(stack.work)
    assert len(stack.wechat.messages) == sent + n, "the bill reminders were not sent"
    return {m: cost[m] // n for m in MEASURES}


def test_each_hot_operation_stays_within_its_cost_budget(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:first"})  # the owner exists now
    measured: dict[str, dict[str, int]] = {}
    tokens: dict[str, Any] = {}

    def login() -> None:
        tokens.update(api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:again"}).json())

    measured["login_returning_owner"] = cost_of(login)

    def refresh() -> None:
        r = api.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert r.status_code == 200, r.text
        tokens.update(r.json())

    measured["token_refresh"] = cost_of(refresh)
    owner = {"Authorization": f"Bearer {tokens['token']}"}
    measured["quote_offers_for_a_card"] = cost_of(lambda: api.get("/api/v1/cards/card-demo/packages", headers=owner))
    made: dict[str, Any] = {}

    def order() -> None:
        body = {"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "budget-0001"}
        made.update(api.post("/api/v1/cards/card-demo/renewals", json=body, headers=owner).json())

    measured["renewal_order"] = cost_of(order)
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(made["order_id"])
    head, body = stack.wechatpay.notification(made["order_id"])
    url = f"{stack.api_url}/api/v1/payments/wechat/notify"

    def notify() -> None:
        assert requests.post(url, data=body.encode(), headers=head, timeout=10).status_code == 204

    measured["payment_notification_fulfilled"] = cost_of(notify)
    measured["payment_notification_duplicate"] = cost_of(notify)

    # The reminder tick: once with nothing due, once with 10 due, the difference per item.
    s = stack.services
    for n in range(10):
        card = Card(
            f"card-r{n}",
            "demo-lot",
            "owner-demo",
            (f"粤C{n:05d}",),
            date(2026, 11, 1),
            date(2026, 11, 28),
            CardState.ACTIVE,
        )
        add_card(s, card)
        api.put(f"/api/v1/cards/{card.id}/reminders", json={"enabled": True}, headers=owner)
    stack.clock.set(datetime.fromisoformat("2026-11-23T09:00:00+08:00"))  # before 10:00: nothing due yet
    nothing = cost_of(stack.remind)
    stack.clock.set(datetime.fromisoformat("2026-11-23T10:30:00+08:00"))  # the 5-days-before ones of Nov 28
    ten = cost_of(stack.remind)
    assert ten["requests"] > nothing["requests"], "the ten reminders did not fall due"
    measured["reminder_tick_fixed"] = nothing
    measured["reminder_tick_per_due_item"] = {m: (ten[m] - nothing[m]) // 10 for m in MEASURES}

    gate = stack.demo_gate
    assert gate is not None
    latest = s.lots.get("demo-lot")
    assert latest is not None
    path = f"/api/v1/gates/entitlements?since={latest.entitlement_version - 1}&limit=100"  # one event behind

    def sync() -> None:
        stamp = str(int(stack.clock.now().timestamp()))
        signed = {
            "X-Gate-Id": gate.id,
            "X-Gate-Timestamp": stamp,
            "X-Gate-Signature": gate_signature(gate.secret, "GET", path, stamp),
        }
        assert requests.get(stack.api_url + path, headers=signed, timeout=10).status_code == 200

    time.sleep(0.2)
    measured["gate_sync_page"] = cost_of(sync)

    # A visitor at the barrier, in and out (the visit priced at the exit), and the demo card holder coming in.
    events = iter(range(1000))

    def passage(plate: str, direction: str) -> None:
        body = json.dumps({"plate": plate, "direction": direction, "at": stack.clock.now().isoformat(),
                           "event_id": f"budget-{next(events)}"}).encode()  # fmt: skip
        stamp, path = str(int(stack.clock.now().timestamp())), "/api/v1/gates/passages"
        head = {"X-Gate-Id": gate.id, "X-Gate-Timestamp": stamp, "Content-Type": "application/json",
                "X-Gate-Signature": gate_signature(gate.secret, "POST", path, stamp, body)}  # fmt: skip
        assert requests.post(stack.api_url + path, data=body, headers=head, timeout=10).status_code == 200

    passage("粤A00001", "in")  # the parking modules and the lot's setup are read once before measuring
    measured["gate_passage_visitor_in"] = cost_of(lambda: passage("粤A00002", "in"))
    measured["gate_passage_visitor_out"] = cost_of(lambda: passage("粤A00002", "out"))
    measured["gate_passage_card_holder_in"] = cost_of(lambda: passage("粤B12345", "in"))
    measured["bill_reminder_per_due_item"] = _bill_reminders_sent(stack, api, n=5)
    print("cost per operation:", json.dumps(measured))
    assert set(measured) == {k for k in BUDGETS if not k.startswith("_")}
    over = {
        f"{op} {m}": (cost[m], BUDGETS[op][m])
        for op, cost in measured.items()
        for m in MEASURES
        if cost[m] > BUDGETS[op][m]
    }
    assert not over, f"over budget (measured, budget): {over}"
