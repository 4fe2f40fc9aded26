"""Full refunds through each provider's simulator, against the running local stack.

No HTTP route calls refunds yet (the admin function will); the test drives the
handler with the stack's own wiring and checks the results over HTTP.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from domain.order import Order, OrderState
from functions.dev_stack import DevStack
from handlers.refund_order import refund_order
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from infra.dynamodb.tables import EntitlementItem, LedgerItem
from tests.e2e.api_client import ApiClient


def paid_renewal(stack: DevStack, channel: str, n: int = 0) -> tuple[ApiClient, dict[str, str], dict[str, Any]]:
    """The demo owner renews card-demo for 3 months and pays; `n` makes the login and the purchase fresh."""
    api = ApiClient(stack.api_url)
    token = api.post("/api/v1/auth/login", json={"code": f"sim:demo-owner:{n}"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    made = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-3m", "channel": channel, "idempotency_key": f"refund-me-{channel}-{n}"},
        headers=owner,
    ).json()
    api.post(f"/sim/{'wechatpay' if channel == 'wechat' else 'alipay'}/pay", json={"out_trade_no": made["order_id"]})
    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] != "paid":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return api, owner, made


def refund(stack: DevStack, order_id: str) -> Order:
    s = stack.services
    order = s.orders.get(order_id)
    assert order is not None
    return refund_order(order_id, s.orders, s.cards, s.lots, s.provider(order.channel), s.uow, s.clock, s.invoicing)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_full_refund_returns_the_money_and_takes_the_period_back_once(stack: DevStack, channel: str) -> None:
    api, owner, made = paid_renewal(stack, channel)
    assert api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"] == "2027-03-03"

    assert refund(stack, made["order_id"]).state is OrderState.REFUNDED
    assert refund(stack, made["order_id"]).state is OrderState.REFUNDED  # twice: nothing more happens

    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "refunded"
    assert api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"] == "2026-12-03"
    assert sorted(int(e.amount_fen) for e in LedgerItem.by_lot.query("demo-lot")) == [-85000, 85000]
    assert [(int(e.version), e.valid_until) for e in EntitlementItem.query("demo-lot")] == [
        (1, "2026-12-03"),  # the demo card issued
        (2, "2027-03-03"),
        (3, "2026-12-03"),
    ]
    if channel == "wechat":
        assert list(stack.wechatpay.transactions[made["order_id"]]["refunds"]) == [f"refund-{made['order_id']}"]
    else:
        assert list(stack.alipay.trades[made["order_id"]]["refunds"]) == [f"refund-{made['order_id']}"]


def test_concurrent_refunds_of_one_order_book_one_refund(stack: DevStack) -> None:
    api, owner, made = paid_renewal(stack, "wechat")
    results: list[object] = []
    start = threading.Barrier(5)

    def go() -> None:
        start.wait()
        try:
            results.append(refund(stack, made["order_id"]).state)
        except Exception as e:  # the outcome is what we compare
            results.append(e)

    threads = [threading.Thread(target=go) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [OrderState.REFUNDED] * 5
    assert sorted(int(e.amount_fen) for e in LedgerItem.by_lot.query("demo-lot")) == [-85000, 85000]
    assert api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"] == "2026-12-03"


def office(api: ApiClient) -> dict[str, str]:
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    return {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}


def office_refund(api: ApiClient, staff: dict[str, str], order_id: str) -> dict[str, Any]:
    r = api.post(f"/admin/api/v1/orders/{order_id}/refund", json={"reason": "车主搬走"}, headers=staff)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def office_order(api: ApiClient, staff: dict[str, str], order_id: str) -> dict[str, Any]:
    orders = api.get("/admin/api/v1/cards/card-demo", headers=staff).json()["orders"]
    return next(o for o in orders if o["order_id"] == order_id)  # type: ignore[no-any-return]


def wait_until(check: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_wechat_refund_is_processing_until_wechat_pay_notifies_its_result(stack: DevStack) -> None:
    api, owner, made = paid_renewal(stack, "wechat", 7)
    order_id = made["order_id"]
    staff = office(api)
    assert api.post("/sim/wechatpay/refunds/outcome", json={"status": "PROCESSING"}).status_code == 200
    done = office_refund(api, staff, order_id)
    assert (done["state"], done["refund_state"], done["state_label"]) == ("refunded", "processing", "退款中")
    mine = api.get(f"/api/v1/orders/{order_id}", headers=owner).json()
    assert (mine["refund_state"], mine["state_text"]) == ("processing", "退款中")
    assert api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"] == "2026-12-03"  # days back now

    settle = {"out_refund_no": f"refund-{order_id}", "status": "ABNORMAL"}
    assert api.post("/sim/wechatpay/refunds/settle", json=settle).status_code == 200
    wait_until(lambda: office_order(api, staff, order_id)["refund_state"] == "abnormal")
    shown = office_order(api, staff, order_id)
    assert shown["state_label"] == "退款异常" and "商户平台" in shown["refund_todo"]

    assert api.post("/sim/wechatpay/refunds/settle", json={**settle, "status": "SUCCESS"}).status_code == 200
    wait_until(lambda: office_order(api, staff, order_id)["refund_state"] == "succeeded")
    assert office_order(api, staff, order_id)["refund_todo"] is None
    mine = api.get("/api/v1/me/orders", headers=owner).json()["orders"]
    assert next(o for o in mine if o["order_id"] == order_id)["state_text"] == "已退款"

    # The same notification again, twice at once, and a late PROCESSING: nothing moves, each answered 204.
    headers, body = stack.wechatpay.refund_notification(f"refund-{order_id}")
    url = f"{stack.api_url}/api/v1/payments/wechat/refund-notify"
    answers: list[int] = []
    posts = [
        threading.Thread(
            target=lambda: answers.append(
                requests.post(url, data=body.encode(), headers=headers, timeout=10).status_code
            )
        )
        for _ in range(2)
    ]
    for t in posts:
        t.start()
    for t in posts:
        t.join()
    assert answers == [204, 204]
    assert office_order(api, staff, order_id)["refund_state"] == "succeeded"
    forged = {**headers, "Wechatpay-Signature": "Zm9yZ2Vk"}
    assert requests.post(url, data=body.encode(), headers=forged, timeout=10).status_code == 400


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_refund_whose_result_is_never_notified_is_settled_by_the_sweep(stack: DevStack, channel: str) -> None:
    api, _, made = paid_renewal(stack, channel, 8)
    order_id = made["order_id"]
    if channel == "wechat":
        api.post("/sim/wechatpay/refunds/outcome", json={"status": "PROCESSING"})
    else:
        api.post("/sim/alipay/refunds/outcome", json={"fund_change": "N"})
    staff = office(api)
    assert office_refund(api, staff, order_id)["refund_state"] == "processing"
    assert stack.sweep().refunds == []  # still processing at the provider
    if channel == "wechat":
        settle = {"out_refund_no": f"refund-{order_id}", "status": "SUCCESS", "notify": False}  # notification lost
        assert api.post("/sim/wechatpay/refunds/settle", json=settle).status_code == 200
    else:
        assert api.post("/sim/alipay/refunds/settle", json={"out_request_no": f"refund-{order_id}"}).status_code == 200
    assert stack.sweep().refunds == [order_id]
    assert office_order(api, staff, order_id)["refund_state"] == "succeeded"
