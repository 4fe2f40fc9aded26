"""Orders and their exactly-once fulfilment in DynamoDB."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from pynamodb.expressions.update import Action

from domain.card_change import unpaid_claim
from domain.order import Channel, LedgerEntry, Order, OrderState, RefundState, order_key_claim
from domain.package import Duration, DurationUnit, Package
from domain.receipt import SignedReceipt
from domain.reconciliation import (
    PROVIDER_ZONE,
    RECONCILED_CHANNELS,
    Difference,
    DifferenceKind,
    Reconciliation,
    statement_day,
)
from infra.dynamodb.repositories import iso_day
from infra.dynamodb.tables import ClaimItem, LedgerItem, OrderItem, ReceiptItem, ReconciliationItem

PENDING = "pending"


class DynamoOrderRepository:
    def get(self, order_id: str) -> Order | None:
        try:
            return order_of(OrderItem.get(order_id, consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def for_card(self, card_id: str) -> list[Order]:
        """The card's orders, newest first."""
        return [order_of(item) for item in OrderItem.by_card.query(card_id, scan_index_forward=False)]

    def pending(self, created_before: datetime) -> list[Order]:
        # The index is sparse (only pending orders carry `pending`), so this reads nothing else.
        query = OrderItem.pending_orders.query(PENDING, OrderItem.created_at <= created_before.isoformat())
        return [order_of(item) for item in query]

    def refunding(self) -> list[Order]:
        # Sparse too: only refunds the provider has not settled carry `refunding`.
        return [order_of(item) for item in OrderItem.refunding_orders.query(REFUNDING)]

    def for_owner(self, owner_id: str, limit: int, after: tuple[datetime, str] | None = None) -> list[Order]:
        """A page of the owner's orders, newest first: one Query of `by_owner`, from just after `after`."""
        start = None
        if after is not None:
            created_at, order_id = after
            start = {"owner_id": {"S": owner_id}, "created_at": {"S": created_at.isoformat()},
                     "order_id": {"S": order_id}}  # fmt: skip
        query = OrderItem.by_owner.query(
            owner_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        return [order_of(item) for item in query]

    def made_with(self, who: str, idempotency_key: str) -> Order | None:
        """The order `who` (`owner:<id>`, `admin:<email>`) made with this idempotency key, if any."""
        return self._claimed(order_key_claim(who, idempotency_key))

    def waiting_for(self, card_id: str) -> Order | None:
        """The card's one online order waiting for payment, if any."""
        return self._claimed(unpaid_claim(card_id))

    def _claimed(self, claim: str) -> Order | None:
        try:
            order_id = ClaimItem.get(claim, consistent_read=True).order_id
        except ClaimItem.DoesNotExist:
            return None
        return self.get(order_id) if order_id else None


def order_update(order: Order) -> tuple[OrderItem, list[Action]]:
    """What a settled order writes: its state, and what the payment bought; it leaves the pending index."""
    values = {
        "state": order.state.value,
        "paid_at": _stamp(order.paid_at),
        "transaction_id": order.transaction_id,
        "new_valid_from": iso_day(order.new_valid_from),
        "new_valid_until": iso_day(order.new_valid_until),
    }
    actions: list[Action] = [getattr(OrderItem, k).set(v) for k, v in values.items() if v is not None]
    if order.state is not OrderState.PENDING:
        actions.append(OrderItem.pending.remove())
    if order.refund is not None:
        actions.append(OrderItem.refund_state.set(order.refund.value))
        processing = order.refund is RefundState.PROCESSING
        actions.append(OrderItem.refunding.set(REFUNDING) if processing else OrderItem.refunding.remove())
    return OrderItem(order_id=order.id), actions


REFUNDING = "1"


def receipt_item(signed: SignedReceipt) -> ReceiptItem:
    r = signed.receipt
    return ReceiptItem(receipt_id=r.id, lot_id=r.lot_id, seq=r.seq, fields=r.fields(), signature=signed.signature)


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def order_item(order: Order) -> OrderItem:
    p = order.package
    return OrderItem(
        order_id=order.id,
        owner_id=order.owner_id,
        card_id=order.card_id,
        lot_id=order.lot_id,
        package={
            "id": p.id,
            "name": p.name,
            "unit": p.duration.unit.value,
            "count": p.duration.count,
            "price_fen": p.price_fen,
        },
        amount_fen=order.amount_fen,
        channel=order.channel.value,
        quoted_from=order.quoted_from.isoformat(),
        quoted_until=order.quoted_until.isoformat(),
        state=order.state.value,
        created_at=order.created_at.isoformat(),
        expires_at=order.expires_at.isoformat(),
        pending=PENDING if order.state is OrderState.PENDING else None,
        owner_label=order.owner_label,
        staff=order.staff,
    )


def ledger_item(e: LedgerEntry) -> LedgerItem:
    return LedgerItem(
        entry_id=e.id,
        lot_id=e.lot_id,
        order_id=e.order_id,
        card_id=e.card_id,
        owner_id=e.owner_id,
        amount_fen=e.amount_fen,
        channel=e.channel.value,
        transaction_id=e.transaction_id,
        booked_at=e.booked_at.isoformat(),
        package=e.package or None,
        statement_day=statement_day(e.channel, e.booked_at) if e.channel in RECONCILED_CHANNELS else None,
    )


def order_of(item: OrderItem) -> Order:
    p: dict[str, Any] = item.package
    return Order(
        id=item.order_id,
        owner_id=item.owner_id,
        card_id=item.card_id,
        lot_id=item.lot_id,
        package=Package(p["id"], item.lot_id, p["name"], Duration(DurationUnit(p["unit"]), p["count"]), p["price_fen"]),
        amount_fen=int(item.amount_fen),
        channel=Channel(item.channel),
        quoted_from=date.fromisoformat(item.quoted_from),
        quoted_until=date.fromisoformat(item.quoted_until),
        state=OrderState(item.state),
        created_at=datetime.fromisoformat(item.created_at),
        expires_at=datetime.fromisoformat(item.expires_at),
        paid_at=datetime.fromisoformat(item.paid_at) if item.paid_at else None,
        transaction_id=item.transaction_id,
        new_valid_from=date.fromisoformat(item.new_valid_from) if item.new_valid_from else None,
        new_valid_until=date.fromisoformat(item.new_valid_until) if item.new_valid_until else None,
        owner_label=item.owner_label or Order.owner_label,
        staff=item.staff,
        refund=RefundState(item.refund_state) if item.refund_state else None,
    )


class DynamoLedger:
    def around(self, lot_id: str, start: datetime, end: datetime) -> list[LedgerEntry]:
        """The lot's entries booked from `start` to `end`, with a day's margin each side (stamps carry zones)."""
        low, high = (start - timedelta(days=1)).isoformat(), (end + timedelta(days=1)).isoformat()
        return [_entry(i) for i in LedgerItem.by_lot.query(lot_id, LedgerItem.booked_at.between(low, high))]

    def on_statement_day(self, channel: Channel, day: date) -> list[LedgerEntry]:
        at = datetime.combine(day, time(12), PROVIDER_ZONE)
        return [_entry(i) for i in LedgerItem.by_statement_day.query(statement_day(channel, at))]


class DynamoReconciliations:
    def save(self, result: Reconciliation) -> None:
        ReconciliationItem(
            channel=result.channel.value,
            day=result.day.isoformat(),
            checked_at=result.checked_at.isoformat(),
            provider_lines=result.provider_lines,
            ledger_lines=result.ledger_lines,
            differences=[asdict(d) for d in result.differences],
        ).save()

    def get(self, channel: Channel, day: date) -> Reconciliation | None:
        try:
            return _reconciliation(ReconciliationItem.get(channel.value, day.isoformat()))
        except ReconciliationItem.DoesNotExist:
            return None

    def recent(self, channel: Channel, days: int, today: date) -> list[Reconciliation]:
        since = (today - timedelta(days=days - 1)).isoformat()
        items = ReconciliationItem.query(
            channel.value, ReconciliationItem.day.between(since, today.isoformat()), scan_index_forward=False
        )
        return [_reconciliation(i) for i in items]


def _reconciliation(i: ReconciliationItem) -> Reconciliation:
    return Reconciliation(
        channel=Channel(i.channel),
        day=date.fromisoformat(i.day),
        checked_at=datetime.fromisoformat(i.checked_at),
        provider_lines=int(i.provider_lines),
        ledger_lines=int(i.ledger_lines),
        differences=tuple(Difference(**{**d, "kind": DifferenceKind(d["kind"])}) for d in i.differences),
    )


def _entry(i: LedgerItem) -> LedgerEntry:
    return LedgerEntry(
        id=i.entry_id,
        lot_id=i.lot_id,
        order_id=i.order_id,
        card_id=i.card_id,
        owner_id=i.owner_id,
        amount_fen=int(i.amount_fen),
        channel=Channel(i.channel),
        transaction_id=i.transaction_id,
        booked_at=datetime.fromisoformat(i.booked_at),
        package=i.package or "",
    )
