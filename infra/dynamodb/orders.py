"""Orders and their exactly-once fulfilment in DynamoDB."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from domain.errors import OrderSettled, StaleCard, StaleLot, UnpaidOrderExists
from domain.order import Channel, Fulfilment, Order, OrderState
from domain.package import Duration, DurationUnit, Package
from infra.dynamodb.repositories import _card_item, _failed_items, _iso, _set_or_remove
from infra.dynamodb.tables import (
    CardItem,
    ClaimItem,
    EntitlementItem,
    LedgerItem,
    LotItem,
    OrderItem,
    transaction_connection,
)

PENDING = "pending"


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
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                tx.save(_order_item(order), condition=OrderItem.order_id.does_not_exist())
                for claim in (_key_claim(order.owner_id, idempotency_key), _unpaid_claim(order.card_id)):
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
    def commit(self, fulfilment: Fulfilment, card_version: int, lot_version: int) -> None:
        order, card, news = fulfilment.order, fulfilment.card, fulfilment.entitlements
        card_item = _card_item(card)
        card_item.version = card_version
        releases_unpaid = fulfilment.was is OrderState.PENDING
        lot_unchanged = LotItem.entitlement_version == lot_version
        if lot_version == 0:
            lot_unchanged = lot_unchanged | LotItem.entitlement_version.does_not_exist()
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                if releases_unpaid:
                    tx.delete(ClaimItem(claim=_unpaid_claim(order.card_id)), condition=ClaimItem.order_id == order.id)
                tx.save(_ledger_item(fulfilment), condition=LedgerItem.entry_id.does_not_exist())
                for offset, news_item in enumerate(news, start=1):
                    tx.save(
                        EntitlementItem(
                            lot_id=news_item.lot_id,
                            version=lot_version + offset,
                            plate=news_item.plate,
                            card_id=news_item.card_id,
                            valid_from=_iso(news_item.valid_from),
                            valid_until=_iso(news_item.valid_until),
                            state=news_item.state.value,
                            issued_at=news_item.issued_at.isoformat(),
                        ),
                        condition=EntitlementItem.version.does_not_exist(),
                    )
                tx.update(
                    OrderItem(order_id=order.id),
                    actions=[
                        OrderItem.state.set(OrderState.PAID.value),
                        OrderItem.paid_at.set(_stamp(order.paid_at)),
                        OrderItem.transaction_id.set(order.transaction_id),
                        OrderItem.new_valid_from.set(_iso(order.new_valid_from)),
                        OrderItem.new_valid_until.set(_iso(order.new_valid_until)),
                        OrderItem.pending.remove(),
                    ],
                    condition=OrderItem.state.is_in(OrderState.PENDING.value, OrderState.CLOSED.value),
                )
                tx.update(
                    card_item,
                    actions=[
                        _set_or_remove(CardItem.valid_from, _iso(card.valid_from)),
                        _set_or_remove(CardItem.valid_until, _iso(card.valid_until)),
                        CardItem.state.set(card.state.value),
                    ],
                )
                tx.update(
                    LotItem(lot_id=order.lot_id),
                    actions=[LotItem.entitlement_version.set(lot_version + len(news))],
                    condition=lot_unchanged,
                )
        except TransactWriteError as e:
            failed = _failed_items(e)
            if not failed:
                raise
            # pynamodb sends deletes, then puts, then updates, and the reasons follow that order:
            # [unpaid claim], ledger, events..., order, card, lot.
            ledger = int(releases_unpaid)
            order_update = ledger + 1 + len(news)
            if {ledger, order_update} & failed or (releases_unpaid and 0 in failed):
                raise OrderSettled(order.id) from e
            if order_update + 1 in failed:
                raise StaleCard(card.id) from e
            raise StaleLot(order.lot_id) from e


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
    )


def _ledger_item(f: Fulfilment) -> LedgerItem:
    e = f.ledger
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
    )
