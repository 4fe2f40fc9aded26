"""Small builders so tests say only what matters to them."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

from domain.card import Card, CardState, Pause, PauseState
from domain.lot import Lot, RenewalMode, RenewalPolicy
from domain.order import Channel, Order, OrderState
from domain.package import Duration, DurationUnit, Package
from functions.bootstrap import Services


def a_lot(
    *,
    mode: RenewalMode = RenewalMode.CONTINUOUS,
    max_until: date | None = None,
    max_months_ahead: int | None = None,
    online_renewal: bool = True,
    lot_id: str = "lot-1",
) -> Lot:
    return Lot(
        id=lot_id,
        name="Test Lot",
        policy=RenewalPolicy(
            mode=mode, max_until=max_until, max_months_ahead=max_months_ahead, online_renewal=online_renewal
        ),
    )


def a_card(
    valid_until: date | None,
    *,
    state: CardState = CardState.ACTIVE,
    valid_from: date | None = None,
    lot_id: str = "lot-1",
    card_id: str = "card-1",
    owner_id: str = "owner-1",
    plates: tuple[str, ...] | None = None,
    version: int = 0,
) -> Card:
    """A card; its plate defaults to one derived from its id, so cards in one lot never clash."""
    if plates is None:
        plates = (f"粤B{zlib.crc32(card_id.encode()) % 100000:05d}",)
    if valid_until is not None and valid_from is None:
        valid_from = date(valid_until.year - 1, 1, 1)
    return Card(card_id, lot_id, owner_id, plates, valid_from, valid_until, state, version)


def a_pause(starts: date, until: date, state: PauseState = PauseState.SCHEDULED, pause_id: str = "pause-1") -> Pause:
    """A pause as stored (its days are not added to any card here)."""
    return Pause(pause_id, starts, until, state, datetime(2026, 1, 1, tzinfo=UTC))


def months(count: int, price_fen: int = 300_00, *, enabled: bool = True, lot_id: str = "lot-1") -> Package:
    return Package(f"m{count}", lot_id, f"{count} months", Duration(DurationUnit.MONTHS, count), price_fen, enabled)


def days(count: int, price_fen: int = 100_00, *, lot_id: str = "lot-1") -> Package:
    return Package(f"d{count}", lot_id, f"{count} days", Duration(DurationUnit.DAYS, count), price_fen)


def a_pending_order(
    order_id: str,
    quoted_from: date,
    quoted_until: date,
    created_at: datetime,
    *,
    owner_id: str = "owner-1",
    card_id: str = "card-1",
    lot_id: str = "lot-1",
    package: Package | None = None,
    owner_label: str = "微信用户",
) -> Order:
    """A WeChat Pay order waiting for payment, open for 15 minutes; its package one month at the lot."""
    package = package or months(1, lot_id=lot_id)
    return Order(
        order_id, owner_id, card_id, lot_id, package, package.price_fen, Channel.WECHAT, quoted_from, quoted_until,
        OrderState.PENDING, created_at, created_at + timedelta(minutes=15), owner_label=owner_label,
    )  # fmt: skip


def add_card(s: Services, card: Card) -> bool:
    """Issue a card through the one commit path (places, plates, gates, audit), as the office would.

    The card's lot is created first when the test has none. False when the card exists already.
    """
    from handlers.issue_card import issue_card

    if s.lots.get(card.lot_id) is None:
        s.lots.add(Lot(card.lot_id, "Test Lot"))
    return issue_card(card, "system:test", "test set-up", s.lots, s.uow, s.clock)


def version_of(s: Services, card_id: str) -> int:
    """The card's version now (what an order is placed against)."""
    card = s.cards.get(card_id)
    assert card is not None
    return card.version


def monthly_lot(now: datetime, cards: int = 1) -> Services:
    """Fake services with lot-1 (a 1-month package at 300 yuan), owner-1 and its cards card-1.. ending Dec 20."""
    from domain.owner import Owner
    from tests.fakes import fake_services

    s = fake_services(now)
    s.lots.add(Lot(id="lot-1", name="东门", policy=RenewalPolicy(max_months_ahead=12)))
    s.packages.add(months(1, 300_00))
    s.owners.add(Owner("owner-1", "openid-1"))
    for n in range(1, cards + 1):
        add_card(s, a_card(date(2026, 12, 20), card_id=f"card-{n}"))
    return s
