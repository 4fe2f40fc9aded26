"""Door-to-door collection bookings on the local stack over HTTP: the office sets a community's evenings and where
its buildings stand; an owner books a visit with a bill to pay at the door (the bill cannot be paid online
meanwhile), sees it in Chinese; the office sees the evening in walking order and assigns it; the owner cancels and
pays online after all."""

from __future__ import annotations

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_gate_agent import owner_headers
from tests.e2e.test_property_fees import ok


def test_an_owner_books_a_collector_s_visit_and_the_office_plans_the_evening(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    ok(api.post("/admin/api/v1/communities", json={"id": "c1", "name": "幸福小区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    sheet = "房屋编号,楼栋,房号,建筑面积,业主电话\nu1,3栋,202,88.50,13900000009\n"
    ok(api.post("/admin/api/v1/communities/c1/units/import", files={"file": ("房屋.csv", sheet.encode(), "text/csv")},
                headers=staff))  # fmt: skip
    item = {"id": "mgmt", "name": "物业费", "kind": "area", "price_fen": 250, "from": "2026-10-01"}
    ok(api.post("/admin/api/v1/communities/c1/fee-items", json=item, headers=staff), 201)
    run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2026-11", "fee_item_ids": ["mgmt"]},
                      headers=staff), 201)  # fmt: skip
    ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    [bill] = run["bills"]
    hours = {"windows": [{"weekday": d, "from": "19:00", "until": "21:00"} for d in range(5)],
             "buildings": [{"name": "物业", "x_m": 0, "y_m": 0}, {"name": "3栋", "x_m": 120, "y_m": 40}]}  # fmt: skip
    assert ok(api.put("/admin/api/v1/communities/c1/collection-hours", json=hours, headers=staff))["buildings"] == 2
    wrong = {"windows": [{"weekday": 0, "from": "21:00", "until": "19:00"}]}
    refused = api.put("/admin/api/v1/communities/c1/collection-hours", json=wrong, headers=staff)
    assert refused.status_code == 400 and json_error(refused)["message"] == "上门时段无效：结束时间应晚于开始时间"

    owner = owner_headers(api, "sim:demo-owner")
    ok(api.post("/api/v1/me/phone", json={"code": "sim-phone:13900000009"}, headers=owner))
    slots = ok(api.get("/api/v1/communities/c1/collection-slots?day=2026-11-23", headers=owner))["slots"]
    assert [(x["starts"], x["free"]) for x in slots] == [
        ("2026-11-23T19:00:00+08:00", 2), ("2026-11-23T19:30:00+08:00", 2),
        ("2026-11-23T20:00:00+08:00", 2), ("2026-11-23T20:30:00+08:00", 2),
    ]  # fmt: skip
    visit = {"slot": "2026-11-23T19:30:00+08:00", "bill_ids": [bill["id"]], "notes": "现金，老人独居请先电话",
             "idempotency_key": "visit-form-0001"}  # fmt: skip
    booked = ok(api.post("/api/v1/units/u1/collection-bookings", json=visit, headers=owner), 201)
    assert ok(api.post("/api/v1/units/u1/collection-bookings", json=visit, headers=owner), 201) == booked  # once
    assert (booked["state_text"], booked["slot_local"]) == ("已预约", "2026-11-23 19:30 北京时间")
    pay = {"bill_ids": [bill["id"]], "channel": "wechat", "idempotency_key": "pay-while-booked"}
    held = api.post("/api/v1/bills/payments", json=pay, headers=owner)
    assert held.status_code == 409 and json_error(held)["code"] == "bill_in_order"  # paid at the door, not twice

    evening = ok(api.get("/admin/api/v1/communities/c1/collection-bookings?day=2026-11-23", headers=staff))
    assert [(b["unit_id"], b["state_label"]) for b in evening["bookings"]] == [("u1", "已预约")]
    assigned = ok(api.post(f"/admin/api/v1/collection-bookings/{booked['id']}/assign",
                           json={"collector": DEMO_ADMIN_EMAIL}, headers=staff))  # fmt: skip
    assert (assigned["state_label"], assigned["collector"]) == ("已派单", DEMO_ADMIN_EMAIL)
    mine = ok(api.get("/api/v1/me/collection-bookings", headers=owner))["bookings"]
    assert [(b["id"], b["state_text"]) for b in mine] == [(booked["id"], "已派单")]

    moved = ok(api.post(f"/api/v1/collection-bookings/{booked['id']}/change",
                        json={"slot": "2026-11-23T20:30:00+08:00", "notes": "现金"}, headers=owner))  # fmt: skip
    assert (moved["id"], moved["slot_local"], moved["notes"], moved["state_text"]) == (
        booked["id"], "2026-11-23 20:30 北京时间", "现金", "已派单"
    )
    late = api.post(f"/api/v1/collection-bookings/{booked['id']}/change", json={"slot": "2026-11-23T10:30:00+08:00"},
                    headers=owner)  # fmt: skip
    assert late.status_code == 400 and json_error(late)["message"] == "请选择可预约的上门时段"
    cancelled = ok(api.post(f"/api/v1/collection-bookings/{booked['id']}/cancel", headers=owner))
    assert cancelled["state_text"] == "已取消"
    again = {**visit, "slot": "2026-11-23T20:00:00+08:00", "idempotency_key": "visit-form-0002"}
    second = ok(api.post("/api/v1/units/u1/collection-bookings", json=again, headers=owner), 201)
    office_cancel = {"reason": "业主电话联系不上，改为到物业缴费"}
    by_office = ok(api.post(f"/admin/api/v1/collection-bookings/{second['id']}/cancel", json=office_cancel,
                            headers=staff))  # fmt: skip
    assert by_office["state_label"] == "已取消"
    assert ok(api.post("/api/v1/bills/payments", json=pay, headers=owner), 201)["amount_fen"] == bill["amount_fen"]
