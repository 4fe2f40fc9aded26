"""The office's cards: finding one, its history, a fix with a reason, an offline payment, a refund."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from domain.admin import Permission, Staff
from domain.card import Card, CardState
from domain.card_change import AuditEntry
from domain.errors import (
    CardNotFound,
    Conflict,
    InvalidInput,
    LotNotFound,
    OrderNotFound,
    RenewalNotAllowed,
    StaleCard,
    StaleLot,
)
from domain.expiry import fixed
from domain.ids import checked_id
from domain.lot import Lot
from domain.order import UNPAID_ORDER_LIFETIME, Channel, Order, OrderState, offline_transaction_id
from domain.owner import Owner
from domain.phone import masked_phone
from domain.plate import plate_part
from domain.renewal import Refusal, quote
from handlers.card_changes import change_card
from handlers.card_jobs import CardLife, cancel_card, restore_card
from handlers.fulfil_payment import fulfil_payment
from handlers.invoices import Invoicing
from handlers.office_keys import FormKey
from handlers.ports import (
    CardQueries,
    CardRepository,
    Clock,
    GateStates,
    IdSource,
    LotRepository,
    OrderRepository,
    OwnerRepository,
    PackageRepository,
    PaymentNotice,
    PaymentProvider,
    ReceiptSigner,
    UnitOfWork,
)
from handlers.refund_order import refund_order
from handlers.renewals import place
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.staff import lot_for

OFFLINE = (Channel.CASH, Channel.POS, Channel.TRANSFER)


@dataclass(frozen=True)
class FoundCard:
    card: Card
    state: CardState
    owner_phone: str | None
    """Masked."""


def search_cards(
    account: Staff,
    lot_id: str,
    text: str,
    cards: CardRepository,
    owners: OwnerRepository,
    lots: LotRepository,
    clock: Clock,
) -> list[FoundCard]:
    """By any part of a plate (`B12345`, `12345`, `粤b 12345` find 粤B12345), the last 4 digits of the
    owner's phone, or part of the holder's name.

    Phones are matched by their last 4 digits as stored beside the encrypted number (an index on the
    owners), so a search decrypts only the phones of the cards it shows (masked).
    """
    lot = lot_for(account, lot_id, lots)
    today = lot.today(clock.now())
    text = text.strip()
    everyone = cards.list_for_lot(lot.id)
    if not text:
        found = everyone
    else:
        part = plate_part(text)
        last4 = text if text.isdigit() and len(text) == 4 else None
        ending = owners.with_phone_ending(text) if last4 else set()
        found = [
            c
            for c in everyone
            if (part and any(part in p for p in c.plates))
            or c.owner_id in ending
            or (last4 and c.claim is not None and c.claim.phone_last4 == last4)  # imported, not yet claimed
            or (c.holder and text in c.holder)
        ]
    phones = _phones({c.owner_id for c in found}, owners)
    return [FoundCard(c, c.state_on(today), _shown_phone(c, phones)) for c in sorted(found, key=lambda c: c.id)]


def _shown_phone(card: Card, phones: dict[str, str]) -> str | None:
    """The owner's phone, masked; for an imported card not yet claimed, the last 4 digits the office gave."""
    if phones.get(card.owner_id):
        return masked_phone(phones[card.owner_id])
    if card.claim is not None and card.claim.phone_last4:
        return "*******" + card.claim.phone_last4
    return None


def _phones(owner_ids: set[str], owners: OwnerRepository) -> dict[str, str]:
    found: dict[str, str] = {}
    for owner_id in owner_ids:
        owner: Owner | None = owners.get(owner_id)
        if owner is not None and owner.phone:
            found[owner_id] = owner.phone
    return found


@dataclass(frozen=True)
class CardHistory:
    card: Card
    lot: Lot
    orders: list[Order]
    changes: list[AuditEntry]
    gates: list[tuple[str, int | None, str | None]]
    """Each gate of the lot: the feed version it last had (compare with the lot's) and when."""


def card_history(
    account: Staff,
    card_id: str,
    cards: CardRepository,
    lots: LotRepository,
    orders: OrderRepository,
    changes: CardQueries,
    gates: GateStates,
) -> CardHistory:
    card, lot = office_card(account, card_id, cards, lots)
    return CardHistory(card, lot, orders.for_card(card.id), changes.history(card.id), gates.sync_states(lot.id))


def office_card(
    account: Staff, card_id: str, cards: CardRepository, lots: LotRepository, permission: Permission = Permission.VIEW
) -> tuple[Card, Lot]:
    card = cards.get(checked_id("card_id", card_id))
    if card is None:
        raise CardNotFound(card_id)
    try:
        lot = lot_for(account, card.lot_id, lots, permission)
    except LotNotFound as e:
        raise CardNotFound(card_id) from e  # a card of a lot out of reach does not exist
    return card, lot


def fix_card(
    account: Staff,
    card_id: str,
    valid_until: date | None,
    holder: str | None,
    reason: str,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
    key: FormKey | None = None,
) -> Card:
    """Set the end date or the holder's name by hand: only with a reason, which the card's history keeps.

    States with rules of their own have their own use cases: cancel and restore
    (handlers/card_jobs.py), pauses.
    """
    office_card(account, card_id, cards, lots, Permission.MANAGE)
    if not reason.strip():
        raise InvalidInput("reason_for_history")
    if valid_until is None and holder is None:
        raise InvalidInput("fix_nothing")
    return change_card(
        card_id,
        lambda card, _, today: fixed(card, valid_until, holder, today),
        f"admin:{account.email}",
        "fix",
        cards,
        lots,
        uow,
        clock,
        reason=reason.strip(),
        key=key,
    )


