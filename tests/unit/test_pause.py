"""Pause arithmetic: the end moves by exactly the days actually paused, lot-local, whatever happens between."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.card import Card, CardState, PauseState
from domain.errors import InvalidPause, PauseRefused
from domain.lot import CardPolicy
from domain.order import fulfil
from domain.pause import decide_pause, request_pause, resume
from domain.renewal import quote
from tests.builders import a_card, a_lot, a_pending_order, months

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
POLICY = CardPolicy(pause_allowed=True, pause_min_days=3, pause_max_days=90, pauses_per_year=2)
LOT = replace(a_lot(), cards=POLICY)


def paused(card: Card, starts: date, until: date | None, today: date, lot=LOT, pause_id: str = "p1") -> Card:  # type: ignore[no-untyped-def]
    return request_pause(card, lot, starts, until, today, pause_id, AT)


def test_paused_from_dec_2_and_resumed_on_dec_7_moves_the_end_by_5_days() -> None:
    card = a_card(date(2026, 12, 31))
    planned = paused(card, date(2026, 12, 2), date(2026, 12, 20), today=date(2026, 12, 1))
    assert planned.state_on(date(2026, 12, 1)) is CardState.ACTIVE
    assert planned.state_on(date(2026, 12, 2)) is CardState.PAUSED
    resumed = resume(planned, date(2026, 12, 7))
    assert resumed.valid_until == date(2027, 1, 5)
    assert resumed.state_on(date(2026, 12, 7)) is CardState.ACTIVE
    assert resumed.pauses[0].state is PauseState.ENDED and resumed.pauses[0].until == date(2026, 12, 6)


def test_a_planned_pause_moves_the_end_at_once_and_resuming_on_the_planned_day_changes_nothing() -> None:
    card = a_card(date(2026, 12, 31))
    planned = paused(card, date(2026, 12, 2), date(2026, 12, 6), today=date(2026, 12, 1))
    assert planned.valid_until == date(2027, 1, 5)  # gates hold the final end and the window from the start
    assert planned.state_on(date(2026, 12, 6)) is CardState.PAUSED
    assert planned.state_on(date(2026, 12, 7)) is CardState.ACTIVE
    assert resume(planned, date(2026, 12, 7)) == planned


def test_an_open_ended_pause_is_planned_to_the_maximum_and_resumed_by_the_days_used() -> None:
    card = a_card(date(2026, 12, 31))
    planned = paused(card, date(2026, 12, 2), None, today=date(2026, 12, 1))
    assert planned.pauses[0].open_ended and planned.pauses[0].days == 90
    assert planned.valid_until == date(2026, 12, 31) + timedelta(days=90)
    assert resume(planned, date(2026, 12, 7)).valid_until == date(2027, 1, 5)


@pytest.mark.parametrize("resumed_on", [date(2026, 12, 1), date(2026, 12, 2)])
def test_a_pause_called_off_before_it_paused_a_day_moves_nothing_and_does_not_count(resumed_on: date) -> None:
    card = a_card(date(2026, 12, 31))
    planned = paused(card, date(2026, 12, 2), date(2026, 12, 10), today=date(2026, 12, 1))
    withdrawn = resume(planned, resumed_on)
    assert withdrawn.valid_until == date(2026, 12, 31)
    assert withdrawn.pauses[0].state is PauseState.WITHDRAWN
    assert withdrawn.state_on(date(2026, 12, 2)) is CardState.ACTIVE
    again = paused(withdrawn, date(2026, 12, 5), date(2026, 12, 8), today=resumed_on, pause_id="p2")
    again = paused(
        resume(again, date(2026, 12, 4)), date(2026, 12, 9), date(2026, 12, 12), date(2026, 12, 4), pause_id="p3"
    )
    assert [p.state for p in again.pauses] == [PauseState.WITHDRAWN, PauseState.WITHDRAWN, PauseState.SCHEDULED]


@pytest.mark.parametrize(
    ("ends", "starts", "until", "moved_end"),
    [
        (date(2027, 1, 31), date(2027, 1, 10), date(2027, 1, 14), date(2027, 2, 5)),  # a month end moves by days
        (date(2027, 2, 28), date(2027, 2, 10), date(2027, 2, 12), date(2027, 3, 3)),
        (date(2028, 2, 27), date(2028, 2, 1), date(2028, 2, 3), date(2028, 3, 1)),  # 2028 has Feb 29
        (date(2027, 2, 27), date(2027, 2, 1), date(2027, 2, 3), date(2027, 3, 2)),
        (date(2028, 3, 31), date(2028, 2, 27), date(2028, 3, 2), date(2028, 4, 5)),  # across Feb 29: 5 days
        (date(2026, 12, 31), date(2026, 12, 29), date(2027, 1, 2), date(2027, 1, 5)),  # across the new year
    ],
)
def test_month_ends_and_leap_years(ends: date, starts: date, until: date, moved_end: date) -> None:
    card = paused(a_card(ends), starts, until, today=starts - timedelta(days=1))
    assert card.valid_until == moved_end


def test_a_renewal_during_a_pause_adds_after_the_moved_end_and_resuming_early_keeps_its_length() -> None:
    card = paused(a_card(date(2026, 12, 31)), date(2026, 12, 20), date(2027, 1, 10), today=date(2026, 12, 19))
    assert card.valid_until == date(2027, 1, 22)  # 22 planned days
    q = quote(card, months(1), LOT, date(2026, 12, 25))
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 1, 23), date(2027, 2, 22))
    renewed = replace(card, valid_until=q.new_valid_until)
    resumed = resume(renewed, date(2027, 1, 5))  # paused Dec 20 .. Jan 4: 16 days
    assert resumed.valid_until == date(2026, 12, 31) + timedelta(days=16) + timedelta(days=31)


def test_paying_for_a_paused_card_renews_after_the_moved_end() -> None:
    card = paused(a_card(date(2026, 12, 31)), date(2026, 12, 2), date(2026, 12, 6), today=date(2026, 12, 1))
    order = a_pending_order("o1", date(2027, 1, 6), date(2027, 2, 5), AT, card_id=card.id, lot_id=LOT.id)
    done = fulfil(order, card, LOT, datetime(2026, 12, 3, 2, tzinfo=UTC), "tx-1")
    assert done.card.valid_until == date(2027, 2, 5)
    assert done.card.pauses == card.pauses and done.card.state_on(date(2026, 12, 3)) is CardState.PAUSED


@given(
    length=st.integers(3, 90),
    lead=st.integers(1, 30),
    resume_after=st.integers(-5, 100),
    ends_in=st.integers(30, 400),
)
def test_the_end_moves_by_exactly_the_days_paused(length: int, lead: int, resume_after: int, ends_in: int) -> None:
    today = date(2027, 2, 10)
    starts = today + timedelta(days=lead)
    until = starts + timedelta(days=length - 1)
    card = a_card(today + timedelta(days=ends_in + lead))
    planned = paused(card, starts, until, today)
    resumed_on = max(today, starts + timedelta(days=resume_after))
    final = resume(planned, resumed_on)
    days_paused = max(0, (min(resumed_on, until + timedelta(days=1)) - starts).days)
    assert final.valid_until == card.valid_until + timedelta(days=days_paused)  # type: ignore[operator]
    paused_days = [starts + timedelta(days=i) for i in range(-2, length + 2)]
    assert sum(final.state_on(d) is CardState.PAUSED for d in paused_days) == days_paused


def test_the_policy_decides_whether_how_long_and_how_often() -> None:
    card = a_card(date(2026, 12, 31))
    today = date(2026, 12, 1)
    with pytest.raises(PauseRefused, match="does not allow"):
        paused(card, date(2026, 12, 2), None, today, lot=a_lot())
    with pytest.raises(InvalidPause, match="tomorrow"):
        paused(card, today, None, today)
    with pytest.raises(InvalidPause, match="ends before"):
        paused(card, date(2026, 12, 5), date(2026, 12, 4), today)
    with pytest.raises(PauseRefused, match="3 to 90 days, not 2"):
        paused(card, date(2026, 12, 2), date(2026, 12, 3), today)
    with pytest.raises(PauseRefused, match="must start by then"):
        paused(card, date(2027, 1, 1), date(2027, 1, 5), today)
    with pytest.raises(PauseRefused, match="only an active card"):
        paused(a_card(date(2026, 11, 30)), date(2026, 12, 2), None, today)
    first = paused(card, date(2026, 12, 2), date(2026, 12, 4), today)
    with pytest.raises(PauseRefused, match="already has a pause"):
        paused(first, date(2026, 12, 10), date(2026, 12, 12), today, pause_id="p2")
    second = paused(first, date(2026, 12, 10), date(2026, 12, 12), date(2026, 12, 5), pause_id="p2")
    with pytest.raises(PauseRefused, match="paused 2 time"):
        paused(second, date(2026, 12, 20), date(2026, 12, 22), date(2026, 12, 13), pause_id="p3")
    next_year = paused(second, date(2027, 1, 2), date(2027, 1, 4), date(2026, 12, 13), pause_id="p3")
    assert next_year.pauses[-1].state is PauseState.SCHEDULED


def test_where_the_office_approves_a_pause_nothing_moves_until_it_does() -> None:
    lot = replace(LOT, cards=replace(POLICY, pause_needs_approval=True))
    card = a_card(date(2026, 12, 31))
    asked = paused(card, date(2026, 12, 2), date(2026, 12, 6), date(2026, 11, 30), lot=lot)
    assert asked.valid_until == card.valid_until and asked.state_on(date(2026, 12, 3)) is CardState.ACTIVE
    approved = decide_pause(asked, "p1", True, date(2026, 12, 1))
    assert approved.valid_until == date(2027, 1, 5) and approved.state_on(date(2026, 12, 3)) is CardState.PAUSED
    assert decide_pause(approved, "p1", True, date(2026, 12, 1)) == approved
    rejected = decide_pause(asked, "p1", False, date(2026, 12, 1), "car park full of works")
    assert rejected.valid_until == card.valid_until and rejected.pauses[0].reason == "car park full of works"
    with pytest.raises(PauseRefused, match="ask again"):
        decide_pause(asked, "p1", True, date(2026, 12, 3))
    assert resume(asked, date(2026, 12, 1)).pauses[0].state is PauseState.WITHDRAWN
