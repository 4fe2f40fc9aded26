"""Renewal and payment through Alipay (python-alipay-sdk against the simulator), over HTTP."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from functions.dev_stack import DevStack
from infra.dynamodb.tables import LedgerItem
from tests.e2e.api_client import ApiClient, json_error

BEIJING = ZoneInfo("Asia/Shanghai")
ALIPAY_TIME = "%Y-%m-%d %H:%M:%S"


@pytest.fixture
def api(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url)


@pytest.fixture
def owner(api: ApiClient) -> dict[str, str]:
    r = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def order(api: ApiClient, owner: dict[str, str], channel: str, key: str, package: str = "demo-3m") -> dict[str, Any]:
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": package, "channel": channel, "idempotency_key": key},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_paid(api: ApiClient, owner: dict[str, str], order_id: str) -> None:
    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/orders/{order_id}", headers=owner).json()["state"] != "paid":
        assert time.monotonic() < deadline, "never paid"
        time.sleep(0.1)


def valid_until(api: ApiClient, owner: dict[str, str]) -> str:
    return str(api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"])


def notify(stack: DevStack, form: dict[str, str]) -> requests.Response:
    return requests.post(f"{stack.api_url}/api/v1/payments/alipay/notify", data=form, timeout=10)


def test_demo_owner_renews_via_wechat_and_again_via_alipay_and_the_card_ends_where_each_quote_said(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    def quote_3m() -> str:
        offers = api.get("/api/v1/cards/card-demo/packages", headers=owner).json()["packages"]
        return str(next(p for p in offers if p["id"] == "demo-3m")["new_valid_until"])

    first_quote = quote_3m()
    wechat = order(api, owner, "wechat", "via-wechat-1")
    api.post("/sim/wechatpay/pay", json={"out_trade_no": wechat["order_id"]})
    wait_paid(api, owner, wechat["order_id"])
    assert valid_until(api, owner) == first_quote == "2027-03-03"

    second_quote = quote_3m()
    alipay = order(api, owner, "alipay", "via-alipay-1")
    assert alipay["payment"]["qr_code"].startswith("https://qr.alipay.com/")
    assert api.post("/sim/alipay/pay", json={"out_trade_no": alipay["order_id"]}).status_code == 200
    wait_paid(api, owner, alipay["order_id"])
    assert valid_until(api, owner) == second_quote == "2027-06-03"

    entries = sorted((e.channel, e.order_id, int(e.amount_fen)) for e in LedgerItem.by_lot.query("demo-lot"))
    assert entries == sorted([("wechat", wechat["order_id"], 85000), ("alipay", alipay["order_id"], 85000)])
    # The simulator records the delivery when ParkPass's answer is back, a moment after the order is paid.
    deadline = time.monotonic() + 15
    while alipay["order_id"] not in [no for no, _ in stack.alipay.deliveries] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stack.alipay.deliveries[-1] == (alipay["order_id"], "success")


def test_alipay_resending_or_finishing_a_trade_months_later_changes_nothing(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner, "alipay", "alipay-dup-1")
    stack.alipay.deliver = False
    stack.alipay.pay(made["order_id"])
    form = stack.alipay.notification(made["order_id"])
    for _ in range(3):
        r = notify(stack, form)
        assert (r.status_code, r.text) == (200, "success")
    finished = stack.alipay.notification(made["order_id"], trade_status="TRADE_FINISHED")
    assert notify(stack, finished).text == "success"
    assert valid_until(api, owner) == "2027-03-03"
    assert len(list(LedgerItem.by_lot.query("demo-lot"))) == 1


@pytest.mark.parametrize(
    ("forgery", "change"),
    [
        ("forged signature", {"sign": "AAAA" * 86}),
        ("wrong amount", {"total_amount": "0.01"}),
        ("not an amount", {"total_amount": "850"}),
        ("wrong app_id", {"app_id": "2021999999999999"}),
        ("wrong seller_id", {"seller_id": "2088999999999999"}),
        ("unknown order", {"out_trade_no": "order-unknown-000000"}),
    ],
)
def test_a_bad_alipay_notification_is_refused_and_changes_nothing(
    api: ApiClient, owner: dict[str, str], stack: DevStack, forgery: str, change: dict[str, str]
) -> None:
    made = order(api, owner, "alipay", "alipay-bad-1")
    stack.alipay.deliver = False
    stack.alipay.pay(made["order_id"])
    if "sign" in change:
        form = {**stack.alipay.notification(made["order_id"]), **change}
    else:
        form = stack.alipay.notification(made["order_id"], **change)
    r = notify(stack, form)
    assert r.status_code == 400 and json_error(r)["code"] == "payment_rejected", forgery
    assert r.text != "success"
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "pending"
    assert valid_until(api, owner) == "2026-12-03"


def test_the_sweep_finds_an_alipay_payment_whose_notification_was_lost(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner, "alipay", "alipay-lost-1")
    stack.alipay.deliver = False
    stack.alipay.pay(made["order_id"])
    api.post("/sim/clock", json={"now": (stack.clock.now() + timedelta(minutes=2)).isoformat()})
    assert stack.sweep().fulfilled == [made["order_id"]]
    assert valid_until(api, owner) == "2027-03-03"


def test_an_alipay_notification_sent_outside_alipays_retry_window_is_refused_and_a_later_one_still_fulfils_once(
    api: ApiClient, owner: dict[str, str], stack: DevStack, caplog: pytest.LogCaptureFixture
) -> None:
    made = order(api, owner, "alipay", "alipay-old-1")
    stack.alipay.deliver = False
    stack.alipay.pay(made["order_id"])
    now = stack.clock.now()

    def sent(at: datetime) -> dict[str, str]:  # signed by the simulator's Alipay key, notify_time as given
        return stack.alipay.notification(made["order_id"], notify_time=at.astimezone(BEIJING).strftime(ALIPAY_TIME))

    caplog.set_level(logging.WARNING, logger="parkpass.security")
    for form, message in [
        (sent(now - timedelta(hours=27)), "支付通知的发送时间早于 26 小时前，超出支付宝的重发期限"),
        (sent(now + timedelta(minutes=30)), "支付通知的发送时间比服务器时间晚 5 分钟以上"),
        (stack.alipay.notification(made["order_id"], notify_time="yesterday"), "支付通知缺少发送时间或格式不对"),
    ]:
        r = notify(stack, form)
        assert r.status_code == 400 and json_error(r) == {"code": "payment_rejected", "message": message}
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "pending"
    assert valid_until(api, owner) == "2026-12-03"
    refused = [r.getMessage() for r in caplog.records if r.name == "parkpass.security"]
    assert any("Alipay notification rejected" in line and "26 hours" in line for line in refused), refused

    last_retry = sent(now - timedelta(hours=24, minutes=24))  # Alipay's last resend: still within the window
    for _ in range(2):
        r = notify(stack, last_retry)
        assert (r.status_code, r.text) == (200, "success")
    assert notify(stack, sent(now)).text == "success"
    assert stack.sweep().fulfilled == []
    assert valid_until(api, owner) == "2027-03-03"
    assert [e.order_id for e in LedgerItem.by_lot.query("demo-lot")] == [made["order_id"]]


def test_a_refused_old_notification_does_not_keep_the_sweep_from_finding_the_payment(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner, "alipay", "alipay-old-2")
    stack.alipay.deliver = False
    stack.alipay.pay(made["order_id"])
    old = (stack.clock.now() - timedelta(days=2)).astimezone(BEIJING).strftime(ALIPAY_TIME)
    assert notify(stack, stack.alipay.notification(made["order_id"], notify_time=old)).status_code == 400
    api.post("/sim/clock", json={"now": (stack.clock.now() + timedelta(minutes=2)).isoformat()})
    assert stack.sweep().fulfilled == [made["order_id"]]
    assert valid_until(api, owner) == "2027-03-03"
    assert len(list(LedgerItem.by_lot.query("demo-lot"))) == 1
