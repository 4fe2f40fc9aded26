"""Expiry reminders over HTTP with the WeChat simulator: 5, 3 and 1 days before, and none after renewing."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests

from domain.card import Card, CardState
from functions.dev_stack import DevStack
from tests.builders import add_card
from tests.e2e.api_client import ApiClient, json_error


def move_clock(api: ApiClient, to: str) -> None:
    assert api.post("/sim/clock", json={"now": to}).status_code == 200  # the local stack ticks at once


def messages(api: ApiClient) -> list[dict[str, Any]]:
    return api.get("/sim/wechat/messages").json()["messages"]  # type: ignore[no-any-return]


def test_a_card_ending_dec_10_is_reminded_on_the_5th_7th_and_9th_until_it_is_renewed(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    owner = {
        "Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': 'sim:demo-owner'}).json()['token']}"
    }
    card = Card(
        "card-dec10", "demo-lot", "owner-demo", ("粤B77777",), date(2026, 11, 11), date(2026, 12, 10), CardState.ACTIVE
    )
    assert add_card(stack.services, card)  # cards are issued by a later issue's flow; written directly here

    r = api.put("/api/v1/cards/card-dec10/reminders", json={"enabled": True, "channel": "subscribe"}, headers=owner)
    assert r.status_code == 200 and r.json() == {"card_id": "card-dec10", "enabled": True, "channel": "subscribe"}
    assert api.get("/api/v1/cards/card-dec10/reminders", headers=owner).json()["enabled"] is True
    assert (
        api.post(
            "/api/v1/me/subscriptions", json={"template_id": "sim-expiry", "accepted": True}, headers=owner
        ).status_code
        == 204
    )

    move_clock(api, "2026-12-05T09:59:00+08:00")
    assert messages(api) == []
    move_clock(api, "2026-12-05T10:00:30+08:00")
    first = messages(api)
    assert [(m["kind"], m["touser"], m["template_id"], m["data"]["date3"]["value"]) for m in first] == [
        ("subscribe", "demo-owner", "sim-expiry", "2026-12-10")
    ]

    move_clock(api, "2026-12-06T09:00:00+08:00")  # renew for a month on Dec 6
    owner = {
        "Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': 'sim:demo-owner:2'}).json()['token']}"
    }
    r = api.post(
        "/api/v1/cards/card-dec10/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "dec10-renewal"},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["new_valid_until"] == "2027-01-10"
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(made["order_id"])
    headers, body = stack.wechatpay.notification(made["order_id"])
    assert (
        requests.post(
            f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers, timeout=10
        ).status_code
        == 204
    )

    move_clock(api, "2026-12-07T10:30:00+08:00")
    move_clock(api, "2026-12-09T10:30:00+08:00")
    assert len(messages(api)) == 1  # nothing about the old end date after renewing

    move_clock(api, "2027-01-05T10:30:00+08:00")
    latest = messages(api)[-1]
    # The consent was spent on the first one; demo-owner follows the official account, so a template message.
    assert (latest["kind"], latest["touser"], latest["data"]["date3"]["value"]) == (
        "template",
        "oa-demo-owner",
        "2027-01-10",
    )


def test_reminder_settings_are_only_for_the_owners_own_cards(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    stranger = {
        "Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': 'sim:mallory'}).json()['token']}"
    }
    r = api.put("/api/v1/cards/card-demo/reminders", json={"enabled": True}, headers=stranger)
    assert r.status_code == 404 and json_error(r)["code"] == "card_not_found"
    r = api.put("/api/v1/cards/card-demo/reminders", json={"enabled": "yes please"}, headers=stranger)
    assert r.status_code == 400
