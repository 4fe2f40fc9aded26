"""Door-to-door collection at the door on the local stack over HTTP: a collector's evening of six bookings across
three buildings in walking order, cash with the owner's signature and the check-in sealed in the receipt (items by
kind), the receipt's verify page proving the signature image and failing once it was changed, a QR code through
the WeChat Pay simulator (native) and one through Alipay's (precreate, closing the first), a visit nobody
answered, the cashier's handover with a difference in the day's report and its CSV, the office opening the
evidence (audited)."""

from __future__ import annotations

import base64
import csv
import io
import math
import time
from typing import Any

from PIL import Image

from domain.door import signature_hash
from functions.dev_stack import DevStack
from infra.dynamodb.tables import BillingItem
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_gate_agent import owner_headers
from tests.e2e.test_property_fees import ok
from tests.unit.test_door_collection import signature

DAY = "2026-11-23"  # the stack's Monday
ORIGIN = (31.2304, 121.4737)
BUILDINGS = {"物业": 0, "1栋": 40, "5栋": 150, "3栋": 400}
"""Metres east of the office, on one street."""
UNITS = (("u1", "1栋", "101"), ("u2", "1栋", "102"), ("u3", "3栋", "201"), ("u4", "3栋", "202"),
         ("u5", "5栋", "301"), ("u6", "5栋", "302"))  # fmt: skip
BOOKED = (("u3", "19:00"), ("u1", "19:00"), ("u5", "19:30"), ("u2", "19:30"), ("u4", "20:00"), ("u6", "20:00"))
"""In the order the owners booked; the route walks u1, u3 / u5, u2 / u6, u4."""
WALK = ["u1", "u3", "u5", "u2", "u6", "u4"]
COLLECTOR = "wang@demo.local"
COLLECTOR_PASSWORD = "上门收费-门口见-2026"


def phone_of(unit: str) -> str:
    return f"139000001{unit[1:]:0>2}"


def at_building(name: str, accuracy: float = 12) -> dict[str, Any]:
    east = BUILDINGS[name]
    longitude = ORIGIN[1] + east / (111_320 * math.cos(math.radians(ORIGIN[0])))
    return {"latitude": ORIGIN[0], "longitude": longitude, "accuracy_m": accuracy}


