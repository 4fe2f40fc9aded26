"""Property fees on the local stack over HTTP, as an office and an owner use them: units and owners imported from
a spreadsheet, an area fee and a tiered water fee with a shared meter, readings imported, January billed and
published; the owner binds the phone, sees the bills, pays two in one WeChat Pay order (a notification storm pays
them once), the third after its due date with its late fee; the till takes another unit's bill in cash; the arrears
list and the collection rate show the rest; a refund reverses one bill."""

from __future__ import annotations

import time
from typing import Any

import pypdfium2 as pdfium
import requests

from functions.dev_stack import DevStack
from infra.dynamodb.tables import LedgerItem
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_gate_agent import owner_headers
from tests.e2e.test_wechat_payments import storm

UNITS = (
    "房屋编号,楼栋,房号,建筑面积,状态,业主电话\n"
    "u1,1栋,101,88.50,已入住,139 0000 0001\n"
    "u2,1栋,102,100.00,已入住,13900000002\n"
    "u3,1栋,103,50.00,已入住,13900000001\n"
    "u4,1栋,104,八十,已入住,\n"
)
READINGS = (
    "表号,抄表日期,读数\n"
    "w1,2026-12-31,100\n"
    "w2,2026-12-31,50\n"
    "master,2026-12-31,1000\n"
    "w1,2027/1/19,123\n"
    "w2,2027/1/19,55\n"
    "master,2027/1/19,1038\n"
)


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def set_up_community(api: ApiClient, staff: dict[str, str]) -> None:
    ok(api.post("/admin/api/v1/communities", json={"id": "c1", "name": "幸福小区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    files = {"file": ("房屋.csv", UNITS.encode("gb18030"), "text/csv")}
    report = ok(api.post("/admin/api/v1/communities/c1/units/import", files=files, headers=staff))
    assert (report["created"], report["existing"]) == (3, 0)
    [error] = report["errors"]
    assert error["row"] == 5 and error["message"].startswith("建筑面积应为非负的数字")
    again = ok(api.post("/admin/api/v1/communities/c1/units/import", files=files, headers=staff))
    assert (again["created"], again["existing"]) == (0, 3)  # an import sent twice adds nothing
    units = ok(api.get("/admin/api/v1/communities/c1/units", headers=staff))["units"]
    assert [(u["id"], u["area"], u["state_label"], u["owners"]) for u in units] == [
        ("u1", "88.50", "已入住", ["139****0001"]),
        ("u2", "100.00", "已入住", ["139****0002"]),
        ("u3", "50.00", "已入住", ["139****0001"]),
    ]
    mgmt = {"id": "mgmt", "name": "物业费", "kind": "area", "price_fen": 250, "from": "2027-01-01",
            "late_fee": {"daily_rate": "0.0005", "grace_days": 15, "cap": "0.30"}}  # fmt: skip
    water = {"id": "water", "name": "水费", "kind": "metered", "meter": "water", "from": "2027-01-01",
             "bands": [{"up_to": "10", "price_fen": 300}, {"up_to": "20", "price_fen": 450},
                       {"up_to": None, "price_fen": 600}]}  # fmt: skip
    for item in (mgmt, water):
        ok(api.post("/admin/api/v1/communities/c1/fee-items", json=item, headers=staff), 201)
    for meter in (
        {"id": "w1", "kind": "water", "unit_id": "u1"},
        {"id": "w2", "kind": "water", "unit_id": "u2"},
        {
            "id": "master",
            "kind": "water",
            "shared": {"split": "equal", "unit_ids": ["u1", "u2", "u3"], "sub_meter_ids": ["w1", "w2"]},
        },
    ):
        ok(api.post("/admin/api/v1/communities/c1/meters", json=meter, headers=staff), 201)  # fmt: skip
    files = {"file": ("抄表.csv", READINGS.encode("utf-8-sig"), "text/csv")}
    assert ok(api.post("/admin/api/v1/communities/c1/readings/import", files=files, headers=staff)) == {
        "created": 6, "errors": []}  # fmt: skip
    below = api.post("/admin/api/v1/meters/w1/readings", json={"date": "2027-01-20", "reading": "120"},
                     headers=staff)  # fmt: skip
    assert below.status_code == 400 and "上次读数 123" in json_error(below)["message"]


def move_clock(api: ApiClient, to: str) -> None:
    ok(api.post("/sim/clock", json={"now": to}))


def ledger() -> list[LedgerItem]:
    return list(LedgerItem.by_lot.query("community:c1"))


def test_a_community_is_billed_and_its_owners_pay_as_the_issue_tells(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    move_clock(api, "2027-01-20T10:00:00+08:00")  # January's readings are taken on the 20th; bills are due the 31st
    staff = office(api)
    set_up_community(api, staff)

    run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2027-01",
                                                                      "fee_item_ids": ["mgmt", "water"]},
                      headers=staff), 201)  # fmt: skip
    amounts = {(b["unit_id"], b["fee_item_id"]): b["amount_fen"] for b in run["bills"]}
    # Area: 250 fen/m2 x 88.50 m2 = 22,125. Water: u1 used 23 (3,000 + 4,500 + 1,800), u2 used 5 (1,500); the shared
    # 10 units (38 less 28) cost 3,000 fen, split equally: 1,000 each.
    assert amounts == {("u1", "mgmt"): 22_125, ("u2", "mgmt"): 25_000, ("u3", "mgmt"): 12_500,
                       ("u1", "water"): 10_300, ("u2", "water"): 2_500, ("u3", "water"): 1_000}  # fmt: skip
    assert run["total_fen"] == sum(amounts.values()) and not run["published"]
    again = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2027-01",
                                                                        "fee_item_ids": ["mgmt", "water"]},
                        headers=staff), 201)  # fmt: skip
    assert again["bills"] == []  # exactly one bill per fee item, unit and period
    published = ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    assert {b["state_label"] for b in published["bills"]} == {"待缴"}
    ids = {k: next(b["id"] for b in run["bills"] if (b["unit_id"], b["fee_item_id"]) == k) for k in amounts}

    # The owner of u1 and u3 binds the phone and sees four bills.
    owner = owner_headers(api, "sim:fee-owner:1")
    assert ok(api.get("/api/v1/me/bills", headers=owner)) == {"bills": []}
    ok(api.post("/api/v1/me/phone", json={"code": "sim-phone:13900000001"}, headers=owner))
    units = ok(api.get("/api/v1/me/units", headers=owner))["units"]
    assert sorted(u["id"] for u in units) == ["u1", "u3"]
    bills = ok(api.get("/api/v1/me/bills?state=unpaid", headers=owner))["bills"]
    assert len(bills) == 4 and all(b["payable_fen"] == b["amount_fen"] and b["due_date"] == "2027-01-31" for b in bills)
    water_u1 = ok(api.get(f"/api/v1/bills/{ids[('u1', 'water')]}", headers=owner))
    assert [(x["kind"], x["amount_fen"]) for x in water_u1["lines"]] == [
        ("band", 3000),
        ("band", 4500),
        ("band", 1800),
        ("shared", 1000),
    ]
    assert water_u1["lines"][3]["text"] == "公摊" and water_u1["fee_item"] == "水费"
    english = ok(api.get(f"/api/v1/bills/{ids[('u1', 'water')]}?lang=en", headers=owner))
    assert english["state_text"] == "unpaid" and english["lines"][3]["text"] == "shared use"
    assert api.get(f"/api/v1/bills/{ids[('u2', 'mgmt')]}", headers=owner).status_code == 404  # not theirs

    # Two bills in one WeChat Pay order; the notification arrives twenty times at once: paid once.
    pay = {"bill_ids": [ids[("u1", "mgmt")], ids[("u1", "water")]], "channel": "wechat",
           "idempotency_key": "fees-2027-01"}  # fmt: skip
    made = ok(api.post("/api/v1/bills/payments", json=pay, headers=owner), 201)
    assert made["amount_fen"] == 32_425 and made["payment"]["package"].startswith("prepay_id=")
    assert ok(api.post("/api/v1/bills/payments", json=pay, headers=owner), 201)["order_id"] == made["order_id"]
    in_order = api.post(
        "/api/v1/bills/payments",
        headers=owner,
        json={**pay, "bill_ids": [ids[("u1", "mgmt")]], "idempotency_key": "fees-other"},
    )
    assert in_order.status_code == 409 and json_error(in_order)["code"] == "bill_in_order"
    stack.wechatpay.deliver = False
    assert stack.wechatpay.pay(made["order_id"])
    headers, body = stack.wechatpay.notification(made["order_id"])
    assert storm(stack, headers, body) == [204] * 20
    assert sorted(int(e.amount_fen) for e in ledger()) == [10_300, 22_125]
    assert ok(api.get(f"/api/v1/bill-orders/{made['order_id']}", headers=owner))["state"] == "paid"
    stack.wechatpay.deliver = True
    # One e-receipt listing both bills, next in the chain of the community's lot; its public page hides the unit.
    receipt = ok(api.get(f"/api/v1/orders/{made['order_id']}/receipt", headers=owner))
    assert receipt["plates"] == ["1栋101 / 物业费 2027-01 / 221.25 元", "1栋101 / 水费 2027-01 / 103.00 元"]
    assert (receipt["lot_name"], receipt["amount_fen"], receipt["lot_id"]) == ("幸福小区", 32_425, "demo-lot")
    page = requests.get(receipt["verify_url"], timeout=10).text
    assert "*** / 物业费 2027-01 / 221.25 元" in page and "1栋101" not in page and "签名有效" in page
    assert "停车场" not in page and "车牌" not in page
    pdf = api.get(f"/api/v1/orders/{made['order_id']}/receipt.pdf", headers=owner)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    asked = {"type": "personal", "title": "张三", "email": "zhang@example.com"}
    invoiced = ok(api.post(f"/api/v1/orders/{made['order_id']}/invoice", json=asked, headers=owner), 201)
    assert (invoiced["amount_fen"], invoiced["state"]) == (32_425, "issued")
    invoice_order = made["order_id"]

    # March 17th: u3's area fee, 30 days past its due date and grace, costs its late fee, shown before paying.
    move_clock(api, "2027-03-17T10:00:00+08:00")
    owner = owner_headers(api, "sim:fee-owner:2")  # the same owner again (an access token lasts two hours)
    staff = office(api)
    late = ok(api.get(f"/api/v1/bills/{ids[('u3', 'mgmt')]}", headers=owner))
    assert (late["late_fee_fen"], late["payable_fen"]) == (188, 12_688)  # 12,500 x 0.05% x 30 days, half up
    assert late["lines"][-1]["kind"] == "late_fee" and "已超过 30 天" in late["lines"][-1]["text"]
    made = ok(api.post("/api/v1/bills/payments", headers=owner,
                       json={"bill_ids": [ids[("u3", "mgmt")]], "channel": "wechat", "idempotency_key": "late-fee-1"}),
              201)  # fmt: skip
    assert made["amount_fen"] == 12_688
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": made["order_id"]}).status_code == 200
    deadline = time.monotonic() + 15
    while ok(api.get(f"/api/v1/bills/{ids[('u3', 'mgmt')]}", headers=owner))["state"] != "paid":
        assert time.monotonic() < deadline, "the notification never paid the bill"
        time.sleep(0.1)
    assert ok(api.get(f"/api/v1/bills/{ids[('u3', 'mgmt')]}", headers=owner))["late_fee_fen"] == 188

    # The till takes u2's area fee in cash (its late fee too); the same form sent twice takes it once.
    form = {"bill_ids": [ids[("u2", "mgmt")]], "channel": "cash", "idempotency_key": "till-form-0001"}
    cash = ok(api.post("/admin/api/v1/bills/payments", json=form, headers=staff), 201)
    assert ok(api.post("/admin/api/v1/bills/payments", json=form, headers=staff), 201) == cash
    assert cash["amount_fen"] == 25_375 and cash["state_label"] == "已支付"
    printed = api.get(cash["receipt_url"], headers=staff)
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")

    # What is left: the water of u2 and u3, no late fee (the water item has no late-fee rule).
    arrears = ok(api.get("/admin/api/v1/communities/c1/arrears", headers=staff))
    assert [(r["unit_id"], r["principal_fen"], r["late_fee_fen"], r["days_overdue"]) for r in arrears["arrears"]] == [
        ("u2", 2_500, 0, 45), ("u3", 1_000, 0, 45)]  # fmt: skip
    csv_text = api.get("/admin/api/v1/communities/c1/arrears?format=csv", headers=staff).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("房屋,楼栋,房号,业主电话,欠费账单,欠费本金（元）")
    assert "13900000002" not in csv_text and "139****0002" in csv_text
    collected = ok(api.get("/admin/api/v1/communities/c1/collection/2027-01", headers=staff))
    assert [(i["fee_item_id"], i["billed_fen"], i["paid_fen"], i["rate"]) for i in collected["items"]] == [
        ("mgmt", 59_625, 59_625, "1.0000"), ("water", 13_800, 10_300, "0.7464")]  # fmt: skip

    # A refund reverses u1's water bill: WeChat Pay returns that bill's share of the two-bill payment.
    refunded = ok(api.post(f"/admin/api/v1/bills/{ids[('u1', 'water')]}/refund", json={"reason": "水表读数有误"},
                           headers=staff))  # fmt: skip
    assert refunded["state_label"] == "已退款"
    # The order's invoice named money no longer paid: it is reversed with a red-letter invoice.
    assert ok(api.get(f"/api/v1/orders/{invoice_order}/invoice", headers=owner))["state"] == "reversed"
    assert stack.wechatpay.transactions[pay_order(stack, ids[("u1", "water")])]["refunds"]  # asked of WeChat Pay
    lines = sorted(int(e.amount_fen) for e in ledger())
    assert lines == [-10_300, 10_300, 12_688, 22_125, 25_375]
    collected = ok(api.get("/admin/api/v1/communities/c1/collection/2027-01", headers=staff))
    assert [(i["fee_item_id"], i["billed_fen"], i["paid_fen"]) for i in collected["items"]] == [
        ("mgmt", 59_625, 59_625), ("water", 3_500, 0)]  # fmt: skip


