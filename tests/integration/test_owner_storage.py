"""Owners, identities and vehicles in DynamoDB (moto's server over HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest

from domain.errors import PlateTaken, TooManyVehicles
from domain.lot import Lot
from domain.owner import Owner
from functions.bootstrap import Services
from infra.dynamodb.emulator import local_client
from tests.builders import a_card, add_card
from tests.conftest import TEST_REGION


def _race(n: int, work: Callable[[int], object]) -> list[object]:
    start = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as e:  # the outcome is what we compare
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_owner_is_found_by_openid_or_by_unionid(dynamo_services: Services) -> None:
    owners = dynamo_services.owners
    assert owners.add(Owner("owner-1", "openid-a", "union-1"))
    assert owners.find_by_wechat("openid-a", None).id == "owner-1"  # type: ignore[union-attr]
    # The same person from another app of the same WeChat Open account: new openid, same unionid.
    assert owners.find_by_wechat("openid-b", "union-1").id == "owner-1"  # type: ignore[union-attr]
    assert owners.find_by_wechat("openid-b", None).id == "owner-1"  # type: ignore[union-attr]
    assert owners.find_by_wechat("openid-c", "union-2") is None


def test_concurrent_first_logins_of_one_person_create_one_owner(dynamo_services: Services) -> None:
    owners = dynamo_services.owners
    results = _race(8, lambda i: owners.add(Owner(f"owner-{i}", "openid-a", "union-1")))
    assert sorted(map(str, results)) == ["False"] * 7 + ["True"]
    winner = owners.find_by_wechat("openid-a", "union-1")
    assert winner is not None and winner.id == f"owner-{results.index(True)}"


def test_phone_and_session_key_are_encrypted_at_rest(dynamodb: str, dynamo_services: Services) -> None:
    owners = dynamo_services.owners
    owners.add(Owner("owner-1", "openid-a"))
    owners.set_phone("owner-1", "13800001234")
    owners.store_session_key("owner-1", "SeSsIoNkEy==")
    raw = local_client(dynamodb, TEST_REGION).get_item(TableName="test-owners", Key={"owner_id": {"S": "owner-1"}})
    stored = repr(raw["Item"])
    assert "13800001234" not in stored and "SeSsIoNkEy" not in stored
    assert set(raw["Item"]["phone_cipher"]) == {"B"}
    assert owners.get("owner-1").phone == "13800001234"  # type: ignore[union-attr]


def test_vehicles_are_a_set_with_a_limit(dynamo_services: Services) -> None:
    owners = dynamo_services.owners
    owners.add(Owner("owner-1", "openid-a"))
    owners.add_vehicle("owner-1", "粤B12345", 2)
    owners.add_vehicle("owner-1", "粤B12345", 2)
    owners.add_vehicle("owner-1", "粤BD12345", 2)
    owners.add_vehicle("owner-1", "粤B12345", 2)  # already there: fine even at the limit
    with pytest.raises(TooManyVehicles):
        owners.add_vehicle("owner-1", "粤A00000", 2)
    assert owners.get("owner-1").vehicles == ("粤B12345", "粤BD12345")  # type: ignore[union-attr]
    owners.remove_vehicle("owner-1", "粤B12345")
    owners.remove_vehicle("owner-1", "粤BD12345")
    assert owners.get("owner-1").vehicles == ()  # type: ignore[union-attr]


def test_concurrent_vehicle_adds_never_pass_the_limit(dynamo_services: Services) -> None:
    owners = dynamo_services.owners
    owners.add(Owner("owner-1", "openid-a"))
    results = _race(8, lambda i: owners.add_vehicle("owner-1", f"粤A1000{i}", 5))
    assert sum(r is None for r in results) == 5
    assert all(isinstance(r, TooManyVehicles) for r in results if r is not None)
    assert len(owners.get("owner-1").vehicles) == 5  # type: ignore[union-attr]


def test_a_plate_is_on_one_card_per_lot(dynamo_services: Services) -> None:
    s = dynamo_services
    assert add_card(s, a_card(date(2026, 12, 3), card_id="card-1", owner_id="owner-1", plates=("粤B12345",)))
    assert not add_card(s, a_card(date(2026, 12, 3), card_id="card-1", owner_id="owner-1", plates=("粤B12345",)))
    with pytest.raises(PlateTaken):
        add_card(s, a_card(date(2026, 12, 3), card_id="card-2", owner_id="owner-2", plates=("粤A00001", "粤B12345")))
    assert s.cards.get("card-2") is None  # nothing half-written: neither the card nor its other plate's claim
    assert add_card(s, a_card(date(2026, 12, 3), card_id="card-3", owner_id="owner-2", plates=("粤A00001",)))
    assert add_card(
        s, a_card(date(2026, 12, 3), card_id="card-4", owner_id="owner-2", plates=("粤B12345",), lot_id="lot-2")
    )


def test_concurrent_cards_for_one_plate_in_one_lot_have_one_winner(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot("lot-1", "Test Lot"))
    results = _race(
        6,
        lambda i: add_card(
            s, a_card(date(2026, 12, 3), card_id=f"card-{i}", owner_id=f"owner-{i}", plates=("粤B12345",))
        ),
    )
    assert sum(r is True for r in results) == 1
    assert sum(isinstance(r, PlateTaken) for r in results) == 5
