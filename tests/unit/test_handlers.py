from datetime import UTC, date, datetime

import pytest

from domain.card import CardState
from domain.errors import InvalidId, LotNotFound
from handlers.list_lot_packages import list_lot_packages
from handlers.seed_demo import DEMO_CARD_ID, DEMO_LOT_ID, DEMO_PLATE, seed_demo
from tests.builders import a_lot, months
from tests.fakes import fake_services

# 17:00 UTC on Nov 23 is 01:00 on Nov 24 in Shanghai: the demo must count from the lot's day.
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_price_list_shows_enabled_packages_cheapest_first() -> None:
    s = fake_services(NOW)
    s.lots.add(a_lot())
    for p in (months(12, 3_200_00), months(1, 300_00), months(3, 850_00), months(6, 1_000_00, enabled=False)):
        s.packages.add(p)
    s.packages.add(months(2, 1_00, lot_id="lot-2"))

    price_list = list_lot_packages("lot-1", s.lots, s.packages)

    assert price_list.lot.id == "lot-1"
    assert [(p.id, p.price_fen) for p in price_list.packages] == [("m1", 300_00), ("m3", 850_00), ("m12", 3_200_00)]


def test_price_list_of_unknown_lot_is_not_found() -> None:
    s = fake_services(NOW)
    with pytest.raises(LotNotFound):
        list_lot_packages("no-such-lot", s.lots, s.packages)


def test_price_list_refuses_a_malformed_lot_id_before_looking() -> None:
    s = fake_services(NOW)
    with pytest.raises(InvalidId):
        list_lot_packages("../etc", s.lots, s.packages)


def test_demo_seed_writes_the_demo_lot_owner_and_a_card_ending_ten_lot_days_ahead() -> None:
    s = fake_services(NOW)
    result = seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)

    lot = s.lots.get(DEMO_LOT_ID)
    assert lot is not None and lot.quota == 200 and lot.timezone == "Asia/Shanghai"
    assert lot.policy.max_renewal_date(date(2026, 11, 24)) == date(2027, 11, 24)
    prices = {p.duration.count: p.price_fen for p in s.packages.list_for_lot(DEMO_LOT_ID)}
    assert prices == {1: 300_00, 3: 850_00, 12: 3_200_00}
    card = s.cards.get(DEMO_CARD_ID)
    assert card is not None
    assert card.plates == (DEMO_PLATE,) and card.state is CardState.ACTIVE
    assert card.valid_until == date(2026, 12, 4)
    owner = s.owners.get(card.owner_id)
    assert owner is not None and owner.openid == "demo-owner"
    assert len(result.created) == 6
    seeded = s.lots.get(DEMO_LOT_ID)
    assert seeded is not None and seeded.held == 1 and seeded.entitlement_version == 1  # I1, I3: the card counts


def test_demo_seed_twice_changes_nothing_the_second_time() -> None:
    s = fake_services(NOW)
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    before = s.cards.get(DEMO_CARD_ID)
    again = seed_demo(fake_services(datetime(2027, 5, 1, tzinfo=UTC)).clock, s.lots, s.packages, s.owners, s.uow)
    assert again.created == []
    assert s.cards.get(DEMO_CARD_ID) == before
