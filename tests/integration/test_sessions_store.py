"""Owners' sessions on DynamoDB (moto over HTTP): a refresh costs one key read and one conditional write,
concurrent refreshes with one token give new tokens to exactly one, and a session keeps a TTL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from domain.errors import RefreshTokenReused, SessionEnded
from domain.session import Ending
from functions.bootstrap import Services
from handlers.log_in_owner import Login, log_in_owner, log_out_owner, refresh_session
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import SessionItem
from infra.tokens import REFRESH_TTL_S
from tests.fakes import FakeWechat


def _login(s: Services, code: str = "sim:alice") -> Login:
    return log_in_owner(code, FakeWechat(), s.owners, s.tokens, s.ids, s.sessions, s.clock)


def test_a_refresh_reads_one_session_by_key_and_writes_it_once_and_the_ttl_follows(dynamo_services: Services) -> None:
    s = dynamo_services
    login = _login(s)
    session_id = s.tokens.verify_refresh(login.tokens.refresh_token).session
    item = SessionItem.get(session_id)
    assert item.expires_at == s.clock.now() + timedelta(seconds=REFRESH_TTL_S)
    with DynamoRequestCounter() as counter:
        fresh = refresh_session(login.tokens.refresh_token, s.sessions, s.tokens, s.clock)
    assert dict(counter.by_operation) == {"GetItem": 1, "UpdateItem": 1}
    assert (counter.items_read, counter.items_written) == (1, 1)
    assert {a for a, _, _ in counter.accesses} == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert SessionItem.get(session_id).generation == 1
    with DynamoRequestCounter() as counter:
        log_out_owner(fresh.refresh_token, s.sessions, s.tokens)
    assert dict(counter.by_operation) == {"UpdateItem": 1}  # a logout reads nothing
    assert SessionItem.get(session_id).ended == Ending.LOGOUT.value


def test_refreshes_with_the_same_token_at_once_give_new_tokens_to_exactly_one(dynamo_services: Services) -> None:
    s = dynamo_services
    login = _login(s)
    token = login.tokens.refresh_token
    start = threading.Barrier(8, timeout=10)
    answers: list[str] = []
    lock = threading.Lock()

    def go() -> None:
        start.wait()
        try:
            refresh_session(token, s.sessions, s.tokens, s.clock)
            outcome = "new tokens"
        except (RefreshTokenReused, SessionEnded) as e:
            outcome = e.code
        with lock:
            answers.append(outcome)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("new tokens") == 1, answers
    assert set(answers) <= {"new tokens", "refresh_token_reused", "session_ended"}
    session = s.sessions.get(s.tokens.verify_refresh(token).session)
    assert session is not None and session.generation == 1 and session.ended is Ending.REUSE


def test_a_reused_token_ends_the_session_on_dynamodb_too(dynamo_services: Services) -> None:
    s = dynamo_services
    login = _login(s)
    stolen = login.tokens.refresh_token
    owners = refresh_session(stolen, s.sessions, s.tokens, s.clock)
    with pytest.raises(RefreshTokenReused):
        refresh_session(stolen, s.sessions, s.tokens, s.clock)
    with pytest.raises(SessionEnded):
        refresh_session(owners.refresh_token, s.sessions, s.tokens, s.clock)
