"""Orders and their exactly-once fulfilment in DynamoDB."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from domain.card import Card
from domain.card_change import AuditEntry
from domain.entitlement import Entitlement
from domain.errors import OrderSettled, StaleCard, StaleLot, UnpaidOrderExists
from domain.order import Channel, Fulfilment, LedgerEntry, Order, OrderState, Refund
from domain.package import Duration, DurationUnit, Package
from domain.receipt import SignedReceipt
from domain.reminder import Slot
from infra.dynamodb.audit import audit_item
from infra.dynamodb.reminders import slot_actions, slot_item
from infra.dynamodb.repositories import _card_item, _conflicted, _failed_items, _iso, card_actions
from infra.dynamodb.tables import (
    ClaimItem,
    EntitlementItem,
    LedgerItem,
    LotItem,
    OrderItem,
    ReceiptItem,
    transaction_connection,
)
from infra.dynamodb.transact import ConditionsFailed, Conflicted, NamedWrite

PENDING = "pending"
UNPUBLISHED = "1"


def feed_key(lot_id: str, version: int) -> str:
    return f"{lot_id}#{version:012d}"


def _key_claim(owner_id: str, key: str) -> str:
    return f"order-key:{owner_id}:{key}"


def _unpaid_claim(card_id: str) -> str:
    return f"unpaid:{card_id}"


class DynamoOrderRepository:
    def get(self, order_id: str) -> Order | None:
        try:
            return _order(OrderItem.get(order_id, consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def for_card(self, card_id: str) -> list[Order]:
        """The card's orders, newest first."""
        return [_order(item) for item in OrderItem.by_card.query(card_id, scan_index_forward=False)]

    def pending(self, created_before: datetime) -> list[Order]:
        # The index is sparse (only pending orders carry `pending`), so this reads nothing else.
        query = OrderItem.pending_orders.query(PENDING, OrderItem.created_at <= created_before.isoformat())
        return [_order(item) for item in query]

    def close(self, order: Order) -> bool:
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                tx.delete(ClaimItem(claim=_unpaid_claim(order.card_id)), condition=ClaimItem.order_id == order.id)
                tx.update(
                    OrderItem(order_id=order.id),
                    actions=[OrderItem.state.set(OrderState.CLOSED.value), OrderItem.pending.remove()],
                    condition=OrderItem.state == OrderState.PENDING.value,
                )
        except TransactWriteError as e:
            if _failed_items(e):
                return False
            raise
        return True

    def create(self, order: Order, idempotency_key: str) -> Order:
        for _ in range(3):
            try:
                return self._create(order, idempotency_key)
            except TransactWriteError as e:
                if not _conflicted(e):
                    raise
        return self._create(order, idempotency_key)

    def _create(self, order: Order, idempotency_key: str) -> Order:
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                tx.save(_order_item(order), condition=OrderItem.order_id.does_not_exist())
                # An offline payment is paid as it is entered: it never holds the card's one unpaid slot.
                claims = [_key_claim(order.owner_id, idempotency_key)]
                if order.channel.online:
                    claims.append(_unpaid_claim(order.card_id))
                for claim in claims:
                    item = ClaimItem(claim=claim, owner_id=order.owner_id, card_id=order.card_id, order_id=order.id)
                    tx.save(item, condition=ClaimItem.claim.does_not_exist())
        except TransactWriteError as e:
            failed = _failed_items(e)
            if 1 in failed:  # this key was used before: that purchase is the answer
                earlier = self._claimed(_key_claim(order.owner_id, idempotency_key))
                if earlier is not None:
                    return earlier
            if 2 in failed:
                waiting = self._claimed(_unpaid_claim(order.card_id))
                raise UnpaidOrderExists(waiting.id if waiting else "?") from e
            raise
        return order

    def _claimed(self, claim: str) -> Order | None:
        try:
            order_id = ClaimItem.get(claim, consistent_read=True).order_id
        except ClaimItem.DoesNotExist:
            return None
        return self.get(order_id) if order_id else None


class DynamoFulfilmentStore:
    """Payments and refunds: each moves an order, a card, the ledger and the lot's gate feed in one transaction."""

    def commit(
        self, fulfilment: Fulfilment, card_version: int, lot_version: int, receipt: SignedReceipt | None = None
    ) -> None:
        order = fulfilment.order
        _commit_change(
            order_id=order.id,
            order_actions=[
                OrderItem.state.set(OrderState.PAID.value),
                OrderItem.paid_at.set(_stamp(order.paid_at)),
                OrderItem.transaction_id.set(order.transaction_id),
                OrderItem.new_valid_from.set(_iso(order.new_valid_from)),
                OrderItem.new_valid_until.set(_iso(order.new_valid_until)),
                OrderItem.pending.remove(),
            ],
            order_was=(OrderState.PENDING, OrderState.CLOSED),
            card=fulfilment.card,
            card_version=card_version,
            ledger=fulfilment.ledger,
            news=fulfilment.entitlements,
            lot_version=lot_version,
            frees_card=fulfilment.was is OrderState.PENDING and order.channel.online,
            reminders=fulfilment.reminders,
            audit=fulfilment.audit,
            receipt=receipt,
        )

    def commit_refund(self, refund: Refund, card_version: int, lot_version: int) -> None:
        _commit_change(
            order_id=refund.order.id,
            order_actions=[OrderItem.state.set(OrderState.REFUNDED.value)],
            order_was=(OrderState.PAID,),
            card=refund.card,
            card_version=card_version,
            ledger=refund.ledger,
            news=refund.entitlements,
            lot_version=lot_version,
            frees_card=False,
            reminders=refund.reminders,
            audit=refund.audit,
        )


