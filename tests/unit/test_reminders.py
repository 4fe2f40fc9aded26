"""Expiry reminders over fakes: when they fall due, what goes stale, and that nothing is sent twice."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.card import CardState
from domain.lot import Lot
from domain.owner import Owner
from domain.reminder import ReminderChannel, slots_for
from functions.bootstrap import Services
from handlers.reminders import EXPIRY_TEMPLATE, reminders_of_day, send_due_reminders, set_reminders
from tests.builders import a_card, a_pause, add_card
from tests.fakes import FakeMessenger, FakeReminderStore, fake_services

LOT = Lot(id="lot-1", name="东门")


def at_shanghai(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00+08:00")


def services(valid_until: date = date(2026, 12, 10), follows: bool = True) -> Services:
    s = fake_services(at_shanghai("2026-12-01"))
    s.lots.add(LOT)
    s.owners.add(Owner("owner-1", "openid-1", oa_openid="oa-1" if follows else None))
    add_card(s, a_card(valid_until, plates=("粤B12345",)))
    set_reminders("owner-1", "card-1", True, ReminderChannel.SUBSCRIBE, s.cards, s.lots, s.reminder_prefs, s.reminders)
    return s


def tick(s: Services, when: datetime) -> list[str]:
    r = send_due_reminders(when, s.reminders, s.cards, s.lots, s.reminder_prefs, s.owners, s.consents, s.messenger)
    return r.sent


def sent_days(s: Services) -> list[str]:
    assert isinstance(s.messenger, FakeMessenger)
    return [f"{data['date3']['value']} {data['thing4']['value'].split()[0]}" for _, _, data in s.messenger.sent]


def test_reminders_fall_due_5_3_and_1_days_before_at_ten_lot_time() -> None:
    card = a_card(date(2026, 12, 10))
    due = [slot.due_at for slot in slots_for(card, LOT)]
    assert due == [at_shanghai(d).astimezone(UTC) for d in ("2026-12-05", "2026-12-07", "2026-12-09")]
    assert slots_for(replace(card, state=CardState.CANCELLED), LOT) == []


def test_each_reminder_goes_out_at_its_hour_once() -> None:
    s = services()
    assert tick(s, at_shanghai("2026-12-05", 9, 59)) == []
    assert len(tick(s, at_shanghai("2026-12-05", 10, 0))) == 1
    assert tick(s, at_shanghai("2026-12-05", 10, 15)) == []
    tick(s, at_shanghai("2026-12-07", 10, 15))
    tick(s, at_shanghai("2026-12-09", 11, 0))
    assert sent_days(s) == ["2026-12-10 5", "2026-12-10 3", "2026-12-10 1"]


def test_renewing_stops_the_old_cycle_and_schedules_the_new_one() -> None:
    s = services()
    tick(s, at_shanghai("2026-12-05", 10, 0))
    card = s.cards.get("card-1")
    assert card is not None
    renewed = s.cards.save(replace(card, valid_until=date(2027, 1, 10)))  # renewed on 12-06
    s.reminders.schedule(slots_for(renewed, LOT))
    for day in ("2026-12-07", "2026-12-09", "2027-01-05", "2027-01-07", "2027-01-09"):
        tick(s, at_shanghai(day, 10, 30))
    assert [d.split()[0] for d in sent_days(s)] == ["2026-12-10", "2027-01-10", "2027-01-10", "2027-01-10"]


def test_a_consent_buys_one_subscribe_message_then_the_official_account_takes_over() -> None:
    s = services()
    s.consents.record("owner-1", EXPIRY_TEMPLATE)
    tick(s, at_shanghai("2026-12-05"))
    tick(s, at_shanghai("2026-12-07"))
    assert isinstance(s.messenger, FakeMessenger)
    assert [(kind, openid) for kind, openid, _ in s.messenger.sent] == [("subscribe", "openid-1"), ("template", "oa-1")]


def test_no_consent_and_no_official_account_is_reported_not_sent() -> None:
    s = services(follows=False)
    report = send_due_reminders(
        at_shanghai("2026-12-05"), s.reminders, s.cards, s.lots, s.reminder_prefs, s.owners, s.consents, s.messenger
    )
    assert report.sent == [] and len(report.failed) == 1
    assert isinstance(s.reminders, FakeReminderStore)
    assert list(s.reminders.state.values()).count("failed") == 1


def test_a_failing_send_is_retried_on_later_ticks_then_marked_failed() -> None:
    s = services()
    assert isinstance(s.messenger, FakeMessenger) and isinstance(s.reminders, FakeReminderStore)
    s.messenger.failing = True
    for minutes in (0, 15, 30):
        tick(s, at_shanghai("2026-12-05", 10, minutes))
    assert sorted(s.reminders.state.values()) == ["failed", "pending", "pending"]
    s.messenger.failing = False
    assert tick(s, at_shanghai("2026-12-05", 10, 45)) == []  # the failed one stays failed


def test_two_ticks_at_once_send_each_reminder_once() -> None:
    s = services()
    for day in ("2026-12-05", "2026-12-07", "2026-12-09"):
        start = threading.Barrier(2)

        def run(day: str = day, start: threading.Barrier = start) -> None:
            start.wait()
            tick(s, at_shanghai(day, 10, 15))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(sent_days(s)) == 3


@pytest.mark.parametrize(("change", "reason"), [("pause", "paused"), ("opt_out", "opted_out"), ("cancel", "cancelled")])
def test_paused_cancelled_or_opted_out_cards_are_not_reminded(change: str, reason: str) -> None:
    s = services()
    card = s.cards.get("card-1")
    assert card is not None
    if change == "pause":
        s.cards.save(replace(card, pauses=(a_pause(date(2026, 12, 8), date(2026, 12, 9)),)))
    elif change == "cancel":
        s.cards.save(replace(card, state=CardState.CANCELLED))
    else:
        set_reminders(
            "owner-1", "card-1", False, ReminderChannel.SUBSCRIBE, s.cards, s.lots, s.reminder_prefs, s.reminders
        )
    assert tick(s, at_shanghai("2026-12-09", 11)) == []
    assert sent_days(s) == []


operations = st.lists(
    st.one_of(
        st.tuples(st.just("renew"), st.integers(1, 40)),
        st.tuples(st.just("pause"), st.just(0)),
        st.tuples(st.just("resume"), st.just(0)),
        st.tuples(st.just("opt"), st.booleans()),
        st.tuples(st.just("tick"), st.integers(1, 48)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_random_histories_never_remind_a_stale_cycle_or_twice(ops: list[tuple[str, object]]) -> None:
    s = services(valid_until=date(2026, 12, 5))
    now = at_shanghai("2026-12-01", 0)
    sent_keys: list[str] = []
    for op, arg in ops:
        card = s.cards.get("card-1")
        prefs = s.reminder_prefs.get("card-1")
        assert card is not None and prefs is not None
        if op == "renew":
            renewed = s.cards.save(replace(card, valid_until=card.valid_until + timedelta(days=int(arg))))  # type: ignore[operator, arg-type]
            s.reminders.schedule(slots_for(renewed, LOT))
        elif op == "pause":
            today = LOT.today(now)
            s.cards.save(replace(card, pauses=(a_pause(today, today + timedelta(days=9)),)))
        elif op == "resume":
            s.cards.save(replace(card, pauses=()))
        elif op == "opt":
            set_reminders("owner-1", "card-1", bool(arg), prefs.channel, s.cards, s.lots, s.reminder_prefs, s.reminders)
        else:
            now += timedelta(hours=int(arg))  # type: ignore[call-overload]
            for key in tick(s, now):
                # At the moment it went out, the reminder was about the card's current end, and wanted.
                assert key.split("#")[1] == card.valid_until.isoformat()  # type: ignore[union-attr]
                _, cycle, offset = key.split("#")
                due_day = date.fromisoformat(cycle) - timedelta(days=int(offset))
                assert card.state_on(due_day) is CardState.ACTIVE and prefs.enabled
                sent_keys.append(key)
    assert len(sent_keys) == len(set(sent_keys))


def test_the_day_report_counts_each_state_of_the_days_reminders() -> None:
    s = services(follows=False)
    s.consents.record("owner-1", EXPIRY_TEMPLATE)
    tick(s, at_shanghai("2026-12-05"))  # sent (the consent)
    tick(s, at_shanghai("2026-12-07"))  # no channel left: failed
    assert reminders_of_day(date(2026, 12, 5), "Asia/Shanghai", s.reminders) == {"sent": 1}
    assert reminders_of_day(date(2026, 12, 7), "Asia/Shanghai", s.reminders) == {"failed": 1}
    assert reminders_of_day(date(2026, 12, 9), "Asia/Shanghai", s.reminders) == {"pending": 1}


def test_an_hours_reminders_spread_over_every_shard_and_a_reminder_always_lands_in_the_same_one() -> None:
    from collections import Counter

    from domain.reminder import SHARDS, Slot, buckets_of_hour

    at = datetime(2026, 12, 5, 2, tzinfo=UTC)
    slots = [Slot(f"card-{i}", "o", "lot-1", date(2026, 12, 10), 5, at) for i in range(8000)]
    spread = Counter(slot.bucket for slot in slots)
    assert set(spread) == set(buckets_of_hour(at)) and len(spread) == SHARDS
    assert max(spread.values()) < 1.1 * 8000 / SHARDS  # none much fuller than the others
    assert {Slot("card-7", "other-owner", "lot-2", date(2027, 1, 1), 3, at).bucket, slots[7].bucket} == {
        slots[7].bucket}  # fmt: skip


def test_a_reminder_handed_to_a_consumer_hours_late_is_skipped_not_sent_with_an_untrue_text() -> None:
    from handlers.reminders import OneByOne, Outcome, Reminding

    s = services()
    first = slots_for(s.cards.get("card-1"), LOT)[0]  # type: ignore[arg-type]
    reminding = Reminding(s.reminders, OneByOne(s.cards, s.lots, s.reminder_prefs, s.owners), s.owners, s.consents,
                          s.messenger)  # fmt: skip
    # A dead letter redriven the next day: "5 天后到期" is no longer true.
    assert reminding.send(first, first.due_at + timedelta(hours=6, minutes=1), {}) is Outcome.SKIPPED
    assert reminding.send(first, first.due_at + timedelta(hours=6, minutes=2), {}) is Outcome.DONE
    assert isinstance(s.messenger, FakeMessenger) and s.messenger.sent == []
    second = slots_for(s.cards.get("card-1"), LOT)[1]  # type: ignore[arg-type]
    assert reminding.send(second, second.due_at + timedelta(hours=5), {}) is Outcome.SENT  # within the look-back
