"""The admin Lambda's entry: an API Gateway HTTP API event through the admin app and back."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

import functions.admin
from domain.admin import Role
from functions.admin import create_admin_app
from functions.admin_lambda import handler
from handlers.staff import create_staff
from tests.fakes import fake_services


def event(method: str, path: str, body: dict[str, str] | None = None, token: str | None = None) -> dict[str, object]:
    headers = {"host": "admin.example.com", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body else b""
    return {
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method}},
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }


def test_an_http_api_event_reaches_the_admin_app(monkeypatch: pytest.MonkeyPatch) -> None:
    s = fake_services(datetime(2026, 11, 23, 2, tzinfo=UTC))
    create_staff("boss@t1.cn", "correct horse battery", "t1", Role.TENANT_ADMIN, set(), s.staff, s.passwords)
    monkeypatch.setitem(vars(functions.admin), "app", create_admin_app(s))  # as if built already
    login = handler(
        event("POST", "/admin/api/v1/auth/login", {"email": "boss@t1.cn", "password": "correct horse battery"}), None
    )
    assert login["statusCode"] == 200
    token = json.loads(base64.b64decode(str(login["body"])))["token"]
    me = handler(event("GET", "/admin/api/v1/me", token=token), None)
    assert me["statusCode"] == 200 and json.loads(base64.b64decode(str(me["body"])))["role"] == "tenant_admin"
    page = handler(event("GET", "/admin/"), None)
    assert page["statusCode"] == 200 and b"ParkPass" in base64.b64decode(str(page["body"]))
    assert handler(event("GET", "/admin/api/v1/me"), None)["statusCode"] == 401