def office_fix(
    account: Staff,
    card_id: str,
    valid_until: date | None,
    holder: str | None,
    state: str | None,
    reason: str,
    life: CardLife,
    key: FormKey | None = None,
) -> Card:
    """The office's fix form: dates and holder by hand; a state, through the use case with its rules.

    `state` predates the cancel and restore routes: `cancelled` cancels, `active` restores a cancelled card.
    """
    card, _ = office_card(account, card_id, life.cards, life.lots, Permission.MANAGE)
    if state is not None and (valid_until is not None or holder is not None) and key is not None:
        raise InvalidInput("fix_one_thing")  # one form's key is one change
    if state == CardState.CANCELLED.value:
        card = office_cancel(account, card.id, reason, life, key)
    elif state == CardState.ACTIVE.value and card.state is CardState.CANCELLED:
        card = office_restore(account, card.id, reason, life, key)
    elif state == CardState.EXPIRED.value:
        raise InvalidInput("fix_expired")
    if valid_until is not None or holder is not None:
        card = fix_card(account, card.id, valid_until, holder, reason, life.cards, life.lots, life.uow, life.clock, key)
    return card


def office_cancel(account: Staff, card_id: str, reason: str, life: CardLife, key: FormKey | None = None) -> Card:
    """The office cancels a card of a lot it manages: the place goes to the first in line."""
    card, _ = office_card(account, card_id, life.cards, life.lots, Permission.MANAGE)
    return cancel_card(card.id, f"admin:{account.email}", reason, life, key)


def office_restore(account: Staff, card_id: str, reason: str, life: CardLife, key: FormKey | None = None) -> Card:
    """The office brings back a cancelled card of a lot it manages, if a place and its plates are free."""
    card, _ = office_card(account, card_id, life.cards, life.lots, Permission.MANAGE)
    return restore_card(card.id, f"admin:{account.email}", reason, life, key)


def offline_payment(
    account: Staff,
    card_id: str,
    package_id: str,
    channel: Channel,
    idempotency_key: str,
    *,
    cards: CardRepository,
    lots: LotRepository,
    packages: PackageRepository,
    orders: OrderRepository,
    uow: UnitOfWork,
    signer: ReceiptSigner | None,
    ids: IdSource,
    clock: Clock,
) -> Order:
    """A cashier takes cash (or POS, or a transfer): an order paid at once, fulfilled like any payment."""
    if channel not in OFFLINE:
        raise InvalidInput("offline_channel")
    if not 8 <= len(idempotency_key) <= 64:
        raise InvalidInput("idempotency_key")
    for attempt in range(MAX_ATTEMPTS):
        card, lot = office_card(account, card_id, cards, lots, Permission.CASH)
        now = clock.now()
        draft = _cash_order(account, card, lot, package_id, channel, packages, ids, now)
        try:
            order = place(draft, idempotency_key, card.version, orders, uow, who=f"admin:{account.email}")
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)  # the card changed since it was quoted: quote again
            continue
        if order.state is OrderState.PENDING:
            notice = PaymentNotice(order.id, offline_transaction_id(order), order.amount_fen, now, True)
            fulfil_payment(notice, orders, cards, uow, signer)
        return orders.get(order.id) or order
    raise Conflict("kept_changing")


def _cash_order(
    account: Staff,
    card: Card,
    lot: Lot,
    package_id: str,
    channel: Channel,
    packages: PackageRepository,
    ids: IdSource,
    now: datetime,
) -> Order:
    """What the office sells: the package as quoted for the card today (even past the online limits)."""
    package = packages.get(lot.id, checked_id("package_id", package_id))
    if package is None:
        raise InvalidInput("package_not_found", package_id=package_id)
    offer = quote(card, replace(package, enabled=True), lot, lot.today(now))
    if offer.reason is Refusal.CARD_CANCELLED:
        raise RenewalNotAllowed(offer.reason.value, offer.limit)
    return Order(
        id=ids.new_id("order"),
        owner_id=card.owner_id,
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
        owner_label="现场缴费",
        staff=account.email,
    )


def office_refund(
    account: Staff,
    order_id: str,
    *,
    orders: OrderRepository,
    cards: CardRepository,
    lots: LotRepository,
    provider: PaymentProvider,
    uow: UnitOfWork,
    invoicing: Invoicing,
    clock: Clock,
    reason: str | None = None,
) -> Order:
    """Refund a paid order in full, saying why (the card's history keeps it). A refunded order stays
    refunded: the same refund asked again (a double click, a retry) answers it and refunds nothing more."""
    order = orders.get(checked_id("order_id", order_id))
    if order is None:
        raise OrderNotFound(order_id)
    lot = lots.get(order.lot_id)
    if lot is None or not account.reaches(lot):
        raise OrderNotFound(order_id)
    account.require(Permission.MANAGE)
    actor = f"admin:{account.email}"
    return refund_order(order.id, orders, cards, lots, provider, uow, clock, invoicing, actor, reason)
