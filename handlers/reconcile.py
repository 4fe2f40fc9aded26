"""Reconcile one payment channel's day: the provider's statement against the ledger.

The last of the three nets under a payment (the notification, the sweep's
query, this): a payment the provider took whose notification and
queries were all lost is fulfilled here, through the same exactly-once path as
a notification, so running a day twice, or twice at once, fulfils it once.
What cannot be repaired is stored for the office (对账) and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from domain.admin import Permission, Staff
from domain.errors import Conflict, InvalidId, PaymentRejected
from domain.ids import checked_id, is_bill_order, is_visit_order, ledger_lot
from domain.order import Channel, RefundState
from domain.reconciliation import (
    PROVIDER_ZONE,
    RECONCILED_CHANNELS,
    Difference,
    DifferenceKind,
    LineKind,
    Reconciliation,
    StatementLine,
    compare,
)
from handlers.fulfil_payment import fulfil_payment
from handlers.ports import (
    CardRepository,
    Clock,
    Ledger,
    LotRepository,
    Metrics,
    OrderRepository,
    PaymentNotice,
    ReceiptSigner,
    Reconciliations,
    StatementSource,
    UnitOfWork,
)
from handlers.staff import lot_for

if TYPE_CHECKING:
    from handlers.bill_payments import BillPayments
    from handlers.visit_payments import VisitPayments

log = logging.getLogger("parkpass.reconcile")


@dataclass(frozen=True)
class Reconciling:
    ledger: Ledger
    orders: OrderRepository
    cards: CardRepository
    uow: UnitOfWork
    results: Reconciliations
    clock: Clock
    metrics: Metrics
    signer: ReceiptSigner | None = None
    bills: BillPayments | None = None
    """Bill orders (`bo-...`): found and fulfilled there."""
    visits: VisitPayments | None = None
    """Visit orders (`vo-...`): found and fulfilled there."""


def reconcile_day(channel: Channel, day: date, source: StatementSource, r: Reconciling) -> Reconciliation:
    """PaymentUnavailable when the statement cannot be had (nothing is stored: the day is tried again)."""
    statement = source.statement(day)
    ledger = r.ledger.on_statement_day(channel, day)
    paid_there = {line.out_trade_no: line for line in statement if line.kind is LineKind.PAYMENT}
    found = tuple(_settled(d, paid_there, r) for d in compare(statement, ledger))
    # A rerun finds what an earlier run repaired in balance now: its record stays, so the office (and whoever the
    # alarm sent) still sees which payment had been lost.
    earlier = r.results.get(channel, day)
    kept = tuple(
        d
        for d in (earlier.differences if earlier else ())
        if d.repaired and d.order_id not in {f.order_id for f in found}
    )
    differences = found + kept
    result = Reconciliation(channel, day, r.clock.now(), len(statement), len(ledger), differences)
    r.results.save(result)
    r.metrics.count("Reconciliations", channel=channel.value)
    for d in found:
        r.metrics.count("ReconciliationDifferences", channel=channel.value, kind=d.kind.value)
    log.info(
        "reconciled %s %s: %d statement lines, %d ledger lines, %d differences, %d repaired",
        channel.value,
        day.isoformat(),
        len(statement),
        len(ledger),
        len(differences),
        sum(d.repaired for d in differences),
    )
    return result


def _settled(d: Difference, paid_there: dict[str, StatementLine], r: Reconciling) -> Difference:
    """The difference with its lot named, and a payment the ledger lacks fulfilled."""
    if is_bill_order(d.order_id) and r.bills is not None:
        return _settled_elsewhere(d, paid_there, _bill_lot(r.bills), r.bills.fulfil)
    if is_visit_order(d.order_id) and r.visits is not None:
        return _settled_elsewhere(d, paid_there, _visit_lot(r.visits), r.visits.fulfil)
    try:
        order = r.orders.get(checked_id("order_id", d.order_id))
    except InvalidId:
        order = None
    if order is None:
        return replace(d, note="unknown_order")
    d = replace(d, lot_id=order.lot_id)
    if d.kind is DifferenceKind.REFUND_NOT_AT_PROVIDER and order.refund not in (None, RefundState.SUCCEEDED):
        assert order.refund is not None
        return replace(d, note=f"refund_{order.refund.value}")  # the provider has said why: no money moved
    if d.kind is not DifferenceKind.UNFULFILLED:
        return d
    line = paid_there[d.order_id]
    notice = PaymentNotice(order.id, line.transaction_id, line.amount_fen, line.at, True, order.card_id, order.lot_id)
    try:
        # Already fulfilled counts too: a late notification, or a reconciliation running at the same time, got
        # there first; either way the order is now paid here as it is there.
        fulfil_payment(notice, r.orders, r.cards, r.uow, r.signer)
    except (PaymentRejected, Conflict) as e:
        return replace(d, note=e.key)
    return replace(d, repaired=True)


def _settled_elsewhere(d: Difference, paid_there: dict[str, StatementLine], lot_of: Callable[[str], str | None],
                       fulfil: Callable[[PaymentNotice], object]) -> Difference:  # fmt: skip
    """A bill order's or a visit order's difference: its lot named (`lot_of` the order; None: no such order), a
    payment the ledger lacks fulfilled where such orders are."""
    lot_id = lot_of(d.order_id)
    if lot_id is None:
        return replace(d, note="unknown_order")
    d = replace(d, lot_id=lot_id)
    if d.kind is not DifferenceKind.UNFULFILLED:
        return d
    line = paid_there[d.order_id]
    try:
        fulfil(PaymentNotice(d.order_id, line.transaction_id, line.amount_fen, line.at, True))
    except (PaymentRejected, Conflict) as e:
        return replace(d, note=e.key)
    return replace(d, repaired=True)


def _bill_lot(bills: BillPayments) -> Callable[[str], str | None]:
    def lot_of(order_id: str) -> str | None:
        order = bills.billing.bill_order(order_id)
        return ledger_lot(order.community_id) if order else None

    return lot_of


def _visit_lot(visits: VisitPayments) -> Callable[[str], str | None]:
    def lot_of(order_id: str) -> str | None:
        order = visits.parking.visit_order(order_id)
        return order.lot_id if order else None

    return lot_of


RECENT_DAYS = 14


def lot_reconciliations(
    account: Staff, lot_id: str, results: Reconciliations, lots: LotRepository, clock: Clock, days: int = RECENT_DAYS
) -> list[Reconciliation]:
    """The office's 对账: each channel's recent days, with the differences of this lot only (a merchant's
    statement holds every lot's payments; an office sees its own)."""
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    today = clock.now().astimezone(PROVIDER_ZONE).date()
    return [
        replace(r, differences=tuple(d for d in r.differences if d.lot_id == lot.id))
        for channel in RECONCILED_CHANNELS
        for r in results.recent(channel, days, today)
    ]
