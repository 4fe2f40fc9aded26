"""Races and edges found by reviewing the one commit path, each pinned over the in-memory store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.admin import Role, Staff
from domain.application import ApplicationState
from domain.card import Card, CardState
from domain.errors import RenewalNotAllowed
from domain.lot import Approval, CardPolicy, Lot
from domain.order import Channel, OrderState
from domain.owner import Owner
from domain.plan import Claim
from functions.bootstrap import Services
from handlers.applications import apply_for_card
from handlers.card_jobs import cancel_card, restore_card, run_card_jobs
from handlers.fulfil_payment import Outcome, PaymentNotice, fulfil_payment
from handlers.import_cards import import_rows
from handlers.office_keys import FormKey
from handlers.renewals import close_unpaid, order_renewal
from tests.builders import add_card, months
from tests.fakes import FixedClock, NoPayments, fake_services
from tests.memory import MemoryUnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CARD = Card("card-1", "lot-1", "owner-0", ("粤B10001",), date(2026, 1, 1), date(2026, 12, 31), CardState.ACTIVE)
MANAGER = Staff("manager@t1.cn", "t1", Role.LOT_MANAGER, frozenset({"lot-1"}), "-")


def services(**policy: object) -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "Test Lot", quota=5, tenant_id="t1", cards=CardPolicy(**policy)))  # type: ignore[arg-type]
    s.packages.add(months(1))
    for n in range(3):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}"))
    return s


def order(s: Services, key: str, channel: Channel = Channel.WECHAT) -> str:
    return order_renewal(
        "owner-0", "card-1", "m1", channel, key,
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=NoPayments(), ids=s.ids, clock=s.clock,
    ).order.id  # fmt: skip


def uow(s: Services) -> MemoryUnitOfWork:
    assert isinstance(s.uow, MemoryUnitOfWork)
    return s.uow


def test_a_payment_for_an_order_closed_meanwhile_is_honoured_while_a_newer_order_waits() -> None:
    s = services()
    add_card(
        s, Card("card-1", "lot-1", "owner-0", ("粤B10001",), date(2026, 1, 1), date(2026, 12, 31), CardState.ACTIVE)
    )
    first = order(s, "first-order")
    notice = PaymentNotice(first, "tx-1", 300_00, NOW, True)
    race = iter([True])

    def the_sweep_closes_it_and_the_owner_orders_again() -> None:
        if next(race, False):
            stored = s.orders.get(first)
            assert stored is not None and close_unpaid(stored, s.uow)
            order(s, "second-order")

    uow(s).before_commit = the_sweep_closes_it_and_the_owner_orders_again
    assert fulfil_payment(notice, s.orders, s.cards, s.uow) is Outcome.FULFILLED
    assert s.orders.get(first).state is OrderState.PAID  # type: ignore[union-attr]
    assert s.cards.get("card-1").valid_until == date(2027, 1, 31)  # type: ignore[union-attr]
    waiting = s.orders.waiting_for("card-1")
    assert waiting is not None and waiting.id != first and waiting.state is OrderState.PENDING


def test_an_order_for_a_card_cancelled_after_its_quote_is_refused() -> None:
    s = services()
    add_card(
        s, Card("card-1", "lot-1", "owner-0", ("粤B10001",), date(2026, 1, 1), date(2026, 12, 31), CardState.ACTIVE)
    )
    race = iter([True])

    def the_office_cancels_it() -> None:
        if next(race, False):
            cancel_card("card-1", "admin:m", "退租", s.card_life)

    uow(s).before_commit = the_office_cancels_it
    with pytest.raises(RenewalNotAllowed) as refused:
        order(s, "after-cancel")
    assert refused.value.code == "card_cancelled"
    assert s.orders.waiting_for("card-1") is None and s.orders.for_card("card-1") == []


def test_two_rows_with_one_plate_in_one_slice_import_one_card_and_name_the_other_row() -> None:
    s = services()
    rows = [
        {"plates": "粤B10001", "valid_from": "2026-01-01", "valid_until": "2026-12-31"},
        {"plates": "粤B20002/粤B10001", "valid_from": "2026-01-01", "valid_until": "2027-01-31"},
    ]
    report = import_rows(MANAGER, "lot-1", 2, rows, s.cards, s.lots, s.uow, s.clock, s.sealer)
    assert (report.created, [n for n, _ in report.errors]) == (1, [3])
    (card,) = s.cards.list_for_lot("lot-1")
    assert card.plates == ("粤B10001",) and s.cards.card_for_plate("lot-1", "粤B10001") == card
    assert s.cards.card_for_plate("lot-1", "粤B20002") is None and s.lots.get("lot-1").held == 1  # type: ignore[union-attr]


def test_a_restored_lapsed_card_is_to_be_paid_for_again_and_its_application_approved() -> None:
    s = services(approval=Approval.AUTO, pay_within_days=2)
    applied = apply_for_card(
        "owner-1", "lot-1", ["粤B30003"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock,
        s.notices, s.cards,
    )  # fmt: skip
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # past its pay-by day, Nov 25
    assert run_card_jobs(s.card_queries, s.card_life).lapsed == [applied.card_id]
    assert s.applications.get(applied.id).state is ApplicationState.LAPSED  # type: ignore[union-attr]
    back = restore_card(applied.card_id or "", "admin:m", "业主已补缴", s.card_life)
    assert back.state is CardState.PENDING and back.pay_by == date(2026, 11, 29)
    assert s.applications.get(applied.id).state is ApplicationState.APPROVED  # type: ignore[union-attr]
    clock._now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert run_card_jobs(s.card_queries, s.card_life).lapsed == [applied.card_id]  # not paid again: lapses again
    assert s.lots.get("lot-1").held == 0  # type: ignore[union-attr]


def test_a_form_sent_twice_answers_the_card_its_twin_wrote_even_when_that_commits_after_this_ones_read() -> None:
    s = services()
    add_card(s, CARD)
    key = FormKey("admin:manager@t1.cn", "cancel-form-01")
    race = iter([True])
    ask = uow(s).claimed

    def the_twin_commits_first(name: str) -> Claim | None:
        if next(race, False):  # after this request read the card, before it asks for the form's key
            assert cancel_card("card-1", "admin:manager@t1.cn", "退租", s.card_life, key).state is CardState.CANCELLED
        return ask(name)

    uow(s).claimed = the_twin_commits_first  # type: ignore[method-assign]
    assert cancel_card("card-1", "admin:manager@t1.cn", "退租", s.card_life, key).state is CardState.CANCELLED
    assert s.lots.get("lot-1").held == 0  # type: ignore[union-attr]
