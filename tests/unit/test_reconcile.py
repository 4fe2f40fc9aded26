"""Daily reconciliation over in-memory fakes: each kind of difference is found, a lost payment is fulfilled once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import PaymentUnavailable
from domain.order import Channel, OrderState, RefundState
from domain.reconciliation import (
    PROVIDER_ZONE,
    DifferenceKind,
    LineKind,
    StatementLine,
    compare,
    statement_day,
)
from functions.bootstrap import Services
from handlers.fulfil_payment import fulfil_payment
from handlers.ports import PaymentNotice, PaymentStatus
from handlers.reconcile import Reconciling, reconcile_day
from handlers.renewals import order_renewal
from tests.builders import monthly_lot
from tests.fakes import RecordingMetrics, memory_of

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 on Dec 2 in Beijing: yesterday's statements are out
DAY = date(2026, 12, 1)
PAID_AT = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # 11:30 Beijing, Dec 1


class Provider:
    def prepay(self, order: object, payer_id: str) -> dict[str, str]:
        return {"package": "prepay_id=test"}

    def query(self, order: object) -> PaymentStatus:
        raise PaymentUnavailable()  # the query is lost too

    def close(self, order: object) -> None:
        pass

    def refund(self, order: object, refund_no: str, amount_fen: int | None = None) -> RefundState:
        return RefundState.SUCCEEDED

    def refund_state(self, order: object, refund_no: str) -> RefundState:
        return RefundState.SUCCEEDED


class Statement:
    def __init__(self, lines: list[StatementLine]) -> None:
        self.lines = lines

    def statement(self, day: date) -> list[StatementLine]:
        assert day == DAY
        return list(self.lines)


@pytest.fixture
def s() -> Services:
    return monthly_lot(NOW, cards=5)


def ordered(s: Services, n: int) -> str:
    made = order_renewal(
        "owner-1", f"card-{n}", "m1", Channel.WECHAT, f"key-0000{n}",
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=Provider(), ids=s.ids, clock=s.clock,
    )  # fmt: skip
    return made.order.id


def fulfilled(s: Services, n: int) -> str:
    order_id = ordered(s, n)
    fulfil_payment(PaymentNotice(order_id, f"tx-{n}", 300_00, PAID_AT, True), s.orders, s.cards, s.uow)
    return order_id


def reconciling(s: Services) -> Reconciling:
    return Reconciling(s.ledger, s.orders, s.cards, s.uow, s.reconciliations, s.clock, s.metrics)


def line(order_id: str, amount_fen: int = 300_00, kind: LineKind = LineKind.PAYMENT) -> StatementLine:
    return StatementLine(kind, order_id, f"wx-{order_id}", amount_fen, PAID_AT)


def test_each_kind_of_difference_is_found_and_the_lost_payment_is_fulfilled_once(s: Services) -> None:
    lost = ordered(s, 1)  # paid at WeChat Pay; its notification and every query lost
    never_taken = fulfilled(s, 2)  # booked here; WeChat Pay has no such payment
    other_amount = fulfilled(s, 3)
    refunded_there = fulfilled(s, 4)  # refunded in the merchant platform, not here
    matched = fulfilled(s, 5)
    source = Statement(
        [line(lost), line(other_amount, 299_00), line(refunded_there), line(refunded_there, kind=LineKind.REFUND),
         line(matched)]
    )  # fmt: skip
    before = s.cards.get("card-1")
    result = reconcile_day(Channel.WECHAT, DAY, source, reconciling(s))

    kinds = {d.order_id: (d.kind, d.repaired) for d in result.differences}
    assert kinds == {
        lost: (DifferenceKind.UNFULFILLED, True),
        never_taken: (DifferenceKind.NOT_AT_PROVIDER, False),
        other_amount: (DifferenceKind.AMOUNT_DIFFERS, False),
        refunded_there: (DifferenceKind.REFUND_NOT_HERE, False),
    }
    assert {d.lot_id for d in result.differences} == {"lot-1"}
    assert (result.provider_lines, result.ledger_lines) == (5, 4)
    order = s.orders.get(lost)
    assert order is not None and order.state is OrderState.PAID and order.transaction_id == f"wx-{lost}"
    card = s.cards.get("card-1")
    assert before is not None and card is not None and card.valid_until == date(2027, 1, 20)
    assert s.reconciliations.recent(Channel.WECHAT, 7, DAY) == [result]

    again = reconcile_day(Channel.WECHAT, DAY, source, reconciling(s))
    lost_again = [d for d in again.differences if d.kind is DifferenceKind.UNFULFILLED]
    assert lost_again == [d for d in result.differences if d.kind is DifferenceKind.UNFULFILLED]  # kept, not redone
    assert [e.order_id for e in memory_of(s).ledger.values()].count(lost) == 1
    card_again = s.cards.get("card-1")
    assert card_again is not None and card_again.valid_until == date(2027, 1, 20)  # extended once


def test_two_reconciliations_of_one_day_at_once_fulfil_the_lost_payment_once(s: Services) -> None:
    lost = ordered(s, 1)
    source = Statement([line(lost)])
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(reconcile_day(Channel.WECHAT, DAY, source, reconciling(s))))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(d.repaired for r in results for d in r.differences)
    assert [e.order_id for e in memory_of(s).ledger.values()] == [lost]
    card = s.cards.get("card-1")
    assert card is not None and card.valid_until == date(2027, 1, 20)


def test_a_payment_unknown_here_is_flagged_not_repaired_and_counted(s: Services) -> None:
    result = reconcile_day(Channel.WECHAT, DAY, Statement([line("order-nothere1")]), reconciling(s))
    [d] = result.differences
    assert (d.kind, d.repaired, d.note, d.lot_id) == (DifferenceKind.UNFULFILLED, False, "unknown_order", "")
    metrics = s.metrics
    assert isinstance(metrics, RecordingMetrics)
    assert ("ReconciliationDifferences", 1, "Count", {"channel": "wechat", "kind": "unfulfilled"}) in metrics.counted


def test_a_statement_that_cannot_be_had_stores_nothing(s: Services) -> None:
    class Down:
        def statement(self, day: date) -> list[StatementLine]:
            raise PaymentUnavailable()

    with pytest.raises(PaymentUnavailable):
        reconcile_day(Channel.WECHAT, DAY, Down(), reconciling(s))
    assert s.reconciliations.recent(Channel.WECHAT, 7, DAY) == []


def test_a_refund_here_absent_there_is_flagged() -> None:
    from domain.order import LedgerEntry

    refund = LedgerEntry("refund:o1", "lot-1", "o1", "card-1", "owner-1", -300_00, Channel.WECHAT, "tx", PAID_AT)
    [d] = compare([], [refund])
    assert (d.kind, d.ours_fen, d.theirs_fen) == (DifferenceKind.REFUND_NOT_AT_PROVIDER, 300_00, None)


def test_the_statement_day_is_beijings_whatever_the_stamps_zone() -> None:
    late = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 00:30 on Dec 2 in Beijing
    assert statement_day(Channel.WECHAT, late) == "wechat#2026-12-02"
    assert statement_day(Channel.ALIPAY, late - timedelta(hours=1)) == "alipay#2026-12-01"


def test_a_payment_given_back_in_full_at_the_provider_with_nothing_here_is_in_balance(s: Services) -> None:
    revoked = ordered(s, 1)  # an Alipay QR code revoked as it was paid: paid and refunded there, closed here
    source = Statement([line(revoked), line(revoked, kind=LineKind.REFUND)])
    result = reconcile_day(Channel.WECHAT, DAY, source, reconciling(s))
    assert result.differences == ()
    order = s.orders.get(revoked)
    assert order is not None and order.state is OrderState.PENDING  # no days handed out for money given back


def test_a_refund_the_provider_called_abnormal_is_flagged_with_why(s: Services) -> None:
    from handlers.ports import RefundNotice
    from handlers.refund_order import refund_no, refund_order
    from handlers.refund_results import refund_notified
    from tests.fakes import NoPayments

    order_id = fulfilled(s, 1)
    provider = NoPayments(RefundState.PROCESSING)
    refund_order(order_id, s.orders, s.cards, s.lots, provider, s.uow, s.clock, s.invoicing)
    order = s.orders.get(order_id)
    assert order is not None
    refund_notified(RefundNotice(order_id, refund_no(order), RefundState.ABNORMAL), s.orders, s.uow, s.metrics)

    class Nothing:
        def statement(self, day: date) -> list[StatementLine]:
            return []

    refund_day = NOW.astimezone(PROVIDER_ZONE).date()
    [d] = reconcile_day(Channel.WECHAT, refund_day, Nothing(), reconciling(s)).differences
    assert (d.kind, d.note, d.ours_fen) == (DifferenceKind.REFUND_NOT_AT_PROVIDER, "refund_abnormal", 300_00)
