"""#17 finding 2: one owner took every place at a lot without paying, and applying was a plate oracle.

Now an owner has a few slots per lot (in review, waiting, or approved and unpaid), an automatically approved
card must be paid for by the next day, and a plate held by anyone else sends the application to the office's
review instead of answering who holds it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.application import Application, ApplicationState
from domain.card import Card, CardState
from domain.errors import PlateChangeRefused, PlateTaken, TooManyApplications
from domain.lot import Approval, CardPolicy, Lot
from domain.owner import Owner
from functions.api import create_app
from functions.bootstrap import Services
from handlers.applications import apply_for_card, approve_application, reject_application
from handlers.card_changes import add_card_plate
from handlers.card_jobs import cancel_card, run_card_jobs
from tests.builders import add_card, months
from tests.fakes import FixedClock, fake_services, memory_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
HELD = Card("card-a", "lot-1", "owner-0", ("粤B2B222",), date(2026, 11, 1), date(2026, 12, 31), CardState.ACTIVE)


def services(**policy: object) -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "一号车场", quota=5, cards=CardPolicy(**policy)))  # type: ignore[arg-type]
    s.packages.add(months(1))
    for n in range(4):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}"))
    return s


def apply(s: Services, owner: str, *plates: str) -> Application:
    return apply_for_card(
        owner, "lot-1", list(plates), "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock, s.notices,
        s.cards,
    )  # fmt: skip


def test_six_made_up_applications_to_an_auto_approving_lot_hold_two_places_and_the_rest_are_refused() -> None:
    s = services(approval=Approval.AUTO)
    answers: list[str] = []
    for n in range(6):
        try:
            answers.append(apply(s, "owner-1", f"粤Z0000{n}").state.value)
        except TooManyApplications as e:
            answers.append(e.code)
    assert answers == ["approved", "approved"] + ["too_many_applications"] * 4
    assert s.lots.get("lot-1").held == 2  # type: ignore[union-attr]
    assert apply(s, "owner-2", "粤B22222").state is ApplicationState.APPROVED  # others still find a place
    with pytest.raises(TooManyApplications) as refused:
        apply(s, "owner-1", "粤Z00009")
    assert refused.value.text("zh") == "您在一号车场已有 2 个申请在审核、排队或待付款，请先付款或等待处理后再申请"


def test_a_slot_comes_back_when_its_card_is_paid_for_rejected_or_lapsed_not_before() -> None:
    s = services(open_applications_per_owner=2)
    first, second = apply(s, "owner-1", "粤Z00001"), apply(s, "owner-1", "粤Z00002")
    with pytest.raises(TooManyApplications):
        apply(s, "owner-1", "粤Z00003")
    reject_application(second.id, "admin:m", "资料不全", s.lots, s.applications, s.uow, s.clock, s.notices)
    third = apply(s, "owner-1", "粤Z00003")  # the rejected one's slot
    approved = approve_application(first.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    with pytest.raises(TooManyApplications):
        apply(s, "owner-1", "粤Z00004")  # approved, but its card is not paid for yet
    card = s.cards.get(approved.card_id or "")
    assert card is not None and card.state is CardState.PENDING
    memory_of(s).cards[card.id] = replace(
        card, state=CardState.ACTIVE, valid_from=date(2026, 11, 23), valid_until=date(2026, 12, 22), pay_by=None
    )  # paid
    fourth = apply(s, "owner-1", "粤Z00004")
    assert {a.state for a in (third, fourth)} == {ApplicationState.SUBMITTED}
    assert apply(s, "owner-1", "粤Z00004") == fourth  # asking again answers the same one, takes no slot


def test_an_unpaid_automatic_approval_lapses_after_the_next_day_and_frees_the_place_and_the_slot() -> None:
    s = services(approval=Approval.AUTO, open_applications_per_owner=1)
    taken = apply(s, "owner-1", "粤Z00001")
    assert taken.pay_by == date(2026, 11, 24)
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now = NOW + timedelta(days=2)  # Nov 25 in Shanghai
    assert run_card_jobs(s.card_queries, s.card_life).lapsed == [taken.card_id]
    assert s.lots.get("lot-1").held == 0  # type: ignore[union-attr]
    assert apply(s, "owner-1", "粤Z00002").state is ApplicationState.APPROVED


def test_someone_elses_plate_is_not_refused_but_sent_to_the_office_and_the_applicant_never_learns_whose() -> None:
    s = services(approval=Approval.AUTO)
    add_card(
        s, Card("card-a", "lot-1", "owner-0", ("粤B2B222",), date(2026, 11, 1), date(2026, 12, 31), CardState.ACTIVE)
    )
    app = create_app(s).test_client()
    token = s.tokens.issue("owner-1").access_token
    answer = app.post(
        "/api/v1/lots/lot-1/applications",
        json={"plates": ["粤B2B222"], "package_id": "m1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.get_json()
    shown = answer.get_json()
    assert (shown["state"], shown["state_label"]) == ("submitted", "待物业审核")  # not auto-approved either
    assert "held_elsewhere" not in str(shown) and "card-a" not in str(shown) and "owner-0" not in str(shown)
    mine = app.get("/api/v1/me/applications", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert mine["applications"] == [shown]
    [queued] = s.applications.queue("lot-1")  # type: ignore[attr-defined]
    assert queued.held_elsewhere == ("粤B2B222",) and s.lots.get("lot-1").held == 1  # type: ignore[union-attr]
    with pytest.raises(PlateTaken):  # the office sees why it cannot be approved while the card holds it
        approve_application(queued.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    cancel_card("card-a", "admin:m", "车主退租", s.card_life)
    approved = approve_application(queued.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    assert approved.state is ApplicationState.APPROVED and approved.held_elsewhere == ()
    card = s.cards.card_for_plate("lot-1", "粤B2B222")
    assert card is not None and card.owner_id == "owner-1"


def test_a_plate_squatted_by_an_application_does_not_block_its_real_owner() -> None:
    s = services()
    squat = apply(s, "owner-2", "粤B77777")
    real = apply(s, "owner-3", "粤B77777")
    assert real.state is ApplicationState.SUBMITTED and real.held_elsewhere == ("粤B77777",)
    reject_application(squat.id, "admin:m", "非本人车辆", s.lots, s.applications, s.uow, s.clock, s.notices)
    done = approve_application(real.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    assert done.state is ApplicationState.APPROVED
    rejected = reject_application(
        apply(s, "owner-2", "粤B77777").id, "admin:m", "非本人车辆", s.lots, s.applications, s.uow, s.clock, s.notices
    )  # a second try for review, rejected: the real owner's card keeps its plate
    assert rejected.state is ApplicationState.REJECTED
    assert s.cards.card_for_plate("lot-1", "粤B77777").owner_id == "owner-3"  # type: ignore[union-attr]


def test_a_full_lot_waitlists_an_application_for_review_only_once_its_plates_are_free() -> None:
    s = services(approval=Approval.MANUAL)
    lot = s.lots.get("lot-1")
    assert lot is not None
    s.lots.save_settings(replace(lot, quota=0))  # type: ignore[attr-defined]
    add_card(
        s, Card("card-a", "lot-1", "owner-0", ("粤B2B222",), date(2026, 11, 1), date(2026, 12, 31), CardState.ACTIVE)
    )
    queued = apply(s, "owner-1", "粤B2B222")
    with pytest.raises(PlateTaken):
        approve_application(queued.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    cancel_card("card-a", "admin:m", "车主退租", s.card_life)
    waiting = approve_application(queued.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices)
    assert waiting.state is ApplicationState.WAITLISTED and waiting.held_elsewhere == ()
    assert s.applications.holding("lot-1", "粤B2B222") == waiting  # it holds its plate now (I2)


def test_an_unpaid_card_takes_no_further_plates_so_it_cannot_probe_or_hold_them() -> None:
    """#17 review: any WeChat user's one-click card could add plates to learn which are held, and hold the
    free ones from their owners."""
    s = services(approval=Approval.AUTO, max_plates=3)
    add_card(s, HELD)
    pending = apply(s, "owner-1", "粤Z00001")
    for plate in ("粤B2B222", "粤B99999"):  # held elsewhere, and free: the same answer
        with pytest.raises(PlateChangeRefused) as refused:
            add_card_plate("owner-1", pending.card_id or "", plate, s.cards, s.lots, s.uow, s.clock)
        assert refused.value.key == "plate_change_unpaid" and plate not in refused.value.text("zh")
    assert s.cards.card_for_plate("lot-1", "粤B99999") is None


def test_a_place_offered_from_an_automatic_lots_waitlist_is_paid_for_by_the_next_day() -> None:
    """#17 review: a waitlist offer got the office's 7 days, so a squatter could wait in line and hold each
    offered place for a week."""
    s = services(approval=Approval.AUTO, pay_within_days=7)
    lot = s.lots.get("lot-1")
    assert lot is not None
    s.lots.save_settings(replace(lot, quota=1))  # type: ignore[attr-defined]
    first = apply(s, "owner-1", "粤Z00001")
    waiting = apply(s, "owner-2", "粤Z00002")
    assert waiting.state is ApplicationState.WAITLISTED
    cancel_card(first.card_id or "", "admin:m", "车主退租", s.card_life)  # the place goes to the first in line
    offered = s.applications.get(waiting.id)
    assert offered is not None and offered.state is ApplicationState.APPROVED
    assert offered.pay_by == date(2026, 11, 24)
