"""The office's paths that broke the lot's invariants, over the admin API on DynamoDB (moto over HTTP).

Each test is one symptom found by trying the product as an office would (issue "One commit
path"): cancel never offered the place, restore oversold the lot and doubled a plate, imports
never reached the gates.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.admin import Role
from domain.application import Application, ApplicationState
from domain.card import Card, CardState
from domain.lot import Approval, CardPolicy, Lot
from domain.owner import Owner
from functions.admin import create_admin_app
from functions.bootstrap import Services
from handlers.applications import apply_for_card
from handlers.staff import create_staff
from infra.dynamodb.tables import EntitlementItem
from tests.builders import months
from tests.fakes import FixedClock

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def lot_of_one(dynamo_services: Services) -> Services:
    """A lot with one place, approving automatically; its manager."""
    s = dynamo_services
    s.lots.add(Lot("lot-1", "一号车场", quota=1, tenant_id="t1", cards=CardPolicy(approval=Approval.AUTO)))
    s.packages.add(months(1))
    for n in range(4):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}", oa_openid=f"oa-{n}"))
    create_staff("manager@t1.cn", PASSWORD, "t1", Role.LOT_MANAGER, {"lot-1"}, s.staff, s.passwords)
    return s


def manager(s: Services):  # type: ignore[no-untyped-def]
    c = create_admin_app(s).test_client()
    r = c.post("/admin/api/v1/auth/login", json={"email": "manager@t1.cn", "password": PASSWORD})
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['token']}"
    return c


def apply(s: Services, owner: int, plate: str) -> Application:
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now += timedelta(seconds=1)  # arrival order
    return apply_for_card(
        f"owner-{owner}", "lot-1", [plate], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock,
        s.notices, s.cards,
    )  # fmt: skip


def held(s: Services) -> int:
    lot = s.lots.get("lot-1")
    assert lot is not None
    return lot.held


def live(s: Services) -> list[Card]:
    return [c for c in s.cards.list_for_lot("lot-1") if c.state is not CardState.CANCELLED]


@pytest.mark.parametrize("how", ["fix", "cancel"])
def test_an_office_cancel_gives_the_place_to_the_first_in_line_at_once_and_marks_the_application(
    lot_of_one: Services, how: str
) -> None:
    s = lot_of_one
    first, second, third = apply(s, 0, "粤B00000"), apply(s, 1, "粤B00001"), apply(s, 2, "粤B00002")
    assert [a.state for a in (first, second, third)] == [ApplicationState.APPROVED] + [ApplicationState.WAITLISTED] * 2
    office = manager(s)
    body = {"state": "cancelled", "reason": "业主搬走"} if how == "fix" else {"reason": "业主搬走"}
    path = f"/admin/api/v1/cards/{first.card_id}/{how}"
    r = office.post(path, json=body)
    assert r.status_code == 200, r.get_json()
    assert office.post(path, json=body).status_code == 200  # a double click: one cancellation, one offer
    assert s.applications.get(first.id).state is ApplicationState.CANCELLED  # type: ignore[union-attr]
    assert s.applications.get(second.id).state is ApplicationState.APPROVED  # type: ignore[union-attr]
    assert s.applications.get(third.id).state is ApplicationState.WAITLISTED  # type: ignore[union-attr]
    assert held(s) == 1 and len(live(s)) == 1
    assert s.cards.card_for_plate("lot-1", "粤B00000") is None
    approving = office.post(f"/admin/api/v1/applications/{third.id}/approve")
    assert approving.status_code == 200 and approving.get_json()["state"] == "waitlisted"  # still no place


def test_an_office_restore_takes_a_place_again_or_is_refused_when_the_lot_is_full(lot_of_one: Services) -> None:
    s = lot_of_one
    first, second = apply(s, 0, "粤B00000"), apply(s, 1, "粤B00001")
    office = manager(s)
    assert office.post(f"/admin/api/v1/cards/{first.card_id}/cancel", json={"reason": "误操作"}).status_code == 200
    second = s.applications.get(second.id)  # type: ignore[assignment]
    assert second is not None and second.state is ApplicationState.APPROVED
    for path, body in (("restore", {"reason": "恢复"}), ("fix", {"state": "active", "reason": "恢复"})):
        r = office.post(f"/admin/api/v1/cards/{first.card_id}/{path}", json=body)
        assert (r.status_code, r.get_json()["error"]["code"]) == (409, "lot_full")
    assert held(s) == 1 and len(live(s)) == 1
    # A place frees up: the restore takes it, once, and the card's application is approved again.
    assert office.post(f"/admin/api/v1/cards/{second.card_id}/cancel", json={"reason": "退租"}).status_code == 200
    restored = office.post(f"/admin/api/v1/cards/{first.card_id}/restore", json={"reason": "恢复"})
    assert restored.status_code == 200 and restored.get_json()["state"] == "pending"
    assert office.post(f"/admin/api/v1/cards/{first.card_id}/restore", json={"reason": "恢复"}).status_code == 200
    assert held(s) == 1 and [c.id for c in live(s)] == [first.card_id]
    assert s.applications.get(first.id).state is ApplicationState.APPROVED  # type: ignore[union-attr]
    assert s.cards.card_for_plate("lot-1", "粤B00000").id == first.card_id  # type: ignore[union-attr]


def test_a_restore_is_refused_while_another_card_holds_one_of_its_plates(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot("lot-1", "一号车场", quota=10, tenant_id="t1", cards=CardPolicy(approval=Approval.AUTO)))
    s.packages.add(months(1))
    for n in range(2):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}"))
    create_staff("manager@t1.cn", PASSWORD, "t1", Role.LOT_MANAGER, {"lot-1"}, s.staff, s.passwords)
    office = manager(s)
    first = apply(s, 0, "粤B12345")
    assert office.post(f"/admin/api/v1/cards/{first.card_id}/cancel", json={"reason": "换车主"}).status_code == 200
    second = apply(s, 1, "粤B12345")  # the plate is free again: another owner applies for it
    assert second.state is ApplicationState.APPROVED
    r = office.post(f"/admin/api/v1/cards/{first.card_id}/restore", json={"reason": "恢复"})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "plate_taken")
    assert [c.id for c in live(s)] == [second.card_id] and s.lots.get("lot-1").held == 1  # type: ignore[union-attr]


def test_concurrent_restores_of_cancelled_cards_never_oversell(lot_of_one: Services) -> None:
    s = lot_of_one
    s.lots.add(Lot("lot-2", "二号车场", quota=2, tenant_id="t1"))
    cards = []
    for n in range(4):
        card = Card(f"card-{n}", "lot-2", f"owner-{n}", (f"粤C0000{n}",), date(2026, 11, 1), date(2026, 12, 31),
                    CardState.CANCELLED)  # fmt: skip
        s.uow.commit(_put(card))
        cards.append(card)
    create_staff("m2@t1.cn", PASSWORD, "t1", Role.LOT_MANAGER, {"lot-2"}, s.staff, s.passwords)
    c = create_admin_app(s).test_client()
    token = c.post("/admin/api/v1/auth/login", json={"email": "m2@t1.cn", "password": PASSWORD}).get_json()["token"]

    app = create_admin_app(s)  # made before the threads: Python 3.11's compile() is not safe to call from several

    def restore(card: Card) -> int:
        r = app.test_client().post(
            f"/admin/api/v1/cards/{card.id}/restore",
            json={"reason": "恢复"},
            headers={"Authorization": f"Bearer {token}"},
        )
        return r.status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(restore, cards))
    assert codes == [200, 200, 409, 409]
    lot = s.lots.get("lot-2")
    assert lot is not None and lot.held == 2
    assert len([c for c in s.cards.list_for_lot("lot-2") if c.state is not CardState.CANCELLED]) == 2


def _put(card: Card):  # type: ignore[no-untyped-def]
    """A cancelled card as an earlier version left it (it holds no place and no plate)."""
    from domain.plan import CardWrite, Plan

    return Plan(cards=(CardWrite(card, None),))


def test_an_import_reaches_the_gates_with_places_and_audit_in_the_same_transaction(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot("lot-1", "一号车场", quota=1, tenant_id="t1"))
    create_staff("manager@t1.cn", PASSWORD, "t1", Role.LOT_MANAGER, {"lot-1"}, s.staff, s.passwords)
    office = manager(s)
    rows = [
        {"plates": "粤B10001", "valid_from": "2026-11-01", "valid_until": "2026-12-31", "holder": "张三"},
        {"plates": "粤B10002/粤B10003", "valid_from": "2026-11-01", "valid_until": "2027-01-31", "holder": "李四"},
    ]
    r = office.post("/admin/api/v1/lots/lot-1/imports/rows", json={"first_row": 2, "rows": rows})
    assert r.status_code == 200 and r.get_json()["created"] == 2, r.get_json()
    lot = s.lots.get("lot-1")
    assert lot is not None and lot.held == 2  # existing cards: an audited override of the quota of 1
    events = {e.plate: (e.valid_until, e.state) for e in EntitlementItem.query("lot-1")}
    assert events == {
        "粤B10001": ("2026-12-31", "active"),
        "粤B10002": ("2027-01-31", "active"),
        "粤B10003": ("2027-01-31", "active"),
    }
    assert lot.entitlement_version == 3
    for card in s.cards.list_for_lot("lot-1"):
        (entry,) = s.card_queries.history(card.id)
        assert (entry.actor, entry.action) == ("admin:manager@t1.cn", "import")
    again = office.post("/admin/api/v1/lots/lot-1/imports/rows", json={"first_row": 2, "rows": rows})
    assert again.get_json()["existing"] == 2 and s.lots.get("lot-1").held == 2  # type: ignore[union-attr]
