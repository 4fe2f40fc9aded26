"""The owner's side over HTTP against the local stack: WeChat login through the simulator, phone, plates, cards."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import requests

from domain.card import Card, CardState
from domain.parking import Reported
from domain.visitor_fee import VisitorFeeRule
from domain.visits import Direction
from functions.dev_stack import BACKGROUND_THREADS, DevStack
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests import contract
from tests.builders import add_card
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_existing_card_holders import office as office_headers


def login(api: ApiClient, code: str) -> dict[str, Any]:
    r = api.post("/api/v1/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


def give_card(stack: DevStack, owner_id: str, plate: str, card_id: str = "card-alice") -> str:
    """Cards are issued by the application flow of a later issue; until then the test writes one directly."""
    today = stack.services.lots.get("demo-lot").today(stack.clock.now())  # type: ignore[union-attr]
    card = Card(card_id, "demo-lot", owner_id, (plate,), today, today + timedelta(days=29), CardState.ACTIVE)
    assert add_card(stack.services, card)
    return card_id


def test_alice_logs_in_binds_her_phone_adds_a_plate_and_sees_only_her_cards(
    api: ApiClient, local_stack: DevStack
) -> None:
    alice = login(api, "sim:alice")
    assert alice["expires_in"] == 7200 and alice["owner"]["phone"] is None
    h = bearer(alice)

    r = api.post("/api/v1/me/phone", json={"code": "sim-phone:13800001234"}, headers=h)
    assert r.status_code == 200 and r.json() == {"phone": "138****1234", "claimed_cards": []}

    r = api.post("/api/v1/me/vehicles", json={"plate": "粤b·12345"}, headers=h)
    assert r.status_code == 201 and r.json() == {"plate": "粤B12345"}
    api.post("/api/v1/me/vehicles", json={"plate": "粤B54321"}, headers=h)
    assert api.get("/api/v1/me/vehicles", headers=h).json() == {"vehicles": ["粤B12345", "粤B54321"]}
    assert api.get("/api/v1/me/cards", headers=h).json() == {"cards": []}

    card_id = give_card(local_stack, alice["owner"]["id"], "粤B54321")
    cards = api.get("/api/v1/me/cards", headers=h).json()["cards"]
    assert [(c["id"], c["lot"]["id"], c["plates"], c["state"], c["days_left"]) for c in cards] == [
        (card_id, "demo-lot", ["粤B54321"], "active", 30)
    ]
    assert api.get(f"/api/v1/cards/{card_id}", headers=h).json()["valid_until"] == cards[0]["valid_until"]

    bob = bearer(login(api, "sim:bob"))
    r = api.get(f"/api/v1/cards/{card_id}", headers=bob)
    assert r.status_code == 404 and json_error(r)["code"] == "card_not_found"
    assert api.get("/api/v1/me/cards", headers=bob).json() == {"cards": []}

    # Alice logging in again is still alice, with everything she set.
    again = login(api, "sim:alice:again")
    assert again["owner"] == {"id": alice["owner"]["id"], "phone": "138****1234", "vehicles": ["粤B12345", "粤B54321"]}


def test_every_owner_route_that_takes_an_id_answers_404_for_another_owners_thing(
    api: ApiClient, local_stack: DevStack
) -> None:
    alice = login(api, "sim:alice")
    api.post("/api/v1/me/vehicles", json={"plate": "粤B54321"}, headers=bearer(alice))
    card_id = give_card(local_stack, alice["owner"]["id"], "粤B54321")
    order = api.post(
        f"/api/v1/cards/{card_id}/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "alice-order-1"},
        headers=bearer(alice),
    )
    assert order.status_code == 201, order.text
    applied = api.post(
        "/api/v1/lots/demo-lot/applications",
        json={"plates": ["粤B99999"], "package_id": "demo-1m"},
        headers=bearer(alice),
    )
    assert applied.status_code == 201, applied.text
    # Alice's unit (the office entered her phone for it), its bill and her order paying it.
    assert (
        api.post("/api/v1/me/phone", json={"code": "sim-phone:13800001234"}, headers=bearer(alice)).status_code == 200
    )
    staff = office_headers(api)
    community = {"id": "c-alice", "name": "小区", "lot_ids": ["demo-lot"]}
    assert api.post("/admin/api/v1/communities", json=community, headers=staff).status_code == 201
    unit = {"id": "u-alice", "building": "1", "number": "101", "area": "80.00", "phones": ["13800001234"]}
    assert api.post("/admin/api/v1/communities/c-alice/units", json=unit, headers=staff).status_code == 201
    fee = {"id": "fee-alice", "name": "物业费", "kind": "fixed", "price_fen": 10000, "from": "2026-01-01"}
    assert api.post("/admin/api/v1/communities/c-alice/fee-items", json=fee, headers=staff).status_code == 201
    period = {"period": "2026-12", "fee_item_ids": ["fee-alice"]}
    run = api.post("/admin/api/v1/communities/c-alice/bill-runs", json=period, headers=staff).json()
    assert api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff).status_code == 200
    [bill] = run["bills"]
    paying = {"bill_ids": [bill["id"]], "channel": "wechat", "idempotency_key": "alice-bills-1"}
    bill_order = api.post("/api/v1/bills/payments", json=paying, headers=bearer(alice))
    assert bill_order.status_code == 201, bill_order.text
    alices = {
        "card_id": card_id,
        "plate": "粤B54321",
        "order_id": order.json()["order_id"],
        "application_id": applied.json()["id"],
        "bill_id": bill["id"],
        "unit_id": "u-alice",
    }
    bill_order_id = bill_order.json()["order_id"]
    # A visitor's car in the demo lot, and alice's order to pay its stay (a visit is nobody's: whoever stands at the
    # exit may pay it; the order is alice's).
    setup = local_stack.services.parking.setup("demo-lot")
    rule = VisitorFeeRule(local_stack.clock.now().date() - timedelta(days=1), 0, 60, 500)
    local_stack.services.parking.save_setup(setup.with_rule(rule))
    gate = local_stack.demo_gate
    assert gate is not None
    came = Reported(gate.id, "alice-guest-in", "粤A11111", Direction.IN, local_stack.clock.now())
    visit_id = local_stack.services.barrier.passage(gate, came).record.visit_id
    visit_pay = {"channel": "wechat", "idempotency_key": "alice-visit-1"}
    visit_order = api.post(f"/api/v1/visits/{visit_id}/payments", json=visit_pay, headers=bearer(alice))
    assert visit_order.status_code == 201, visit_order.text
    # Alice books a collector's visit to her unit in the first open slot.
    day = local_stack.clock.now().date()
    open_slots: list[dict[str, Any]] = []
    while not open_slots:
        asked = api.get(f"/api/v1/communities/c-alice/collection-slots?day={day}", headers=bearer(alice))
        open_slots = asked.json()["slots"]
        day += timedelta(days=1)
    visit = {"slot": open_slots[0]["starts"], "bill_ids": [], "idempotency_key": "alice-visit-0001"}
    booked = api.post("/api/v1/units/u-alice/collection-bookings", json=visit, headers=bearer(alice))
    assert booked.status_code == 201, booked.text
    alices["booking_id"] = booked.json()["id"]
    valid_bodies = {
        "/api/v1/cards/{card_id}/pause": {"from": "2030-01-01"},
        "/api/v1/orders/{order_id}/invoice": {"type": "personal", "title": "Bob", "email": "bob@example.com"},
        "/api/v1/cards/{card_id}/plates": {"plate": "粤B77777"},
        "/api/v1/cards/{card_id}/plate-changes": {"from": "粤B54321", "to": "粤B66666"},
        "/api/v1/cards/{card_id}/reminders": {"enabled": True, "channel": "subscribe"},
        "/api/v1/cards/{card_id}/renewals": {
            "package_id": "demo-1m",
            "channel": "wechat",
            "idempotency_key": "bob-tries-1",
        },
        "/api/v1/units/{unit_id}/prepayments": {
            "amount_fen": 100,
            "channel": "wechat",
            "idempotency_key": "bob-tries-2",
        },
        "/api/v1/units/{unit_id}/collection-bookings": {
            "slot": open_slots[0]["starts"],
            "idempotency_key": "bob-tries-5",
        },
        "/api/v1/collection-bookings/{booking_id}/change": {"slot": open_slots[-1]["starts"]},
        "/api/v1/units/{unit_id}/vacancies": {
            "from": "2027-01-01",
            "until": "2027-01-31",
            "reason": "x",
            "idempotency_key": "bob-tries-3",
        },
    }
    bob = bearer(login(api, "sim:bob"))

    routes = [
        (method, template)
        for method, template in sorted(contract.operations())
        if "{" in template.replace("{lot_id}", "")  # lots are public: applying to one is not reaching into it
        and contract.spec()["paths"][template][method.lower()].get("security")
    ]
    assert len(routes) >= 5
    for method, template in routes:
        path = template
        for name, value in alices.items():  # a new route with another kind of id must be added here
            path = path.replace("{" + name + "}", value)
        if template.startswith("/api/v1/bill-orders/"):
            path = template.replace("{order_id}", bill_order_id)
        if template.startswith("/api/v1/visit-orders/"):
            path = template.replace("{order_id}", visit_order.json()["order_id"])
        if template == "/api/v1/visits/{visit_id}/payments":
            continue  # a visit is nobody's: bob may pay for the car at the exit (its order is then his)
        if template == "/api/v1/communities/{community_id}/collection-slots":
            continue  # a community's open hours are no one's secret
        assert "{" not in path, f"no test value for {template}"
        r = api.request(method, path, headers=bob, json=valid_bodies.get(template))
        assert r.status_code == 404, (method, template, r.text)
    paid_by_bob = {"bill_ids": [bill["id"]], "channel": "wechat", "idempotency_key": "bob-tries-4"}
    r = api.post("/api/v1/bills/payments", json=paid_by_bob, headers=bob)  # her bill, in a list of ids
    assert r.status_code == 404 and json_error(r)["code"] == "bill_not_found", r.text
    # ...and alice still has both.
    assert api.get(f"/api/v1/cards/{alices['card_id']}", headers=bearer(alice)).status_code == 200
    assert api.get("/api/v1/me/vehicles", headers=bearer(alice)).json()["vehicles"] == ["粤B54321"]


def test_missing_forged_and_expired_tokens_are_refused_and_refresh_works(api: ApiClient, local_stack: DevStack) -> None:
    session = login(api, "sim:alice")

    r = api.get("/api/v1/me/cards")
    assert r.status_code == 401 and json_error(r)["code"] == "unauthenticated"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")

    payload, stamp, signature = session["token"].split(".")
    forged = f"{payload}.{stamp}.{'A' * len(signature)}"
    r = api.get("/api/v1/me/cards", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and json_error(r)["code"] == "token_invalid"
    r = api.get("/api/v1/me/cards", headers={"Authorization": f"Bearer {session['refresh_token']}"})
    assert r.status_code == 401 and json_error(r)["code"] == "token_invalid"

    api.post("/sim/clock", json={"now": (local_stack.clock.now() + timedelta(hours=2, minutes=1)).isoformat()})
    r = api.get("/api/v1/me/cards", headers=bearer(session))
    assert r.status_code == 401 and json_error(r)["code"] == "token_expired"

    r = api.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 200
    assert api.get("/api/v1/me/cards", headers=bearer(r.json())).status_code == 200
    r = api.post("/api/v1/auth/refresh", json={"refresh_token": forged})
    assert r.status_code == 401 and json_error(r)["code"] == "token_invalid"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"code": "wx-code-from-nowhere"}, "login_code_invalid"),
        ({"code": ""}, "invalid_request"),
        ({}, "invalid_request"),
        ({"code": 42}, "invalid_request"),
    ],
)
def test_a_code_wechat_or_we_refuse_is_a_clear_4xx(api: ApiClient, body: dict[str, Any], code: str) -> None:
    r = api.post("/api/v1/auth/login", json=body)
    assert r.status_code == 400 and json_error(r)["code"] == code


def test_a_used_code_and_a_bad_phone_code_are_refused(api: ApiClient) -> None:
    session = login(api, "sim:carol")
    r = api.post("/api/v1/auth/login", json={"code": "sim:carol"})
    assert r.status_code == 400 and json_error(r)["code"] == "login_code_used"
    r = api.post("/api/v1/me/phone", json={"code": "not-a-phone-code"}, headers=bearer(session))
    assert r.status_code == 400 and json_error(r)["code"] == "phone_code_invalid"
    assert api.get("/api/v1/me", headers=bearer(session)).json()["phone"] is None


@pytest.mark.parametrize(("plate", "says"), [("粤B1234O", "字母 O"), ("XB12345", "省份"), ("粤B123", "7 位")])
def test_a_bad_plate_is_refused_saying_why_and_not_stored(api: ApiClient, plate: str, says: str) -> None:
    h = bearer(login(api, "sim:dave"))
    r = api.post("/api/v1/me/vehicles", json={"plate": plate}, headers=h)
    assert r.status_code == 400 and json_error(r)["code"] == "invalid_plate"
    assert says in json_error(r)["message"]
    assert api.get("/api/v1/me/vehicles", headers=h).json() == {"vehicles": []}


def test_session_key_phone_and_app_secret_never_reach_logs_or_responses(
    api: ApiClient, local_stack: DevStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[requests.Response] = []
    real_request = api.request

    def recording(method: str, path: str, **kwargs: Any) -> requests.Response:
        seen.append(real_request(method, path, **kwargs))
        return seen[-1]

    api.request = recording  # type: ignore[method-assign]
    for who in ("sim:erin", "sim:erin:2", "sim:demo-owner"):
        session = login(api, who)
        h = bearer(session)
        api.post("/api/v1/me/phone", json={"code": f"sim-phone:1390000{len(seen):04d}"}, headers=h)
        api.post("/api/v1/me/phone", json={"code": "sim-phone:13912345678"}, headers=h)  # used again: refused
        api.get("/api/v1/me", headers=h)
        api.get("/api/v1/me/cards", headers=h)
        api.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    api.post("/api/v1/auth/login", json={"code": "sim:erin"})  # a used code: an error path too

    secrets = [*local_stack.wechat.session_keys, "13912345678", local_stack.wechat.secret]
    assert len(local_stack.wechat.session_keys) == 3
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    answered = "\n".join(r.text + repr(dict(r.headers)) for r in seen)
    assert caplog.records, "the flow logged nothing: the check would prove nothing"
    for secret in secrets:
        assert secret not in logged
        assert secret not in answered


def test_login_costs_a_fixed_number_of_dynamodb_requests(api: ApiClient) -> None:
    with DynamoRequestCounter(BACKGROUND_THREADS) as first:
        login(api, "sim:frank")
    with DynamoRequestCounter(BACKGROUND_THREADS) as returning:
        login(api, "sim:frank:2")
    # The rate limit's counter, the code's refusals, identity claims, owner, session key, the new session (a
    # put); the shared WeChat token (cache) was read by the first login and is kept by the container for a few
    # minutes; a new owner adds one transaction.
    assert dict(returning.by_operation) == {"GetItem": 2, "BatchGetItem": 1, "UpdateItem": 2, "PutItem": 1}
    assert first.total <= returning.total + 3
