"""Card life use cases over in-memory ports: applications, the quota and waitlist, the card jobs, plates, presence."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import visits
from domain.application import Application, ApplicationState
from domain.card import Card, CardState
from domain.card_plates import Direction
from domain.errors import ApplicationClosed, PlateChangeRefused
from domain.lot import Approval, CardPolicy, Lot
from domain.owner import Owner
from domain.parking import Reported
from domain.reminder import slots_for
from functions.bootstrap import Services
from handlers.applications import apply_for_card, approve_application, my_applications, reject_application
from handlers.card_changes import add_card_plate, change_plate, pause_card, resume_card
from handlers.card_jobs import EXPIRE_CARD, due_card_jobs, run_card_jobs
from handlers.ports import Gate
from tests.builders import a_card, add_card, months
from tests.fakes import FakeMessenger, FixedClock, fake_services, memory_of

_events = itertools.count()

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def services(quota: int | None = None, **policy: object) -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "Test Lot", quota=quota, cards=CardPolicy(**policy)))  # type: ignore[arg-type]
    s.packages.add(months(1))
    for n in range(30):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}", oa_openid=f"oa-{n}"))
    return s


def application(s: Services, owner_id: str, plate: str, note: str = "") -> Application:
    return apply_for_card(
        owner_id, "lot-1", [plate], "m1", note, s.lots, s.packages, s.applications, s.uow, s.ids, s.clock, s.notices,
        s.cards,
    )  # fmt: skip


def apply(s: Services, owner: int, plate: str) -> ApplicationState:
    return application(s, f"owner-{owner}", plate).state


def passage(s: Services, plate: str, direction: Direction, at: datetime) -> Card | None:
    """The gate's report through the barrier's one path (a new event id each time, as a gate sends), made when it
    happens: the clock moves on to it (a report from the future is refused)."""
    if isinstance(s.clock, FixedClock) and at > s.clock.now():
        s.clock._now = at
    event = f"e{next(_events)}"
    seen = Reported("gate-1", event, plate, visits.Direction(direction.value), at, opened=True)
    return s.barrier.passage(Gate("gate-1", "lot-1", "secret"), seen).card


def pause(s: Services, starts: date, until: date | None) -> Card:
    return pause_card("owner-1", "card-1", starts, until, s.cards, s.lots, s.uow, s.ids, s.clock)


def test_an_auto_approving_lot_holds_a_place_with_a_pending_card_to_pay_for_by_the_next_day() -> None:
    """#17 finding 2: an automatically approved card held its place unpaid for the office's 7 days."""
    s = services(quota=10, approval=Approval.AUTO, pay_within_days=5)
    a = application(s, "owner-1", "粤b 12345", "next to the lift")
    assert a.state is ApplicationState.APPROVED and a.pay_by == date(2026, 11, 24)  # applied Nov 23
    card = s.cards.get(a.card_id or "")
    assert card is not None and card.state is CardState.PENDING and card.plates == ("粤B12345",)
    assert s.lots.get("lot-1").held == 1  # type: ignore[union-attr]
    again = application(s, "owner-1", "粤B12345")
    assert again == a and s.lots.get("lot-1").held == 1  # type: ignore[union-attr]
    other = application(s, "owner-2", "粤B12345")  # someone else's plate: the office looks at it
    assert other.state is ApplicationState.SUBMITTED and other.held_elsewhere == ("粤B12345",)
    assert s.lots.get("lot-1").held == 1  # type: ignore[union-attr]
    assert s.messenger.sent == []  # the owner saw the approval in their own answer  # type: ignore[attr-defined]


