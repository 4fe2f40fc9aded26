"""Choosing a package and ordering a renewal: the server quotes, the provider is asked to prepay."""

from __future__ import annotations

from dataclasses import dataclass

from domain.card import Card
from domain.errors import (
    CardNotFound,
    Conflict,
    InvalidInput,
    LotNotFound,
    OrderKeyUsed,
    OrderNotFound,
    OrderSettled,
    PackageNotFound,
    RenewalNotAllowed,
    StaleCard,
    StaleLot,
    UnpaidOrderExists,
)
from domain.ids import checked_id
from domain.lot import Lot
from domain.order import UNPAID_ORDER_LIFETIME, Channel, Order, OrderState, buyer, close_order, place_order
from domain.owner import Owner
from domain.package import Package
from domain.phone import masked_phone
from domain.renewal import Quote, quote
from handlers.ports import (
    CardRepository,
    Clock,
    IdSource,
    LotRepository,
    OrderRepository,
    OwnerRepository,
    PackageRepository,
    PaymentProvider,
    UnitOfWork,
)
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


@dataclass(frozen=True)
class PackageOffer:
    package: Package
    quote: Quote


@dataclass(frozen=True)
class OrderToPay:
    order: Order
    payment: dict[str, str]


def _my_card(owner_id: str, card_id: str, cards: CardRepository, lots: LotRepository) -> tuple[Card, Lot]:
    card = cards.get(checked_id("card_id", card_id))
    if card is None or card.owner_id != owner_id:
        raise CardNotFound(card_id)
    lot = lots.get(card.lot_id)
    if lot is None:
        raise LotNotFound(card.lot_id)
    return card, lot


def offers_for_card(
    owner_id: str, card_id: str, cards: CardRepository, lots: LotRepository, packages: PackageRepository, clock: Clock
) -> list[PackageOffer]:
    """Every package of the card's lot with what it would buy today, allowed or not (and why)."""
    card, lot = _my_card(owner_id, card_id, cards, lots)
    today = lot.today(clock.now())
    listed = sorted(packages.list_for_lot(lot.id), key=lambda p: (p.price_fen, p.id))
    return [PackageOffer(p, quote(card, p, lot, today)) for p in listed]


def order_renewal(
    owner_id: str,
    card_id: str,
    package_id: str,
    channel: Channel,
    idempotency_key: str,
    *,
    cards: CardRepository,
    lots: LotRepository,
    packages: PackageRepository,
    owners: OwnerRepository,
    orders: OrderRepository,
    uow: UnitOfWork,
    provider: PaymentProvider,
    ids: IdSource,
    clock: Clock,
) -> OrderToPay:
    if not 8 <= len(idempotency_key) <= 64:
        raise InvalidInput("idempotency_key")
    owner = owners.get(owner_id)
    if owner is None:
        raise CardNotFound(card_id)
    for attempt in range(MAX_ATTEMPTS):
        card, lot = _my_card(owner_id, card_id, cards, lots)
        try:
            order = place(
                _renewal(owner_id, card, lot, package_id, channel, packages, owner, ids, clock),
                idempotency_key,
                card.version,
                orders,
                uow,
            )
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)  # the card changed since the quote: quote again
            continue
        if order.state is not OrderState.PENDING:
            return OrderToPay(order, {})
        # Asked after the order is stored, so a payment can never arrive for an order we do not know.
        return OrderToPay(order, provider.prepay(order, owner.openid))
    raise Conflict("kept_changing")


def _renewal(
    owner_id: str,
    card: Card,
    lot: Lot,
    package_id: str,
    channel: Channel,
    packages: PackageRepository,
    owner: Owner,
    ids: IdSource,
    clock: Clock,
) -> Order:
    """The order for the package as the server quotes it for the card today; RenewalNotAllowed if it may not."""
    package = packages.get(lot.id, checked_id("package_id", package_id))
    if package is None:
        raise PackageNotFound(package_id)
    now = clock.now()
    offer = quote(card, package, lot, lot.today(now))
    if not offer.allowed and offer.reason is not None:
        raise RenewalNotAllowed(offer.reason.value, offer.limit)
    return Order(
        id=ids.new_id("order"),
        owner_id=owner_id,
        card_id=card.id,
        lot_id=lot.id,
        package=package,
        amount_fen=offer.amount_fen,
        channel=channel,
        quoted_from=offer.new_valid_from,
        quoted_until=offer.new_valid_until,
        state=OrderState.PENDING,
        created_at=now,
        expires_at=now + UNPAID_ORDER_LIFETIME,
        owner_label=masked_phone(owner.phone) if owner.phone else Order.owner_label,
    )


def place(
    draft: Order,
    idempotency_key: str,
    card_version: int,
    orders: OrderRepository,
    uow: UnitOfWork,
    who: str | None = None,
) -> Order:
    """Store a new order for the card still at `card_version`, or answer the one made with the key by `who`
    (the owner, or the office account at the till); the key sent again for another purchase is a 409.

    UnpaidOrderExists when an online order of the card still waits for payment; StaleCard
    when the card changed since it was quoted (or a concurrent transaction touched the same
    claims): quote again.
    """
    try:
        uow.commit(place_order(draft, idempotency_key, card_version, who))
    except OrderKeyUsed as e:
        earlier = orders.made_with(who or buyer(draft), idempotency_key)
        if earlier is None:
            raise StaleCard(draft.card_id) from e  # the key's order is being written right now: read again
        if (earlier.card_id, earlier.package.id, earlier.channel) != (draft.card_id, draft.package.id, draft.channel):
            raise Conflict("idempotency_key_reused") from e
        return earlier
    except UnpaidOrderExists as e:
        waiting = orders.waiting_for(draft.card_id)
        raise UnpaidOrderExists(waiting.id if waiting else "?") from e
    return draft


def close_unpaid(order: Order, uow: UnitOfWork) -> bool:
    """pending -> closed, freeing the card for another order; False if it was no longer pending."""
    for attempt in range(3):
        try:
            uow.commit(close_order(order))
        except OrderSettled:
            return False
        except (StaleCard, StaleLot):  # a concurrent transaction on the order or its slot: see what won
            wait_before_retry(attempt)
            continue
        return True
    return False  # the sweep asks again in a minute


def my_order(owner_id: str, order_id: str, orders: OrderRepository) -> Order:
    order = orders.get(checked_id("order_id", order_id))
    if order is None or order.owner_id != owner_id:
        raise OrderNotFound(order_id)
    return order
