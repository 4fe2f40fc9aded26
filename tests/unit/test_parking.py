"""Parking at the barrier through the handlers, in memory: a visitor's stay priced at the exit and paid once (twice,
at once), the gates told to open; exempt, blacklisted and card plates; property-fee arrears only remind; a full lot
refuses visitors (满位) while card holders enter; a gate's event answered once; reports uploaded late pair up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.admin import Role, Staff
from domain.barrier import BarrierPolicy, ExpiredCard, UnpaidVisit
from domain.errors import Conflict, GuestLimit, GuestNotAllowed, InvalidInput, LotNotFound, NothingToPay
from domain.order import Channel
from domain.owner import Owner
from domain.parking import PassKind, Reported, Spaces
from domain.reconciliation import PROVIDER_ZONE, DifferenceKind, LineKind, StatementLine
from domain.visitor_fee import VisitorFeeRule
from domain.visits import Direction, Flag
from functions.bootstrap import Services
from handlers.fulfil_payment import Outcome
from handlers.passages import Answer
from handlers.ports import Gate, PaymentNotice
from handlers.reconcile import reconcile_day
from tests.builders import a_card, a_lot, add_card
from tests.fakes import FakeMessenger, FakeProvider, FixedClock, fake_services

NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)  # 10:00 in Shanghai
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password 1")
STRANGER = Staff("boss@t2.cn", "t2", Role.TENANT_ADMIN, frozenset(), "plain$a long password 1")
GATE = Gate("gate-1", "lot-1", "secret")
EXIT = Gate("gate-2", "lot-1", "secret")
RULE = VisitorFeeRule(date(2026, 12, 1), free_minutes=15, period_minutes=60, price_fen=500, cap_fen_per_24h=3000)
VISITOR = "粤A12345"


Setup = Callable[..., Services]
"""A lot with the visitor fee rule, and an owner: `lot(clock)`."""
Make = Callable[[FixedClock], Services]
"""Services over the in-memory store here; tests/integration/test_parking_dynamodb.py runs these over DynamoDB."""


@pytest.fixture
def make() -> Make:
    return lambda clock: fake_services(NOW, clock)


@pytest.fixture
def lot(make: Make) -> Setup:
    def made(clock: FixedClock | None = None) -> Services:
        s = make(clock or FixedClock(NOW))
        s.lots.add(replace(a_lot(), tenant_id="t1"))
        s.parking_office.set_visitor_fee(BOSS, "lot-1", RULE)
        s.owners.add(Owner("o-1", "openid-1"))
        return s

    return made


def feed_version(s: Services) -> int:
    found = s.lots.get("lot-1")
    assert found is not None
    return found.entitlement_version


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, s: Services, gate: Gate, plate: str, direction: Direction, opened: bool | None = None,
                 at: datetime | None = None) -> Answer:  # fmt: skip
        self.n += 1
        seen = Reported(gate.id, f"e{self.n}", plate, direction, at or s.clock.now(), opened)
        return s.barrier.passage(gate, seen)


def test_a_visitor_stays_two_hours_five_minutes_pays_1500_in_the_mini_program_and_the_exit_opens(
    lot: Callable[..., Services],
) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    came = go(s, GATE, VISITOR, Direction.IN)
    assert (came.record.allow, came.record.kind.value) == (True, "visitor")
    assert came.record.display == f"{VISITOR} 临时车 欢迎光临"
    clock._now = NOW + timedelta(hours=2, minutes=5)
    asked = go(s, EXIT, VISITOR, Direction.OUT)
    assert (asked.record.allow, asked.record.fee_fen) == (False, 1500)
    assert asked.record.display == "临时车 停车2小时5分 应缴15.00元"
    assert asked.pay_path == f"/pages/visit/pay?lot_id=lot-1&visit_id={came.record.visit_id}"
    now = s.visit_payments.current("lot-1", VISITOR)
    assert (now.visit.id, now.fee_fen, now.due_fen) == (came.record.visit_id, 1500, 1500)
    provider = FakeProvider()
    order = s.visit_payments.order("o-1", now.visit.id, Channel.WECHAT, "key-00001", provider, lambda _: provider)
    assert order.order.amount_fen == 1500
    feed_before = feed_version(s)
    notice = PaymentNotice(order.order.id, "tx-1", 1500, clock.now(), True)
    assert s.visit_payments.fulfil(notice) is Outcome.FULFILLED
    assert s.visit_payments.fulfil(notice) is Outcome.ALREADY_FULFILLED
    news = s.feed.since("lot-1", feed_before, 5)[0]
    assert (news.kind, news.plate, news.card_id) == ("visit", VISITOR, now.visit.id)
    assert news.leave_by == (clock.now() + timedelta(minutes=15)).isoformat()
    with pytest.raises(NothingToPay):
        s.visit_payments.order("o-1", now.visit.id, Channel.WECHAT, "key-00002", provider, lambda _: provider)
    clock._now += timedelta(minutes=10)
    left = go(s, EXIT, VISITOR, Direction.OUT)
    assert (left.record.allow, left.record.display) == (True, f"{VISITOR} 一路顺风")
    visit = s.parking.visit(now.visit.id)
    assert visit is not None and (visit.fee_fen, visit.paid_fen, visit.open) == (1500, 1500, False)
    assert s.parking.occupancy("lot-1").inside == 0
    lines = s.ledger.around("lot-1", NOW, clock.now() + timedelta(hours=1))
    assert [(line.id, line.amount_fen) for line in lines] == [(f"visit:{order.order.id}", 1500)]


def test_staying_past_the_leave_window_owes_the_difference(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    visit_id = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    assert visit_id is not None
    clock._now = NOW + timedelta(minutes=50)
    provider = FakeProvider()
    order = s.visit_payments.order("o-1", visit_id, Channel.WECHAT, "key-00001", provider, lambda _: provider)
    assert order.order.amount_fen == 500
    s.visit_payments.fulfil(PaymentNotice(order.order.id, "tx-1", 500, clock.now(), True))
    clock._now = NOW + timedelta(minutes=80)  # 30 minutes after paying: a second hour began
    asked = go(s, EXIT, VISITOR, Direction.OUT)
    assert (asked.record.allow, asked.record.fee_fen) == (False, 500)
    again = s.visit_payments.order("o-1", visit_id, Channel.WECHAT, "key-00002", provider, lambda _: provider)
    assert (again.order.visit_fen, again.order.owed_fen) == (500, 0)


def test_the_same_payment_notified_twice_at_once_pays_the_visit_once(lot: Setup) -> None:
    s, go = lot(), Counter()
    visit_id = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    assert visit_id is not None
    s.clock._now = NOW + timedelta(hours=1)  # type: ignore[attr-defined]
    provider = FakeProvider()
    order = s.visit_payments.order("o-1", visit_id, Channel.WECHAT, "key-00001", provider, lambda _: provider).order
    notice = PaymentNotice(order.id, "tx-1", order.amount_fen, s.clock.now(), True)
    outcomes: list[Outcome] = []
    threads = [threading.Thread(target=lambda: outcomes.append(s.visit_payments.fulfil(notice))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([Outcome.FULFILLED] + [Outcome.ALREADY_FULFILLED] * 3)
    visit = s.parking.visit(visit_id)
    assert visit is not None and visit.paid_fen == order.amount_fen == 500


def test_a_new_order_closes_the_waiting_one_so_a_visit_is_never_paid_twice(lot: Setup) -> None:
    s, go = lot(), Counter()
    visit_id = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    assert visit_id is not None
    s.clock._now = NOW + timedelta(hours=1)  # type: ignore[attr-defined]
    provider = FakeProvider()
    first = s.visit_payments.order("o-1", visit_id, Channel.WECHAT, "key-00001", provider, lambda _: provider).order
    second = s.visit_payments.order("o-1", visit_id, Channel.ALIPAY, "key-00002", provider, lambda _: provider).order
    assert first.id in provider.closed and not provider.pay(first, s.clock.now())
    assert s.parking.visit_order(first.id).state.value == "closed"  # type: ignore[union-attr]
    assert s.visit_payments.fulfil(PaymentNotice(second.id, "tx-2", 500, s.clock.now(), True)) is Outcome.FULFILLED


def test_exempt_and_blacklisted_plates_are_explicit_audited_acts_sent_to_the_gates(
    lot: Callable[..., Services],
) -> None:
    s, go = lot(), Counter()
    feed = feed_version(s)
    s.parking_office.add_pass(BOSS, "lot-1", "粤B99999", PassKind.EXEMPT, "救护车", None, None)
    s.parking_office.add_pass(BOSS, "lot-1", "粤B66666", PassKind.BLACKLISTED, "多次冲卡", None, None)
    with pytest.raises(InvalidInput):
        s.parking_office.add_pass(BOSS, "lot-1", "粤B66666", PassKind.BLACKLISTED, " ", None, None)
    with pytest.raises(LotNotFound):
        s.parking_office.add_pass(STRANGER, "lot-1", "粤B66666", PassKind.BLACKLISTED, "x", None, None)
    events = s.feed.since("lot-1", feed, 5)
    assert [(e.kind, e.plate, e.state) for e in events] == [("exempt", "粤B99999", "active"),
                                                           ("blacklisted", "粤B66666", "active")]  # fmt: skip
    assert [a.action for a in s.audit.history("plate:lot-1:粤B66666")] == ["blacklisted_added"]  # type: ignore[attr-defined]
    ambulance = go(s, GATE, "粤B99999", Direction.IN)
    assert (ambulance.record.allow, ambulance.record.kind.value) == (True, "exempt")
    s.clock._now = NOW + timedelta(hours=5)  # type: ignore[attr-defined]
    out = go(s, EXIT, "粤B99999", Direction.OUT)
    assert (out.record.allow, out.record.fee_fen) == (True, 0)
    refused = go(s, GATE, "粤B66666", Direction.IN)
    assert (refused.record.allow, refused.record.kind.value) == (False, "blacklisted")
    assert s.parking.stay("lot-1", "粤B66666").visit_id is None  # refused: it never came in
    s.parking_office.lift_pass(BOSS, "lot-1", "粤B66666", PassKind.BLACKLISTED, "已处理", None)
    assert go(s, GATE, "粤B66666", Direction.IN).record.allow


def test_property_fee_arrears_only_remind_and_an_expired_card_follows_the_lot_policy(
    lot: Callable[..., Services],
) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    s.owners.add(Owner("owner-1", "openid-owner-1", oa_openid="oa-owner-1"))
    card = a_card(date(2026, 12, 6), plates=("粤B12345",))
    add_card(s, card)
    barrier = replace(s.barrier, arrears=lambda c, lot, now: 12_500 if c.id == card.id else 0)
    answer = barrier.passage(GATE, Reported(GATE.id, "a1", "粤B12345", Direction.IN, NOW))
    assert answer.record.allow and answer.record.display == "粤B12345 月卡剩余5天 物业费已欠缴 请及时缴纳"
    assert answer.remind == "物业费已欠缴 请及时缴纳"
    # A push too, at most once a (lot-local) day, however often the car passes.
    barrier.passage(EXIT, Reported(EXIT.id, "a2", "粤B12345", Direction.OUT, NOW))
    assert s.uow.claimed("arrears-push:owner-1:2026-12-01") is not None
    clock._now = NOW + timedelta(days=1)
    barrier.passage(GATE, Reported(GATE.id, "a3", "粤B12345", Direction.IN, clock.now()))
    assert s.uow.claimed("arrears-push:owner-1:2026-12-02") is not None
    if isinstance(s.messenger, FakeMessenger):
        pushed = [(kind, to, data["amount2"]["value"]) for kind, to, data in s.messenger.sent]
        assert pushed == [("template", "oa-owner-1", "125.00元")] * 2
    clock._now = NOW
    expired = a_card(date(2026, 11, 20), plates=("粤B54321",), card_id="card-2")
    add_card(s, expired)
    s.parking_office.set_policy(BOSS, "lot-1", BarrierPolicy(expired_card=ExpiredCard.REFUSE), None)
    refused = go(s, GATE, "粤B54321", Direction.IN)
    assert (refused.record.allow, refused.record.display) == (False, "粤B54321 月卡已过期 请续费")
    s.parking_office.set_policy(BOSS, "lot-1", BarrierPolicy(expired_card=ExpiredCard.VISITOR), None)
    as_visitor = go(s, GATE, "粤B54321", Direction.IN)
    assert (as_visitor.record.allow, as_visitor.record.kind.value) == (True, "visitor")


def test_with_visitor_spaces_full_a_visitor_is_refused_with_full_while_a_card_holder_enters(
    lot: Callable[..., Services],
) -> None:
    s, go = lot(), Counter()
    s.parking_office.set_spaces(BOSS, "lot-1", Spaces(total=10, visitor=1))
    with pytest.raises(InvalidInput):
        s.parking_office.set_spaces(BOSS, "lot-1", Spaces(total=1, visitor=2))
    assert go(s, GATE, VISITOR, Direction.IN).record.allow
    full = go(s, GATE, "粤A22222", Direction.IN)
    assert (full.record.allow, full.record.display) == (False, "满位")
    add_card(s, a_card(date(2027, 1, 31), plates=("粤B12345",)))
    assert go(s, GATE, "粤B12345", Direction.IN).record.allow
    occupancy = s.parking.occupancy("lot-1")
    assert (occupancy.inside, occupancy.visitors) == (2, 1)


def test_visitors_racing_for_the_last_space_take_it_once(lot: Setup) -> None:
    s = lot()
    s.parking_office.set_spaces(BOSS, "lot-1", Spaces(visitor=1))
    answers: list[Answer] = []
    plates = [f"粤A1000{n}" for n in range(4)]

    def come(n: int) -> None:
        answers.append(s.barrier.passage(GATE, Reported(GATE.id, f"r{n}", plates[n], Direction.IN, NOW)))

    threads = [threading.Thread(target=come, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.record.allow for a in answers) == [False, False, False, True]
    assert s.parking.occupancy("lot-1").visitors == 1


def test_the_same_event_again_answers_the_same_decision_and_records_nothing_twice(lot: Setup) -> None:
    s = lot()
    seen = Reported(GATE.id, "evt-1", VISITOR, Direction.IN, NOW, photo="cam-1/20261201/100000-001.jpg")
    answers: list[Answer] = []
    threads = [threading.Thread(target=lambda: answers.append(s.barrier.passage(GATE, seen))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.record.visit_id for a in answers}) == 1
    recorded = s.parking.passage("lot-1", GATE.id, "evt-1")
    assert recorded is not None and recorded.photo == "cam-1/20261201/100000-001.jpg"  # the gate's picture, kept
    assert len(s.parking.visits_on("lot-1", date(2026, 12, 1))) == 1
    assert s.parking.occupancy("lot-1").inside == 1


def test_passages_a_gate_uploads_after_being_offline_pair_into_visits_and_unpaid_ones_are_owed(
    lot: Callable[..., Services],
) -> None:
    clock = FixedClock(NOW + timedelta(hours=5))
    s, go = lot(clock), Counter()
    plates = [f"粤A2000{n}" for n in range(10)]
    for n, plate in enumerate(plates):  # the offline gate let them in, and out an hour (and n minutes) later
        go(s, GATE, plate, Direction.IN, opened=True, at=NOW + timedelta(minutes=n))
    for n, plate in enumerate(plates):
        go(s, GATE, plate, Direction.OUT, opened=True, at=NOW + timedelta(hours=1, minutes=2 * n))
    visits = s.parking.visits_on("lot-1", date(2026, 12, 1))
    assert len(visits) == 10 and all(v.entered_at and v.left_at and v.flag is None for v in visits)
    assert s.parking.occupancy("lot-1").inside == 0
    owing = {stay.plate: stay.owed_fen for stay in s.parking.owing("lot-1")}
    assert owing == {p: 500 if n == 0 else 1000 for n, p in enumerate(plates)}  # 60+n minutes: one hour, or two
    back = go(s, GATE, plates[0], Direction.IN)
    assert back.record.allow and back.record.display == f"{plates[0]} 临时车 欢迎光临 有未缴停车费5.00元"
    s.parking_office.set_policy(BOSS, "lot-1", BarrierPolicy(unpaid_visit=UnpaidVisit.REFUSE), None)
    refused = go(s, GATE, plates[1], Direction.IN)
    assert (refused.record.allow, refused.record.fee_fen) == (False, 1000)


def test_an_exit_with_no_entry_and_two_entries_in_a_row_are_kept_flagged(lot: Setup) -> None:
    s, go = lot(), Counter()
    go(s, EXIT, VISITOR, Direction.OUT, opened=True)
    go(s, GATE, VISITOR, Direction.IN)
    go(s, GATE, VISITOR, Direction.IN)
    flags = sorted(str(v.flag) for v in s.parking.visits_on("lot-1", date(2026, 12, 1)))
    assert flags == sorted([str(Flag.NO_ENTRY), str(Flag.NO_EXIT), "None"])
    assert s.parking.occupancy("lot-1").inside == 1


def test_an_owner_registers_guests_up_to_the_lot_limit_and_a_guest_passes_free(lot: Setup) -> None:
    s, go = lot(), Counter()
    s.parking_office.set_policy(BOSS, "lot-1", BarrierPolicy(), guests_per_month=2)
    today = date(2026, 12, 1)
    with pytest.raises(GuestNotAllowed):  # anyone with WeChat would park free: only the lot's own people invite
        s.visit_payments.register_guest("o-1", "lot-1", "粤C11111", today)
    add_card(s, a_card(date(2027, 1, 31), owner_id="o-1", plates=("粤B12345",)))
    guest = s.visit_payments.register_guest("o-1", "lot-1", "粤C11111", today)
    assert s.visit_payments.register_guest("o-1", "lot-1", "粤C11111", today) == guest
    s.visit_payments.register_guest("o-1", "lot-1", "粤C22222", today + timedelta(days=1))
    with pytest.raises(GuestLimit):
        s.visit_payments.register_guest("o-1", "lot-1", "粤C33333", today)
    with pytest.raises(InvalidInput):
        s.visit_payments.register_guest("o-1", "lot-1", "粤C33333", today - timedelta(days=1))
    came = go(s, GATE, "粤C11111", Direction.IN)
    assert (came.record.allow, came.record.kind.value) == (True, "exempt")
    # The office's exemption of a plate and a guest day of it are kept apart: neither replaces the other.
    s.parking_office.add_pass(BOSS, "lot-1", "粤C22222", PassKind.EXEMPT, "员工", None, None)
    kinds = sorted((p.kind.value, p.starts) for p in s.parking.passes_of("lot-1", "粤C22222"))
    assert kinds == [("exempt", today), ("guest", today + timedelta(days=1))]
    s.owners.add(Owner("o-2", "openid-2"))
    add_card(s, a_card(date(2027, 1, 31), owner_id="o-2", card_id="card-2", plates=("粤B54321",)))
    with pytest.raises(Conflict):  # another owner's day for the same guest plate: refused, not overwritten
        s.visit_payments.register_guest("o-2", "lot-1", "粤C22222", today + timedelta(days=2))


def test_the_sweep_fulfils_a_visit_paid_whose_notification_was_lost_and_closes_one_left_unpaid(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    first = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    second = go(s, GATE, "粤A22222", Direction.IN).record.visit_id
    assert first is not None and second is not None
    clock._now = NOW + timedelta(hours=1)
    provider = FakeProvider()
    paid = s.visit_payments.order("o-1", first, Channel.WECHAT, "key-00001", provider, lambda _: provider).order
    left = s.visit_payments.order("o-1", second, Channel.WECHAT, "key-00002", provider, lambda _: provider).order
    assert provider.pay(paid, clock.now())  # paid; its notification never comes
    clock._now += timedelta(minutes=16)
    report = s.visit_payments.sweep(lambda _: provider, timedelta(minutes=1))
    assert (report.fulfilled, report.closed) == ([paid.id], [left.id])
    assert s.parking.visit(first).paid_fen == 500  # type: ignore[union-attr]
    assert left.id in provider.closed and s.uow.claimed(f"visit-unpaid:{second}") is None
    again = s.visit_payments.sweep(lambda _: provider, timedelta(minutes=1))
    assert (again.fulfilled, again.closed, again.waiting) == ([], [], [])


class _Statement:
    def __init__(self, lines: list[StatementLine]) -> None:
        self.lines = lines

    def statement(self, day: date) -> list[StatementLine]:
        return self.lines


def test_the_reconciliation_fulfils_a_visit_paid_whose_notification_and_queries_were_lost(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    visit_id = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    assert visit_id is not None
    clock._now = NOW + timedelta(hours=1)
    provider = FakeProvider()
    order = s.visit_payments.order("o-1", visit_id, Channel.WECHAT, "key-00001", provider, lambda _: provider).order
    statement = [StatementLine(LineKind.PAYMENT, order.id, "tx-lost", order.amount_fen, clock.now())]
    day = clock.now().astimezone(PROVIDER_ZONE).date()
    result = reconcile_day(Channel.WECHAT, day, _Statement(statement), s.reconciling)
    assert [(d.kind, d.order_id, d.repaired, d.lot_id) for d in result.differences] == [
        (DifferenceKind.UNFULFILLED, order.id, True, "lot-1")
    ]
    assert s.parking.visit(visit_id).paid_fen == 500  # type: ignore[union-attr]
    again = reconcile_day(Channel.WECHAT, day, _Statement(statement), s.reconciling)
    assert [d.repaired for d in again.differences] == [True]  # kept; nothing paid twice
    assert s.parking.visit(visit_id).paid_fen == 500  # type: ignore[union-attr]


def test_a_visitor_made_exempt_while_inside_leaves_free_and_owes_nothing(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    go(s, GATE, VISITOR, Direction.IN)
    clock._now = NOW + timedelta(hours=3)
    s.parking_office.add_pass(BOSS, "lot-1", VISITOR, PassKind.EXEMPT, "来访维修", None, None)
    out = go(s, EXIT, VISITOR, Direction.OUT)
    assert (out.record.allow, out.record.kind.value) == (True, "exempt")
    assert s.parking.stay("lot-1", VISITOR).owed_fen == 0 and s.parking.owing("lot-1") == []


def test_a_car_refused_for_its_debts_is_shown_where_to_pay_them_and_comes_in_once_paid(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    s.parking_office.set_policy(BOSS, "lot-1", BarrierPolicy(unpaid_visit=UnpaidVisit.REFUSE), None)
    went_in = go(s, GATE, VISITOR, Direction.IN).record.visit_id
    clock._now = NOW + timedelta(hours=3)
    go(s, EXIT, VISITOR, Direction.OUT, opened=True)  # let out unpaid by a gate deciding alone: 1,500 owed
    clock._now = NOW + timedelta(days=1)
    refused = go(s, GATE, VISITOR, Direction.IN)
    assert (refused.record.allow, refused.record.fee_fen, refused.record.visit_id) == (False, 1500, went_in)
    assert refused.pay_path == f"/pages/visit/pay?lot_id=lot-1&visit_id={went_in}"
    now = s.visit_payments.current("lot-1", VISITOR)
    assert (now.visit.id, now.owed_fen, now.due_fen) == (went_in, 1500, 1500)
    provider = FakeProvider()
    assert went_in is not None
    order = s.visit_payments.order("o-1", went_in, Channel.WECHAT, "key-00001", provider, lambda _: provider).order
    assert (order.visit_fen, order.owed_fen) == (0, 1500)
    s.visit_payments.fulfil(PaymentNotice(order.id, "tx-1", 1500, clock.now(), True))
    assert s.parking.stay("lot-1", VISITOR).owed_fen == 0
    assert go(s, GATE, VISITOR, Direction.IN).record.allow


def test_a_car_let_through_though_refused_parks_as_a_visitor_and_pays(lot: Setup) -> None:
    clock = FixedClock(NOW)
    s, go = lot(clock), Counter()
    s.parking_office.add_pass(BOSS, "lot-1", VISITOR, PassKind.BLACKLISTED, "多次冲卡", None, None)
    go(s, GATE, VISITOR, Direction.IN, opened=True)  # the guard lifted the barrier by hand
    clock._now = NOW + timedelta(hours=3)
    out = go(s, EXIT, VISITOR, Direction.OUT, opened=True)
    visit = s.parking.visit(out.record.visit_id or "")
    assert visit is not None and (visit.kind.value, visit.fee_fen) == ("visitor", 1500)
    assert s.parking.stay("lot-1", VISITOR).owed_fen == 1500


def test_a_passage_from_a_gate_whose_clock_is_wrong_is_refused_and_stores_nothing(lot: Setup) -> None:
    s = lot()
    for at in (NOW + timedelta(days=365), NOW + timedelta(minutes=6), NOW - timedelta(days=31)):
        with pytest.raises(InvalidInput):
            s.barrier.passage(GATE, Reported(GATE.id, f"skew-{at:%s}", VISITOR, Direction.IN, at))
    assert s.parking.stay("lot-1", VISITOR).version == 0 and s.parking.occupancy("lot-1").inside == 0
    late = s.barrier.passage(GATE, Reported(GATE.id, "late", VISITOR, Direction.IN, NOW - timedelta(days=29), True))
    assert late.record.visit_id is not None  # an upload of a month's offline gate is still taken


def test_a_lot_counting_only_its_total_shows_its_free_spaces_and_is_full_when_they_are_taken(lot: Setup) -> None:
    s, go = lot(), Counter()
    s.parking_office.set_spaces(BOSS, "lot-1", Spaces(total=2, visitor=None))
    assert s.parking.occupancy("lot-1").visitor_spaces_free(Spaces(total=2)) == 2
    add_card(s, a_card(date(2027, 1, 31), plates=("粤B12345",)))
    assert go(s, GATE, "粤B12345", Direction.IN).record.allow
    assert go(s, GATE, VISITOR, Direction.IN).record.allow
    full = go(s, GATE, "粤A22222", Direction.IN)
    assert (full.record.allow, full.record.display) == (False, "满位")


def test_a_fee_rule_in_force_is_never_edited_and_every_setup_change_is_audited(lot: Setup) -> None:
    s = lot()
    with pytest.raises(InvalidInput):  # today's rule prices the cars inside already
        s.parking_office.set_visitor_fee(BOSS, "lot-1", replace(RULE, price_fen=800))
    tomorrow = replace(RULE, starts=date(2026, 12, 2), price_fen=800)
    assert s.parking_office.set_visitor_fee(BOSS, "lot-1", tomorrow) == [RULE, tomorrow]
    s.parking_office.set_spaces(BOSS, "lot-1", Spaces(total=10, visitor=3))
    s.parking_office.set_spaces(BOSS, "lot-1", Spaces(total=10, visitor=3))  # the same again: nothing changed
    actions = sorted(e.action for e in s.audit.history("parking:lot-1"))  # type: ignore[attr-defined]
    assert actions == ["spaces_set", "visitor_fee_set", "visitor_fee_set"]