def test_the_office_approves_or_rejects_with_a_reason_the_owner_is_told() -> None:
    s = services(quota=10)
    assert apply(s, 1, "粤B00001") is ApplicationState.SUBMITTED
    assert apply(s, 2, "粤B00002") is ApplicationState.SUBMITTED
    first, second = sorted(s.applications.queue("lot-1"), key=lambda a: a.owner_id)  # type: ignore[attr-defined]
    approved = approve_application(first.id, "admin:1", s.lots, s.applications, s.uow, s.clock, s.notices)
    assert approved.state is ApplicationState.APPROVED
    assert approve_application(first.id, "admin:1", s.lots, s.applications, s.uow, s.clock, s.notices) == approved
    with pytest.raises(ApplicationClosed):
        reject_application(first.id, "admin:1", "no", s.lots, s.applications, s.uow, s.clock, s.notices)
    why = "不是本小区业主"
    rejected = reject_application(second.id, "admin:1", why, s.lots, s.applications, s.uow, s.clock, s.notices)
    assert rejected.state is ApplicationState.REJECTED and rejected.reason == "不是本小区业主"
    messenger = s.messenger
    assert isinstance(messenger, FakeMessenger)
    assert [(openid, data["phrase2"]["value"]) for _, openid, data in messenger.sent] == [
        ("oa-1", "已通过"),
        ("oa-2", "未通过"),
    ]
    assert apply(s, 3, "粤B00002") is ApplicationState.SUBMITTED  # a rejected application frees its plate


def test_a_full_lot_waitlists_in_arrival_order_and_a_lapsed_card_gives_its_place_to_the_first_in_line() -> None:
    s = services(quota=2, approval=Approval.AUTO, auto_pay_within_days=3)
    clock = s.clock
    assert isinstance(clock, FixedClock)
    states = []
    for n in range(5):
        clock._now = NOW + timedelta(seconds=n)
        states.append(apply(s, n, f"粤B0000{n}"))
    assert states == [ApplicationState.APPROVED] * 2 + [ApplicationState.WAITLISTED] * 3
    views = {v.application.owner_id: v.waitlist_position for v in my_applications("owner-3", s.lots, s.applications)}
    assert views == {"owner-3": 2}
    # owner-0 pays; owner-1 never does
    paid = s.cards.get("card-" + next(a.id for a in s.applications.list_for_owner("owner-0")))  # type: ignore[attr-defined]
    assert paid is not None
    memory_of(s).cards[paid.id] = replace(
        paid, state=CardState.ACTIVE, valid_from=date(2026, 11, 23), valid_until=date(2026, 12, 22), pay_by=None
    )
    clock._now = NOW + timedelta(days=3)
    assert run_card_jobs(s.card_queries, s.card_life).lapsed == []
    clock._now = NOW + timedelta(days=4)  # Nov 27: past pay-by Nov 26
    report = run_card_jobs(s.card_queries, s.card_life)
    assert len(report.lapsed) == 1 and len(report.offered) == 1
    owner_1 = s.applications.list_for_owner("owner-1")[0]  # type: ignore[attr-defined]
    owner_2 = s.applications.list_for_owner("owner-2")[0]  # type: ignore[attr-defined]
    assert owner_1.state is ApplicationState.LAPSED and owner_2.state is ApplicationState.APPROVED
    assert s.cards.get(owner_1.card_id).state is CardState.CANCELLED  # type: ignore[union-attr]
    assert s.lots.get("lot-1").held == 2  # type: ignore[union-attr]
    messenger = s.messenger
    assert isinstance(messenger, FakeMessenger)
    assert [openid for _, openid, data in messenger.sent if data["phrase2"]["value"] == "已通过"] == ["oa-2"]
    assert apply(s, 9, "粤B00001") is ApplicationState.WAITLISTED  # the lapsed card let its plate go


def test_the_jobs_expire_cards_past_their_end_where_the_lot_is_and_gates_learn_it() -> None:
    s = services(grace_days=2)
    add_card(s, a_card(date(2026, 11, 22), card_id="card-ended"))
    add_card(s, a_card(date(2026, 11, 23), card_id="card-today"))
    issued = set(memory_of(s).events)
    report = run_card_jobs(s.card_queries, s.card_life)
    assert report.expired == ["card-ended"]
    assert s.cards.get("card-today").state is CardState.ACTIVE  # type: ignore[union-attr]
    (news,) = [e for k, e in memory_of(s).events.items() if k not in issued]
    assert news.state == "expired" and news.grace_until == date(2026, 11, 24)
    expiry = s.card_queries.history("card-ended")[-1]
    assert expiry.actor == "system" and expiry.before["state"] == "active"  # type: ignore[index]
    assert run_card_jobs(s.card_queries, s.card_life).expired == []


def test_grace_days_keep_reminding_after_the_end() -> None:
    lot = Lot("lot-1", "Test Lot", cards=CardPolicy(grace_days=2))
    offsets = [slot.offset for slot in slots_for(a_card(date(2026, 12, 10)), lot)]
    assert offsets == [5, 3, 1, -1, -2]


