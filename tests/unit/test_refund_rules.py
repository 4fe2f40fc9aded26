"""What a refund takes back from a card."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.card import CardState
from domain.order import Channel, Order, OrderState, refund
from tests.builders import a_card, a_lot, months

AT = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)
LOT = a_lot()


def paid_order(bought_from: date, bought_until: date) -> Order:
    return Order(
        id="order-1", owner_id="owner-1", card_id="card-1", lot_id="lot-1", package=months(3, 850_00),
        amount_fen=850_00, channel=Channel.WECHAT, quoted_from=bought_from, quoted_until=bought_until,
        state=OrderState.PAID, created_at=AT, expires_at=AT, paid_at=AT, transaction_id="tx-1",
        new_valid_from=bought_from, new_valid_until=bought_until,
    )  # fmt: skip


def test_refunding_the_last_renewal_ends_the_card_where_it_ended_before() -> None:
    card = a_card(date(2027, 3, 3), valid_from=date(2026, 11, 4))
    r = refund(paid_order(date(2026, 12, 4), date(2027, 3, 3)), card, LOT, AT)
    assert (r.card.valid_from, r.card.valid_until, r.card.state) == (
        date(2026, 11, 4),
        date(2026, 12, 3),
        CardState.ACTIVE,
    )
    assert r.order.state is OrderState.REFUNDED
    assert (r.ledger.id, r.ledger.amount_fen) == ("refund:order-1", -850_00)
    assert [(e.plate, e.valid_until) for e in r.entitlements] == [(card.plates[0], date(2026, 12, 3))]


def test_refunding_an_earlier_renewal_takes_its_days_off_the_end() -> None:
    # Bought Dec 4 - Mar 3 (90 days), then renewed again to Jun 3: the refund takes 90 days off Jun 3.
    card = a_card(date(2027, 6, 3), valid_from=date(2026, 11, 4))
    r = refund(paid_order(date(2026, 12, 4), date(2027, 3, 3)), card, LOT, AT)
    assert r.card.valid_until == date(2027, 3, 5)


def test_refunding_everything_a_card_had_leaves_it_pending() -> None:
    card = a_card(date(2027, 3, 3), valid_from=date(2026, 12, 4))
    r = refund(paid_order(date(2026, 12, 4), date(2027, 3, 3)), card, LOT, AT)
    assert (r.card.valid_from, r.card.valid_until, r.card.state) == (None, None, CardState.PENDING)


def test_only_a_paid_order_can_be_refunded() -> None:
    order = replace(paid_order(date(2026, 12, 4), date(2027, 3, 3)), state=OrderState.PENDING)
    with pytest.raises(ValueError):
        refund(order, a_card(date(2027, 3, 3)), LOT, AT)
