"""A refund's money moves only on the provider's word, and only forward: notifications and the sweep's questions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from domain.errors import PaymentRejected
from domain.labels import order_state_text
from domain.order import Channel, OrderState, RefundState
from functions.bootstrap import Services
from handlers.fulfil_payment import fulfil_payment
from handlers.ports import PaymentNotice, RefundNotice
from handlers.refund_order import refund_no, refund_order
from handlers.refund_results import Settled, ask_about_refunds, refund_notified
from handlers.renewals import order_renewal
from tests.builders import monthly_lot
from tests.fakes import NoPayments, RecordingMetrics

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def s() -> Services:
    return monthly_lot(NOW)


def refunded(s: Services, provider: NoPayments) -> str:
    made = order_renewal(
        "owner-1", "card-1", "m1", Channel.WECHAT, "key-00001",
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=provider, ids=s.ids, clock=s.clock,
    )  # fmt: skip
    fulfil_payment(PaymentNotice(made.order.id, "tx-1", 300_00, NOW, True), s.orders, s.cards, s.uow)
    refund_order(made.order.id, s.orders, s.cards, s.lots, provider, s.uow, s.clock, s.invoicing)
    return made.order.id


def money(s: Services, order_id: str) -> RefundState | None:
    order = s.orders.get(order_id)
    assert order is not None and order.state is OrderState.REFUNDED
    return order.refund


def said(s: Services, order_id: str, state: RefundState, refund: str | None = None) -> Settled:
    order = s.orders.get(order_id)
    assert order is not None
    notice = RefundNotice(order_id, refund or refund_no(order), state)
    return refund_notified(notice, s.orders, s.uow, s.metrics)


def test_a_refund_answered_processing_waits_for_the_providers_word(s: Services) -> None:
    order_id = refunded(s, NoPayments(RefundState.PROCESSING))
    assert money(s, order_id) is RefundState.PROCESSING
    order = s.orders.get(order_id)
    assert order is not None and order_state_text(order) == "退款中" and order_state_text(order, "en") != "refunded"
    assert said(s, order_id, RefundState.SUCCEEDED) is Settled.CHANGED
    assert money(s, order_id) is RefundState.SUCCEEDED
    assert said(s, order_id, RefundState.SUCCEEDED) is Settled.UNCHANGED  # a duplicate
    assert said(s, order_id, RefundState.PROCESSING) is Settled.UNCHANGED  # late news
    assert said(s, order_id, RefundState.CLOSED) is Settled.UNCHANGED  # a result is final
    assert money(s, order_id) is RefundState.SUCCEEDED
    order = s.orders.get(order_id)
    assert order is not None and order_state_text(order) == "已退款"


def test_an_abnormal_refund_can_still_succeed_and_a_refund_answered_success_is_done_at_once(s: Services) -> None:
    order_id = refunded(s, NoPayments(RefundState.PROCESSING))
    assert said(s, order_id, RefundState.ABNORMAL) is Settled.CHANGED
    order = s.orders.get(order_id)
    assert order is not None and order_state_text(order) == "退款异常"
    assert order_state_text(order, owner=True) == "退款未到账，请联系物业"
    assert said(s, order_id, RefundState.SUCCEEDED) is Settled.CHANGED  # sent to another account by the merchant

    other = monthly_lot(NOW)
    at_once = refunded(other, NoPayments())
    assert money(other, at_once) is RefundState.SUCCEEDED


def test_a_notice_of_a_refund_that_is_not_ours_changes_nothing(s: Services) -> None:
    order_id = refunded(s, NoPayments(RefundState.PROCESSING))
    with pytest.raises(PaymentRejected):
        said(s, order_id, RefundState.SUCCEEDED, refund="refund-someone-else")
    with pytest.raises(PaymentRejected):
        refund_notified(RefundNotice("not an id!", "x", RefundState.SUCCEEDED), s.orders, s.uow, s.metrics)
    assert money(s, order_id) is RefundState.PROCESSING


def test_two_notifications_at_once_settle_the_refund_once(s: Services) -> None:
    order_id = refunded(s, NoPayments(RefundState.PROCESSING))
    outcomes: list[Settled] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(said(s, order_id, RefundState.SUCCEEDED))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [Settled.CHANGED, Settled.UNCHANGED]
    metrics = s.metrics
    assert isinstance(metrics, RecordingMetrics)
    assert [m for m in metrics.counted if m[0] == "RefundResults"] == [
        ("RefundResults", 1, "Count", {"state": "succeeded", "channel": "wechat"})
    ]


def test_the_sweep_asks_about_refunds_still_processing(s: Services) -> None:
    provider = NoPayments(RefundState.PROCESSING)
    order_id = refunded(s, provider)
    assert ask_about_refunds(s.orders, s.uow, lambda c: provider, s.metrics).processing == [order_id]
    order = s.orders.get(order_id)
    assert order is not None
    provider.settled[refund_no(order)] = RefundState.SUCCEEDED
    assert ask_about_refunds(s.orders, s.uow, lambda c: provider, s.metrics).settled == [order_id]
    assert money(s, order_id) is RefundState.SUCCEEDED
    assert s.orders.refunding() == []
