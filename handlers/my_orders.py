"""The owner's orders, newest first, a page at a time: what each bought, for which card, and its documents.

A page is one Query of the orders' `by_owner` index plus one batch read each of
the cards, lots and invoices it names, however many orders the owner has. The
cursor names the last order shown (its time and id); it only ever pages through
the asking owner's orders, whatever it says.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from domain.card import Card
from domain.errors import InvalidId, InvalidInput
from domain.ids import checked_id
from domain.invoice import Invoice
from domain.lot import Lot
from domain.order import Order, OrderState
from handlers.ports import CardRepository, InvoiceStore, LotRepository, OrderRepository

DEFAULT_PAGE = 20
MAX_PAGE = 50
MAX_CURSOR = 200


@dataclass(frozen=True)
class OrderLine:
    order: Order
    card: Card | None
    lot: Lot | None
    invoice: Invoice | None
    """The order's invoice, when one was asked for."""


@dataclass(frozen=True)
class OrdersPage:
    orders: list[OrderLine]
    next_cursor: str | None
    """Send it back as `cursor` for the next page; None on the last page."""


def list_my_orders(
    owner_id: str,
    limit: int,
    cursor: str | None,
    orders: OrderRepository,
    cards: CardRepository,
    lots: LotRepository,
    invoices: InvoiceStore,
) -> OrdersPage:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("page_limit", most=MAX_PAGE)
    after = parse_cursor(cursor) if cursor else None
    found = orders.for_owner(owner_id, limit + 1, after)  # one more than shown: is there a next page?
    page = found[:limit]
    if not page:
        return OrdersPage([], None)
    cards_by_id = cards.get_many({o.card_id for o in page})
    lots_by_id = lots.get_many({o.lot_id for o in page})
    invoiced = invoices.get_many({o.id for o in page if o.state in (OrderState.PAID, OrderState.REFUNDED)})
    lines = [OrderLine(o, cards_by_id.get(o.card_id), lots_by_id.get(o.lot_id), invoiced.get(o.id)) for o in page]
    return OrdersPage(lines, cursor_after(page[-1]) if len(found) > limit else None)


def cursor_after(order: Order) -> str:
    raw = f"{order.created_at.isoformat()}|{order.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(cursor[:MAX_CURSOR])
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, order_id = raw.rpartition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError(stamp)
        return at, checked_id("cursor", order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, InvalidId):
        raise InvalidInput("page_cursor") from None