def test_plates_swap_within_the_monthly_allowance_and_extra_plates_up_to_the_lot_limit() -> None:
    s = services(plate_changes_per_month=1, max_plates=2)
    add_card(s, a_card(date(2026, 12, 31), plates=("粤B11111",)))
    card = change_plate("owner-1", "card-1", "粤B11111", "粤b22222", s.cards, s.lots, s.uow, s.clock)
    assert card.plates == ("粤B22222",)
    assert change_plate("owner-1", "card-1", "粤B11111", "粤B22222", s.cards, s.lots, s.uow, s.clock) == card
    with pytest.raises(PlateChangeRefused, match="1 plate change"):
        change_plate("owner-1", "card-1", "粤B22222", "粤B33333", s.cards, s.lots, s.uow, s.clock)
    card = add_card_plate("owner-1", "card-1", "粤B33333", s.cards, s.lots, s.uow, s.clock)
    assert card.plates == ("粤B22222", "粤B33333")
    with pytest.raises(PlateChangeRefused, match="at most 2"):
        add_card_plate("owner-1", "card-1", "粤B44444", s.cards, s.lots, s.uow, s.clock)
    told = [(e.plate, e.state) for e in memory_of(s).events.values()]
    assert ("粤B11111", "cancelled") in told and ("粤B22222", "active") in told


def test_a_card_with_two_plates_admits_one_at_a_time_through_the_feed() -> None:
    s = services(max_plates=2)
    add_card(s, a_card(date(2026, 12, 31), plates=("粤B11111", "粤B22222")))
    events = memory_of(s).events
    issued = len(events)
    at = NOW
    card = passage(s, "粤B11111", Direction.IN, at)
    assert card is not None and card.inside == "粤B11111"
    told = [e for (_, v), e in sorted(events.items()) if v > issued]
    assert {e.plate: e.inside for e in told} == {"粤B11111": "粤B11111", "粤B22222": "粤B11111"}
    repeat = passage(s, "粤B11111", Direction.IN, at)
    assert repeat == card and len(events) == issued + 2  # the same report twice changes nothing
    late = at - timedelta(minutes=5)
    assert passage(s, "粤B11111", Direction.OUT, late) == card
    left = passage(s, "粤B11111", Direction.OUT, at + timedelta(hours=1))
    assert left is not None and left.inside is None and len(events) == issued + 4
    assert passage(s, "粤Z99999", Direction.IN, at) is None


def test_pausing_twice_is_one_pause_and_resuming_twice_moves_the_end_once() -> None:
    s = services(pause_allowed=True)
    add_card(s, a_card(date(2026, 12, 31)))
    once = pause(s, date(2026, 11, 25), date(2026, 11, 30))
    twice = pause(s, date(2026, 11, 25), date(2026, 11, 30))
    assert once == twice and once.valid_until == date(2027, 1, 6)
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now = NOW + timedelta(days=4)  # Nov 27: paused Nov 25 and 26
    resumed = resume_card("owner-1", "card-1", s.cards, s.lots, s.uow, s.clock)
    assert resume_card("owner-1", "card-1", s.cards, s.lots, s.uow, s.clock) == resumed
    assert resumed.valid_until == date(2027, 1, 2)


def test_the_card_jobs_put_on_the_queue_only_cards_whose_day_is_over_where_their_lot_is() -> None:
    """At 20:00 in Shanghai on Nov 22 a card ending that day has ended somewhere on Earth (UTC+14) but not at its
    lot: it is not found, so the 15-minute runs do not fill the queue with cards that have hours to go."""
    s = services()
    clock = s.clock
    assert isinstance(clock, FixedClock)
    add_card(s, a_card(date(2026, 11, 21), card_id="card-ended"))
    add_card(s, a_card(date(2026, 11, 22), card_id="card-tonight"))
    clock._now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    assert list(due_card_jobs(s.card_queries, s.card_life)) == [(EXPIRE_CARD, "card-ended")]
    clock._now = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 on Nov 23 in Shanghai
    assert sorted(due_card_jobs(s.card_queries, s.card_life)) == [
        (EXPIRE_CARD, "card-ended"),
        (EXPIRE_CARD, "card-tonight"),
    ]
