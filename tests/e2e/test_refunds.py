"""Full refunds through each provider's simulator, against the running local stack.

No HTTP route calls refunds yet (the admin function will); the test drives the
handler with the stack's own wiring and checks the results over HTTP.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from domain.order import Order, OrderState
from functions.dev_stack import DevStack
from handlers.refund_order import refund_order
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
    return refund_order(
        order_id, s.orders, s.cards, s.lots, s.provider(order.channel), s.uow, s.clock, s.invoicing
    )


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
