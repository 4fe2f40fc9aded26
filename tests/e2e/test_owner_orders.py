"""An owner's orders over HTTP on the local stack: cancelling an unpaid one (closed at the WeChat Pay / Alipay
simulator and here, or fulfilled when the payer paid just before), the list of one's orders with their receipt and
invoice links, and an invoice asked for again with other details."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from functions.dev_stack import BACKGROUND_THREADS, DevStack
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import LedgerItem, OrderItem, transaction_connection
from tests.e2e.api_client import ApiClient, json_error


@pytest.fixture
def api(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url)


def login(api: ApiClient, who: str = "demo-owner") -> dict[str, str]:
    return {"Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': f'sim:{who}'}).json()['token']}"}


@pytest.fixture
def owner(api: ApiClient) -> dict[str, str]:
    return login(api)


def renew(api: ApiClient, owner: dict[str, str], key: str, channel: str = "wechat") -> dict[str, Any]:
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-3m", "channel": channel, "idempotency_key": key},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def cancel(api: ApiClient, owner: dict[str, str], order_id: str) -> requests.Response:
    return api.post(f"/api/v1/orders/{order_id}/cancel", headers=owner)


def valid_until(api: ApiClient, owner: dict[str, str]) -> str:
    return str(api.get("/api/v1/cards/card-demo", headers=owner).json()["valid_until"])


def at_provider(stack: DevStack, channel: str, order_id: str) -> str:
    """What the provider's simulator says of the order."""
    if channel == "wechat":
        return str(stack.wechatpay.transactions[order_id]["trade_state"])
    return str(stack.alipay.trades[order_id]["trade_status"])


def wait_paid(api: ApiClient, owner: dict[str, str], order_id: str) -> None:
    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/orders/{order_id}", headers=owner).json()["state"] != "paid":
        assert time.monotonic() < deadline, "never paid"
        time.sleep(0.1)


@contextmanager
def committed_moves_of(order_id: str) -> Iterator[list[int]]:
    """Count the DynamoDB transactions that committed a change to the order (what "closes once" means)."""
    events = transaction_connection().client.meta.events
    moves: list[int] = []

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["moves_order"] = any(
            a.get("Update", {}).get("Key", {}).get("order_id") == {"S": order_id}
            for a in params.get("TransactItems", [])
        )

    def answered(http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if context.get("moves_order") and http_response.status_code == 200:
            moves.append(1)

    events.register("before-parameter-build.dynamodb.TransactWriteItems", remember, unique_id="test-order-moves-p")
    events.register("after-call.dynamodb.TransactWriteItems", answered, unique_id="test-order-moves-a")
    try:
        yield moves
    finally:
        events.unregister("before-parameter-build.dynamodb.TransactWriteItems", unique_id="test-order-moves-p")
        events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="test-order-moves-a")


