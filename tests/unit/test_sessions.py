"""Sessions over in-memory fakes: owners' refresh tokens rotate, a reused one ends its session, a logout ends
it; the office's logout, a new password and disabling end an account's sessions at no extra read."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from domain.admin import Role, Staff
from domain.errors import RefreshTokenReused, SessionEnded, TokenInvalid
from domain.session import Ending, Session, Verdict, refresh_verdict
from functions.admin import create_admin_app
from functions.api import create_app
from functions.bootstrap import Services
from handlers.log_in_owner import log_in_owner, log_out_owner, refresh_session
from handlers.seed_demo import seed_demo
from tests.fakes import FakeSessions, fake_services

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "a long enough passphrase 7"


@pytest.fixture
def s() -> Services:
    return fake_services(NOW)


def log_in(s: Services, code: str = "sim:alice") -> Any:
    return log_in_owner(code, s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock)


def refresh(s: Services, token: str) -> Any:
    return refresh_session(token, s.sessions, s.tokens, s.clock)


# The rule, as a value.


def test_only_the_current_generation_of_a_live_session_of_the_same_subject_rotates() -> None:
    live = Session("session-1", "owner-1", generation=3)
    assert refresh_verdict(live, "owner-1", 3) is Verdict.ROTATE
    assert refresh_verdict(live, "owner-1", 2) is Verdict.REUSED
    assert refresh_verdict(live, "owner-2", 3) is Verdict.ENDED
    assert refresh_verdict(None, "owner-1", 0) is Verdict.ENDED
    assert refresh_verdict(Session("session-1", "owner-1", 3, Ending.LOGOUT), "owner-1", 3) is Verdict.ENDED


# Owners.


def test_a_refresh_answers_a_new_refresh_token_and_the_used_one_stops_working(s: Services) -> None:
    login = log_in(s)
    first = refresh(s, login.tokens.refresh_token)
    assert first.refresh_token != login.tokens.refresh_token
    assert s.tokens.verify_access(first.access_token) == login.owner.id
    second = refresh(s, first.refresh_token)  # the new one works, once
    assert s.tokens.verify_refresh(second.refresh_token).generation == 2
    with pytest.raises(RefreshTokenReused):
        refresh(s, first.refresh_token)


def test_a_reused_refresh_token_ends_the_session_for_the_thief_and_the_owner(
    s: Services, caplog: pytest.LogCaptureFixture
) -> None:
    login = log_in(s)
    stolen = login.tokens.refresh_token
    owners = refresh(s, stolen)  # the owner refreshes first ...
    with caplog.at_level(logging.WARNING, logger="parkpass.security"), pytest.raises(RefreshTokenReused):
        refresh(s, stolen)  # ... then the thief's copy comes back
    with pytest.raises(SessionEnded):
        refresh(s, owners.refresh_token)  # the owner's newer token ended with it: they log in again
    with pytest.raises(SessionEnded):
        refresh(s, stolen)
    lines = [r for r in caplog.records if r.name == "parkpass.security"]
    assert len(lines) == 1 and "refresh token reused" in lines[0].getMessage()
    logged = lines[0].getMessage()
    assert login.owner.id not in logged and stolen not in logged and owners.refresh_token not in logged
    assert s.sessions.get(s.tokens.verify_refresh(stolen).session).ended is Ending.REUSE  # type: ignore[union-attr]


def test_logout_ends_that_session_only_and_again_changes_nothing(s: Services) -> None:
    phone, tablet = log_in(s, "sim:alice:1"), log_in(s, "sim:alice:2")
    log_out_owner(phone.tokens.refresh_token, s.sessions, s.tokens)
    log_out_owner(phone.tokens.refresh_token, s.sessions, s.tokens)
    with pytest.raises(SessionEnded):
        refresh(s, phone.tokens.refresh_token)
    assert s.tokens.verify_access(refresh(s, tablet.tokens.refresh_token).access_token) == tablet.owner.id
    ended = s.sessions.get(s.tokens.verify_refresh(phone.tokens.refresh_token).session)
    assert ended is not None and ended.ended is Ending.LOGOUT


def test_a_refresh_token_not_ours_or_from_before_sessions_refreshes_nothing(s: Services) -> None:
    login = log_in(s)
    for token in ("garbage", login.tokens.access_token, s.tokens.issue("owner-1").access_token):
        with pytest.raises(TokenInvalid):
            refresh(s, token)
    assert s.tokens.issue("owner-1").refresh_token == ""  # no session, no refresh token
    with pytest.raises(SessionEnded):  # signed, but its session is not stored (gone by TTL long after its end)
        refresh(s, s.tokens.issue(login.owner.id, session="session-never", generation=0).refresh_token)


class RacingSessions(FakeSessions):
    """Both refreshes read the session before either writes: the race the conditional write decides."""

    def __init__(self, inner: FakeSessions, parties: int) -> None:
        self.__dict__ = inner.__dict__
        self._barrier = threading.Barrier(parties, timeout=5)

    def get(self, session_id: str) -> Session | None:
        found = super().get(session_id)
        self._barrier.wait()
        return found


def test_two_refreshes_with_the_same_token_at_once_give_new_tokens_to_exactly_one(s: Services) -> None:
    login = log_in(s)
    assert isinstance(s.sessions, FakeSessions)
    racing = RacingSessions(s.sessions, 2)
    answers: list[object] = []

    def go() -> None:
        try:
            answers.append(refresh_session(login.tokens.refresh_token, racing, s.tokens, s.clock))
        except RefreshTokenReused as e:
            answers.append(e)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(a).__name__ for a in answers) == ["IssuedTokens", "RefreshTokenReused"]
    session = s.sessions.get(s.tokens.verify_refresh(login.tokens.refresh_token).session)
    assert session is not None and session.generation == 1 and session.ended is Ending.REUSE  # treated as a reuse


# Owners over HTTP.


class CountingSessions(FakeSessions):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get(self, session_id: str) -> Session | None:
        self.calls.append("get")
        return super().get(session_id)


def test_over_http_reuse_and_logout_answer_401_with_their_codes_and_requests_read_no_session() -> None:
    from dataclasses import replace

    base = fake_services(NOW)
    sessions = CountingSessions()
    s = replace(base, sessions=sessions)
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    api = create_app(s).test_client()
    login = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:x"}).get_json()
    bearer = {"Authorization": f"Bearer {login['token']}"}
    sessions.calls.clear()
    assert api.get("/api/v1/me/cards", headers=bearer).status_code == 200
    assert api.get("/api/v1/me", headers=bearer).status_code == 200
    assert sessions.calls == []  # an ordinary request checks the access token's signature only

    fresh = api.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert fresh.status_code == 200 and fresh.get_json()["refresh_token"] != login["refresh_token"]
    assert sessions.calls == ["get"]  # one key read per refresh
    reused = api.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert reused.status_code == 401 and reused.get_json()["error"]["code"] == "refresh_token_reused"
    after = api.post("/api/v1/auth/refresh", json={"refresh_token": fresh.get_json()["refresh_token"]})
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "session_ended"

    again = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:y"}).get_json()
    assert api.post("/api/v1/auth/logout", json={"refresh_token": again["refresh_token"]}).status_code == 204
    ended = api.post("/api/v1/auth/refresh", json={"refresh_token": again["refresh_token"]})
    assert ended.status_code == 401 and ended.get_json()["error"]["code"] == "session_ended"
    assert "登录" in ended.get_json()["error"]["message"]
    bad = api.post("/api/v1/auth/logout", json={"refresh_token": "forged"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "token_invalid"


# The office.


def office(s: Services) -> FlaskClient:
    for email, role in (("boss@t1.cn", Role.TENANT_ADMIN), ("cashier@t1.cn", Role.CASHIER)):
        lots = frozenset() if role is Role.TENANT_ADMIN else frozenset({"lot-1"})
        assert s.staff.add(Staff(email, "t1", role, lots, s.passwords.hash(PASSWORD)))
    return create_admin_app(s).test_client()


def signed_in(c: FlaskClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = c.post("/admin/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_the_office_logout_ends_the_accounts_tokens_and_a_new_login_works(s: Services) -> None:
    c = office(s)
    desk, home = signed_in(c, "cashier@t1.cn"), signed_in(c, "cashier@t1.cn")
    assert c.get("/admin/api/v1/me", headers=desk).status_code == 200
    assert c.post("/admin/api/v1/auth/logout", headers=desk).status_code == 204
    for token in (desk, home):  # every session of the account
        r = c.get("/admin/api/v1/me", headers=token)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_ended"
    assert c.post("/admin/api/v1/auth/logout", headers=desk).status_code == 401
    assert c.get("/admin/api/v1/me", headers=signed_in(c, "cashier@t1.cn")).status_code == 200
    assert c.post("/admin/api/v1/auth/logout").status_code == 401  # no bearer: nothing to end


def test_a_new_password_set_by_an_administrator_ends_the_accounts_sessions(s: Services) -> None:
    c = office(s)
    boss, cashier = signed_in(c, "boss@t1.cn"), signed_in(c, "cashier@t1.cn")
    form = {"password": "another long passphrase 8", "idempotency_key": "reset-0001"}
    assert c.post("/admin/api/v1/staff/cashier@t1.cn/password", json=form, headers=boss).status_code == 200
    r = c.get("/admin/api/v1/me", headers=cashier)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_ended"
    fresh = signed_in(c, "cashier@t1.cn", form["password"])
    assert c.post("/admin/api/v1/staff/cashier@t1.cn/password", json=form, headers=boss).status_code == 200
    assert c.get("/admin/api/v1/me", headers=fresh).status_code == 200  # the same form again ends nothing more
    assert c.get("/admin/api/v1/me", headers=boss).status_code == 200  # only that account's


def test_disabling_ends_the_accounts_sessions_and_enabling_does_not_bring_them_back(s: Services) -> None:
    c = office(s)
    boss, cashier = signed_in(c, "boss@t1.cn"), signed_in(c, "cashier@t1.cn")
    assert c.post("/admin/api/v1/staff/cashier@t1.cn/disable", headers=boss).status_code == 200
    assert c.get("/admin/api/v1/me", headers=cashier).get_json()["error"]["code"] == "token_invalid"  # disabled
    assert c.post("/admin/api/v1/staff/cashier@t1.cn/enable", headers=boss).status_code == 200
    r = c.get("/admin/api/v1/me", headers=cashier)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "session_ended"
    assert c.get("/admin/api/v1/me", headers=signed_in(c, "cashier@t1.cn")).status_code == 200
