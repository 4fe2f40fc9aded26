"""Office login limits: turns before password checks, waits that double, ceilings that alert, nothing that
locks an account's owner out for good (#17 findings 1 and 3)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.admin import Role, Staff
from domain.errors import LoginFailed, RateLimited
from domain.login_limits import (
    ACCOUNT,
    ACCOUNT_ADDRESS,
    ADDRESS,
    TENANT,
    Limit,
    Tries,
    Turn,
    Wait,
    give_back,
    take_turn,
)
from functions.bootstrap import Services
from handlers.staff import log_in_staff
from handlers.staff_accounts import reset_password
from tests.fakes import FakeLoginTries, FixedClock, fake_services

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password")


def test_free_tries_then_waits_that_double_up_to_a_cap() -> None:
    limit = Limit("x", 2, timedelta(seconds=10), timedelta(seconds=35), timedelta(hours=1))
    assert [limit.wait_after(n).total_seconds() for n in range(1, 7)] == [0, 10, 20, 35, 35, 35]


def test_a_try_while_waiting_is_refused_and_not_counted() -> None:
    stored = Tries(3, NOW, NOW + timedelta(seconds=30))
    assert take_turn(ACCOUNT_ADDRESS, stored, NOW + timedelta(seconds=29)) == Wait(NOW + timedelta(seconds=30))
    turn = take_turn(ACCOUNT_ADDRESS, stored, NOW + timedelta(seconds=30))
    assert isinstance(turn, Turn) and turn.before == stored and turn.after.count == 4


def test_old_tries_are_forgotten() -> None:
    stored = Tries(9, NOW, NOW + timedelta(minutes=15))
    turn = take_turn(ACCOUNT_ADDRESS, stored, NOW + ACCOUNT_ADDRESS.forget_after)
    assert isinstance(turn, Turn) and turn.after.count == 1 and turn.before == stored  # written over what is stored


@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=60))
def test_a_turn_is_never_given_before_the_wait_the_previous_try_set(gaps: list[int]) -> None:
    for limit in (ACCOUNT_ADDRESS, ADDRESS, ACCOUNT, TENANT):
        stored: Tries | None = None
        at = NOW
        for gap in gaps:
            at += timedelta(seconds=gap)
            turn = take_turn(limit, stored, at)
            remembered = stored is not None and at - stored.last < limit.forget_after
            if isinstance(turn, Wait):
                assert remembered and stored is not None and at < stored.next_at == turn.until
                continue
            if remembered and stored is not None:
                assert at >= stored.next_at and turn.after.count == stored.count + 1
                assert turn.after.next_at - at == limit.wait_after(stored.count + 1)
            else:
                assert turn.after.count == 1
            stored = turn.after


def test_a_success_gives_its_turn_back_to_the_address_and_the_company() -> None:
    stored = Tries(5, NOW, NOW)
    back = give_back(ADDRESS, stored, NOW + timedelta(seconds=1))
    assert back is not None and back.after == Tries(4, NOW, NOW) and back.before == stored
    assert give_back(ADDRESS, None, NOW) is None and give_back(ADDRESS, Tries(0, NOW, NOW), NOW) is None


def services() -> tuple[Services, FakeLoginTries, FixedClock]:
    s = fake_services(NOW)
    s.staff.add(BOSS)
    assert isinstance(s.login_tries, FakeLoginTries) and isinstance(s.clock, FixedClock)
    return s, s.login_tries, s.clock


def login(s: Services, email: str, password: str, caller: str) -> str:
    try:
        log_in_staff(email, password, caller, s.staff, s.passwords, s.staff_tokens, s.login_tries, s.clock)
    except (LoginFailed, RateLimited) as e:
        return e.code
    return "ok"


def test_many_addresses_guessing_one_account_meet_its_ceiling_which_alerts_and_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s, _, clock = services()
    with caplog.at_level(logging.WARNING, logger="parkpass.security"):
        answers = [login(s, "boss@t1.cn", "guess", f"203.0.113.{n}") for n in range(ACCOUNT.free + 1)]
    assert answers == ["login_failed"] * ACCOUNT.free + ["rate_limited"]
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(alerts) == 1 and "limit=account" in alerts[0].getMessage() and "boss" not in alerts[0].getMessage()
    assert login(s, "boss@t1.cn", "a long password", "198.51.100.2") == "rate_limited"  # the ceiling holds all
    clock._now += ACCOUNT.first_wait
    assert login(s, "boss@t1.cn", "a long password", "198.51.100.2") == "ok"  # not locked out for good
    assert login(s, "boss@t1.cn", "guess", "203.0.113.200") == "login_failed"  # a success starts the count again


def test_a_company_under_attack_meets_its_ceiling_and_it_alerts(caplog: pytest.LogCaptureFixture) -> None:
    s, _, _ = services()
    for n in range(TENANT.free):
        s.staff.add(Staff(f"clerk{n}@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$whatever it is"))
    with caplog.at_level(logging.WARNING, logger="parkpass.security"):
        answers = [login(s, f"clerk{n}@t1.cn", "guess", f"10.0.{n}.1") for n in range(TENANT.free)]
        over = login(s, "boss@t1.cn", "a long password", "198.51.100.2")
    assert answers == ["login_failed"] * TENANT.free and over == "rate_limited"
    assert any(r.levelno == logging.ERROR and "limit=tenant" in r.getMessage() for r in caplog.records)


def test_an_administrators_new_password_starts_the_accounts_tries_again() -> None:
    s, tries, clock = services()
    for n in range(ACCOUNT.free):
        login(s, "boss@t1.cn", "guess", f"203.0.113.{n}")
    assert login(s, "boss@t1.cn", "a long password", "198.51.100.2") == "rate_limited"
    cashier = Staff("c@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$whatever it is")
    s.staff.add(cashier)
    other_admin = Staff("admin2@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$x")
    s.staff.add(other_admin)
    reset_password(
        other_admin, "boss@t1.cn", "Another Long Passphrase 9", None,
        staff=s.staff, passwords=s.passwords, tries=tries, uow=s.uow, audit=s.audit, clock=clock,
    )  # fmt: skip
    assert login(s, "boss@t1.cn", "Another Long Passphrase 9", "198.51.100.2") == "ok"