@pytest.mark.parametrize(("channel", "closed_there"), [("wechat", "CLOSED"), ("alipay", "TRADE_CLOSED")])
def test_an_owner_cancels_an_unpaid_order_and_renews_again_at_once(
    api: ApiClient, owner: dict[str, str], stack: DevStack, channel: str, closed_there: str
) -> None:
    made = renew(api, owner, "walk-away-1", channel)
    blocked = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": channel, "idempotency_key": "walk-away-2"},
        headers=owner,
    )
    assert blocked.status_code == 409 and json_error(blocked)["code"] == "unpaid_order_exists"

    with DynamoRequestCounter(BACKGROUND_THREADS) as cost:
        r = cancel(api, owner, made["order_id"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "closed" and r.json()["order_id"] == made["order_id"]
    # The order (whose is it?), the close (the order and the card's unpaid slot), the order as it is now.
    assert dict(cost.by_operation) == {"GetItem": 2, "TransactWriteItems": 1}, dict(cost.by_operation)
    assert at_provider(stack, channel, made["order_id"]) == closed_there  # the payer can no longer pay it
    assert not (stack.wechatpay if channel == "wechat" else stack.alipay).pay(made["order_id"])
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "closed"

    again = renew(api, owner, "walk-away-2", channel)  # at once: the card's unpaid slot is free
    assert again["order_id"] != made["order_id"] and again["state"] == "pending"
    r = cancel(api, owner, made["order_id"])  # asked again: the same answer, nothing changes
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert valid_until(api, owner) == "2026-12-03" and not list(LedgerItem.by_lot.query("demo-lot"))


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_an_order_paid_just_before_the_cancel_is_fulfilled_and_the_answer_says_so(
    api: ApiClient, owner: dict[str, str], stack: DevStack, channel: str
) -> None:
    made = renew(api, owner, "paid-first-1", channel)
    sim = stack.wechatpay if channel == "wechat" else stack.alipay
    sim.deliver = False  # the payer pays; the notification is late
    assert sim.pay(made["order_id"])

    r = cancel(api, owner, made["order_id"])
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "order_paid" and "2027-03-03" in error["message"] and "已支付" in error["message"]
    assert error["details"]["order"]["state"] == "paid"
    assert error["details"]["order"]["new_valid_until"] == "2027-03-03"
    assert valid_until(api, owner) == "2027-03-03"
    assert [(e.order_id, int(e.amount_fen)) for e in LedgerItem.by_lot.query("demo-lot")] == [(made["order_id"], 85000)]
    assert at_provider(stack, channel, made["order_id"]) in ("SUCCESS", "TRADE_SUCCESS")  # not closed there

    if channel == "wechat":  # the late notification changes nothing more
        headers, body = stack.wechatpay.notification(made["order_id"])
        late = requests.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers,
                             timeout=10)  # fmt: skip
        assert late.status_code == 204
    else:
        form = stack.alipay.notification(made["order_id"])
        assert requests.post(f"{stack.api_url}/api/v1/payments/alipay/notify", data=form, timeout=10).text == "success"
    assert valid_until(api, owner) == "2027-03-03" and len(list(LedgerItem.by_lot.query("demo-lot"))) == 1
    english = api.post(f"/api/v1/orders/{made['order_id']}/cancel", headers={**owner, "Accept-Language": "en"})
    assert english.status_code == 409 and "cannot be cancelled" in english.json()["error"]["message"]


def test_another_owners_order_is_not_found_and_stays_as_it_was(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = renew(api, owner, "not-yours-1")
    someone = login(api, "someone-else")
    r = cancel(api, someone, made["order_id"])
    assert r.status_code == 404 and json_error(r)["code"] == "order_not_found"
    assert cancel(api, someone, "order-does-not-exist").status_code == 404  # the same answer: nothing is revealed
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "pending"
    assert at_provider(stack, "wechat", made["order_id"]) == "NOTPAY"
    assert api.get("/api/v1/me/orders", headers=someone).json() == {"orders": [], "next_cursor": None}
    assert api.post(f"/api/v1/orders/{made['order_id']}/cancel").status_code == 401


def test_eight_cancels_at_once_close_the_order_once(api: ApiClient, owner: dict[str, str], stack: DevStack) -> None:
    made = renew(api, owner, "double-tap-1")
    start = threading.Barrier(8)
    answers: list[tuple[int, str]] = []

    def tap() -> None:
        start.wait()
        r = requests.post(f"{stack.api_url}/api/v1/orders/{made['order_id']}/cancel", headers=owner, timeout=20)
        answers.append((r.status_code, r.json().get("state", r.text)))

    with committed_moves_of(made["order_id"]) as moves:
        taps = [threading.Thread(target=tap) for _ in range(8)]
        for t in taps:
            t.start()
        for t in taps:
            t.join()
    assert answers == [(200, "closed")] * 8
    assert len(moves) == 1  # one transaction moved the order (pending -> closed); the others found it closed
    assert OrderItem.get(made["order_id"], consistent_read=True).state == "closed"
    assert at_provider(stack, "wechat", made["order_id"]) == "CLOSED"
    assert renew(api, owner, "double-tap-2")["state"] == "pending"


def test_my_orders_lists_newest_first_with_receipt_and_invoice_links_a_page_at_a_time(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    paid = renew(api, owner, "list-paid-1")
    api.post("/sim/wechatpay/pay", json={"out_trade_no": paid["order_id"]})
    wait_paid(api, owner, paid["order_id"])
    invoice = {"type": "personal", "title": "张三", "email": "zhang@example.com"}
    assert api.post(f"/api/v1/orders/{paid['order_id']}/invoice", json=invoice, headers=owner).status_code == 201
    closed = renew(api, owner, "list-closed-1", "alipay")
    assert cancel(api, owner, closed["order_id"]).status_code == 200
    waiting = renew(api, owner, "list-waiting-1")

    with DynamoRequestCounter(BACKGROUND_THREADS) as cost:
        r = api.get("/api/v1/me/orders", headers=owner)
    assert r.status_code == 200
    # One Query of the orders' by_owner index, one batch read each of the cards, lots and invoices it names.
    assert dict(cost.by_operation) == {"Query": 1, "BatchGetItem": 3}, dict(cost.by_operation)
    assert {(action, index) for action, _, index in cost.accesses if index} == {("dynamodb:Query", "by_owner")}
    listed = r.json()["orders"]
    assert [o["order_id"] for o in listed] == [waiting["order_id"], closed["order_id"], paid["order_id"]]
    assert [o["state_text"] for o in listed] == ["待支付", "已关闭", "已支付"]
    newest, _, first = listed
    assert (newest["amount_fen"], newest["amount_yuan"], newest["package"]["id"]) == (85000, "850.00", "demo-3m")
    assert newest["card"] == {"id": "card-demo", "plates": ["粤B12345"]} and newest["lot"]["id"] == "demo-lot"
    assert newest["links"]["cancel"] == f"/api/v1/orders/{waiting['order_id']}/cancel"
    assert first["paid_at"] and first["new_valid_until"] == "2027-03-03" and first["invoice_state"] == "issued"
    links = first["links"]
    assert links["receipt_pdf"] == f"/api/v1/orders/{paid['order_id']}/receipt.pdf" and links["cancel"] is None
    for link in (links["receipt"], links["receipt_pdf"], links["invoice"], links["invoice_pdf"]):
        assert api.get(link, headers=owner).status_code == 200, link
    assert listed[1]["links"]["receipt"] is None and listed[1]["invoice_state"] is None

    page = api.get("/api/v1/me/orders?limit=2", headers=owner).json()
    assert [o["order_id"] for o in page["orders"]] == [waiting["order_id"], closed["order_id"]]
    rest = api.get("/api/v1/me/orders", params={"limit": 2, "cursor": page["next_cursor"]}, headers=owner).json()
    assert [o["order_id"] for o in rest["orders"]] == [paid["order_id"]] and rest["next_cursor"] is None
    r = api.get("/api/v1/me/orders", params={"cursor": "forged"}, headers=owner)
    assert r.status_code == 400 and json_error(r)["code"] == "invalid_input"


def test_an_invoice_asked_again_with_other_details_is_a_409_with_what_was_asked_first(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = renew(api, owner, "invoice-twice-1")
    api.post("/sim/wechatpay/pay", json={"out_trade_no": made["order_id"]})
    wait_paid(api, owner, made["order_id"])
    path = f"/api/v1/orders/{made['order_id']}/invoice"
    first = {"type": "company", "title": "深圳市腾讯计算机系统有限公司", "tax_id": "9144030071526726XG",
             "email": "fin@example.com"}  # fmt: skip
    r = api.post(path, json=first, headers=owner)
    assert r.status_code == 201
    issued = r.json()
    again = api.post(path, json=first, headers=owner)
    assert again.status_code == 201 and again.json() == issued  # the same request: the same invoice

    other = api.post(path, json={**first, "title": "另一家公司"}, headers=owner)
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "invoice_already_requested" and "深圳市腾讯计算机系统有限公司" in error["message"]
    assert error["details"]["invoice"] == issued
    personal = api.post(path, json={"type": "personal", "title": "张三", "email": "z@example.com"}, headers=owner)
    assert personal.status_code == 409 and personal.json()["error"]["details"]["invoice"]["title"] == first["title"]
    assert len(stack.invoice_sim.issued) == 1
