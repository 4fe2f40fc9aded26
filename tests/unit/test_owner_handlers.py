"""The owner use cases over in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.card import CardState
from domain.errors import (
    CardNotFound,
    InvalidPlate,
    LoginCodeInvalid,
    LoginCodeUsed,
    PlateOnCard,
    SessionEnded,
    TooManyVehicles,
    VehicleNotFound,
)
from domain.lot import Lot
from functions.bootstrap import Services
from handlers.bind_phone import bind_phone
from handlers.log_in_owner import log_in_owner, refresh_session
from handlers.my_cards import get_my_card, list_my_cards
from handlers.vehicles import add_vehicle, list_vehicles, remove_vehicle
from tests.builders import a_card, add_card
from tests.fakes import FakeOwners, fake_services

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def s() -> Services:
    return fake_services(NOW)


def login(s: Services, code: str) -> str:
    return log_in_owner(code, s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock).owner.id


def test_first_login_creates_the_owner_and_later_logins_find_it(s: Services) -> None:
    first = log_in_owner("sim:alice", s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock)
    again = log_in_owner("sim:alice:2", s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock)
    assert first.owner.id == again.owner.id
    assert first.owner.openid == "alice" and first.owner.unionid == "u-alice"
    assert s.tokens.verify_access(again.tokens.access_token) == first.owner.id
    assert isinstance(s.owners, FakeOwners)
    assert s.owners.session_keys[first.owner.id].startswith("sk-alice")  # kept, for the server only
    assert login(s, "sim:bob") != first.owner.id


def test_wechat_refusals_pass_through_and_store_nothing(s: Services) -> None:
    with pytest.raises(LoginCodeInvalid):
        login(s, "garbage")
    login(s, "sim:alice")
    with pytest.raises(LoginCodeUsed):
        login(s, "sim:alice")
    assert isinstance(s.owners, FakeOwners)
    assert len(s.owners.items) == 1


def test_refresh_gives_new_tokens_for_a_session_that_was_started_only(s: Services) -> None:
    result = log_in_owner("sim:alice", s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock)
    fresh = refresh_session(result.tokens.refresh_token, s.sessions, s.tokens, s.clock)
    assert s.tokens.verify_access(fresh.access_token) == result.owner.id
    ghost = s.tokens.issue("owner-gone", session="session-gone")
    with pytest.raises(SessionEnded):
        refresh_session(ghost.refresh_token, s.sessions, s.tokens, s.clock)


def test_bound_phone_is_answered_masked_and_kept_whole(s: Services) -> None:
    owner_id = login(s, "sim:alice")
    assert bind_phone(owner_id, "sim-phone:13800001234", s.wechat, s.owners) == "138****1234"
    assert s.owners.get(owner_id).phone == "13800001234"  # type: ignore[union-attr]


def test_vehicles_are_normalised_idempotent_and_limited(s: Services) -> None:
    owner_id = login(s, "sim:alice")
    assert add_vehicle(owner_id, "粤b·12345", s.owners) == "粤B12345"
    assert add_vehicle(owner_id, "粤B12345", s.owners) == "粤B12345"
    for n in range(4):
        add_vehicle(owner_id, f"粤A0000{n}", s.owners)
    owner = s.owners.get(owner_id)
    assert owner is not None and len(list_vehicles(owner)) == 5
    with pytest.raises(TooManyVehicles):
        add_vehicle(owner_id, "粤A99999", s.owners)
    with pytest.raises(InvalidPlate):
        add_vehicle(owner_id, "粤A9999", s.owners)


def test_a_vehicle_on_a_running_card_cannot_be_removed(s: Services) -> None:
    owner_id = login(s, "sim:alice")
    add_vehicle(owner_id, "粤B12345", s.owners)
    add_card(s, a_card(date(2026, 12, 3), owner_id=owner_id, plates=("粤B12345",)))
    with pytest.raises(PlateOnCard):
        remove_vehicle(s.owners.get(owner_id), "粤B12345", s.owners, s.cards)  # type: ignore[arg-type]
    with pytest.raises(VehicleNotFound):
        remove_vehicle(s.owners.get(owner_id), "粤B54321", s.owners, s.cards)  # type: ignore[arg-type]


def test_my_cards_show_the_lot_and_the_state_as_of_the_lot_day(s: Services) -> None:
    owner_id = login(s, "sim:alice")
    s.lots.add(Lot(id="lot-1", name="东门"))
    add_card(s, a_card(date(2026, 11, 22), owner_id=owner_id, card_id="card-old"))
    add_card(s, a_card(date(2026, 12, 3), owner_id=owner_id, card_id="card-new"))
    add_card(s, a_card(None, state=CardState.PENDING, owner_id=owner_id, card_id="card-pending"))
    views = {v.card.id: v for v in list_my_cards(owner_id, s.cards, s.lots, s.clock)}
    assert (views["card-old"].state, views["card-old"].days_left) == (CardState.EXPIRED, 0)
    assert (views["card-new"].state, views["card-new"].days_left) == (CardState.ACTIVE, 11)
    assert views["card-pending"].state is CardState.PENDING
    assert views["card-new"].lot.name == "东门"


def test_another_owners_card_is_not_found(s: Services) -> None:
    alice, bob = login(s, "sim:alice"), login(s, "sim:bob")
    s.lots.add(Lot(id="lot-1", name="东门"))
    add_card(s, a_card(date(2026, 12, 3), owner_id=alice))
    assert get_my_card(alice, "card-1", s.cards, s.lots, s.clock).card.owner_id == alice
    with pytest.raises(CardNotFound):
        get_my_card(bob, "card-1", s.cards, s.lots, s.clock)
    with pytest.raises(CardNotFound):
        get_my_card(bob, "card-nope", s.cards, s.lots, s.clock)


def test_saving_a_card_never_changes_its_plates(s: Services) -> None:
    add_card(s, a_card(date(2026, 12, 3)))
    card = s.cards.get("card-1")
    assert card is not None
    saved = s.cards.save(replace(card, plates=("粤A00000",), valid_until=date(2027, 1, 3)))
    assert saved.plates == card.plates and saved.valid_until == date(2027, 1, 3)
