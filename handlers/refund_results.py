"""The provider's word on a refund's money: a notification (WeChat Pay's REFUND.SUCCESS / ABNORMAL / CLOSED), or
the sweep asking about refunds still processing (Alipay sends none; a notification can be lost).

Only the provider moves a refund on, and only forwards (processing -> succeeded | abnormal | closed, abnormal ->
succeeded | closed): a duplicate, a late PROCESSING or a second notification at the same time changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import InvalidId, OrderSettled, PaymentRejected, UpstreamUnavailable
from domain.ids import checked_id
from domain.order import Channel, Order, RefundState, refund_settled
from handlers.ports import Metrics, OrderRepository, PaymentProvider, RefundNotice, UnitOfWork
from handlers.refund_order import refund_no
from handlers.retry import MAX_ATTEMPTS

log = logging.getLogger("parkpass.refunds")


class Settled(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    """Said before, or a state the refund has left already."""


def refund_notified(notice: RefundNotice, orders: OrderRepository, uow: UnitOfWork, metrics: Metrics) -> Settled:
    """PaymentRejected when the notice names no refund of ours (its out_refund_no is not the order's)."""
    try:
        order = orders.get(checked_id("out_trade_no", notice.out_trade_no))
    except InvalidId:
        order = None
    if order is None or notice.out_refund_no != refund_no(order):
        raise PaymentRejected("notice_unknown_order")
    return settle_refund(order, notice.state, orders, uow, metrics)


def settle_refund(
    order: Order, state: RefundState, orders: OrderRepository, uow: UnitOfWork, metrics: Metrics
) -> Settled:
    for _ in range(MAX_ATTEMPTS):
        plan = refund_settled(order, state)
        if plan is None:
            return Settled.UNCHANGED
        try:
            uow.commit(plan)
        except OrderSettled:  # moved meanwhile (the same word twice at once): read it again
            order = orders.get(order.id) or order
            continue
        metrics.count("RefundResults", state=state.value, channel=order.channel.value)
        log.info("refund of %s: %s", order.id, state.value, extra={"order_id": order.id})
        return Settled.CHANGED
    return Settled.UNCHANGED


@dataclass
class RefundSweep:
    settled: list[str] = field(default_factory=list)
    processing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def ask_about_refunds(
    orders: OrderRepository,
    uow: UnitOfWork,
    provider_for: Callable[[Channel], PaymentProvider],
    metrics: Metrics,
) -> RefundSweep:
    """Each refund still processing, asked about once."""
    report = RefundSweep()
    for order in orders.refunding():
        try:
            state = provider_for(order.channel).refund_state(order, refund_no(order))
        except UpstreamUnavailable as e:
            log.warning("refund of %s not asked about: %s", order.id, e.code)
            report.failed.append(order.id)
            continue
        if settle_refund(order, state, orders, uow, metrics) is Settled.CHANGED:
            report.settled.append(order.id)
        else:
            report.processing.append(order.id)
    return report
