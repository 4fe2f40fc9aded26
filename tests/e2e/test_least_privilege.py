"""Each function's IAM role in serverless.yml allows what the function does on DynamoDB, and the event-driven
functions' roles name no table they do not use.

Each function's work runs on the local stack under a recorder of the IAM
action every DynamoDB request needs (a transaction needs each item's own
action) and the table or index it needs it on.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from domain.gate_auth import gate_signature, report_signature
from domain.parking import Reported
from domain.reminder import slots_for
from domain.visits import Direction
from functions import card_jobs, gate_status, reminders
from functions.dev_stack import BACKGROUND_THREADS, DevStack
from handlers.applications import APPLICATION_TEMPLATE
from handlers.bill_reminders import BILL_TEMPLATE
from handlers.scheduled_work import WorkReport, expiry_message
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from handlers.sweep_orders import SweepReport
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import DEMO_DAY, start_stack
from tests.serverless_yml import serverless_config

Access = tuple[str, str, str]


def accesses_of(action: Callable[[], Any]) -> set[Access]:
    with DynamoRequestCounter(BACKGROUND_THREADS) as counter:
        action()
    return counter.accesses


@pytest.fixture
def quiet_stack(moto_server: str) -> Iterator[DevStack]:
    """The demo stack with its fan-out left to the test: each function's work is done by the test only."""
    stack = start_stack(moto_server, clock=DEMO_DAY, fan_out=False, run_chunk_units=4)  # lp-big's run: 2 chunks
    yield stack
    stack.stop()