def _commit_change(
    *,
    order_id: str,
    order_actions: list[Action],
    order_was: tuple[OrderState, ...],
    card: Card,
    card_version: int,
    ledger: LedgerEntry,
    news: tuple[Entitlement, ...],
    lot_version: int,
    frees_card: bool,
    reminders: tuple[Slot, ...],
    audit: AuditEntry | None,
    receipt: SignedReceipt | None = None,
) -> None:
    w = NamedWrite()
    if frees_card:  # a pending order held the card's one unpaid slot
        w.delete("unpaid", ClaimItem(claim=_unpaid_claim(card.id)), ClaimItem.order_id == order_id)
    w.put("ledger", _ledger_item(ledger), LedgerItem.entry_id.does_not_exist())
    for version, item in enumerate(news, start=lot_version + 1):
        w.put(f"event {version}", _entitlement_item(item, version), EntitlementItem.version.does_not_exist())
    order_state = OrderItem.state.is_in(*(state.value for state in order_was))
    w.update("order", OrderItem(order_id=order_id), order_actions, order_state)
    card_item = _card_item(card)
    card_item.version = card_version
    w.update("card", card_item, card_actions(card))
    lot_actions = [LotItem.entitlement_version.set(lot_version + len(news))]
    lot_unchanged = LotItem.entitlement_version == lot_version
    if lot_version == 0:
        lot_unchanged = lot_unchanged | LotItem.entitlement_version.does_not_exist()
    if receipt is not None:  # the next link of the lot's receipt chain, or nothing
        r = receipt.receipt
        w.put("receipt", _receipt_item(receipt), ReceiptItem.receipt_id.does_not_exist())
        lot_actions += [LotItem.receipt_seq.set(r.seq), LotItem.receipt_hash.set(r.hash)]
        at_head = LotItem.receipt_seq == r.seq - 1
        lot_unchanged &= at_head | LotItem.receipt_seq.does_not_exist() if r.seq == 1 else at_head
    w.update("lot", LotItem(lot_id=ledger.lot_id), lot_actions, lot_unchanged)
    for slot in reminders:  # the new cycle's reminders; earlier cycles' are left to go stale
        w.update(f"reminder {slot.key}", slot_item(slot), slot_actions(slot))
    if audit is not None:
        w.put("audit", audit_item(audit))
    try:
        w.commit()
    except ConditionsFailed as e:
        if {"unpaid", "ledger", "order", "receipt"} & e.names:
            raise OrderSettled(order_id) from e
        if "card" in e.names:
            raise StaleCard(card.id) from e
        raise StaleLot(ledger.lot_id) from e
    except Conflicted as e:
        raise StaleLot(ledger.lot_id) from e  # read again and retry, like any other race


def _receipt_item(signed: SignedReceipt) -> ReceiptItem:
    r = signed.receipt
    return ReceiptItem(receipt_id=r.id, lot_id=r.lot_id, seq=r.seq, fields=r.fields(), signature=signed.signature)


def _entitlement_item(news: Entitlement, version: int) -> EntitlementItem:
    return EntitlementItem(
        lot_id=news.lot_id,
        version=version,
        pending=UNPUBLISHED,
        feed_key=feed_key(news.lot_id, version),
        plate=news.plate,
        card_id=news.card_id,
        valid_from=_iso(news.valid_from),
        valid_until=_iso(news.valid_until),
        state=news.state.value,
        issued_at=news.issued_at.isoformat(),
        paused_from=_iso(news.paused_from),
        paused_until=_iso(news.paused_until),
        grace_until=_iso(news.grace_until),
        inside=news.inside,
    )


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _order_item(order: Order) -> OrderItem:
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


def _ledger_item(e: LedgerEntry) -> LedgerItem:
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
    )


def _order(item: OrderItem) -> Order:
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
    )


class DynamoLedger:
    def around(self, lot_id: str, start: datetime, end: datetime) -> list[LedgerEntry]:
        """The lot's entries booked from `start` to `end`, with a day's margin each side (stamps carry zones)."""
        low, high = (start - timedelta(days=1)).isoformat(), (end + timedelta(days=1)).isoformat()
        return [_entry(i) for i in LedgerItem.by_lot.query(lot_id, LedgerItem.booked_at.between(low, high))]


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
