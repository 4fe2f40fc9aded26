"""Card life against DynamoDB (moto over HTTP): the quota under concurrent approvals, concurrent pauses and
resumes, plate claims moving with plate changes, the jobs' index queries and the audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.application import Application, ApplicationState
from domain.card import CardState
from domain.errors import PlateTaken, TooManyApplications
from domain.lot import Approval, CardPolicy, Lot
from functions.bootstrap import Services
from handlers.applications import apply_for_card, approve_application, my_applications
from handlers.card_changes import answer_pause, change_plate, pause_card, resume_card
from handlers.card_jobs import cancel_card, run_card_jobs
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import EntitlementItem
from tests.builders import a_card, add_card, months
from tests.fakes import FixedClock

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def lot(s: Services, quota: int | None = None, held: int = 0, **policy: object) -> Lot:
    made = Lot("lot-1", "Test Lot", quota=quota, held=held, cards=CardPolicy(**policy))  # type: ignore[arg-type]
    assert s.lots.add(made)
    s.packages.add(months(1))
    return made


def at(s: Services, moment: datetime) -> None:
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now = moment


def test_20_concurrent_approvals_for_5_free_places_approve_exactly_5_and_waitlist_15_in_arrival_order(
    dynamo_services: Services,
) -> None:
    s = dynamo_services
    lot(s, quota=8, held=3)  # 5 free places
    submitted: list[Application] = []
    for n in range(20):
        at(s, NOW + timedelta(minutes=n))
        a = apply_for_card(
            f"owner-{n}", "lot-1", [f"粤B{n:05d}"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids,
            s.clock, s.notices, s.cards,
        )  # fmt: skip
        assert a.state is ApplicationState.SUBMITTED
        submitted.append(a)
    at(s, NOW + timedelta(hours=1))

    def approve(a: Application) -> Application:
        return approve_application(a.id, "admin:1", s.lots, s.applications, s.uow, s.clock, s.notices)

    with ThreadPoolExecutor(20) as pool:
        decided = list(pool.map(approve, reversed(submitted)))

    states = [d.state for d in decided]
    assert states.count(ApplicationState.APPROVED) == 5 and states.count(ApplicationState.WAITLISTED) == 15
    assert s.lots.get("lot-1").held == 8  # type: ignore[union-attr]
    pending = [c for c in s.cards.list_for_lot("lot-1") if c.state is CardState.PENDING]
    assert len(pending) == 5
    waiting = s.applications.waiting("lot-1")
    assert [w.id for w in waiting] == [a.id for a in submitted if a.id in {w.id for w in waiting}]
    assert len(waiting) == 15
    first = waiting[0]
    (view,) = my_applications(first.owner_id, s.lots, s.applications)
    assert view.waitlist_position == 1
    # approving again changes nothing, even concurrently
    with ThreadPoolExecutor(10) as pool:
        again = list(pool.map(approve, submitted[:10]))
    assert [a.state for a in again] == [s.applications.get(a.id).state for a in submitted[:10]]  # type: ignore[union-attr]
    assert s.lots.get("lot-1").held == 8  # type: ignore[union-attr]


def test_an_auto_approving_lot_never_oversells_when_owners_apply_at_once(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, quota=3, approval=Approval.AUTO)

    def apply(n: int) -> ApplicationState:
        return apply_for_card(
            f"owner-{n}", "lot-1", [f"粤A{n:05d}"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids,
            s.clock, s.notices, s.cards,
        ).state  # fmt: skip

    with ThreadPoolExecutor(12) as pool:
        states = list(pool.map(apply, range(12)))
    assert states.count(ApplicationState.APPROVED) == 3 and states.count(ApplicationState.WAITLISTED) == 9
    assert s.lots.get("lot-1").held == 3  # type: ignore[union-attr]


def resume(s: Services) -> date | None:
    return resume_card("owner-1", "card-1", s.cards, s.lots, s.uow, s.clock).valid_until


def test_concurrent_pauses_and_resumes_move_the_end_once(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, pause_allowed=True)
    add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1"))

    def pause(_: int) -> date | None:
        card = pause_card("owner-1", "card-1", date(2026, 12, 2), None, s.cards, s.lots, s.uow, s.ids, s.clock)
        return card.valid_until

    with ThreadPoolExecutor(10) as pool:
        ends = set(pool.map(pause, range(10)))
    assert ends == {date(2026, 12, 31) + timedelta(days=90)}
    card = s.cards.get("card-1")
    assert card is not None and len(card.pauses) == 1

    at(s, datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # Dec 7, 09:00 in Shanghai: paused Dec 2..6
    with ThreadPoolExecutor(10) as pool:
        ends = set(pool.map(lambda _: resume(s), range(10)))
    assert ends == {date(2027, 1, 5)}
    history = s.card_queries.history("card-1")[1:]  # after it was issued
    assert [(e.actor, e.action) for e in history] == [("owner:owner-1", "pause"), ("owner:owner-1", "resume")]
    assert history[1].before["valid_until"] == "2027-03-31" and history[1].after["valid_until"] == "2027-01-05"  # type: ignore[index]
    events = list(EntitlementItem.query("lot-1"))[1:]
    assert [(e.paused_from, e.paused_until, e.valid_until) for e in events] == [
        ("2026-12-02", "2027-03-01", "2027-03-31"),
        ("2026-12-02", "2026-12-06", "2027-01-05"),
    ]


def test_a_plate_change_moves_the_plate_claims_or_stores_nothing(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, plate_changes_per_month=2)
    add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1", plates=("粤B11111",)))
    add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1", card_id="card-2", owner_id="owner-2", plates=("粤B22222",)))
    with pytest.raises(PlateTaken):
        change_plate("owner-1", "card-1", "粤B11111", "粤B22222", s.cards, s.lots, s.uow, s.clock)
    assert s.cards.get("card-1").plates == ("粤B11111",)  # type: ignore[union-attr]
    assert [e.action for e in s.card_queries.history("card-1")] == ["issue"]
    change_plate("owner-1", "card-1", "粤B11111", "粤B33333", s.cards, s.lots, s.uow, s.clock)
    assert s.cards.card_for_plate("lot-1", "粤B33333").id == "card-1"  # type: ignore[union-attr]
    assert s.cards.card_for_plate("lot-1", "粤B11111") is None
    add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1", card_id="card-3", owner_id="owner-3", plates=("粤B11111",)))
    changed = {(e.plate, e.state) for e in EntitlementItem.query("lot-1") if e.card_id == "card-1"}
    assert changed == {("粤B11111", "active"), ("粤B11111", "cancelled"), ("粤B33333", "active")}


def test_the_jobs_read_only_due_cards_from_their_indexes(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, quota=40, approval=Approval.AUTO, pay_within_days=2)
    for n in range(30):
        add_card(s, a_card(date(2026, 12, 1) + timedelta(days=n), lot_id="lot-1", card_id=f"card-{n}"))
    add_card(s, a_card(date(2026, 11, 20), lot_id="lot-1", card_id="card-old"))
    apply_for_card(
        "owner-x", "lot-1", ["粤C00001"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock,
        s.notices, s.cards,
    )  # fmt: skip
    with DynamoRequestCounter() as counter:
        report = run_card_jobs(s.card_queries, s.card_life)
    assert report.expired == ["card-old"] and report.lapsed == []
    # Two index queries; then the lot once per card they returned (only the ended one, none of the 30 running
    # cards), and its change: card and lot read again, one transaction.
    assert dict(counter.by_operation) == {"Query": 2, "GetItem": 3, "TransactWriteItems": 1}
    at(s, NOW + timedelta(days=3))  # Nov 26: the approval was to be paid by Nov 25
    report = run_card_jobs(s.card_queries, s.card_life)
    assert len(report.lapsed) == 1 and s.lots.get("lot-1").held == 31  # the 31 cards issued keep theirs  # type: ignore[union-attr]
    (gone,) = s.applications.list_for_owner("owner-x")
    assert gone.state is ApplicationState.LAPSED
    assert s.cards.card_for_plate("lot-1", "粤C00001") is None


def test_a_pause_waiting_for_the_office_is_in_the_lots_queue_until_answered(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, pause_allowed=True, pause_needs_approval=True)
    add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1"))
    asked = pause_card(
        "owner-1", "card-1", date(2026, 12, 2), date(2026, 12, 6), s.cards, s.lots, s.uow, s.ids, s.clock
    )
    assert asked.valid_until == date(2026, 12, 31) and [c.id for c in s.card_queries.pauses_to_approve("lot-1")] == [
        "card-1"
    ]
    approved = answer_pause("card-1", asked.pauses[0].id, True, "admin:1", None, s.cards, s.lots, s.uow, s.clock)
    assert approved.valid_until == date(2027, 1, 5) and s.card_queries.pauses_to_approve("lot-1") == []
    assert [(e.actor, e.action) for e in s.card_queries.history("card-1")][-1] == ("admin:1", "approve_pause")


def test_a_cancelled_card_frees_its_place_for_the_first_in_line(dynamo_services: Services) -> None:
    s = dynamo_services
    lot(s, quota=1, approval=Approval.AUTO)
    states = []
    for n in range(3):
        at(s, NOW + timedelta(minutes=n))
        states.append(
            apply_for_card(
                f"owner-{n}", "lot-1", [f"粤D0000{n}"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids,
                s.clock, s.notices, s.cards,
            )
        )  # fmt: skip
    assert [a.state for a in states] == [
        ApplicationState.APPROVED,
        ApplicationState.WAITLISTED,
        ApplicationState.WAITLISTED,
    ]
    card_id = states[0].card_id or ""
    gone = cancel_card(card_id, "admin:1", "moved away", s.card_life)
    assert gone.state is CardState.CANCELLED and s.cards.card_for_plate("lot-1", "粤D00000") is None
    assert cancel_card(card_id, "admin:1", "moved away", s.card_life) == gone  # twice: one cancellation, one offer
    assert [s.applications.get(a.id).state for a in states[1:]] == [  # type: ignore[union-attr]
        ApplicationState.APPROVED,
        ApplicationState.WAITLISTED,
    ]
    assert s.lots.get("lot-1").held == 1  # type: ignore[union-attr]
    assert s.card_queries.history(card_id)[-1].reason == "moved away"


def test_six_applications_of_one_owner_at_once_hold_two_places_and_the_rest_are_refused(
    dynamo_services: Services,
) -> None:
    """#17 finding 2: six applications in 0.6 s took all five places of an automatic lot, unpaid."""
    s = dynamo_services
    lot(s, quota=5, approval=Approval.AUTO)

    def apply(n: int) -> str:
        try:
            return apply_for_card(
                "owner-1", "lot-1", [f"粤Z0000{n}"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids,
                s.clock, s.notices, s.cards,
            ).state.value  # fmt: skip
        except TooManyApplications as e:
            return e.code

    with ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(apply, range(6)))
    assert answers == ["approved"] * 2 + ["too_many_applications"] * 4
    assert s.lots.get("lot-1").held == 2  # type: ignore[union-attr]
    assert sorted(a.state.value for a in s.applications.list_for_owner("owner-1")) == ["approved"] * 2
