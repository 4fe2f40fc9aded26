"""The office's screens over HTTP (Flask's test client) on DynamoDB in moto: lots and policies, packages,
refunds with their reason, manual invoices, cancel and restore, staff, gates, search by any part of a
plate or a phone's last 4 digits. Every form's idempotency key does its action once, even when the same
form arrives twice at the same moment; bad input answers a JSON error and stores nothing; a cashier may
not touch policies or staff."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from werkzeug.test import TestResponse

from domain.admin import Role
from domain.card import Card, CardState
from domain.invoice import InvoiceType
from domain.owner import Owner
from functions.admin import create_admin_app
from functions.bootstrap import Services
from handlers.card_changes import pause_card
from handlers.invoices import request_invoice
from handlers.ports import Gate
from handlers.staff import create_staff
from infra.dynamodb.tables import AuditItem, LedgerItem
from tests.builders import add_card
from tests.integration.test_admin_api import PASSWORD, client
from tests.integration.test_admin_api import office as office  # the fixture

API = "/admin/api/v1"


def at_once(*calls: Callable[[], TestResponse]) -> list[TestResponse]:
    """Each call in its own thread, released together: the same form arriving twice at the same moment."""
    start = threading.Barrier(len(calls))
    answers: list[TestResponse | None] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def twice(email: str, s: Services, method: str, path: str, **kw: Any) -> list[TestResponse]:
    """The same request from two clients of the same account at once (a double click)."""
    first, second = client(s, email), client(s, email)
    return at_once(lambda: first.open(path, method=method, **kw), lambda: second.open(path, method=method, **kw))


def entries(subject: str, action: str | None = None) -> list[AuditItem]:
    return [e for e in AuditItem.query(subject) if action is None or e.action == action]


def a_card(s: Services, card_id: str = "card-a", plate: str = "粤B12345", owner_id: str = "owner-a") -> None:
    if s.owners.get(owner_id) is None:
        s.owners.add(Owner(owner_id, f"openid-{owner_id}"))
    add_card(s, Card(card_id, "lot-a", owner_id, (plate,), date(2026, 11, 1), date(2026, 11, 30), CardState.ACTIVE))


def error_of(r: TestResponse) -> str:
    body = r.get_json()
    assert r.is_json and "message" in body["error"], body
    return str(body["error"]["code"])


# --- lots and policies


def test_a_manager_saves_a_lots_policies_once_per_form_and_bad_input_stores_nothing(office: Services) -> None:
    manager = client(office, "a.manager@t1.cn")
    policy = {
        "mode": "calendar_month",
        "max_until": "2027-06-30",
        "max_months_ahead": 6,
        "online_renewal": False,
        "approval": "manual",
        "pause_allowed": True,
        "pause_min_days": 7,
        "pause_max_days": 60,
        "pauses_per_year": 2,
        "pause_needs_approval": False,
        "grace_days": 3,
        "quota": 40,
        "max_plates": 2,
        "plate_changes_per_month": 1,
        "reminder_offsets": [7, 3, 1],
        "reason": "新学期规则",
        "idempotency_key": "policy-form-0001",
    }
    answers = twice("a.manager@t1.cn", office, "PUT", f"{API}/lots/lot-a", json=policy)
    assert [a.status_code for a in answers] == [200, 200]
    shown = manager.get(f"{API}/lots/lot-a").get_json()
    assert {k: shown[k] for k in policy if k not in ("reason", "idempotency_key")} == {
        k: v for k, v in policy.items() if k not in ("reason", "idempotency_key")
    }
    assert shown["mode_label"] == "按自然月（首月按天计价）" and shown["approval_label"] == "物业审批"
    assert len(entries("lot:lot-a", "update_lot")) == 1  # one form, one change in the history

    # The same form again, after another save: it does not undo the later one.
    manager.put(f"{API}/lots/lot-a", json={"grace_days": 5, "idempotency_key": "policy-form-0002"})
    late = manager.put(f"{API}/lots/lot-a", json=policy)
    assert late.status_code == 200 and late.get_json()["grace_days"] == 5

    for bad in (
        {"pause_min_days": 30, "pause_max_days": 7},
        {"mode": "weekly"},
        {"quota": -1},
        {"max_months_ahead": 0},
        {"grace_days": "many"},
        {"reminder_offsets": [99]},
    ):
        r = manager.put(f"{API}/lots/lot-a", json={**bad, "idempotency_key": "policy-form-0003"})
        assert r.status_code == 400 and error_of(r) in ("invalid_request", "invalid_lot"), (bad, r.get_json())
        assert "请" in r.get_json()["error"]["message"] or "应" in r.get_json()["error"]["message"]
    assert manager.get(f"{API}/lots/lot-a").get_json()["grace_days"] == 5
    assert len(entries("lot:lot-a", "update_lot")) == 2


def test_a_cashier_may_not_change_policies_packages_or_staff(office: Services) -> None:
    cashier = client(office, "a.cashier@t1.cn")
    refused = [
        cashier.put(f"{API}/lots/lot-a", json={"grace_days": 9}),
        cashier.post(f"{API}/lots/lot-a/packages", json={"id": "m2", "name": "两个月", "count": 2, "price_fen": 1}),
        cashier.patch(f"{API}/lots/lot-a/packages/m1", json={"price_fen": 1_00}),
        cashier.get(f"{API}/staff"),
        cashier.post(f"{API}/staff", json={"email": "x@t1.cn", "password": "long enough 1", "role": "cashier"}),
        cashier.post(f"{API}/staff/a.manager@t1.cn/disable"),
        cashier.post(f"{API}/staff/a.manager@t1.cn/password", json={"password": "long enough 1"}),
        cashier.put(f"{API}/staff/a.manager@t1.cn/role", json={"role": "cashier", "lots": ["lot-a"]}),
    ]
    assert [(r.status_code, error_of(r)) for r in refused] == [(403, "forbidden")] * len(refused)
    manager = client(office, "a.manager@t1.cn")
    assert manager.get(f"{API}/staff").status_code == 403  # staff are the tenant administrators' business
    assert office.packages.get("lot-a", "m1").price_fen == 300_00  # type: ignore[union-attr]
    assert office.staff.get("x@t1.cn") is None and not office.staff.get("a.manager@t1.cn").disabled  # type: ignore[union-attr]


# --- packages


def test_packages_are_created_repriced_and_taken_off_sale_once_per_form(office: Services) -> None:
    manager = client(office, "a.manager@t1.cn")
    new = {"id": "m3", "name": "季卡", "count": 3, "price_fen": 850_00, "idempotency_key": "package-form-01"}
    made = twice("a.manager@t1.cn", office, "POST", f"{API}/lots/lot-a/packages", json=new)
    assert [a.status_code for a in made] == [201, 201]
    assert made[0].get_json()["price_yuan"] == "850.00" and made[0].get_json()["length_label"] == "3 个月"
    assert len(entries("package:lot-a:m3")) == 1

    change = {"price_fen": 800_00, "enabled": False, "idempotency_key": "package-form-02"}
    changed = twice("a.manager@t1.cn", office, "PATCH", f"{API}/lots/lot-a/packages/m3", json=change)
    assert [a.status_code for a in changed] == [200, 200]
    listed = {p["id"]: p for p in manager.get(f"{API}/lots/lot-a/packages").get_json()["packages"]}
    assert (listed["m3"]["price_fen"], listed["m3"]["enabled"], listed["m3"]["enabled_label"]) == (80000, False, "停售")
    history = entries("package:lot-a:m3")
    assert len(history) == 2  # made, changed (the clock stands still here: their order is not time's)
    repriced = next(e for e in history if e.before is not None)
    assert (repriced.before["price_fen"], repriced.after["price_fen"]) == (850_00, 800_00)
    assert repriced.actor == "admin:a.manager@t1.cn"

    missing = manager.patch(f"{API}/lots/lot-a/packages/m99", json={"price_fen": 1_00})
    assert missing.status_code == 404 and error_of(missing) == "package_not_found"
    for bad in ({"price_fen": 0}, {"price_fen": 12.5}, {"name": ""}):
        r = manager.patch(f"{API}/lots/lot-a/packages/m3", json=bad)
        assert r.status_code == 400 and error_of(r) == "invalid_request", bad
    r = manager.post(f"{API}/lots/lot-a/packages", json={"id": "m4", "name": "四个月", "count": 4, "price_fen": -5})
    assert r.status_code == 400 and office.packages.get("lot-a", "m4") is None
    assert office.packages.get("lot-a", "m3").price_fen == 800_00  # type: ignore[union-attr]
    assert len(entries("package:lot-a:m3")) == 2


# --- money: cash, refunds


def test_a_cash_payment_and_its_refund_each_happen_once_and_the_refunds_reason_is_in_the_cards_history(
    office: Services,
) -> None:
    a_card(office)
    pay = {"package_id": "m1", "channel": "cash", "idempotency_key": "cash-form-0001"}
    paid = twice("a.cashier@t1.cn", office, "POST", f"{API}/cards/card-a/payments", json=pay)
    assert [a.status_code for a in paid] == [201, 201]
    assert paid[0].get_json()["order_id"] == paid[1].get_json()["order_id"]
    order_id = paid[0].get_json()["order_id"]
    assert paid[0].get_json()["amount_yuan"] == "300.00" and paid[0].get_json()["channel_label"] == "现金"

    refund = {"reason": "车主搬走，退回现金", "idempotency_key": "refund-form-01"}
    refunded = twice("a.manager@t1.cn", office, "POST", f"{API}/orders/{order_id}/refund", json=refund)
    assert [a.status_code for a in refunded] == [200, 200]
    assert {a.get_json()["state_label"] for a in refunded} == {"已退款"}
    lines = sorted(int(e.amount_fen) for e in LedgerItem.by_lot.query("lot-a"))
    assert lines == [-300_00, 300_00]  # one payment, one refund

    card = client(office, "a.manager@t1.cn").get(f"{API}/cards/card-a").get_json()
    refunds = [c for c in card["changes"] if c["action"] == "refund"]
    assert len(refunds) == 1
    assert refunds[0]["reason"] == "车主搬走，退回现金" and refunds[0]["action_label"] == "退款"
    assert refunds[0]["actor_label"] == "物业 a.manager@t1.cn" and refunds[0]["at_local"].endswith("北京时间")
    assert card["card"]["valid_until"] == "2026-11-30"

    no_reason = client(office, "a.manager@t1.cn").post(f"{API}/orders/{order_id}/refund", json={"reason": ""})
    assert no_reason.status_code == 400 and error_of(no_reason) == "invalid_request"
    cashier = client(office, "a.cashier@t1.cn")
    assert cashier.post(f"{API}/orders/{order_id}/refund", json=refund).status_code == 403


# --- cancel and restore, fixes, pauses


def test_cancel_and_restore_each_happen_once_per_form_and_a_late_retry_undoes_nothing(office: Services) -> None:
    a_card(office)
    manager = client(office, "a.manager@t1.cn")
    cancel = {"reason": "车主退租", "idempotency_key": "cancel-form-01"}
    answers = twice("a.manager@t1.cn", office, "POST", f"{API}/cards/card-a/cancel", json=cancel)
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.get_json()["state_label"] for a in answers} == {"已注销"}
    assert office.lots.get("lot-a").held == 0  # type: ignore[union-attr]

    restore = {"reason": "误操作，恢复", "idempotency_key": "restore-form-01"}
    answers = twice("a.manager@t1.cn", office, "POST", f"{API}/cards/card-a/restore", json=restore)
    assert [a.status_code for a in answers] == [200, 200]
    assert office.cards.get("card-a").state is CardState.ACTIVE  # type: ignore[union-attr]

    late = manager.post(f"{API}/cards/card-a/cancel", json=cancel)  # the first form, retried after the restore
    assert late.status_code == 200 and late.get_json()["state"] == "active"
    history = [c["action"] for c in manager.get(f"{API}/cards/card-a").get_json()["changes"]]
    assert history.count("cancel") == 1 and history.count("restore") == 1
    assert office.lots.get("lot-a").held == 1  # type: ignore[union-attr]

    blank = manager.post(f"{API}/cards/card-a/cancel", json={"reason": " ", "idempotency_key": "cancel-form-02"})
    assert blank.status_code == 400 and office.cards.get("card-a").state is CardState.ACTIVE  # type: ignore[union-attr]
    bad_key = manager.post(f"{API}/cards/card-a/cancel", json={"reason": "x", "idempotency_key": "not a key!"})
    assert bad_key.status_code == 400 and error_of(bad_key) == "invalid_input"
    assert office.cards.get("card-a").state is CardState.ACTIVE  # type: ignore[union-attr]


def test_a_fix_and_a_pause_answer_are_each_done_once_per_form(office: Services) -> None:
    a_card(office)
    fix = {"valid_until": "2026-12-15", "reason": "补录", "idempotency_key": "fix-form-0001"}
    answers = twice("a.manager@t1.cn", office, "POST", f"{API}/cards/card-a/fix", json=fix)
    assert [a.status_code for a in answers] == [200, 200]
    history = client(office, "a.manager@t1.cn").get(f"{API}/cards/card-a").get_json()["changes"]
    assert [c["action"] for c in history].count("fix") == 1

    lot = office.lots.get("lot-a")
    assert lot is not None
    office.lots.save_settings(replace(lot, cards=replace(lot.cards, pause_allowed=True, pause_needs_approval=True)))
    paused = pause_card(
        "owner-a", "card-a", date(2026, 12, 1), date(2026, 12, 5), office.cards, office.lots, office.uow, office.ids,
        office.clock,
    )  # fmt: skip
    path = f"{API}/cards/card-a/pauses/{paused.pauses[0].id}/approve"
    answers = twice("a.manager@t1.cn", office, "POST", path, json={"idempotency_key": "pause-form-01"})
    assert [a.status_code for a in answers] == [200, 200]
    card = office.cards.get("card-a")
    assert card is not None and card.valid_until == date(2026, 12, 20)  # moved by the pause's 5 days, once


# --- invoices


def test_a_manual_invoice_is_issued_once_per_form_and_a_bad_upload_stores_nothing(office: Services) -> None:
    a_card(office)
    paid = client(office, "a.cashier@t1.cn").post(
        f"{API}/cards/card-a/payments", json={"package_id": "m1", "channel": "cash", "idempotency_key": "cash-0002"}
    )
    order_id = paid.get_json()["order_id"]
    request_invoice(
        "owner-a", order_id, InvoiceType.PERSONAL, "张三", "a@example.com", None, None, office.orders, office.lots,
        office.invoicing, office.clock,
    )  # fmt: skip
    manager = client(office, "a.manager@t1.cn")
    queue = manager.get(f"{API}/lots/lot-a/invoices").get_json()["invoices"]
    assert [(i["order_id"], i["amount_yuan"], i["state_label"]) for i in queue] == [(order_id, "300.00", "待开票")]

    def form(pdf: bytes, number: str = "04400123", key: str = "invoice-form-01") -> dict[str, Any]:
        return {
            "number": number,
            "issued_on": "2026-11-23",
            "idempotency_key": key,
            "pdf": (io.BytesIO(pdf), "invoice.pdf"),
        }

    for bad in (form(b"not a pdf"), {**form(b"%PDF-1.4"), "issued_on": "23/11/2026"}, form(b"%PDF-1.4", number="")):
        r = manager.post(f"{API}/orders/{order_id}/invoice/issue", data=bad, content_type="multipart/form-data")
        assert r.status_code == 400 and error_of(r) == "invalid_input"
    assert office.invoices.get(order_id).state.value == "requested"  # type: ignore[union-attr]

    first, second = client(office, "a.manager@t1.cn"), client(office, "a.manager@t1.cn")
    path = f"{API}/orders/{order_id}/invoice/issue"
    answers = at_once(
        lambda: first.post(path, data=form(b"%PDF-1.4 one"), content_type="multipart/form-data"),
        lambda: second.post(path, data=form(b"%PDF-1.4 one"), content_type="multipart/form-data"),
    )
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.get_json()["state_label"] for a in answers} == {"已开票"}
    assert len(entries(f"invoice:{order_id}", "issue_invoice")) == 1
    assert manager.get(f"{API}/lots/lot-a/invoices").get_json()["invoices"] == []


# --- staff


def test_a_tenant_admin_manages_staff_and_a_disabled_account_is_shut_out_at_once(office: Services) -> None:
    boss = client(office, "boss@t1.cn")
    new = {
        "email": "New.Cashier@t1.cn",
        "password": "first password 1",
        "role": "cashier",
        "lots": ["lot-a"],
        "idempotency_key": "staff-form-0001",
    }
    made = twice("boss@t1.cn", office, "POST", f"{API}/staff", json=new)
    assert [a.status_code for a in made] == [201, 201]
    assert made[0].get_json() == {
        "email": "new.cashier@t1.cn",
        "role": "cashier",
        "role_label": "收费员",
        "lots": ["lot-a"],
        "disabled": False,
        "state_label": "正常",
    }
    assert len(entries("staff:new.cashier@t1.cn", "create_staff")) == 1
    again = boss.post(f"{API}/staff", json={**new, "idempotency_key": "staff-form-0002", "password": "another one 12"})
    assert again.status_code == 409 and error_of(again) == "staff_email_unavailable"
    assert again.get_json()["error"]["message"] == "这个邮箱不能用于新账号，请换一个邮箱"
    listed = boss.get(f"{API}/staff").get_json()["staff"]
    assert [a["email"] for a in listed] == ["a.cashier@t1.cn", "a.manager@t1.cn", "boss@t1.cn", "new.cashier@t1.cn"]
    assert all("password" not in str(a) and "scrypt" not in str(a) for a in listed)

    cashier = create_admin_app(office).test_client()
    token = cashier.post(f"{API}/auth/login", json={"email": "new.cashier@t1.cn", "password": "first password 1"})
    cashier.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.get_json()['token']}"
    assert cashier.get(f"{API}/me").status_code == 200
    off = twice("boss@t1.cn", office, "POST", f"{API}/staff/new.cashier@t1.cn/disable",
                json={"idempotency_key": "staff-form-0003"})  # fmt: skip
    assert [a.status_code for a in off] == [200, 200] and off[0].get_json()["state_label"] == "已停用"
    assert len(entries("staff:new.cashier@t1.cn", "disable_staff")) == 1
    shut = cashier.get(f"{API}/me")  # the token it already has
    assert shut.status_code == 401 and shut.get_json()["error"]["message"] == "该账号已停用，请联系物业管理员"
    login = boss.post(f"{API}/auth/login", json={"email": "new.cashier@t1.cn", "password": "first password 1"})
    assert login.status_code == 401
    assert boss.post(f"{API}/staff/new.cashier@t1.cn/enable").get_json()["disabled"] is False

    reset = {"password": "second password 2", "idempotency_key": "staff-form-0004"}
    answers = twice("boss@t1.cn", office, "POST", f"{API}/staff/new.cashier@t1.cn/password", json=reset)
    assert [a.status_code for a in answers] == [200, 200]
    assert len(entries("staff:new.cashier@t1.cn", "reset_password")) == 1
    assert boss.post(f"{API}/auth/login", json={"email": "new.cashier@t1.cn", "password": "first password 1"}
                     ).status_code == 401  # fmt: skip
    assert boss.post(f"{API}/auth/login", json={"email": "new.cashier@t1.cn", "password": "second password 2"}
                     ).status_code == 200  # fmt: skip

    role = {"role": "lot_manager", "lots": ["lot-a", "lot-b"], "idempotency_key": "staff-form-0005"}
    answers = twice("boss@t1.cn", office, "PUT", f"{API}/staff/new.cashier@t1.cn/role", json=role)
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].get_json()["lots"] == ["lot-a", "lot-b"] and answers[0].get_json()["role_label"] == "车场经理"
    history = entries("staff:new.cashier@t1.cn", "change_role")
    assert len(history) == 1 and history[0].before["role"] == "cashier" and history[0].after["role"] == "lot_manager"
    assert all("password" not in str(e.after) for e in entries("staff:new.cashier@t1.cn"))

    refused = [
        boss.post(f"{API}/staff/boss@t1.cn/disable"),
        boss.put(f"{API}/staff/boss@t1.cn/role", json={"role": "cashier", "lots": ["lot-a"]}),
        boss.put(f"{API}/staff/new.cashier@t1.cn/role", json={"role": "cashier", "lots": []}),
        boss.put(f"{API}/staff/new.cashier@t1.cn/role", json={"role": "king", "lots": ["lot-a"]}),
        boss.post(f"{API}/staff/new.cashier@t1.cn/password", json={"password": "short"}),
        boss.post(f"{API}/staff", json={**new, "email": "x@t1.cn", "lots": [], "idempotency_key": "staff-form-6"}),
    ]
    assert [r.status_code for r in refused] == [400] * len(refused)
    assert office.staff.get("x@t1.cn") is None
    create_staff("other@t2.cn", PASSWORD, "t2", Role.CASHIER, {"lot-x"}, office.staff, office.passwords)
    foreign = boss.post(f"{API}/staff/other@t2.cn/disable")
    assert foreign.status_code == 404 and error_of(foreign) == "not_found"
    stranger = boss.put(f"{API}/staff/new.cashier@t1.cn/role", json={"role": "cashier", "lots": ["lot-x"]})
    assert stranger.status_code == 404 and error_of(stranger) == "lot_not_found"


# --- gates


def test_the_gate_screen_shows_each_gates_version_and_lag_behind_the_lot(office: Services) -> None:
    a_card(office)  # one gate event: the lot's feed is at version 1
    a_card(office, "card-a2", "粤B22222")  # and 2
    for gate_id in ("gate-east", "gate-west", "gate-new"):
        office.gates.add(Gate(gate_id, "lot-a", "secret"))
    office.gates.record_sync("gate-east", 2, "2026-11-23T02:00:00+00:00")
    office.gates.record_sync("gate-west", 1, "2026-11-23T01:30:00+00:00")
    office.gates.add(Gate("gate-b", "lot-b", "secret"))
    shown = client(office, "a.cashier@t1.cn").get(f"{API}/lots/lot-a/gates").get_json()
    assert shown["lot_version"] == 2
    assert [(g["gate_id"], g["version"], g["lag"], g["state_label"], g["at_local"]) for g in shown["gates"]] == [
        ("gate-east", 2, 0, "已同步", "2026-11-23 10:00 北京时间"),
        ("gate-new", None, 2, "从未同步", None),
        ("gate-west", 1, 1, "落后", "2026-11-23 09:30 北京时间"),
    ]
    card = client(office, "a.cashier@t1.cn").get(f"{API}/cards/card-a").get_json()
    assert {g["gate_id"]: g["lag"] for g in card["gates"]} == {"gate-east": 0, "gate-new": 2, "gate-west": 1}
    assert client(office, "a.manager@t1.cn").get(f"{API}/lots/lot-b/gates").status_code == 404


# --- search


def test_search_finds_any_part_of_a_plate_or_a_phones_last_4_digits_and_shows_phones_masked(
    office: Services,
) -> None:
    a_card(office, "card-a", "粤B12345", "owner-a")
    a_card(office, "card-b", "粤B67890", "owner-b")
    a_card(office, "card-c", "京A12399", "owner-c")
    office.owners.set_phone("owner-a", "13800005678")
    office.owners.set_phone("owner-b", "13912341234")
    office.owners.set_phone("owner-c", "13700001234")
    cashier = client(office, "a.cashier@t1.cn")

    def found(q: str) -> list[str]:
        r = cashier.get(f"{API}/lots/lot-a/cards", query_string={"q": q})
        assert r.status_code == 200
        return [c["id"] for c in r.get_json()["cards"]]

    for q in ("B12345", "12345", "粤b12345", "粤B 12345", "ｂ１２３４５"):
        assert found(q) == ["card-a"], q
    assert found("123") == ["card-a", "card-c"]
    assert found("5678") == ["card-a"]  # the last 4 digits of owner-a's phone
    assert found("1234") == ["card-a", "card-b", "card-c"]  # owner-b's and owner-c's phones, and 粤B12345
    assert found("0000") == []
    rows = cashier.get(f"{API}/lots/lot-a/cards", query_string={"q": "5678"}).get_json()["cards"]
    assert rows[0]["owner_phone"] == "138****5678" and "13800005678" not in str(rows)
    assert rows[0]["state_label"] == "有效"
