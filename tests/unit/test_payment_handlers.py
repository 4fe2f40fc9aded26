"""Package offers, renewal orders and exactly-once fulfilment over in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.card import CardState
from domain.errors import (
    CardNotFound,
    InvalidInput,
    OrderNotFound,
    PaymentRejected,
    RenewalNotAllowed,
    UnpaidOrderExists,
)
from domain.lot import Lot, RenewalPolicy
from domain.order import Channel, OrderState, RefundState, payment_reference, referenced
from domain.owner import Owner
from functions.bootstrap import Services
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.ports import PaymentNotice, PaymentStatus
from handlers.renewals import OrderToPay, my_order, offers_for_card, order_renewal
from tests.builders import a_card, add_card, days, months
from tests.fakes import fake_services, memory_of
from tests.memory import MemoryUnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 on Nov 23 in Shanghai


class RecordingProvider:
    def __init__(self) -> None:
        self.prepaid: list[str] = []

    def prepay(self, order: object, payer_id: str) -> dict[str, str]:
        self.prepaid.append(payer_id)
        return {"package": "prepay_id=test"}

    def query(self, order: object) -> PaymentStatus:
        return PaymentStatus(paid=False)

    def close(self, order: object) -> None:
        pass

    def refund(self, order: object, refund_no: str, amount_fen: int | None = None) -> RefundState:
        return RefundState.SUCCEEDED

    def refund_state(self, order: object, refund_no: str) -> RefundState:
        return RefundState.SUCCEEDED


@pytest.fixture
def s() -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot(id="lot-1", name="东门", policy=RenewalPolicy(max_months_ahead=12)))
    for p in (months(1, 300_00), months(3, 850_00), months(12, 3_200_00), days(10, 120_00)):
        s.packages.add(p)
    s.owners.add(Owner("owner-1", "openid-1"))
    add_card(s, a_card(date(2026, 12, 3)))
    return s


def order(s: Services, package_id: str = "m3", key: str = "key-00001", owner_id: str = "owner-1") -> OrderToPay:
    return order_renewal(
        owner_id, "card-1", package_id, Channel.WECHAT, key,
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=RecordingProvider(), ids=s.ids, clock=s.clock,
    )  # fmt: skip


def paid(s: Services, order_id: str, amount_fen: int | None = None, at: datetime = NOW) -> PaymentNotice:
    o = s.orders.get(order_id)
    assert o is not None
    return PaymentNotice(order_id, f"tx-{order_id}", o.amount_fen if amount_fen is None else amount_fen, at, True)


def fulfil(s: Services, notice: PaymentNotice) -> Outcome:
    return fulfil_payment(notice, s.orders, s.cards, s.uow)


def test_offers_show_every_package_with_its_period_and_why_not(s: Services) -> None:
    offers = {o.package.id: o.quote for o in offers_for_card("owner-1", "card-1", s.cards, s.lots, s.packages, s.clock)}
    assert offers["m3"].new_valid_until == date(2027, 3, 3) and offers["m3"].allowed
    assert not offers["m12"].allowed and offers["m12"].limit == date(2027, 11, 23)
    with pytest.raises(CardNotFound):
        offers_for_card("owner-2", "card-1", s.cards, s.lots, s.packages, s.clock)


def test_an_order_is_priced_by_the_server_and_the_key_answers_the_same_order(s: Services) -> None:
    first = order(s)
    assert (first.order.amount_fen, first.order.quoted_until) == (850_00, date(2027, 3, 3))
    assert first.payment == {"package": "prepay_id=test"}
    assert order(s).order.id == first.order.id  # a retry with the same key


def test_one_unpaid_order_per_card(s: Services) -> None:
    order(s)
    with pytest.raises(UnpaidOrderExists):
        order(s, "m1", key="key-00002")


def test_a_forbidden_package_is_refused_with_the_quote_reason(s: Services) -> None:
    with pytest.raises(RenewalNotAllowed) as refused:
        order(s, "m12")
    assert refused.value.code == "exceeds_max_renewal_date" and "2027-11-23" in refused.value.message
    with pytest.raises(InvalidInput):
        order(s, key="short")


def test_a_payment_extends_the_card_once_books_once_and_tells_the_gates(s: Services) -> None:
    made = order(s).order
    notice = paid(s, made.id)
    assert fulfil(s, notice) is Outcome.FULFILLED
    for _ in range(3):
        assert fulfil(s, notice) is Outcome.ALREADY_FULFILLED
    card = s.cards.get("card-1")
    assert card is not None and card.valid_until == date(2027, 3, 3)
    db = memory_of(s)
    assert [e.amount_fen for e in db.ledger.values()] == [850_00]
    told = [(v, e.plate, e.valid_until) for (_, v), e in db.events.items()]
    assert told[1:] == [(2, card.plates[0], date(2027, 3, 3))]  # 1: the card was issued
    assert my_order("owner-1", made.id, s.orders).state is OrderState.PAID
    with pytest.raises(OrderNotFound):
        my_order("owner-2", made.id, s.orders)


def test_ten_orders_paid_one_after_another_add_up(s: Services) -> None:
    for n in range(10):
        made = order(s, "d10", key=f"key-{n:05d}").order
        assert fulfil(s, paid(s, made.id)) is Outcome.FULFILLED
    assert s.cards.get("card-1").valid_until == date(2026, 12, 3) + timedelta(days=100)  # type: ignore[union-attr]


def test_a_wrong_amount_or_an_unknown_order_changes_nothing(s: Services) -> None:
    made = order(s).order
    with pytest.raises(PaymentRejected):
        fulfil(s, paid(s, made.id, amount_fen=1))
    with pytest.raises(PaymentRejected):
        fulfil(s, replace(paid(s, made.id), out_trade_no="order-nobody-knows"))
    with pytest.raises(PaymentRejected):
        fulfil(s, replace(paid(s, made.id), out_trade_no="../../etc"))
    assert s.orders.get(made.id).state is OrderState.PENDING  # type: ignore[union-attr]
    assert s.cards.get("card-1").valid_until == date(2026, 12, 3)  # type: ignore[union-attr]


def test_a_notice_that_is_not_a_success_changes_nothing(s: Services) -> None:
    made = order(s).order
    assert fulfil(s, replace(paid(s, made.id), succeeded=False)) is Outcome.NOT_PAID
    assert s.orders.get(made.id).state is OrderState.PENDING  # type: ignore[union-attr]


def test_a_card_changed_between_quote_and_payment_is_extended_from_where_it_is_now(s: Services) -> None:
    made = order(s).order
    card = s.cards.get("card-1")
    assert card is not None
    s.cards.save(replace(card, valid_until=date(2026, 12, 31)))  # an admin fix after the quote
    assert fulfil(s, paid(s, made.id)) is Outcome.FULFILLED
    assert s.cards.get("card-1").valid_until == date(2027, 3, 31)  # type: ignore[union-attr]
    assert s.orders.get(made.id).new_valid_until == date(2027, 3, 31)  # type: ignore[union-attr]


def test_a_write_racing_the_fulfilment_makes_it_retry_not_fail(s: Services) -> None:
    made = order(s).order
    assert isinstance(s.uow, MemoryUnitOfWork)
    races = iter([True, True, False])

    def someone_writes_first() -> None:
        if next(races, False):
            card = s.cards.get("card-1")
            assert card is not None
            s.cards.save(replace(card, state=CardState.ACTIVE))

    s.uow.before_commit = someone_writes_first
    assert fulfil(s, paid(s, made.id)) is Outcome.FULFILLED
    assert s.cards.get("card-1").valid_until == date(2027, 3, 3)  # type: ignore[union-attr]


def test_a_payment_is_never_refused_for_the_max_date_and_a_lapsed_card_starts_on_the_pay_day(s: Services) -> None:
    made = order(s, "m3").order
    lot = s.lots.get("lot-1")
    assert lot is not None
    s.lots.items["lot-1"] = replace(lot, policy=RenewalPolicy(max_until=date(2026, 12, 31)))  # type: ignore[attr-defined]
    later = NOW + timedelta(days=20)  # the card lapsed on Dec 3; paid on Dec 13
    assert fulfil(s, paid(s, made.id, at=later)) is Outcome.FULFILLED
    card = s.cards.get("card-1")
    assert card is not None and (card.valid_from, card.valid_until) == (date(2026, 12, 13), date(2027, 3, 12))


def test_a_notice_naming_its_card_and_lot_reads_them_with_the_order_and_a_false_hint_changes_nothing(
    s: Services,
) -> None:
    s.lots.add(Lot(id="lot-2", name="西门"))
    add_card(s, a_card(date(2026, 12, 31), card_id="card-2", lot_id="lot-2", plates=("粤B22222",)))
    made = order(s).order
    reads: list[str] = []
    cards = s.cards
    with_order, with_lot = cards.get_with_order, cards.get_with_lot
    cards.get_with_order = lambda *a: reads.append("order+card+lot") or with_order(*a)  # type: ignore[method-assign]
    cards.get_with_lot = lambda *a: reads.append("card+lot") or with_lot(*a)  # type: ignore[method-assign]

    hinted = replace(paid(s, made.id), card_id="card-1", lot_id="lot-1")
    assert fulfil(s, hinted) is Outcome.FULFILLED
    assert reads == ["order+card+lot"]  # one read before the transaction

    again = order(s, "m1", key="key-00002").order
    lying = replace(paid(s, again.id), card_id="card-2", lot_id="lot-2")  # not this order's card: read its own
    assert fulfil(s, lying) is Outcome.FULFILLED
    assert reads[1:] == ["order+card+lot", "card+lot"]
    assert s.cards.get("card-1").valid_until == date(2027, 4, 3)  # type: ignore[union-attr]
    assert s.cards.get("card-2").valid_until == date(2026, 12, 31)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reference", "read"),
    [("card-1:lot-1", ("card-1", "lot-1")), ("", None), (None, None), ("card-1", None), ("a:b:c", None)],
)
def test_a_payment_reference_reads_back_as_the_card_and_lot_or_as_nothing(
    reference: str | None, read: tuple[str, str] | None
) -> None:
    assert referenced(reference) == read


def test_a_payment_reference_fits_wechat_pays_attach_or_is_left_out(s: Services) -> None:
    made = order(s).order
    assert payment_reference(made) == "card-1:lot-1" and referenced(payment_reference(made)) == ("card-1", "lot-1")
    assert payment_reference(replace(made, card_id="c" * 64, lot_id="l" * 64)) is None  # 129 characters