def signed_in(api: ApiClient, code: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def run_every_function(stack: DevStack) -> dict[str, set[Access]]:
    api = ApiClient(stack.api_url)
    done: dict[str, set[Access]] = {}
    made: dict[str, Any] = {}

    owner: dict[str, str] = {}

    def order(channel: str) -> None:
        body = {"package_id": "demo-1m", "channel": channel, "idempotency_key": f"least-privilege-{channel}"}
        r = api.post("/api/v1/cards/card-demo/renewals", json=body, headers=owner)
        assert r.status_code == 201, r.text
        made[channel] = r.json()["order_id"]
        stack.wechatpay.deliver = stack.alipay.deliver = False
        (stack.wechatpay if channel == "wechat" else stack.alipay).pay(made[channel])

    def wechat_notifications() -> None:
        head, note = stack.wechatpay.notification(made["wechat"])
        url = f"{stack.api_url}/api/v1/payments/wechat/notify"
        for _ in range(2):  # the second is a duplicate
            assert requests.post(url, data=note.encode(), headers=head, timeout=10).status_code == 204
        forged = {**head, "Wechatpay-Signature": "Zm9yZ2Vk"}  # counted against the address (the cache table)
        assert requests.post(url, data=note.encode(), headers=forged, timeout=10).status_code == 400

    def alipay_notification() -> None:
        form = stack.alipay.notification(made["alipay"])
        answer = requests.post(f"{stack.api_url}/api/v1/payments/alipay/notify", data=form, timeout=10)
        assert answer.text == "success"

    def owner_journey() -> None:
        assert api.post("/api/v1/me/phone", json={"code": "sim-phone:13800001234"}, headers=owner).status_code == 200
        assert api.post("/api/v1/me/vehicles", json={"plate": "粤B99999"}, headers=owner).status_code == 201
        assert api.get("/api/v1/me/cards", headers=owner).status_code == 200
        assert api.get("/api/v1/cards/card-demo/packages", headers=owner).status_code == 200
        order = made["wechat"]
        assert api.get(f"/api/v1/orders/{order}", headers=owner).json()["state"] == "paid"
        receipt = api.get(f"/api/v1/orders/{order}/receipt", headers=owner).json()
        verified = api.get(
            f"/api/v1/receipts/{receipt['receipt_id']}/verify", params={"payload": receipt["qr_payload"]}
        )
        assert verified.json()["valid"] is True
        assert requests.get(receipt["verify_url"], timeout=10).status_code == 200  # the page its QR code opens
        assert api.get(receipt["pdf_url"], headers=owner).status_code == 200
        invoice = {"type": "personal", "title": "张三", "email": "a@example.com"}
        stack.invoice_sim.lose_next_answers(1)  # the invoice stays `issuing`: the sweep asks again
        assert api.post(f"/api/v1/orders/{order}/invoice", json=invoice, headers=owner).status_code in (201, 202)
        assert api.get("/api/v1/me/orders", headers=owner).status_code == 200
        walk_away = {"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "least-privilege-cancel"}
        unpaid = api.post("/api/v1/cards/card-demo/renewals", json=walk_away, headers=owner).json()["order_id"]
        assert api.post(f"/api/v1/orders/{unpaid}/cancel", headers=owner).status_code == 200
        assert api.put("/api/v1/cards/card-demo/reminders", json={"enabled": True}, headers=owner).status_code == 200
        consent = {"template_id": "expiry-reminder", "accepted": True}
        assert api.post("/api/v1/me/subscriptions", json=consent, headers=owner).status_code == 204
        assert api.post("/api/v1/cards/card-demo/pause", json={"from": "2026-12-20"}, headers=owner).status_code == 200
        assert api.post("/api/v1/cards/card-demo/resume", headers=owner).status_code == 200
        session = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:lp-session"}).json()
        moved = api.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert moved.status_code == 200, moved.text
        gone = {"refresh_token": moved.json()["refresh_token"]}
        assert api.post("/api/v1/auth/logout", json=gone).status_code == 204
        assert api.post("/api/v1/auth/refresh", json=gone).status_code == 401
        applicant = signed_in(api, "sim:applicant:lp")
        application = {"plates": ["粤B12121"], "package_id": "demo-1m"}
        assert api.post("/api/v1/lots/demo-lot/applications", json=application, headers=applicant).status_code == 201
        gate = stack.demo_gate
        assert gate is not None
        path = "/api/v1/gates/entitlements?since=0&limit=100"
        stamp = str(int(stack.clock.now().timestamp()))
        signed = {
            "X-Gate-Id": gate.id,
            "X-Gate-Timestamp": stamp,
            "X-Gate-Signature": gate_signature(gate.secret, "GET", path, stamp),
        }
        assert requests.get(stack.api_url + path, headers=signed, timeout=10).status_code == 200

    done["api"] = accesses_of(lambda: (owner.update(signed_in(api, "sim:demo-owner:lp1")), order("wechat")))
    done["notify"] = accesses_of(wechat_notifications)
    done["api"] |= accesses_of(lambda: order("alipay"))
    done["notify"] |= accesses_of(alipay_notification)
    done["api"] |= accesses_of(owner_journey)
    lot = stack.services.lots.get("demo-lot")
    assert lot is not None
    stack.services.lots.save_settings(replace(lot, quota=lot.held))  # full: the next applicant waits in line
    waiting = {"plates": ["粤B34343"], "package_id": "demo-1m"}
    waiter = signed_in(api, "sim:waiting:lp")
    told = {"template_id": APPLICATION_TEMPLATE, "accepted": True}  # so the offer is a message, as for most
    r = api.post("/api/v1/lots/demo-lot/applications", json=waiting, headers=waiter)
    assert api.post("/api/v1/me/subscriptions", json=told, headers=waiter).status_code == 204
    assert r.json()["state"] == "waitlisted", r.text

    def fan_out() -> None:
        deadline = time.monotonic() + 10
        while not stack.fan_out():  # the broker connection may still be coming up: the Lambda retries too
            assert time.monotonic() < deadline, "nothing was published"
            time.sleep(0.2)

    done["fanout"] = accesses_of(fan_out)

    def office_journey() -> None:
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        assert api.get("/admin/api/v1/lots", headers=staff).status_code == 200
        assert (
            api.put(
                "/admin/api/v1/lots/demo-lot", json={"grace_days": 3, "reason": "winter"}, headers=staff
            ).status_code
            == 200
        )
        package = {"id": "demo-6m", "name": "半年", "count": 6, "price_fen": 170000}
        assert api.post("/admin/api/v1/lots/demo-lot/packages", json=package, headers=staff).status_code in (200, 201)
        queue = api.get("/admin/api/v1/lots/demo-lot/applications", headers=staff).json()["applications"]
        for application in queue:
            api.post(f"/admin/api/v1/applications/{application['id']}/approve", headers=staff)
        assert api.get("/admin/api/v1/lots/demo-lot/cards", headers=staff).status_code == 200
        assert api.get("/admin/api/v1/cards/card-demo", headers=staff).status_code == 200
        cash = {"package_id": "demo-1m", "channel": "cash", "idempotency_key": "least-privilege-cash"}
        paid = api.post("/admin/api/v1/cards/card-demo/payments", json=cash, headers=staff)
        assert paid.status_code == 201, paid.text
        assert api.get(paid.json()["receipt_url"], headers=staff).status_code == 200
        refund = api.post(
            f"/admin/api/v1/orders/{paid.json()['order_id']}/refund", json={"reason": "changed mind"}, headers=staff
        )
        assert refund.status_code == 200, refund.text
        assert api.get("/admin/api/v1/lots/demo-lot/invoices", headers=staff).status_code == 200
        assert api.get("/admin/api/v1/lots/demo-lot/reports/2026-11", headers=staff).status_code == 200
        assert api.get("/admin/api/v1/lots/demo-lot/reconciliations", headers=staff).status_code == 200
        assert api.post("/admin/api/v1/auth/logout", headers=staff).status_code == 204

    done["admin"] = accesses_of(office_journey)

    bills: dict[str, str] = {}

    def property_office() -> None:
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        community = {"id": "lp-c", "name": "小区", "lot_ids": ["demo-lot"]}
        assert api.post("/admin/api/v1/communities", json=community, headers=staff).status_code == 201
        for n, phone in ((1, ["13800001234"]), (2, ["13800001234"]), (3, []), (4, ["13800001234"])):
            unit = {"id": f"lp-u{n}", "building": "1", "number": f"10{n}", "area": "80.00", "phones": phone}
            assert api.post("/admin/api/v1/communities/lp-c/units", json=unit, headers=staff).status_code == 201
        item = {"id": "lp-fee", "name": "物业费", "kind": "fixed", "price_fen": 10000, "from": "2026-11-01"}
        assert api.post("/admin/api/v1/communities/lp-c/fee-items", json=item, headers=staff).status_code == 201
        meter = {"id": "lp-w", "kind": "water", "unit_id": "lp-u1"}
        assert api.post("/admin/api/v1/communities/lp-c/meters", json=meter, headers=staff).status_code == 201
        reading = {"date": "2026-11-01", "reading": "10.00"}
        assert api.post("/admin/api/v1/meters/lp-w/readings", json=reading, headers=staff).status_code == 201
        period = {"period": "2026-11", "fee_item_ids": ["lp-fee"]}
        run = api.post("/admin/api/v1/communities/lp-c/bill-runs", json=period, headers=staff).json()
        assert api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff).status_code == 200
        bills.update({b["unit_id"]: b["id"] for b in run["bills"]})
        cash = {"bill_ids": [bills["lp-u3"]], "channel": "cash", "idempotency_key": "lp-bill-cash"}
        assert api.post("/admin/api/v1/bills/payments", json=cash, headers=staff).status_code == 201
        back = api.post(f"/admin/api/v1/bills/{bills['lp-u3']}/refund", json={"reason": "lp"}, headers=staff)
        assert back.status_code == 200, back.text
        assert api.get("/admin/api/v1/communities/lp-c/arrears", headers=staff).status_code == 200
        assert api.get("/admin/api/v1/communities/lp-c/collection/2026-11", headers=staff).status_code == 200

    def owner_pays_bills() -> None:
        assert api.get("/api/v1/me/units", headers=owner).status_code == 200
        assert len(api.get("/api/v1/me/bills", headers=owner).json()["bills"]) == 3
        for unit in ("lp-u1", "lp-u2"):
            body = {"bill_ids": [bills[unit]], "channel": "wechat", "idempotency_key": f"lp-bills-{unit}"}
            paid = api.post("/api/v1/bills/payments", json=body, headers=owner)
            assert paid.status_code == 201, paid.text
            made[unit] = paid.json()["order_id"]
            stack.wechatpay.deliver = False
            stack.wechatpay.pay(made[unit])

    def bill_notification() -> None:
        head, note = stack.wechatpay.notification(made["lp-u1"])
        url = f"{stack.api_url}/api/v1/payments/wechat/notify"
        assert requests.post(url, data=note.encode(), headers=head, timeout=10).status_code == 204

    done["admin"] |= accesses_of(property_office)

    def big_run() -> str:
        """A community of more units than a chunk: its run drafted, then published, by the work consumers."""
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        community = {"id": "lp-big", "name": "大社区", "lot_ids": ["demo-lot"]}
        assert api.post("/admin/api/v1/communities", json=community, headers=staff).status_code == 201
        for n in range(5):
            unit = {"id": f"lp-b{n}", "building": "2", "number": f"20{n}", "area": "80.00", "phones": []}
            assert api.post("/admin/api/v1/communities/lp-big/units", json=unit, headers=staff).status_code == 201
        item = {"id": "lp-big-fee", "name": "物业费", "kind": "fixed", "price_fen": 10000, "from": "2026-11-01"}
        assert api.post("/admin/api/v1/communities/lp-big/fee-items", json=item, headers=staff).status_code == 201
        period = {"period": "2026-11", "fee_item_ids": ["lp-big-fee"]}
        run = api.post("/admin/api/v1/communities/lp-big/bill-runs", json=period, headers=staff).json()
        assert run["state"] == "drafting", run
        return str(run["id"])

    def publish_big_run(run_id: str) -> None:
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        published = api.post(f"/admin/api/v1/bill-runs/{run_id}/publish", headers=staff)
        assert published.json()["state"] == "publishing", published.text

    big: list[str] = []
    done["admin"] |= accesses_of(lambda: big.append(big_run()))
    chunks: list[WorkReport] = []
    done["work"] = accesses_of(lambda: chunks.append(stack.work()))  # drafted by the consumers
    done["admin"] |= accesses_of(lambda: publish_big_run(big[0]))
    done["work"] |= accesses_of(lambda: chunks.append(stack.work()))  # and published
    assert [len(r.worked) for r in chunks] == [2, 2], chunks
    done["api"] |= accesses_of(owner_pays_bills)
    done["notify"] |= accesses_of(bill_notification)

    # Parking at the barrier: the office's setup and reports, a visitor at the gates, a visit paid.
    visit: dict[str, str] = {}

    def parking_office() -> None:
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        rule = {"from": "2026-11-23", "free_minutes": 0, "period_minutes": 60, "price_fen": 500}
        assert api.put("/admin/api/v1/lots/demo-lot/visitor-fee", json=rule, headers=staff).status_code == 200
        assert api.put("/admin/api/v1/lots/demo-lot/spaces", json={"visitor": 5}, headers=staff).status_code == 200
        policy = {"expired_card": "visitor"}
        assert api.put("/admin/api/v1/lots/demo-lot/barrier-policy", json=policy, headers=staff).status_code == 200
        exempt = {"plate": "粤B99999", "reason": "lp", "until": None}
        assert api.post("/admin/api/v1/lots/demo-lot/exemptions", json=exempt, headers=staff).status_code == 201
        black = {"plate": "粤B88888", "reason": "lp"}
        assert api.post("/admin/api/v1/lots/demo-lot/blacklist", json=black, headers=staff).status_code == 201
        lift = {"reason": "lp"}
        assert api.post("/admin/api/v1/lots/demo-lot/blacklist/粤B88888/lift", json=lift,
                        headers=staff).status_code == 200  # fmt: skip
        count = {"inside": 0, "visitors": 0, "reason": "lp"}
        assert api.post("/admin/api/v1/lots/demo-lot/occupancy/counts", json=count, headers=staff).status_code == 200
        for path in ("parking", "exemptions", "occupancy", "visits", "visits?format=csv", "parking-arrears"):
            assert api.get(f"/admin/api/v1/lots/demo-lot/{path}", headers=staff).status_code == 200, path

    def at_the_gates() -> None:
        gate = stack.demo_gate
        assert gate is not None
        for n, direction in enumerate(("in", "out")):
            body = json.dumps({"plate": "粤A77777", "direction": direction, "at": stack.clock.now().isoformat(),
                               "event_id": f"lp-{n}"}).encode()  # fmt: skip
            stamp = str(int(stack.clock.now().timestamp()))
            path = "/api/v1/gates/passages"
            head = {"X-Gate-Id": gate.id, "X-Gate-Timestamp": stamp, "Content-Type": "application/json",
                    "X-Gate-Signature": gate_signature(gate.secret, "POST", path, stamp, body)}  # fmt: skip
            answer = requests.post(stack.api_url + path, data=body, headers=head, timeout=10)
            assert answer.status_code == 200, answer.text
            visit["id"] = answer.json()["visit_id"]
        now = api.get("/api/v1/lots/demo-lot/visits/current?plate=粤A77777", headers=owner)
        assert now.status_code == 200, now.text
        pay = {"channel": "wechat", "idempotency_key": "lp-visit-pay"}
        made = api.post(f"/api/v1/visits/{visit['id']}/payments", json=pay, headers=owner)
        assert made.status_code == 201, made.text
        visit["order"] = made.json()["order_id"]
        assert api.get(f"/api/v1/visit-orders/{visit['order']}", headers=owner).status_code == 200
        guest = {"lot_id": "demo-lot", "plate": "粤C12345", "day": "2026-11-23"}
        assert api.post("/api/v1/me/guests", json=guest, headers=owner).status_code == 201
        stack.wechatpay.deliver = False
        stack.wechatpay.pay(visit["order"])

    def visit_notification() -> None:
        head, note = stack.wechatpay.notification(visit["order"])
        url = f"{stack.api_url}/api/v1/payments/wechat/notify"
        assert requests.post(url, data=note.encode(), headers=head, timeout=10).status_code == 204

    done["admin"] |= accesses_of(parking_office)
    done["api"] |= accesses_of(at_the_gates)
    done["notify"] |= accesses_of(visit_notification)

    owner = signed_in(api, "sim:demo-owner:lp2")
    body = {"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "least-privilege-2"}
    unpaid = api.post("/api/v1/cards/card-demo/renewals", json=body, headers=owner).json()
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(unpaid["order_id"])  # paid, its notification lost: the sweep finds it
    gate = stack.demo_gate
    assert gate is not None
    came = Reported(gate.id, "lp-lost-in", "粤A66666", Direction.IN, stack.clock.now())
    lost_visit = stack.services.barrier.passage(gate, came).record.visit_id
    pay = {"channel": "wechat", "idempotency_key": "lp-visit-lost"}
    visit_order = api.post(f"/api/v1/visits/{lost_visit}/payments", json=pay, headers=owner).json()["order_id"]
    stack.wechatpay.pay(visit_order)  # a visit paid, its notification lost too
    stack.clock.set(datetime.fromisoformat("2026-11-23T11:00:00+08:00"))
    swept: list[SweepReport] = []
    done["sweep"] = accesses_of(lambda: swept.append(stack.sweep()))
    # The second bill order's notification was lost too: the sweep finds it paid.
    assert swept[0].fulfilled == [unpaid["order_id"], made["lp-u2"], visit_order]
    assert swept[0].invoices == [made["wechat"]]

    body = {"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "least-privilege-3"}
    lost = api.post("/api/v1/cards/card-demo/renewals", json=body, headers=owner).json()
    # A prepayment of a unit and a visit's payment lost the same way: the reconciliation fulfils them too.
    prepay = {"amount_fen": 5000, "channel": "wechat", "idempotency_key": "lp-prepay-lost"}
    prepaid = api.post("/api/v1/units/lp-u1/prepayments", json=prepay, headers=owner)
    assert prepaid.status_code == 201, prepaid.text
    came = Reported(gate.id, "lp-lost-in-2", "粤A55555", Direction.IN, stack.clock.now())
    visit_id = stack.services.barrier.passage(gate, came).record.visit_id
    pay = {"channel": "wechat", "idempotency_key": "lp-visit-lost-2"}
    unnoticed = api.post(f"/api/v1/visits/{visit_id}/payments", json=pay, headers=owner).json()["order_id"]
    stack.wechatpay.failing_queries = True  # their notifications and queries lost: the reconciliation finds them
    for order_id in (lost["order_id"], prepaid.json()["order_id"], unnoticed):
        stack.wechatpay.pay(order_id, notify=False)
    stack.clock.set(datetime.fromisoformat("2026-11-24T10:30:00+08:00"))  # the 23rd's statements are out
    reconciled: list[dict[str, dict[str, int]]] = []
    done["reconcile"] = accesses_of(lambda: reconciled.append(stack.reconcile(date(2026, 11, 23))))
    stack.wechatpay.failing_queries = False
    assert reconciled[0]["wechat"]["repaired"] == 3, reconciled

    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
    stack.wechatpay.refund_outcome = "PROCESSING"  # its result comes later, notified
    refund = api.post(f"/admin/api/v1/orders/{lost['order_id']}/refund", json={"reason": "lp"}, headers=staff)
    assert refund.json()["refund_state"] == "processing", refund.text
    stack.wechatpay.settle_refund(f"refund-{lost['order_id']}", "SUCCESS", notify=False)
    head, note = stack.wechatpay.refund_notification(f"refund-{lost['order_id']}")
    url = f"{stack.api_url}/api/v1/payments/wechat/refund-notify"
    done["notify"] |= accesses_of(
        lambda: requests.post(url, data=note.encode(), headers=head, timeout=10).raise_for_status()
    )

    # lp-u4's bill, due Nov 30 and still unpaid: 3 days before, its owner is reminded (subscribed to it).
    told_bills = {"template_id": BILL_TEMPLATE, "accepted": True}
    assert (
        api.post("/api/v1/me/subscriptions", json=told_bills, headers=signed_in(api, "sim:demo-owner:lp4")).status_code
        == 204
    )
    stack.clock.set(datetime.fromisoformat("2026-11-27T10:30:00+08:00"))
    billed: list[WorkReport] = []
    done["reminders"] = accesses_of(lambda: reminders.run(stack.services))  # found, put on the queue
    done["work"] |= accesses_of(lambda: billed.append(stack.work()))  # sent by the consumers
    assert billed[0].sent, billed

    card = stack.services.cards.get("card-demo")
    assert card is not None
    due = card.valid_until - timedelta(days=5)
    stack.clock.set(datetime.fromisoformat(f"{due.isoformat()}T10:30:00+08:00"))  # its 5-days-before reminder
    ticked: list[WorkReport] = []
    done["reminders"] |= accesses_of(lambda: reminders.run(stack.services))
    done["work"] |= accesses_of(lambda: ticked.append(stack.work()))
    assert ticked[0].sent
    # SQS delivers at least once: the same reminder's message again is read as done, and nothing is sent.
    lot = stack.services.lots.get(card.lot_id)
    assert lot is not None and stack.services.work_queue is not None
    stack.services.work_queue.send([expiry_message(s) for s in slots_for(card, lot) if s.key in ticked[0].sent])
    again: list[WorkReport] = []
    done["work"] |= accesses_of(lambda: again.append(stack.work()))
    assert again[0].duplicates == 1 and not again[0].sent, again

    stack.clock.set(datetime.fromisoformat("2027-06-01T10:00:00+08:00"))  # the card has ended, the approval lapsed
    found: list[int] = []
    done["cardjobs"] = accesses_of(lambda: found.append(card_jobs.run(stack.services)))  # found, put on the queue
    jobs: list[WorkReport] = []
    done["work"] |= accesses_of(lambda: jobs.append(stack.work()))  # each expired or lapsed by the consumers
    assert found[0] >= 2 and "card-expire#card-demo" in jobs[0].worked, jobs
    assert any(k.startswith("card-lapse#") for k in jobs[0].worked), jobs
    offered = stack.services.applications.get(r.json()["id"])
    assert offered is not None and offered.state.value == "approved", offered  # the lapsed card's place
    gate = stack.demo_gate
    assert gate is not None
    version = stack.services.lots.get("demo-lot").entitlement_version  # type: ignore[union-attr]
    stamp = str(int(stack.clock.now().timestamp()))
    signature = report_signature(gate.secret, "demo-lot", gate.id, version, stamp)
    event = {"version": version, "timestamp": stamp, "signature": signature, "lot_id": "demo-lot", "gate_id": gate.id}
    recorded: list[bool] = []
    done["gatestatus"] = accesses_of(lambda: recorded.append(gate_status.run(stack.services, event)))
    assert recorded == [True]
    return done


EVENT_DRIVEN = ("notify", "fanout", "reminders", "work", "cardjobs", "sweep", "gatestatus", "reconcile")
"""The functions that are not the two HTTP apps: woken by a provider, a schedule, the stream or the topic rule."""
READS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"}
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def _resolve(value: Any, tables: dict[str, str]) -> str:
    """A resource of serverless.yml as a pattern over "table/<name>[/index/<index>]" (the account and region
    left out: the stack has one of each)."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if logical not in tables:
            return f"{logical}.{attribute}"  # a queue, say
        return f"table/{tables[logical]}" + ("/stream/*" if attribute == "StreamArn" else "")
    if "Fn::Sub" in value:
        return re.sub(r"\$\{(\w+)\.Arn\}", lambda m: f"table/{tables.get(m.group(1), m.group(1))}", value["Fn::Sub"])
    raise AssertionError(f"a resource this test cannot read: {value}")


def granted(function: str) -> list[tuple[set[str], list[str]]]:
    """(actions, resource patterns) of each statement of the function's role."""
    config = serverless_config()
    resources = config["resources"]["Resources"]
    tables = {
        logical: r["Properties"]["TableName"].rsplit("}-", 1)[1]
        for logical, r in resources.items()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    role = resources[config["functions"][function]["role"]]
    statements = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statements.append((set(actions), [_resolve(r, tables) for r in listed]))
    return statements


def allowed(statements: list[tuple[set[str], list[str]]], action: str, resource: str) -> bool:
    return any(
        action in actions and any(fnmatch.fnmatchcase(resource, pattern) for pattern in patterns)
        for actions, patterns in statements
    )


def _resource(table: str, index: str) -> str:
    return f"table/{table.split('-', 1)[1]}" + (f"/index/{index}" if index else "")  # the stack's prefix dropped


def _split(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Tables read, tables written, indexes queried."""
    return {
        "read": {r for a, r in pairs if a in READS and "/index/" not in r},
        "written": {r for a, r in pairs if a in WRITES},
        "queried": {r for a, r in pairs if "/index/" in r},
    }


def test_each_function_role_allows_what_the_function_does_and_no_more(quiet_stack: DevStack) -> None:
    done = run_every_function(quiet_stack)
    for function, accesses in done.items():
        statements = granted(function)
        used = {(action, _resource(table, index)) for action, table, index in accesses}
        refused = sorted(u for u in used if not allowed(statements, *u))
        assert not refused, f"{function}'s role does not allow {refused}"
        if function in EVENT_DRIVEN:
            # Their roles name exactly the tables they read and write, nothing more.
            grants = {
                (a, r) for actions, patterns in statements for a in actions for r in patterns if r.startswith("table/")
            }
            assert _split(grants) == _split(used), function


TELL_GATES_AT_ONCE = {"api", "notify", "admin"}
"""The functions an owner or the office waits on: they publish their commits' gate events themselves."""


def test_only_the_fan_out_reads_the_stream_those_who_tell_gates_publish_and_only_the_office_reaches_staff() -> None:
    config = serverless_config()
    topic = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/parkpass/lots/*/entitlements"
    for function in ("api", "admin", *EVENT_DRIVEN):
        statements = granted(function)
        everything = {a for actions, _ in statements for a in actions}
        assert not any(a.endswith((":*", ":Scan")) or a == "*" for a in everything), function
        publishes = {r for actions, patterns in statements if "iot:Publish" in actions for r in patterns}
        assert publishes == ({topic} if function in TELL_GATES_AT_ONCE | {"fanout"} else set()), function
        told = config["functions"][function].get("environment", {}).get("PARKPASS_GATES_AT_ONCE")
        assert (told == "1") == (function in TELL_GATES_AT_ONCE), function
        assert ("dynamodb:GetRecords" in everything) == (function == "fanout")
        reaches_staff = any(p == "table/staff" for _, ps in statements for p in ps)
        assert reaches_staff == (function == "admin")


def test_the_fan_out_reads_only_its_stream_and_gives_up_batches_only_to_its_queue() -> None:
    resources = {r for _, patterns in granted("fanout") for r in patterns}
    assert resources == {
        "table/entitlements/stream/*",
        "FanoutFailuresQueue.Arn",
        "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/parkpass/lots/*/entitlements",
    }
    [stream] = [e["stream"] for e in serverless_config()["functions"]["fanout"]["events"]]
    assert stream["functionResponseType"] == "ReportBatchItemFailures"  # functions/fanout.py's answer is read
    assert stream["destinations"]["onFailure"]["arn"] == {"Fn::GetAtt": ["FanoutFailuresQueue", "Arn"]}
    environment = serverless_config()["functions"]["fanout"]["environment"]
    assert environment["PARKPASS_FANOUT_PARTIAL_BATCH"] == "1"


def test_only_the_api_reaches_owners_sessions_and_only_by_key() -> None:
    for function in ("api", "admin", *EVENT_DRIVEN):
        statements = granted(function)
        grants = {a for actions, patterns in statements for a in actions if "table/sessions" in patterns}
        assert grants == (
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} if function == "api" else set()
        )
        assert not any(
            fnmatch.fnmatchcase("table/sessions", p) for _, ps in statements for p in ps if p != "table/sessions"
        )
