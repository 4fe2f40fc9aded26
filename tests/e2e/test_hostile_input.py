"""Hostile input over HTTP: oversized, deeply nested, badly encoded and injection-looking bodies, absurd plates,
and callers hammering login or the payment notifications. Each gets a clear 4xx; nothing is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from functions.dev_stack import DevStack
from functions.owner_routes import LOGINS_PER_ADDRESS_PER_MINUTE, REFUSALS_PER_CODE
from tests.e2e.api_client import ApiClient, json_error


@pytest.fixture
def owner(stack: DevStack) -> dict[str, str]:
    token = ApiClient(stack.api_url).post("/api/v1/auth/login", json={"code": "sim:hostile"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def raw(stack: DevStack, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        stack.api_url + path, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"plate": "' + b"A" * 70_000 + b'"}', 413, "request_entity_too_large"),
        (b"[" * 5_000 + b"]" * 5_000, 400, "invalid_json"),
        (b'{"plate": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}}', 400, "invalid_json"),
        (b'{"plate": "\\xff\\xfe\\x00"}'.replace(b"\\xff\\xfe\\x00", b"\xff\xfe"), 400, "invalid_json"),
        (b'{"plate": "' + "粤".encode() * 10_000 + b'"}', 400, "invalid_request"),
        (b'{"plate": "\\u7ca4B1\' OR 1=1 --"}', 400, "invalid_plate"),
        (b'{"plate": {"$ne": null}}', 400, "invalid_request"),
        (b"not json at all", 400, "invalid_json"),
    ],
)
def test_hostile_bodies_get_a_clear_4xx_and_store_nothing(
    stack: DevStack, owner: dict[str, str], body: bytes, status: int, code: str
) -> None:
    r = raw(stack, "/api/v1/me/vehicles", body, owner)
    assert r.status_code == status and json_error(r)["code"] == code, r.text[:200]
    assert ApiClient(stack.api_url).get("/api/v1/me/vehicles", headers=owner).json() == {"vehicles": []}


def test_injection_looking_ids_are_just_unknown_or_malformed(stack: DevStack, owner: dict[str, str]) -> None:
    api = ApiClient(stack.api_url)
    for card_id in ("card-demo' OR '1'='1", '{"$gt": ""}', "../../etc/passwd", "a" * 10_000):
        r = requests.get(f"{stack.api_url}/api/v1/cards/{card_id}", headers=owner, timeout=10)
        assert r.status_code in (400, 404) and json_error(r)["code"] in ("invalid_id", "card_not_found", "not_found")
    assert api.get("/api/v1/me/cards", headers=owner).json() == {"cards": []}


def test_a_refused_code_is_limited_per_code_and_an_address_only_far_above_what_a_nat_sends(
    stack: DevStack,
) -> None:
    """#17: owners' logins were limited to 30 a minute per address, which a carrier's NAT reaches; now a code
    WeChat refused is not sent again and again, and an address meets a limit only far above a busy NAT's."""

    def log_in(code: str) -> requests.Response:
        return requests.post(f"{stack.api_url}/api/v1/auth/login", json={"code": code}, timeout=10)

    stack.clock.set(stack.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1))
    phones = [log_in(f"sim:phone-{n}:nat").status_code for n in range(40)]
    assert phones == [200] * 40  # forty phones behind one carrier's address: never limited
    dead = [log_in("not a code WeChat made") for _ in range(REFUSALS_PER_CODE + 2)]
    assert [r.status_code for r in dead] == [400] * REFUSALS_PER_CODE + [429, 429]
    assert json_error(dead[-1])["code"] == "rate_limited" and 0 < int(dead[-1].headers["Retry-After"]) <= 60
    assert json_error(dead[-1])["message"].startswith("请求过于频繁")
    assert log_in("another bad code").status_code == 400  # another code: its own count
    assert log_in("sim:phone-41:fresh").status_code == 200
    assert LOGINS_PER_ADDRESS_PER_MINUTE >= 600  # the flood guard (production: AWS WAF, docs/operations.md)


def test_forged_notifications_are_throttled_but_a_verified_one_never_is(stack: DevStack) -> None:
    """#17 finding 9: every notification counted against one address, so a busy evening of genuine payments
    would have been answered 429. Now only the ones that fail verification count."""
    api = ApiClient(stack.api_url)
    token = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:notify"}).json()["token"]
    made = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "notify-flood-1"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(made["order_id"])
    head, body = stack.wechatpay.notification(made["order_id"])
    url = f"{stack.api_url}/api/v1/payments/wechat/notify"
    forged = {**head, "Wechatpay-Signature": "Zm9yZ2Vk"}
    statuses = [requests.post(url, data=body.encode(), headers=forged, timeout=10).status_code for _ in range(61)]
    assert statuses[:60] == [400] * 60 and statuses[60] == 429
    assert requests.post(url, data=body.encode(), headers=head, timeout=10).status_code == 204  # the genuine one
