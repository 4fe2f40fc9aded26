"""Property fees through the handlers, in memory: records, a run, publishing with a balance, an owner's order paid
exactly once (twice, at once, late), the till, a refund, arrears and the collection rate."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.admin import Role, Staff
from domain.bill_order import BALANCE
from domain.bill_run import BillState, FeeItem, FeeKind, Unit
from domain.community import Meter, ReadingKind, Split, Vacancy
from domain.errors import BillInOrder, BillNotFound, BillNotPayable, Conflict, InvalidInput
from domain.fee_rules import Band, LateFeeRule, PricePoint
from domain.order import Channel
from domain.owner import Owner
from domain.reconciliation import PROVIDER_ZONE, DifferenceKind, LineKind, StatementLine
from functions.bootstrap import Services
from handlers.bill_reminders import BILL_TEMPLATE, BillReminding
from handlers.bill_reports import community_arrears, community_collection
from handlers.fulfil_payment import Outcome
from handlers.ports import PaymentNotice
from handlers.reconcile import reconcile_day
from tests.builders import a_lot
from tests.fakes import FixedClock, NoPayments, fake_services, memory_of

NOW = datetime(2027, 1, 20, 2, tzinfo=UTC)  # 10:00 in Beijing
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password 1")
CASHIER = Staff("till@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$a long password 1")
STRANGER = Staff("boss@t2.cn", "t2", Role.TENANT_ADMIN, frozenset(), "plain$a long password 1")
PHONE = "13900000001"


def community(s: Services) -> None:
    s.lots.add(replace(a_lot(), tenant_id="t1"))
    s.records.add_community(BOSS, "c1", "幸福小区", ["lot-1"])
    for uid, number, area, phones in (("u1", "101", 8850, [PHONE]), ("u2", "102", 10000, []),
                                      ("u3", "103", 5000, ["13900000003"])):  # fmt: skip
        s.records.add_unit(BOSS, Unit(uid, "c1", "1栋", number, area), phones)
    late = LateFeeRule(Decimal("0.0005"), 15, Decimal("0.30"))
    s.records.add_fee_item(BOSS, FeeItem("mgmt", "c1", "物业费", FeeKind.AREA, (PricePoint(date(2027, 1, 1), 250),),
                                         due_day=None, late_fee=late, vacancy_rate=Decimal("0.50")))  # fmt: skip
    bands = (Band(Decimal(10), 300), Band(Decimal(20), 450), Band(None, 600))
    s.records.add_fee_item(BOSS, FeeItem("water", "c1", "水费", FeeKind.METERED, bands=bands, meter="water"))
    s.records.add_meter(BOSS, Meter("w1", "c1", "water", "u1"))
    s.records.add_meter(BOSS, Meter("w2", "c1", "water", "u2"))
    s.records.add_meter(BOSS, Meter("master", "c1", "water", None, Split.EQUAL, ("u1", "u2", "u3"), ("w1", "w2")))
    for meter, before, after in (("w1", "100", "123"), ("w2", "50", "55"), ("master", "1000", "1038")):
        s.records.add_reading(BOSS, meter, date(2026, 12, 31), Decimal(before), ReadingKind.NORMAL, None)
        s.records.add_reading(BOSS, meter, date(2027, 1, 20), Decimal(after), ReadingKind.NORMAL, None)


def owner(s: Services, phone: str = PHONE) -> str:
    s.owners.add(Owner("o-1", "openid-1", phone=phone))
    return "o-1"


def notice(order_id: str, fen: int, at: datetime = NOW) -> PaymentNotice:
    return PaymentNotice(order_id, f"tx-{order_id}", fen, at, True)


@pytest.fixture
def s() -> Services:
    services = fake_services(NOW)
    community(services)
    return services


def test_a_run_drafts_each_bill_once_with_the_issue_s_amounts(s: Services) -> None:
    run, made = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    amounts = {(b.fee_item_id, b.unit_id): b.amount_fen for b in made}
    assert amounts[("mgmt", "u1")] == 22_125  # 250 fen/m² x 88.50 m²
    # u1: 23 units -> 3,000 + 4,500 + 1,800, and a third of the shared 10 units (3,000 fen): 1,000
    assert amounts[("water", "u1")] == 9_300 + 1_000
    assert amounts[("water", "u3")] == 1_000  # no meter of its own: its share only
    assert run.total_fen == sum(amounts.values())
    again, none = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    assert none == [] and again.total_fen == 0
    assert all(b.state is BillState.DRAFT for b in made)


def test_an_owner_pays_two_bills_in_one_order_exactly_once_even_at_once(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    mine = [b for b in s.billing.bills_of_unit("u1")]
    made = s.bill_payments.order_bills(me, [b.id for b in mine], Channel.WECHAT, "key-00001", NoPayments())
    assert made.order.amount_fen == 22_125 + 10_300
    assert (
        s.bill_payments.order_bills(me, [b.id for b in mine], Channel.WECHAT, "key-00001", NoPayments()).order
        == made.order
    )
    with pytest.raises(BillInOrder):
        s.bill_payments.order_bills(me, [mine[0].id], Channel.WECHAT, "key-00002", NoPayments())

    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(s.bill_payments.fulfil(notice(made.order.id, made.order.amount_fen)))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(Outcome.FULFILLED) == 1 and outcomes.count(Outcome.ALREADY_FULFILLED) == 7
    db = memory_of(s)
    assert sorted(e.amount_fen for e in db.ledger.values()) == [10_300, 22_125]
    assert all(db.bills[b.id].state is BillState.PAID for b in mine)
    assert s.uow.claimed(f"bill-unpaid:{mine[0].id}") is None


def test_a_late_payment_carries_its_late_fee_and_freezes_it(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    bill = next(b for b in s.billing.bills_of_unit("u1"))
    payments = replace(s.bill_payments, clock=FixedClock(datetime(2027, 3, 17, 2, tzinfo=UTC)))
    made = payments.order_bills(me, [bill.id], Channel.WECHAT, "key-late-1", NoPayments())
    assert made.order.amount_fen == 22_125 + 332  # 30 days late at 0.05% a day
    assert payments.fulfil(notice(made.order.id, made.order.amount_fen)) is Outcome.FULFILLED
    paid = s.billing.bill(bill.id)
    assert paid is not None and paid.late_fee_fen == 332 and paid.paid_fen == 22_457


def test_money_for_a_bill_paid_meanwhile_goes_to_the_balance(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    bill = next(b for b in s.billing.bills_of_unit("u1"))
    made = s.bill_payments.order_bills(me, [bill.id], Channel.WECHAT, "key-00003", NoPayments())
    s.bill_payments.close(made.order)
    s.bill_payments.take_at_office(CASHIER, [bill.id], Channel.CASH, "till-0001")
    assert s.bill_payments.fulfil(notice(made.order.id, made.order.amount_fen)) is Outcome.FULFILLED
    assert s.billing.balance("u1") == 22_125
    assert s.billing.bill_order(made.order.id).credited == "u1"  # type: ignore[union-attr]


def test_publishing_pays_from_the_balance_oldest_first_never_below_zero(s: Services) -> None:
    me = owner(s)
    prepaid = s.bill_payments.prepay(me, "u1", 25_000, Channel.WECHAT, "prepay-01", NoPayments())
    assert s.bill_payments.fulfil(notice(prepaid.order.id, 25_000)) is Outcome.FULFILLED
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    s.bill_runs.publish(BOSS, run.id)
    states = {b.fee_item_id: (b.state, b.order_id) for b in s.billing.bills_of_unit("u1")}
    # Both are due on Jan 31; the balance pays whole bills in order (mgmt, 22,125) and stops at the first not covered.
    assert states["mgmt"] == (BillState.PAID, BALANCE)
    assert states["water"][0] is BillState.UNPAID
    assert s.billing.balance("u1") == 25_000 - 22_125
    s.bill_runs.publish(BOSS, run.id)  # twice: nothing more
    assert s.billing.balance("u1") == 25_000 - 22_125


def test_the_till_a_refund_arrears_and_collection(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.publish(BOSS, run.id)
    u2 = next(b for b in s.billing.bills_of_unit("u2"))
    order = s.bill_payments.take_at_office(CASHIER, [u2.id], Channel.CASH, "till-0002")
    assert s.bill_payments.take_at_office(CASHIER, [u2.id], Channel.CASH, "till-0002") == order  # a double click
    with pytest.raises(BillNotPayable):
        s.bill_payments.take_at_office(CASHIER, [u2.id], Channel.CASH, "till-0003")
    items, _ = community_collection(BOSS, "c1", "2027-01", s.billing)
    assert [(c.billed_fen, c.paid_fen) for c in items] == [(22_125 + 25_000 + 12_500, 25_000)]

    at_march = FixedClock(datetime(2027, 3, 17, 2, tzinfo=UTC))
    report = community_arrears(BOSS, "c1", s.billing, at_march)
    assert [(a.unit_id, a.principal_fen, a.late_fee_fen) for a in report.rows] == [("u1", 22_125, 332),
                                                                                   ("u3", 12_500, 188)]  # fmt: skip
    refunded = s.bill_payments.refund(BOSS, u2.id, "重复收费", s.provider)
    assert refunded.state is BillState.REFUNDED
    assert sum(e.amount_fen for e in memory_of(s).ledger.values()) == 0
    assert s.bill_payments.refund(BOSS, u2.id, "重复收费", s.provider).state is BillState.REFUNDED


def test_scope_readings_and_vacancies(s: Services) -> None:
    with pytest.raises(BillNotFound):
        s.bill_runs.run(STRANGER, "c1", "2027-01", ["mgmt"])
    with pytest.raises(InvalidInput) as refused:
        s.records.add_reading(BOSS, "w2", date(2027, 2, 28), Decimal("100"), ReadingKind.NORMAL, None)
    assert refused.value.text("zh") == "抄表日期 2027-02-28 还没到"  # the clock is at Jan 20
    s.clock._now = datetime(2027, 2, 28, 2, tzinfo=UTC)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput) as refused:
        s.records.add_reading(BOSS, "w1", date(2027, 2, 28), Decimal("100"), ReadingKind.NORMAL, None)
    assert "123" in refused.value.text("zh")
    with pytest.raises(InvalidInput) as refused:  # a rollover needs the meter's digits
        s.records.add_reading(BOSS, "w1", date(2027, 2, 28), Decimal("4"), ReadingKind.ROLLOVER, None)
    assert "位数" in refused.value.text("zh")
    replaced = s.records.add_reading(BOSS, "w1", date(2027, 2, 28), Decimal("4"), ReadingKind.REPLACEMENT,
                                     Decimal("130"))  # fmt: skip
    assert replaced.use == Decimal("11")
    s.records.add_meter(BOSS, Meter("w9", "c1", "water", "u3", digits=4))
    s.records.add_reading(BOSS, "w9", date(2027, 2, 1), Decimal("9990"), ReadingKind.NORMAL, None)
    turned = s.records.add_reading(BOSS, "w9", date(2027, 2, 28), Decimal("5"), ReadingKind.ROLLOVER, None)
    assert turned.use == Decimal("15")  # 9990 -> 9999 -> 0000 -> 0005
    vacancy = s.records.apply_vacancy(BOSS, Vacancy("v1", "", "u2", date(2027, 1, 1), date(2027, 1, 31), "出国"))
    s.records.decide_vacancy(BOSS, vacancy.id, approve=True)
    _, made = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    u2 = next(b for b in made if b.unit_id == "u2")
    assert u2.amount_fen == 12_500 and [x.kind for x in u2.lines] == ["base", "vacancy"]


class _Statement:
    def __init__(self, lines: list[StatementLine]) -> None:
        self.lines = lines

    def statement(self, day: date) -> list[StatementLine]:
        return self.lines


def test_reconciliation_matches_a_two_bill_order_and_pays_a_lost_one(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    s.records.add_unit(BOSS, Unit("u5", "c1", "2栋", "201", 6000), [PHONE])
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])  # u5's, added since
    s.bill_runs.publish(BOSS, run.id)
    u1 = [b.id for b in s.billing.bills_of_unit("u1")]
    u5 = [b.id for b in s.billing.bills_of_unit("u5")]
    both = s.bill_payments.order_bills(me, u1, Channel.WECHAT, "recon-0001", NoPayments()).order
    lost = s.bill_payments.order_bills(me, u5, Channel.WECHAT, "recon-0002", NoPayments()).order
    s.bill_payments.fulfil(notice(both.id, both.amount_fen))
    statement = [
        StatementLine(LineKind.PAYMENT, both.id, f"tx-{both.id}", both.amount_fen, NOW),  # one line for two bills
        StatementLine(LineKind.PAYMENT, lost.id, "tx-lost", lost.amount_fen, NOW),
    ]
    day = NOW.astimezone(PROVIDER_ZONE).date()
    result = reconcile_day(Channel.WECHAT, day, _Statement(statement), s.reconciling)
    assert [(d.kind, d.order_id, d.repaired, d.lot_id) for d in result.differences] == [
        (DifferenceKind.UNFULFILLED, lost.id, True, "community:c1")
    ]
    assert len(u1) == 2 and all(b.state is BillState.PAID for b in s.billing.bills(u5))
    again = reconcile_day(Channel.WECHAT, day, _Statement(statement), s.reconciling)
    assert [d.repaired for d in again.differences] == [True]  # the repair is kept; nothing is paid twice
    assert sum(e.amount_fen for e in memory_of(s).ledger.values()) == both.amount_fen + lost.amount_fen


def test_bill_reminders_go_once_to_the_unit_s_owners_while_unpaid(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    s.owners.add(Owner("o-2", "openid-2", phone="13800000001"))  # same last 4 digits, another number: not theirs
    for _ in range(3):
        s.consents.record(me, BILL_TEMPLATE)
    reminding = BillReminding(s.billing, s.owners, s.sealer, s.consents, s.messenger)
    assert reminding.owners_of("u1") == [me]

    def tick(day: str) -> tuple[list[str], list[str]]:
        report = reminding.send_due(datetime.fromisoformat(f"{day}T10:05:00+08:00"))
        return report.sent, sorted(report.skipped)

    assert tick("2027-01-27") == ([], [])
    # 3 days before Jan 31; u2 and u3 have no owner in the mini-program yet: nobody to remind
    assert tick("2027-01-28") == (["bill-mgmt-u1-2027-01#3"], ["bill-mgmt-u2-2027-01#3", "bill-mgmt-u3-2027-01#3"])
    assert tick("2027-01-28") == ([], [])  # once
    sent = [data for kind, openid, data in s.messenger.sent if openid == "openid-1"]  # type: ignore[attr-defined]
    assert sent[0]["thing4"]["value"] == "3 天后到期 点击缴费" and sent[0]["amount2"]["value"] == "221.25元"
    assert sent[0]["thing1"]["value"] == "幸福小区 1栋101"
    s.bill_payments.take_at_office(CASHIER, ["bill-mgmt-u1-2027-01"], Channel.CASH, "till-remind")
    assert tick("2027-02-01")[0] == []  # paid: skipped
    s.owners.add(Owner("o-3", "openid-3", phone="13900000003"))  # u3's owner binds the phone
    s.consents.record("o-3", BILL_TEMPLATE)
    # 7 days overdue: u1 paid (skipped), u2 nobody to tell, u3 now told
    assert tick("2027-02-07") == (["bill-mgmt-u3-2027-01#-7"], ["bill-mgmt-u1-2027-01#-7", "bill-mgmt-u2-2027-01#-7"])


def test_an_owner_applies_for_a_vacancy_once_per_key_and_the_office_approves_it(s: Services) -> None:
    me = owner(s)
    january = (date(2027, 1, 1), date(2027, 1, 31))
    first = s.bill_payments.apply_for_vacancy(me, "u1", *january, "出国", "vac-key-1")
    assert s.bill_payments.apply_for_vacancy(me, "u1", *january, "出国", "vac-key-1") == first
    assert len(s.billing.vacancies("c1")) == 1
    with pytest.raises(BillNotFound):  # not their unit
        s.bill_payments.apply_for_vacancy(me, "u2", date(2027, 1, 1), date(2027, 1, 31), "出国", "vac-key-2")
    s.records.decide_vacancy(BOSS, first.id, approve=True)
    _, made = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    u1 = next(b for b in made if b.unit_id == "u1")
    assert u1.amount_fen == 11_063  # 22,125 at half for all 31 days, rounded once


def test_a_key_sent_again_for_other_bills_is_refused(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    mgmt, water = sorted(b.id for b in s.billing.bills_of_unit("u1"))
    s.bill_payments.order_bills(me, [mgmt], Channel.WECHAT, "key-reuse-1", NoPayments())
    with pytest.raises(Conflict) as refused:
        s.bill_payments.order_bills(me, [water], Channel.WECHAT, "key-reuse-1", NoPayments())
    assert refused.value.key == "idempotency_key_reused"
    s.bill_payments.take_at_office(CASHIER, [water], Channel.CASH, "till-reuse")
    with pytest.raises(Conflict):
        s.bill_payments.take_at_office(CASHIER, [water], Channel.POS, "till-reuse")


def test_a_closed_order_paid_late_while_another_order_holds_its_bill_keeps_the_money_as_balance(s: Services) -> None:
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    s.bill_runs.publish(BOSS, run.id)
    me = owner(s)
    bill, water = sorted(b.id for b in s.billing.bills_of_unit("u1"))
    first = s.bill_payments.order_bills(me, [bill], Channel.WECHAT, "late-one-1", NoPayments()).order
    assert s.bill_payments.close(first)
    second = s.bill_payments.order_bills(me, [bill], Channel.WECHAT, "late-one-2", NoPayments()).order
    assert s.bill_payments.fulfil(notice(first.id, first.amount_fen)) is Outcome.FULFILLED  # the first, paid late
    assert s.billing.balance("u1") == 22_125 and s.billing.bill(bill).state is BillState.UNPAID  # type: ignore[union-attr]
    assert s.uow.claimed(f"bill-unpaid:{bill}").order_id == second.id  # type: ignore[union-attr]
    assert s.bill_payments.fulfil(notice(second.id, second.amount_fen)) is Outcome.FULFILLED
    assert s.billing.bill(bill).state is BillState.PAID  # type: ignore[union-attr]
    # A closed order paid late while its bill is still free pays the bill.
    third = s.bill_payments.order_bills(me, [water], Channel.WECHAT, "late-one-3", NoPayments()).order
    assert s.bill_payments.close(third)
    assert s.bill_payments.fulfil(notice(third.id, third.amount_fen)) is Outcome.FULFILLED
    assert s.billing.bill(water).state is BillState.PAID and s.billing.balance("u1") == 22_125  # type: ignore[union-attr]


def test_the_barrier_reminds_of_arrears_owed_to_its_own_office_only_by_the_lot_s_day(s: Services) -> None:
    """A card holder's units in the communities of the lot: their bills past due by the lot's day. Another
    company's receivables (a unit of the same phone elsewhere) are never shown at this barrier."""
    from domain.card import Card, CardState
    from handlers.passages import property_arrears

    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.publish(BOSS, run.id)  # due Jan 31
    me = owner(s)
    card = Card("card-1", "lot-1", me, ("粤B12345",), date(2027, 1, 1), date(2027, 3, 31), CardState.ACTIVE)
    owes = property_arrears(s.billing, s.owners, s.sealer)
    lot = s.lots.get("lot-1")
    assert lot is not None
    assert owes(card, lot, datetime(2027, 1, 31, 15, tzinfo=UTC)) == 0  # 23:00 Jan 31 in Beijing: not yet past due
    assert owes(card, lot, datetime(2027, 1, 31, 16, tzinfo=UTC)) == 22_125  # 00:00 Feb 1 in Beijing (UTC: Jan 31)
    elsewhere = replace(lot, id="lot-9", tenant_id="t2")
    memory_of(s).lots["lot-9"] = elsewhere
    assert owes(replace(card, lot_id="lot-9"), elsewhere, datetime(2027, 2, 10, tzinfo=UTC)) == 0