def evening_of_six(api: ApiClient, stack: DevStack) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The community, its six units in three buildings with two fee items (物业费, 车位费), a published run, the
    collection hours with the buildings on the map, six owners' bookings, all given to the collector. Returns the
    office's headers and each unit's owner headers."""
    staff = office(api)
    ok(api.post("/admin/api/v1/communities", json={"id": "c1", "name": "幸福小区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    sheet = "房屋编号,楼栋,房号,建筑面积,业主电话\n" + "".join(
        f"{u},{b},{n},88.50,{phone_of(u)}\n" for u, b, n in UNITS
    )
    ok(api.post("/admin/api/v1/communities/c1/units/import", files={"file": ("房屋.csv", sheet.encode(), "text/csv")},
                headers=staff))  # fmt: skip
    for item in ({"id": "mgmt", "name": "物业费", "kind": "area", "price_fen": 250, "from": "2026-10-01"},
                 {"id": "space", "name": "车位管理费", "kind": "fixed", "price_fen": 6000, "from": "2026-10-01",
                  "category": "parking"}):  # fmt: skip
        ok(api.post("/admin/api/v1/communities/c1/fee-items", json=item, headers=staff), 201)
    run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2026-11",
                      "fee_item_ids": ["mgmt", "space"]}, headers=staff), 201)  # fmt: skip
    ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    hours = {"windows": [{"weekday": d, "from": "19:00", "until": "21:00"} for d in range(5)],
             "buildings": [{"name": n, "x_m": x, "y_m": 0} for n, x in BUILDINGS.items()],
             "origin": {"latitude": ORIGIN[0], "longitude": ORIGIN[1]}}  # fmt: skip
    ok(api.put("/admin/api/v1/communities/c1/collection-hours", json=hours, headers=staff))
    account = {"email": COLLECTOR, "password": COLLECTOR_PASSWORD, "role": "collector", "lots": ["demo-lot"]}
    ok(api.post("/admin/api/v1/staff", json=account, headers=staff), 201)
    owners = {}
    for n, (unit, slot) in enumerate(BOOKED):
        owner = owners[unit] = owner_headers(api, f"sim:door-owner-{unit}")
        ok(api.post("/api/v1/me/phone", json={"code": f"sim-phone:{phone_of(unit)}"}, headers=owner))
        bills = [b["id"] for b in ok(api.get("/api/v1/me/bills?state=unpaid", headers=owner))["bills"]]
        visit = {"slot": f"{DAY}T{slot}:00+08:00", "bill_ids": bills, "notes": "现金" if n % 2 else "请先电话",
                 "idempotency_key": f"door-visit-{unit}"}  # fmt: skip
        booked = ok(api.post(f"/api/v1/units/{unit}/collection-bookings", json=visit, headers=owner), 201)
        ok(api.post(f"/admin/api/v1/collection-bookings/{booked['id']}/assign", json={"collector": COLLECTOR},
                    headers=staff))  # fmt: skip
    return staff, owners


def collector(api: ApiClient) -> dict[str, str]:
    r = api.post("/admin/api/v1/auth/login", json={"email": COLLECTOR, "password": COLLECTOR_PASSWORD})
    return {"Authorization": f"Bearer {ok(r)['token']}"}


def evidence(stack: DevStack, building: str, stroke: int = 0) -> dict[str, Any]:
    place = at_building(building) | {"at": stack.clock.now().isoformat()}
    return {"check_in": place, "signature_png": base64.b64encode(signature(stroke)).decode()}


def paid_once(stack: DevStack, api: ApiClient, wang: dict[str, str], order_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        order = ok(api.get(f"/admin/api/v1/collect/orders/{order_id}", headers=wang))
        if order["state"] == "paid":
            return order  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{order_id} was not paid")


def test_a_collector_s_evening_at_the_door(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff, owners = evening_of_six(api, stack)
    wang = collector(api)
    route = ok(api.get("/admin/api/v1/collect/route", headers=wang))
    assert route["day"] == DAY and route["in_hand_fen"] == 0
    stops = route["stops"]
    assert [s["unit_id"] for s in stops] == WALK
    firsts = [(s["slot_local"][11:16], s["building"], s["number"]) for s in stops[:2]]
    assert firsts == [("19:00", "1栋", "101"), ("19:00", "3栋", "201")]
    due = stops[0]["due_fen"]
    assert due == 22_125 + 6_000  # 物业费 88.50 m² x 2.50 + 车位管理费 60.00
    first, second, third, fourth = stops[0], stops[1], stops[2], stops[3]

    # Cash at 1栋101: the amount must be what is due, the upload may be sent again.
    wrong = api.post(f"/admin/api/v1/collect/visits/{first['booking_id']}/cash",
                     json={"amount_fen": due - 100, **evidence(stack, "1栋"), "idempotency_key": "cash-u1-0001"},
                     headers=wang)  # fmt: skip
    assert wrong.status_code == 400 and json_error(wrong)["message"] == f"现金金额应等于应收 {due} 分，找零由收费员处理"
    blank = io.BytesIO()
    Image.new("RGB", (300, 120), "white").save(blank, "PNG")
    unsigned = {"amount_fen": due, **evidence(stack, "1栋"), "idempotency_key": "cash-u1-0001",
                "signature_png": base64.b64encode(blank.getvalue()).decode()}  # fmt: skip
    refused = api.post(f"/admin/api/v1/collect/visits/{first['booking_id']}/cash", json=unsigned, headers=wang)
    assert refused.status_code == 400 and json_error(refused)["message"] == "请业主在屏幕上签名"  # nobody signed
    cash = {"amount_fen": due, **evidence(stack, "1栋"), "idempotency_key": "cash-u1-0001"}
    paid = ok(api.post(f"/admin/api/v1/collect/visits/{first['booking_id']}/cash", json=cash, headers=wang))
    assert ok(api.post(f"/admin/api/v1/collect/visits/{first['booking_id']}/cash", json=cash, headers=wang)) == paid
    assert (paid["state"], paid["channel"], paid["amount_fen"]) == ("paid", "cash", due)
    assert [i.split(" / ")[0] for i in paid["items"]] == ["[物业费] 1栋101", "[车位费] 1栋101"]
    receipt = ok(api.get(f"/api/v1/orders/{paid['order_id']}/receipt", headers=owners["u1"]))
    assert receipt["evidence"]["signature_sha256"] == signature_hash(signature())
    assert (receipt["evidence"]["collector"], receipt["evidence"]["far"], receipt["evidence"]["away_m"]) == (
        "wa***@demo.local", False, "0"  # the collector, masked
    )
    held = api.post("/api/v1/bills/payments", json={"bill_ids": [first["items"][0]["bill_id"]], "channel": "wechat",
                                                   "idempotency_key": "after-door"}, headers=owners["u1"])  # fmt: skip
    assert held.status_code in (400, 409)  # paid at the door: nothing left to pay online

    # The receipt's verify page proves the signature image, and fails once the stored image was changed.
    page = api.get(f"/r/{paid['receipt_id']}")
    assert page.status_code == 200 and "业主签名图像与收据封存的指纹一致" in page.text and "真实有效" in page.text
    assert "31.230, 121.474" in page.text and "31.230400" not in page.text  # the neighbourhood, not the door
    item = BillingItem.get(f"signature#{paid['order_id']}")
    item.body = {"png": base64.b64encode(signature(stroke=50)).decode()}
    item.save()
    page = api.get(f"/r/{paid['receipt_id']}")
    assert "签名图像已被改动或缺失" in page.text and "验证未通过" in page.text

    # A QR code by WeChat Pay (native), then one by Alipay (precreate) that closes it; the owner pays the second.
    qr = {"channel": "wechat", **evidence(stack, "3栋"), "idempotency_key": "qr-u3-0001"}
    wechat = ok(api.post(f"/admin/api/v1/collect/visits/{second['booking_id']}/qr", json=qr, headers=wang))
    assert wechat["code"].startswith("weixin://wxpay/bizpayurl?pr=") and wechat["qr_svg"].lstrip().startswith("<?xml")
    qr2 = {**qr, "channel": "alipay", "idempotency_key": "qr-u3-0002"}
    alipay = ok(api.post(f"/admin/api/v1/collect/visits/{second['booking_id']}/qr", json=qr2, headers=wang))
    assert alipay["code"].startswith("https://qr.alipay.com/")
    assert stack.wechatpay.transactions[wechat["order_id"]]["trade_state"] == "CLOSED"
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": wechat["order_id"]}).status_code == 404  # closed
    assert api.post("/sim/alipay/pay", json={"out_trade_no": alipay["order_id"]}).status_code == 200
    by_qr = paid_once(stack, api, wang, alipay["order_id"])
    assert by_qr["channel"] == "alipay" and by_qr["receipt_id"]

    # Nobody at 5栋301; 1栋102 pays cash too.
    ok(api.post(f"/admin/api/v1/collect/visits/{third['booking_id']}/not-home",
                json={"reason": "不在家", "check_in": at_building("5栋") | {"at": stack.clock.now().isoformat()}},
                headers=wang))  # fmt: skip
    cash2 = {"amount_fen": fourth["due_fen"], **evidence(stack, "1栋"), "idempotency_key": "cash-u2-0001"}
    ok(api.post(f"/admin/api/v1/collect/visits/{fourth['booking_id']}/cash", json=cash2, headers=wang))
    in_hand = due + fourth["due_fen"]
    assert ok(api.get("/admin/api/v1/collect/route", headers=wang))["in_hand_fen"] == in_hand

    # The cashier counts 10.00 元 short: the difference shows in the day's report and its CSV.
    handover = {"collector": COLLECTOR, "counted_fen": in_hand - 1000, "idempotency_key": "handover-0001"}
    done = ok(api.post("/admin/api/v1/collection-handovers", json=handover, headers=staff), 201)
    assert ok(api.post("/admin/api/v1/collection-handovers", json=handover, headers=staff), 201) == done  # once
    assert (done["expected_fen"], done["difference_fen"]) == (in_hand, -1000)
    assert ok(api.get("/admin/api/v1/communities/c1/collection-report", headers=staff))["day"] == DAY  # today
    [day] = ok(api.get(f"/admin/api/v1/communities/c1/collection-report?day={DAY}", headers=staff))["collectors"]
    assert (day["visits"], day["collected"], day["cash_fen"], day["qr_fen"]) == (6, 3, in_hand, by_qr["amount_fen"])
    assert (day["handed_over_fen"], day["counted_fen"], day["difference_fen"], day["in_hand_fen"]) == (
        in_hand, in_hand - 1000, -1000, 0
    )
    assert [u["reason"] for u in day["unpaid"]] == ["不在家", "未上门", "未上门"]
    sheet = api.get(f"/admin/api/v1/communities/c1/collection-report?day={DAY}&format=csv", headers=staff)
    [row] = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert (row["收费员"], row["差额（元）"], row["现金（元）"]) == (COLLECTOR, "'-10.00", f"{in_hand / 100:.2f}")

    # The office opens the evidence (audited); a collector may not take their own handover.
    shown = ok(api.get(f"/admin/api/v1/collection-evidence/{paid['order_id']}", headers=staff))
    assert (shown["collector"], shown["accuracy_m"], shown["far"]) == (COLLECTOR, 12, False)
    assert base64.b64decode(shown["signature_png"]) == signature(stroke=50)  # as it is stored now
    mine = api.post("/admin/api/v1/collection-handovers", json={**handover, "idempotency_key": "own-000001"},
                    headers=wang)  # fmt: skip
    assert mine.status_code == 403
