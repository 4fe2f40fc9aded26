"""Hostile input at the office API over HTTP: oversized and deeply nested bodies, wrong types, unknown fields,
control characters, bad form keys, path traversal and absurd ids. Each gets a clean 4xx in the one JSON
error shape and stores nothing; text that looks like a spreadsheet formula is kept as typed but never leaves
as a formula in a CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CARD_ID, DEMO_LOT_ID
from tests.e2e.api_client import json_error
from tests.e2e.conftest import DEMO_DAY, start_stack

API = "/admin/api/v1"


@pytest.fixture(scope="module")
def stack(moto_server: str) -> Iterator[DevStack]:
    started = start_stack(moto_server, clock=DEMO_DAY)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def admin(stack: DevStack) -> dict[str, str]:
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    token = requests.post(f"{stack.api_url}{API}/auth/login", json=login, timeout=10).json()["token"]
    return {"Authorization": f"Bearer {token}", "Accept-Language": "zh-CN"}


def send(stack: DevStack, method: str, path: str, admin: dict[str, str], body: bytes | None = None) -> Any:
    headers = {**admin, "Content-Type": "application/json"}
    return requests.request(method, f"{stack.api_url}{API}{path}", data=body, headers=headers, timeout=30)


def what_is_stored(stack: DevStack, admin: dict[str, str]) -> Any:
    """What a hostile write could have changed: the lot, its packages, the card, its history, the staff."""
    get = lambda path: send(stack, "GET", path, admin).json()  # noqa: E731
    card = get(f"/cards/{DEMO_CARD_ID}")
    lot, packages = get(f"/lots/{DEMO_LOT_ID}"), get(f"/lots/{DEMO_LOT_ID}/packages")
    return lot, packages, card["card"], card["changes"], get("/staff")


WRITES = [
    ("POST", f"/cards/{DEMO_CARD_ID}/fix", {"reason": "对账", "valid_until": "2027-01-31"}),
    ("POST", f"/cards/{DEMO_CARD_ID}/cancel", {"reason": "对账"}),
    ("PUT", f"/lots/{DEMO_LOT_ID}", {"quota": 150, "reason": "对账"}),
    ("POST", f"/lots/{DEMO_LOT_ID}/packages", {"id": "fuzz-2m", "name": "两个月", "count": 2, "price_fen": 60000}),
    ("PATCH", f"/lots/{DEMO_LOT_ID}/packages/demo-1m", {"price_fen": 1}),
    ("POST", "/staff", {"email": "new@demo.local", "password": "a long enough pass 7", "role": "cashier"}),
    (
        "POST",
        f"/cards/{DEMO_CARD_ID}/payments",
        {"package_id": "demo-1m", "channel": "pos", "idempotency_key": "hostile1"},
    ),
]
"""Office writes, each with a valid body that the cases below spoil."""


def _spoiled(body: dict[str, Any], how: str) -> bytes:
    import json

    first = next(iter(body))
    if how == "unknown field":
        return json.dumps({**body, "reasn": "typo"}).encode()
    if how == "wrong type":
        return json.dumps({**body, first: {"$gt": ""}}).encode()
    if how == "list for a value":
        return json.dumps({**body, first: [body[first]]}).encode()
    if how == "deep":
        return json.dumps({**body, "x": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}}).encode()
    if how == "brackets":
        return b"[" * 5_000 + b"]" * 5_000
    if how == "huge field":
        return json.dumps({**body, first: "车" * 300_000}, ensure_ascii=False).encode()
    if how == "oversized":
        return b'{"reason": "' + b"A" * 22_000_000 + b'"}'
    if how == "not utf-8":
        return b'{"reason": "\xff\xfe"}'
    if how == "an array":
        return json.dumps([body]).encode()
    if how == "bad key":
        return json.dumps({**body, "idempotency_key": "../../etc/passwd"}).encode()
    raise AssertionError(how)


SPOILS = [
    ("unknown field", 400, "invalid_request"),
    ("wrong type", 400, "invalid_request"),
    ("list for a value", 400, "invalid_request"),
    ("deep", 400, "invalid_json"),
    ("brackets", 400, "invalid_json"),
    ("huge field", 400, "invalid_request"),
    ("not utf-8", 400, "invalid_json"),
    ("an array", 400, "invalid_json"),
    ("bad key", 400, None),
]


@pytest.mark.parametrize(("how", "status", "code"), SPOILS, ids=[s[0] for s in SPOILS])
def test_a_spoiled_office_write_gets_a_clean_4xx_and_stores_nothing(
    stack: DevStack, admin: dict[str, str], how: str, status: int, code: str | None
) -> None:
    before = what_is_stored(stack, admin)
    for method, path, body in WRITES:
        r = send(stack, method, path, admin, _spoiled(body, how))
        error = json_error(r)
        assert r.status_code == status and (code is None or error["code"] == code), (method, path, r.text[:300])
        assert error["code"] in ("invalid_request", "invalid_input", "invalid_json") and error["message"]
    assert what_is_stored(stack, admin) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(stack: DevStack, admin: dict[str, str]) -> None:
    before = what_is_stored(stack, admin)
    r = send(stack, "POST", f"/cards/{DEMO_CARD_ID}/cancel", admin, _spoiled({"reason": "对账"}, "oversized"))
    assert r.status_code == 413 and json_error(r)["code"] == "request_entity_too_large"
    assert what_is_stored(stack, admin) == before


@pytest.mark.parametrize(
    "text",
    ["张三\x00", "a\x1b[31mred", "line\nbreak", "\x7f", "tab\there", "\x9b1m"],
    ids=["nul", "escape", "newline", "delete", "tab", "c1"],
)
def test_control_characters_in_text_people_read_are_refused(stack: DevStack, admin: dict[str, str], text: str) -> None:
    import json

    before = what_is_stored(stack, admin)
    for method, path, body in (
        ("POST", f"/cards/{DEMO_CARD_ID}/fix", {"reason": "对账", "holder": text}),
        ("POST", f"/cards/{DEMO_CARD_ID}/fix", {"reason": text, "holder": "张三"}),
        ("PUT", f"/lots/{DEMO_LOT_ID}", {"name": text}),
        ("PATCH", f"/lots/{DEMO_LOT_ID}/packages/demo-1m", {"name": text}),
    ):
        r = send(stack, method, path, admin, json.dumps({**body, "idempotency_key": "ctl-form-1"}).encode())
        assert r.status_code == 400 and json_error(r)["code"] == "invalid_request", (path, r.text[:200])
        assert "请求内容有误" in json_error(r)["message"]  # Chinese by default
    assert what_is_stored(stack, admin) == before


@pytest.mark.parametrize(
    "bad",
    ["card-demo' OR '1'='1", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a" * 3_000, "%00", "%E8%BD%A6", '{"$gt":""}'],
    ids=["quote", "traversal", "dots", "long", "nul", "chinese", "operator"],
)
def test_malformed_ids_in_every_office_route_are_a_clean_400_or_404(
    stack: DevStack, admin: dict[str, str], bad: str
) -> None:
    before = what_is_stored(stack, admin)
    reason = b'{"reason": "\xe5\xaf\xb9\xe8\xb4\xa6", "idempotency_key": "id-form-01"}'
    for method, path, body in (
        ("GET", f"/lots/{bad}", None),
        ("GET", f"/lots/{bad}/cards?q=1", None),
        ("GET", f"/lots/{bad}/reports/2026-11", None),
        ("GET", f"/lots/{DEMO_LOT_ID}/reports/{bad}", None),
        ("PATCH", f"/lots/{DEMO_LOT_ID}/packages/{bad}", b'{"price_fen": 1}'),
        ("GET", f"/cards/{bad}", None),
        ("POST", f"/cards/{bad}/cancel", reason),
        ("POST", f"/cards/{DEMO_CARD_ID}/pauses/{bad}/approve", None),
        ("POST", f"/cards/{DEMO_CARD_ID}/pauses/p1/{bad}", None),
        ("POST", f"/orders/{bad}/refund", reason),
        ("GET", f"/orders/{bad}/receipt.pdf", None),
        ("POST", f"/orders/{bad}/invoice/reject", reason),
        ("POST", f"/applications/{bad}/approve", None),
        ("POST", f"/applications/{bad}/reject", reason),
        ("POST", f"/staff/{bad}/disable", None),
        ("PUT", f"/staff/{bad}/role", b'{"role": "cashier", "lots": []}'),
    ):
        r = send(stack, method, path, admin, body)
        assert r.status_code in (400, 404), (method, path[:80], r.status_code, r.text[:200])
        assert json_error(r)["code"].endswith(("not_found", "invalid_id", "invalid_input")), (path[:80], r.text[:200])
    assert what_is_stored(stack, admin) == before


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x","点我")', "+1+1", "-2+3", "@SUM(A1)"])
def test_formula_looking_text_is_kept_but_never_exported_as_a_formula(
    stack: DevStack, admin: dict[str, str], formula: str
) -> None:
    import csv
    import io
    import json

    body = json.dumps({"reason": "对账", "holder": formula}).encode()
    fixed = send(stack, "POST", f"/cards/{DEMO_CARD_ID}/fix", admin, body)
    assert fixed.status_code == 200 and fixed.json()["holder"] == formula
    exported = send(stack, "GET", f"/lots/{DEMO_LOT_ID}/cards?format=csv", admin)
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + formula in cells and formula not in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells if cell)
