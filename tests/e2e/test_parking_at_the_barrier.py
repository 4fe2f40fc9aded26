"""Parking at the barrier on the local stack, with the reference gate agent over real MQTT, as the issue tells it:
a visitor stays 2 h 5 min and the exit asks 1,500 fen; the owner pays in the mini-program and the waiting exit opens
by itself when the payment reaches the gate (the delay measured); an exempt plate passes free; the card holder
whose unit owes property fees comes in with a reminder, never refused; with the visitor spaces full a visitor is
refused (满位) while the card holder enters; a gate offline for 20 passages uploads them afterwards and the visits
pair up."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_gate_agent import agent_for, owner_headers, wait_for
from tests.e2e.test_property_fees import move_clock, ok

CARD = "粤B12345"
"""The demo card (demo-owner's, it ends Dec 3)."""
VISITOR, SECOND, EXEMPT = "粤A12345", "粤A54321", "粤B99999"


def set_up_parking(api: ApiClient, staff: dict[str, str]) -> None:
    rule = {"from": "2026-11-23", "free_minutes": 15, "period_minutes": 60, "price_fen": 500, "cap_fen_per_24h": 3000,
            "night": None}  # fmt: skip
    assert ok(api.put("/admin/api/v1/lots/demo-lot/visitor-fee", json=rule, headers=staff))["rules"] == [rule]
    past = api.put("/admin/api/v1/lots/demo-lot/visitor-fee", json={**rule, "from": "2026-11-01"}, headers=staff)
    assert past.status_code == 400 and json_error(past)["message"] == "生效日期不能早于今天"
    assert ok(api.put("/admin/api/v1/lots/demo-lot/spaces", json={"total": 50, "visitor": 1}, headers=staff)) == {
        "lot_id": "demo-lot", "total": 50, "visitor": 1}  # fmt: skip
    refuse = {"expired_card": "refuse", "unpaid_visit": "remind", "property_arrears": "refuse"}
    refused = api.put("/admin/api/v1/lots/demo-lot/barrier-policy", json=refuse, headers=staff)
    assert refused.status_code == 400  # property-fee arrears are only ever reminded (Civil Code art. 944)
    policy = ok(api.put("/admin/api/v1/lots/demo-lot/barrier-policy", json={**refuse, "property_arrears": "remind"},
                        headers=staff))  # fmt: skip
    assert policy["policy"]["property_arrears"] == "remind" and policy["policy"]["expired_card"] == "refuse"
    form = {"plate": EXEMPT, "reason": "救护车", "until": None, "idempotency_key": "exempt-form-0001"}
    made = ok(api.post("/admin/api/v1/lots/demo-lot/exemptions", json=form, headers=staff), 201)
    assert ok(api.post("/admin/api/v1/lots/demo-lot/exemptions", json=form, headers=staff), 201) == made  # twice: once
    assert (made["kind_label"], made["reason"]) == ("免费放行", "救护车")


def owe_property_fees(api: ApiClient, staff: dict[str, str]) -> None:
    """The demo owner's unit owes October's property fee (due Oct 31): a reminder at the barrier, never a refusal."""
    ok(api.post("/admin/api/v1/communities", json={"id": "c1", "name": "幸福小区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    files = {
        "file": (
            "房屋.csv",
            "房屋编号,楼栋,房号,建筑面积,业主电话\nu1,1栋,101,88.50,13900000009\n".encode(),
            "text/csv",
        )
    }
    ok(api.post("/admin/api/v1/communities/c1/units/import", files=files, headers=staff))
    item = {"id": "mgmt", "name": "物业费", "kind": "area", "price_fen": 250, "from": "2026-10-01"}
    ok(api.post("/admin/api/v1/communities/c1/fee-items", json=item, headers=staff), 201)
    run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json={"period": "2026-10", "fee_item_ids": ["mgmt"]},
                      headers=staff), 201)  # fmt: skip
    ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    owner = owner_headers(api, "sim:demo-owner")
    ok(api.post("/api/v1/me/phone", json={"code": "sim-phone:13900000009"}, headers=owner))


def test_visitors_cards_and_exempt_plates_at_the_barrier_with_the_reference_gate_agent(
    stack: DevStack, tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    set_up_parking(api, staff)
    owe_property_fees(api, staff)
    opened: list[str] = []
    agent = agent_for(stack, tmp_path / "gate.sqlite")
    agent._on_open = opened.append  # the barrier's controller, opening when a waiting car's payment arrives
    agent.start()
    try:
        # 10:00: a visitor comes in and takes the one visitor space; a second visitor is refused, the card holder
        # (whose unit owes property fees) comes in with a reminder; the ambulance comes in.
        came = agent.decide(VISITOR, entering=True)
        assert (came["allow"], came["kind"], came["display"]) == (True, "visitor", f"{VISITOR} 临时车 欢迎光临")
        full = agent.decide(SECOND, entering=True)
        assert (full["allow"], full["display"]) == (False, "满位")
        card = agent.decide(CARD, entering=True)
        assert (card["allow"], card["kind"]) == (True, "card")
        assert card["display"] == f"{CARD} 月卡剩余10天 物业费已欠缴 请及时缴纳"
        ambulance = agent.decide(EXEMPT, entering=True)
        assert (ambulance["allow"], ambulance["kind"]) == (True, "exempt")
        occupancy = ok(api.get("/admin/api/v1/lots/demo-lot/occupancy", headers=staff))
        assert (occupancy["inside"], occupancy["visitors"], occupancy["display"]) == (3, 1, "满位")
        assert agent.spaces()["display"] == "满位"  # the entrance's display between cars

        # 12:05: the visitor at the exit owes 1,500 fen (three started hours after 15 free minutes); the
        # ambulance leaves free.
        move_clock(api, "2026-11-23T12:05:30+08:00")  # the stack's clock runs: the entry was just after 10:00
        staff = office(api)  # an office token lasts two hours
        asked = agent.decide(VISITOR, entering=False)
        assert (asked["allow"], asked["fee_fen"]) == (False, 1500)
        assert asked["display"] == "临时车 停车2小时5分 应缴15.00元"
        assert asked["pay_url"] == f"/pages/visit/pay?lot_id=demo-lot&visit_id={came['visit_id']}"
        leaves = agent.decide(EXEMPT, entering=False)
        assert (leaves["allow"], leaves["fee_fen"]) == (True, 0)

        # The owner pays in the mini-program; the exit opens by itself when the payment reaches the gate.
        owner = owner_headers(api, "sim:parking-payer")
        now = ok(api.get(f"/api/v1/lots/demo-lot/visits/current?plate={VISITOR}", headers=owner))
        assert (now["visit_id"], now["fee_fen"], now["due_fen"]) == (came["visit_id"], 1500, 1500)
        pay = {"channel": "wechat", "idempotency_key": "visit-pay-0001"}
        made = ok(api.post(f"/api/v1/visits/{came['visit_id']}/payments", json=pay, headers=owner), 201)
        assert made["amount_fen"] == 1500 and made["payment"]["package"].startswith("prepay_id=")
        assert ok(api.post(f"/api/v1/visits/{came['visit_id']}/payments", json=pay, headers=owner), 201)[
            "order_id"] == made["order_id"]  # fmt: skip
        stack.wechatpay.deliver = False
        assert stack.wechatpay.pay(made["order_id"])
        head, body = stack.wechatpay.notification(made["order_id"])
        sent = time.monotonic()
        notified = requests.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=head,
                                 timeout=10)  # fmt: skip
        assert notified.status_code == 204
        wait_for(lambda: opened == [VISITOR])  # the controller was told to open (just after the time is taken)
        print(f"payment notification -> exit opened: {(agent.opened_at[VISITOR] - sent) * 1000:.0f} ms")
        assert ok(api.get(f"/api/v1/visit-orders/{made['order_id']}", headers=owner))["state"] == "paid"
        wait_for(lambda: ok(api.get("/admin/api/v1/lots/demo-lot/occupancy", headers=staff))["inside"] == 1)

        # The visits of the day, in Chinese, and as CSV.
        visits = ok(api.get("/admin/api/v1/lots/demo-lot/visits?day=2026-11-23", headers=staff))
        rows = {v["plate"]: v for v in visits["visits"]}
        paid = rows[VISITOR]
        assert (paid["fee_fen"], paid["paid_fen"], paid["kind_label"]) == (1500, 1500, "临时车")
        assert rows[EXEMPT]["fee_fen"] == 0 and rows[CARD]["left_at"] is None
        assert visits["visitor_revenue_fen"] == 1500
        sheet = api.get("/admin/api/v1/lots/demo-lot/visits?day=2026-11-23&format=csv", headers=staff)
        assert sheet.content.decode("utf-8-sig").splitlines()[0].startswith("停车记录,车牌,类型,入场时间")
    finally:
        agent.stop()


def test_a_gate_offline_for_twenty_passages_uploads_them_afterwards_and_the_visits_pair_up(
    stack: DevStack, tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    set_up_parking(api, staff)
    agent = agent_for(stack, tmp_path / "gate.sqlite")
    agent.start()
    try:
        agent.config = replace(agent.config, api_url="http://127.0.0.1:9")  # the cloud out of reach
        plates = [f"粤A3000{n}" for n in range(10)]
        answers: list[dict[str, Any]] = []
        base = stack.clock.now() - timedelta(hours=2)  # what happened while the cloud was out of reach
        for n, plate in enumerate(plates):
            answers.append(agent.decide(plate, entering=True, at=base + timedelta(minutes=n)))
        for n, plate in enumerate(plates):
            answers.append(agent.decide(plate, entering=False, at=base + timedelta(minutes=50 + n)))
        assert all(a["allow"] and a["offline"] for a in answers)  # decided alone: visitors in and out
        assert ok(api.get("/admin/api/v1/lots/demo-lot/visits?day=2026-11-23", headers=staff))["visits"] == []
        empty = api.get("/admin/api/v1/lots/demo-lot/visits?day=2026-11-23&format=csv", headers=staff)
        header = "停车记录,车牌,类型,入场时间,出场时间,停车费（元）,实收（元）,异常"
        assert empty.content.decode("utf-8-sig").splitlines() == [header]
    finally:
        agent.stop()  # the gate restarts, still offline: its passages wait in its file
    again = agent_for(stack, tmp_path / "gate.sqlite")
    again.start()  # back online: the 20 passages go up, in order
    try:
        visits = ok(api.get("/admin/api/v1/lots/demo-lot/visits?day=2026-11-23", headers=staff))["visits"]
        assert sorted(v["plate"] for v in visits) == plates
        assert all(v["left_at"] and v["flag"] is None for v in visits)  # each entry paired with its exit
        assert ok(api.get("/admin/api/v1/lots/demo-lot/occupancy", headers=staff))["inside"] == 0
        owing = ok(api.get("/admin/api/v1/lots/demo-lot/parking-arrears", headers=staff))["unpaid_visits"]
        assert sorted((o["plate"], o["owed_fen"]) for o in owing) == [(p, 500) for p in plates]  # 50-59 minutes
    finally:
        again.stop()
