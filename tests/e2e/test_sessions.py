"""Sessions over HTTP against the local stack: owners' refresh tokens rotate and a reused one ends the session
for thief and owner; a logout ends it; two refreshes at once give new tokens to one; an ordinary request reads
no session. The office's logout, a new password and disabling end an account's tokens."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import requests

from domain.admin import Role, Staff
from functions.dev_stack import BACKGROUND_THREADS, DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_TENANT
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests.e2e.api_client import ApiClient, json_error

STRONG = "Qx7#mT2!vLp9wZ"


def login(api: ApiClient, code: str) -> dict[str, Any]:
    r = api.post("/api/v1/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def refresh(api: ApiClient, token: str) -> requests.Response:
    return api.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_a_reused_refresh_token_ends_the_session_for_the_thief_and_the_owner(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    first = login(api, "sim:alice")
    r = refresh(api, first["refresh_token"])
    assert r.status_code == 200 and r.json()["refresh_token"] != first["refresh_token"]
    owners = r.json()
    with caplog.at_level(logging.WARNING, logger="parkpass.security"):
        thief = refresh(api, first["refresh_token"])  # the copy taken before the owner's refresh
    assert thief.status_code == 401 and json_error(thief)["code"] == "refresh_token_reused"
    assert thief.headers["WWW-Authenticate"].startswith("Bearer")
    for token in (owners["refresh_token"], first["refresh_token"]):
        r = refresh(api, token)
        assert r.status_code == 401 and json_error(r)["code"] == "session_ended"
    security = [r.getMessage() for r in caplog.records if r.name == "parkpass.security"]
    assert len(security) == 1 and "refresh token reused" in security[0]
    for secret in (first["owner"]["id"], first["refresh_token"], owners["refresh_token"], owners["token"]):
        assert secret not in security[0]
    again = login(api, "sim:alice:again")  # the owner logs in again (wx.login, silently) and goes on
    assert refresh(api, again["refresh_token"]).status_code == 200


def test_logout_ends_the_session_and_a_refresh_then_fails(api: ApiClient) -> None:
    session = login(api, "sim:bob")
    assert api.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code == 204
    r = refresh(api, session["refresh_token"])
    assert r.status_code == 401 and json_error(r)["code"] == "session_ended"
    assert api.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code == 204
    r = api.post("/api/v1/auth/logout", json={"refresh_token": session["token"]})  # not a refresh token
    assert r.status_code == 401 and json_error(r)["code"] == "token_invalid"


def test_two_refreshes_with_the_same_token_at_once_give_new_tokens_to_exactly_one(local_stack: DevStack) -> None:
    api = ApiClient(local_stack.api_url)
    token = login(api, "sim:carol")["refresh_token"]
    start = threading.Barrier(6, timeout=10)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def go() -> None:
        start.wait()
        r = requests.post(f"{local_stack.api_url}/api/v1/auth/refresh", json={"refresh_token": token}, timeout=10)
        outcome = (r.status_code, "new tokens" if r.status_code == 200 else r.json()["error"]["code"])
        with lock:
            answers.append(outcome)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a for a in answers if a[0] == 200] == [(200, "new tokens")], answers
    assert {a for a in answers if a[0] != 200} <= {(401, "refresh_token_reused"), (401, "session_ended")}


def test_an_ordinary_request_reads_no_session_and_a_refresh_reads_one(local_stack: DevStack) -> None:
    api = ApiClient(local_stack.api_url)
    session = login(api, "sim:dave")
    owner = {"Authorization": f"Bearer {session['token']}"}
    with DynamoRequestCounter(BACKGROUND_THREADS) as ordinary:
        assert api.get("/api/v1/me", headers=owner).status_code == 200
        assert api.get("/api/v1/me/cards", headers=owner).status_code == 200
        assert api.get("/api/v1/cards/card-demo/packages", headers=owner).status_code in (200, 404)
    assert ordinary.total > 0
    assert not [a for a in ordinary.accesses if a[1].endswith("-sessions")], ordinary.accesses
    with DynamoRequestCounter(BACKGROUND_THREADS) as refreshed:
        assert refresh(api, session["refresh_token"]).status_code == 200
    assert dict(refreshed.by_operation) == {"GetItem": 1, "UpdateItem": 1}
    assert (refreshed.items_read, refreshed.items_written) == (1, 1)


def office_login(api: ApiClient, email: str, password: str) -> dict[str, str]:
    r = api.post("/admin/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_the_office_logout_ends_the_token(local_stack: DevStack) -> None:
    api = ApiClient(local_stack.api_url)
    staff = office_login(api, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    assert api.get("/admin/api/v1/me", headers=staff).status_code == 200
    assert api.post("/admin/api/v1/auth/logout", headers=staff).status_code == 204
    r = api.get("/admin/api/v1/me", headers=staff)
    assert r.status_code == 401 and json_error(r)["code"] == "session_ended"
    assert api.get("/admin/api/v1/me", headers=office_login(api, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)).ok


def test_a_password_reset_or_disabling_by_an_administrator_ends_the_accounts_sessions(local_stack: DevStack) -> None:
    api = ApiClient(local_stack.api_url)
    s = local_stack.services
    assert s.staff.add(
        Staff("cashier.wu@demo.local", DEMO_TENANT, Role.CASHIER, frozenset({"demo-lot"}), s.passwords.hash(STRONG))
    )
    boss = office_login(api, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    cashier = office_login(api, "cashier.wu@demo.local", STRONG)
    form = {"password": STRONG[::-1] + "x", "idempotency_key": "e2e-reset-0001"}
    r = api.post("/admin/api/v1/staff/cashier.wu@demo.local/password", json=form, headers=boss)
    assert r.status_code == 200, r.text
    r = api.get("/admin/api/v1/me", headers=cashier)
    assert r.status_code == 401 and json_error(r)["code"] == "session_ended"

    cashier = office_login(api, "cashier.wu@demo.local", form["password"])
    assert api.post("/admin/api/v1/staff/cashier.wu@demo.local/disable", headers=boss).status_code == 200
    assert api.post("/admin/api/v1/staff/cashier.wu@demo.local/enable", headers=boss).status_code == 200
    r = api.get("/admin/api/v1/me", headers=cashier)  # enabled again, but its old token stays ended
    assert r.status_code == 401 and json_error(r)["code"] == "session_ended"
    assert api.get("/admin/api/v1/me", headers=boss).status_code == 200