def pay_order(stack: DevStack, bill_id: str) -> str:
    bill = stack.services.billing.bill(bill_id)
    assert bill is not None and bill.order_id is not None
    return bill.order_id


def test_an_owner_asks_for_an_invoice_of_bills_paid_less_what_was_refunded(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    move_clock(api, "2027-01-20T10:00:00+08:00")  # January's readings are taken on the 20th; bills are due the 31st
    staff = office(api)
    set_up_community(api, staff)
    run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2027-01", "fee_item_ids": ["mgmt"]},
                      headers=staff), 201)  # fmt: skip
    ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    owner = owner_headers(api, "sim:fee-invoice:1")
    ok(api.post("/api/v1/me/phone", json={"code": "sim-phone:13900000001"}, headers=owner))
    mine = [b["id"] for b in ok(api.get("/api/v1/me/bills", headers=owner))["bills"]]
    paying = {"bill_ids": mine, "channel": "wechat", "idempotency_key": "invoice-bills"}
    made = ok(api.post("/api/v1/bills/payments", json=paying, headers=owner), 201)
    assert made["amount_fen"] == 22_125 + 12_500
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": made["order_id"]}).status_code == 200
    deadline = time.monotonic() + 15
    while ok(api.get(f"/api/v1/bill-orders/{made['order_id']}", headers=owner))["state"] != "paid":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    u3 = next(b for b in mine if "u3" in b)
    ok(api.post(f"/admin/api/v1/bills/{u3}/refund", json={"reason": "多收"}, headers=staff))
    asked = {"type": "personal", "title": "张三", "email": "zhang@example.com"}
    invoice = ok(api.post(f"/api/v1/orders/{made['order_id']}/invoice", json=asked, headers=owner), 201)
    assert (invoice["amount_fen"], invoice["state"]) == (22_125, "issued")  # the demo lot's simulator issues it
    pdf = api.get(f"/api/v1/orders/{made['order_id']}/invoice.pdf", headers=owner)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = pdfium.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "*物业管理服务*物业服务费" in text and "停车" not in text  # what was sold: property management
    prepaid = ok(
        api.post(
            "/api/v1/units/u1/prepayments",
            headers=owner,
            json={"amount_fen": 100_00, "channel": "wechat", "idempotency_key": "prepay-inv"},
        ),
        201,
    )
    assert api.post("/sim/wechatpay/pay", json={"out_trade_no": prepaid["order_id"]}).status_code == 200
    while ok(api.get(f"/api/v1/bill-orders/{prepaid['order_id']}", headers=owner))["state"] != "paid":
        time.sleep(0.1)
    refused = api.post(f"/api/v1/orders/{prepaid['order_id']}/invoice", json=asked, headers=owner)
    assert refused.status_code == 409 and json_error(refused)["message"].startswith("预存款不单独开票")
