"""Daily reconciliation on the local stack, over HTTP: the simulators' statements (gzip and zip, as the providers
serve them) against the ledger in DynamoDB, each kind of difference planted, the lost payment repaired once."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from datetime import date

import pytest
import requests

from domain.order import Channel
from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from infra.dynamodb.tables import LedgerItem
from tests.e2e.api_client import ApiClient
from tests.e2e.test_observability import emitted

DAY = "2026-11-23"
NEXT_MORNING = "2026-11-24T10:30:00+08:00"  # statements of the 23rd are out after 10:00 on the 24th


@pytest.fixture
def api(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url)


_logins = itertools.count()


def signed_in(api: ApiClient) -> dict[str, str]:
    code = f"sim:demo-owner:rec{next(_logins)}"  # a wx.login code works once
    r = api.post("/api/v1/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def owner(api: ApiClient) -> dict[str, str]:
    return signed_in(api)


def ordered(api: ApiClient, owner: dict[str, str], key: str, channel: str = "wechat") -> str:
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": channel, "idempotency_key": key},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["order_id"])


def state(api: ApiClient, owner: dict[str, str], order_id: str) -> str:
    return str(api.get(f"/api/v1/orders/{order_id}", headers=owner).json()["state"])


def paid(api: ApiClient, owner: dict[str, str], key: str) -> str:
    """Ordered and paid, its notification delivered: booked on both sides."""
    order_id = ordered(api, owner, key)
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": order_id}).status_code == 200
    deadline = time.monotonic() + 15
    while state(api, owner, order_id) != "paid":
        assert time.monotonic() < deadline, "never paid"
        time.sleep(0.1)
    return order_id


def lost(api: ApiClient, owner: dict[str, str], key: str, channel: str) -> str:
    """Paid at the provider with no notification, and every query failing: only the statement knows."""
    order_id = ordered(api, owner, key, channel)
    sim = "wechatpay" if channel == "wechat" else "alipay"
    assert api.post(f"/sim/{sim}/queries", json={"failing": True}).status_code == 200
    assert api.post(f"/sim/{sim}/pay", json={"out_trade_no": order_id, "notify": False}).status_code == 200
    return order_id


def ledger_lines(order_id: str) -> int:
    return sum(1 for i in LedgerItem.by_lot.query("demo-lot") if i.order_id == order_id and i.amount_fen > 0)


def valid_until(api: ApiClient, owner: dict[str, str]) -> str:
    return str(api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"])


def office(api: ApiClient) -> dict[str, str]:
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    return {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}


def test_each_planted_difference_is_found_and_the_lost_payments_are_fulfilled_once(
    stack: DevStack, api: ApiClient, owner: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    matched = paid(api, owner, "rec-matched")
    other_amount = paid(api, owner, "rec-amount")
    stack.wechatpay.transactions[other_amount]["amount"]["total"] += 100  # the provider took a yuan more
    never_taken = paid(api, owner, "rec-never")
    del stack.wechatpay.transactions[never_taken]  # the provider never took it
    refunded_there = paid(api, owner, "rec-refunded")
    wechatpay = stack.services.wechatpay
    refunded = stack.services.orders.get(refunded_there)
    assert wechatpay is not None and refunded is not None
    wechatpay.refund(refunded, "refund-by-hand-in-the-merchant-platform")  # not through ParkPass
    lost_alipay = lost(api, owner, "rec-lost-alipay", "alipay")
    api.post("/sim/clock", json={"now": "2026-11-23T10:05:00+08:00"})  # the sweep asks after a minute
    assert stack.sweep().failed == [lost_alipay]  # the sweep asks, the query fails: still pending
    api.post("/sim/alipay/queries", json={"failing": False})
    # The Alipay order stays pending and holds the card's one unpaid slot: the day is reconciled first.
    api.post("/sim/clock", json={"now": NEXT_MORNING})
    owner = signed_in(api)  # the access token of yesterday has run out
    first = api.post("/sim/reconcile", json={"date": DAY})
    assert first.status_code == 200, first.text
    assert first.json()["channels"]["alipay"]["repaired"] == 1
    assert state(api, owner, lost_alipay) == "paid"

    lost_wechat = lost(api, owner, "rec-lost-wechat", "wechat")  # on the 24th now
    before = valid_until(api, owner)
    r = api.post("/sim/reconcile", json={"date": "2026-11-24"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input", r.text  # not out before 10:00
    assert stack.services.reconciliations.recent(Channel.WECHAT, 1, date(2026, 11, 24)) == []  # nothing stored
    api.post("/sim/clock", json={"now": "2026-11-25T10:30:00+08:00"})
    owner = signed_in(api)

    answers: list[requests.Response] = []
    runs = [
        threading.Thread(target=lambda: answers.append(api.post("/sim/reconcile", json={"date": "2026-11-24"})))
        for _ in range(2)
    ]  # two runs of one day at once: the lost payment is fulfilled once
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert all(a.json()["channels"]["wechat"]["repaired"] == 1 for a in answers)
    assert state(api, owner, lost_wechat) == "paid" and ledger_lines(lost_wechat) == 1
    assert valid_until(api, owner) > before

    staff = office(api)
    days = api.get("/admin/api/v1/lots/demo-lot/reconciliations", headers=staff).json()["days"]
    by_day = {(d["channel"], d["day"]): d for d in days}
    found = {x["order_id"]: x for x in by_day[("wechat", DAY)]["differences"]}
    assert {k: (x["kind"], x["repaired"]) for k, x in found.items()} == {
        other_amount: ("amount_differs", False),
        never_taken: ("not_at_provider", False),
        refunded_there: ("refund_not_here", False),
    }
    assert found[other_amount]["ours_fen"] + 100 == found[other_amount]["theirs_fen"]
    assert matched not in found
    repaired = by_day[("wechat", "2026-11-24")]["differences"][0]
    assert repaired["kind_label"] == "支付平台已收款，本系统未入账"
    assert repaired["what_to_do"].startswith("已自动补记")
    assert by_day[("wechat", DAY)]["channel_label"] == "微信支付"
    assert by_day[("alipay", DAY)]["differences"][0]["repaired"] is True
    english = api.get("/admin/api/v1/lots/demo-lot/reconciliations?lang=en", headers=staff).json()["days"]
    assert {d["channel_label"] for d in english} == {"WeChat Pay", "Alipay"}
    assert any(x["kind_label"] == "amounts differ" for d in english for x in d["differences"])

    counted = emitted(capsys.readouterr().out, "ReconciliationDifferences")
    kinds = {(doc["channel"], doc["kind"]) for doc in counted}
    assert {("wechat", "amount_differs"), ("wechat", "not_at_provider"), ("wechat", "refund_not_here"),
            ("wechat", "unfulfilled"), ("alipay", "unfulfilled")} <= kinds  # fmt: skip
    assert all(doc["dimensions"] == ["channel", "kind", "service"] for doc in counted)


def test_parkpass_reconcile_runs_a_day_on_the_local_stack(stack: DevStack, api: ApiClient) -> None:
    api.post("/sim/clock", json={"now": NEXT_MORNING})
    out = subprocess.run(
        [sys.executable, "-m", "functions.cli", "reconcile", "--date", DAY, "--api", stack.api_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "wechat: 0 statement lines, 0 ledger lines, 0 differences (0 repaired)" in out.stdout
    today = subprocess.run(
        [sys.executable, "-m", "functions.cli", "reconcile", "--date", "2026-11-24", "--api", stack.api_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert today.returncode == 2 and "次日 10:00" in today.stderr, today.stderr
    assert stack.services.reconciliations.recent(Channel.WECHAT, 3, date(2026, 11, 24))[0].clean
