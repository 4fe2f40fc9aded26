"""Renewal and payment through WeChat Pay v3 (wechatpayv3 against the simulator), over HTTP."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from domain.calendar import add_months
from functions.dev_stack import BACKGROUND_THREADS, DevStack
from handlers.card_changes import change_card
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import EntitlementItem, LedgerItem, transaction_connection
from tests.e2e.api_client import ApiClient, json_error

DEMO_CARD_ENDS = date(2026, 12, 3)


@pytest.fixture
def api(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url)


@pytest.fixture
def owner(api: ApiClient) -> dict[str, str]:
    r = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner"})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def order(api: ApiClient, owner: dict[str, str], package: str = "demo-3m", key: str = "renew-0001") -> dict[str, Any]:
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": package, "channel": "wechat", "idempotency_key": key},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def card(api: ApiClient, owner: dict[str, str]) -> dict[str, Any]:
    return api.get("/api/v1/cards/card-demo", headers=owner).json()  # type: ignore[no-any-return]


def ledger() -> list[LedgerItem]:
    return list(LedgerItem.by_lot.query("demo-lot"))


def events() -> list[EntitlementItem]:
    """The demo lot's gate events after the seed's own (version 1: the demo card was issued)."""
    return list(EntitlementItem.query("demo-lot", EntitlementItem.version > 1))


def notify(stack: DevStack, headers: dict[str, str], body: str) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers, timeout=10
    )


def storm(stack: DevStack, headers: dict[str, str], body: str, times: int = 20) -> list[int]:
    """The same notification `times` times at once (a provider's retries crossing each other): their answers."""
    answers: list[int] = []
    start = threading.Barrier(times)

    def deliver() -> None:
        start.wait()
        answers.append(notify(stack, headers, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def paid_quietly(stack: DevStack, order_id: str) -> tuple[dict[str, str], str]:
    """The payer pays, but the simulator keeps the notification for the test to deliver."""
    stack.wechatpay.deliver = False
    assert stack.wechatpay.pay(order_id)
    return stack.wechatpay.notification(order_id)


def test_demo_owner_renews_three_months_and_the_card_ends_where_the_quote_said(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    offers = {p["id"]: p for p in api.get("/api/v1/cards/card-demo/packages", headers=owner).json()["packages"]}
    quoted = offers["demo-3m"]
    assert (quoted["new_valid_until"], quoted["amount_fen"], quoted["allowed"]) == ("2027-03-03", 85000, True)
    assert (offers["demo-12m"]["allowed"], offers["demo-12m"]["reason"]) == (False, "exceeds_max_renewal_date")

    made = order(api, owner)
    assert made["payment"]["signType"] == "RSA" and made["payment"]["package"].startswith("prepay_id=wx")
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": made["out_trade_no"]}).status_code == 200

    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] != "paid":
        assert time.monotonic() < deadline, "the notification never fulfilled the order"
        time.sleep(0.1)
    assert card(api, owner)["valid_until"] == quoted["new_valid_until"]
    assert [(e.order_id, int(e.amount_fen), e.channel) for e in ledger()] == [(made["order_id"], 85000, "wechat")]
    assert [(int(e.version), e.plate, e.valid_until) for e in events()] == [(2, "粤B12345", "2027-03-03")]
    # The simulator records the delivery when ParkPass's answer is back, a moment after the order is paid.
    while made["order_id"] not in [no for no, _ in stack.wechatpay.deliveries] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stack.wechatpay.deliveries[-1] == (made["order_id"], 204)


def test_the_same_notification_twenty_times_at_once_extends_once(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    headers, body = paid_quietly(stack, made["order_id"])
    assert storm(stack, headers, body) == [204] * 20
    assert card(api, owner)["valid_until"] == "2027-03-03"
    assert len(ledger()) == 1 and len(events()) == 1


def test_ten_orders_paid_one_after_another_add_up_exactly(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    for n in range(10):
        made = order(api, owner, "demo-1m", key=f"monthly-{n:04d}")
        assert notify(stack, *paid_quietly(stack, made["order_id"])).status_code == 204
    assert card(api, owner)["valid_until"] == add_months(DEMO_CARD_ENDS, 10).isoformat() == "2027-10-03"
    assert sum(int(e.amount_fen) for e in ledger()) == 10 * 300_00 and len(ledger()) == 10
    assert [int(e.version) for e in events()] == list(range(2, 12))


def _forgeries(stack: DevStack, order_id: str) -> dict[str, tuple[dict[str, str], str]]:
    sim = stack.wechatpay
    headers, body = sim.notification(order_id)
    stale_headers = sim.signature_headers(body, timestamp=int(stack.clock.now().timestamp()) - 301)
    return {
        "forged signature": (
            {**headers, "Wechatpay-Signature": sim.signature_headers(body + " ")["Wechatpay-Signature"]},
            body,
        ),
        "tampered body": (headers, body.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS "')),
        "unknown key serial": ({**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}, body),
        "stale timestamp": (stale_headers, body),
        "wrong amount": sim.notification(order_id, amount={"total": 1, "currency": "CNY"}),
        "wrong appid": sim.notification(order_id, appid="wx-other-app"),
        "wrong mchid": sim.notification(order_id, mchid="1900000999"),
        "unknown order": sim.notification(order_id, out_trade_no="order-unknown-000000"),
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "forged signature",
        "tampered body",
        "unknown key serial",
        "stale timestamp",
        "wrong amount",
        "wrong appid",
        "wrong mchid",
        "unknown order",
    ],
)
def test_a_bad_notification_is_refused_changes_nothing_and_is_logged(
    api: ApiClient, owner: dict[str, str], stack: DevStack, forgery: str, caplog: pytest.LogCaptureFixture
) -> None:
    made = order(api, owner)
    paid_quietly(stack, made["order_id"])
    headers, body = _forgeries(stack, made["order_id"])[forgery]
    r = notify(stack, headers, body)
    assert r.status_code == 400 and json_error(r)["code"] == "payment_rejected"
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "pending"
    assert card(api, owner)["valid_until"] == DEMO_CARD_ENDS.isoformat()
    assert ledger() == [] and events() == []
    assert any(r.name == "parkpass.security" and r.levelno == logging.WARNING for r in caplog.records)


def test_a_dynamodb_failure_inside_fulfilment_leaves_nothing_and_the_retry_succeeds(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    headers, body = paid_quietly(stack, made["order_id"])
    failures = iter([True])

    def fail_once(**_: Any) -> None:
        if next(failures, False):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "TransactWriteItems")

    events_hook = transaction_connection().client.meta.events
    events_hook.register("before-call.dynamodb.TransactWriteItems", fail_once)
    try:
        r = notify(stack, headers, body)
        assert r.status_code == 500  # not 2xx: WeChat Pay will send it again
        assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "pending"
        assert card(api, owner)["valid_until"] == DEMO_CARD_ENDS.isoformat()
        assert ledger() == [] and events() == []

        assert notify(stack, headers, body).status_code == 204  # the provider's retry
    finally:
        events_hook.unregister("before-call.dynamodb.TransactWriteItems", fail_once)
    assert card(api, owner)["valid_until"] == "2027-03-03" and len(ledger()) == 1


def test_a_fulfilled_notification_costs_one_read_and_the_transaction(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    headers, body = paid_quietly(stack, made["order_id"])
    with DynamoRequestCounter(BACKGROUND_THREADS) as counter:
        assert notify(stack, headers, body).status_code == 204
    # The order with its card and lot (named by the attach WeChat Pay hands back) in one request, then the one
    # transaction (#18: the physical minimum, and a verified notification counts against no limit).
    assert dict(counter.by_operation) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    with DynamoRequestCounter(BACKGROUND_THREADS) as again:
        assert notify(stack, headers, body).status_code == 204
    assert again.total == 1  # a duplicate reads the order (with its card and lot) and stops


def test_a_card_changed_after_the_quote_is_extended_from_its_new_end(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    assert made["new_valid_until"] == "2027-03-03"
    current = stack.services.cards.get("card-demo")
    assert current is not None
    s = stack.services
    moved = DEMO_CARD_ENDS + timedelta(days=28)
    change_card(
        current.id, lambda c, _, __: replace(c, valid_until=moved), "admin:t", "fix", s.cards, s.lots, s.uow, s.clock
    )
    assert notify(stack, *paid_quietly(stack, made["order_id"])).status_code == 204
    assert card(api, owner)["valid_until"] == "2027-03-31"
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["new_valid_until"] == "2027-03-31"


def test_ordering_again_with_the_same_key_answers_the_same_order_and_another_waits(
    api: ApiClient, owner: dict[str, str]
) -> None:
    first = order(api, owner)
    assert order(api, owner)["order_id"] == first["order_id"]
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "another-key"},
        headers=owner,
    )
    assert r.status_code == 409 and json_error(r)["code"] == "unpaid_order_exists"
    r = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-12m", "channel": "wechat", "idempotency_key": "too-far-001"},
        headers=owner,
    )
    assert r.status_code == 409 and json_error(r)["code"] == "exceeds_max_renewal_date"


def _move_clock(api: ApiClient, stack: DevStack, by: timedelta) -> None:
    assert api.post("/sim/clock", json={"now": (stack.clock.now() + by).isoformat()}).status_code == 200


def test_the_sweep_fulfils_a_paid_order_whose_notification_was_lost(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    paid_quietly(stack, made["order_id"])  # paid at WeChat Pay; the notification never arrives
    assert stack.sweep().fulfilled == []  # too young to ask about yet
    _move_clock(api, stack, timedelta(minutes=2))
    assert stack.sweep().fulfilled == [made["order_id"]]
    assert card(api, owner)["valid_until"] == "2027-03-03"
    assert len(ledger()) == 1
    assert stack.sweep().fulfilled == []  # nothing twice


def test_an_unpaid_order_closes_after_fifteen_minutes_here_and_at_the_provider(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    made = order(api, owner)
    _move_clock(api, stack, timedelta(minutes=5))
    assert stack.sweep().waiting == [made["order_id"]]
    _move_clock(api, stack, timedelta(minutes=11))
    assert stack.sweep().closed == [made["order_id"]]
    assert api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] == "closed"
    assert stack.wechatpay.transactions[made["order_id"]]["trade_state"] == "CLOSED"
    assert not stack.wechatpay.pay(made["order_id"])  # the payer can no longer pay it
    assert order(api, owner, "demo-1m", key="after-close")["state"] == "pending"  # the card is free again
    assert card(api, owner)["valid_until"] == DEMO_CARD_ENDS.isoformat()


def test_the_same_purchase_sent_eight_times_at_once_makes_one_order(
    api: ApiClient, owner: dict[str, str], stack: DevStack
) -> None:
    answers: list[requests.Response] = []
    start = threading.Barrier(8)

    def buy() -> None:
        start.wait()
        answers.append(
            requests.post(
                f"{stack.api_url}/api/v1/cards/card-demo/renewals",
                json={"package_id": "demo-3m", "channel": "wechat", "idempotency_key": "double-tap-01"},
                headers=owner,
                timeout=10,
            )
        )

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201] * 8
    assert len({r.json()["order_id"] for r in answers}) == 1
    assert len(stack.wechatpay.transactions) == 1
