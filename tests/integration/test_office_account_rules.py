"""Security (#17) over HTTP on DynamoDB in moto: office accounts get passwords and emails the rules allow (a
400 in Chinese that stores nothing), an email or lot of another company answers as one that is taken here
or does not exist, and a cashier's invoice queue has no buyer's tax id (JSON and CSV)."""

from __future__ import annotations

import csv
import io

from werkzeug.test import TestResponse

from domain.admin import Role
from domain.invoice import InvoiceType
from functions.bootstrap import Services
from handlers.invoices import request_invoice
from handlers.staff import create_staff
from infra.dynamodb.tables import AuditItem
from tests.builders import add_card
from tests.integration.test_admin_api import PASSWORD, client
from tests.integration.test_admin_api import office as office  # the fixture

API = "/admin/api/v1"
TAX_ID = "91350100M000100Y43"


def error(r: TestResponse) -> tuple[int, str, str]:
    body = r.get_json()
    return r.status_code, body["error"]["code"], body["error"]["message"]


def staff_emails(s: Services, tenant_id: str) -> list[str]:
    return [a.email for a in s.staff.list_for_tenant(tenant_id)]


def test_an_account_with_a_bad_password_or_email_is_refused_in_chinese_and_nothing_is_stored(office: Services) -> None:
    boss = client(office, "boss@t1.cn")
    before = staff_emails(office, "t1")
    new = {"email": "new.cashier@t1.cn", "role": "cashier", "lots": ["lot-a"]}
    for password, message in [
        ("1234567890", "密码至少 12 位"),
        (" " * 10, "密码至少 12 位"),
        ("\u0000" * 10, "密码不能包含控制字符或不可见字符"),
        ("123456789012", "密码至少要包含字母、数字、符号（含空格）中的两类"),
        ("password1234", "这个密码太常见，容易被猜中，请换一个"),
        ("short", "密码至少 12 位"),
    ]:
        r = boss.post(f"{API}/staff", json={**new, "password": password})
        assert error(r) == (400, "weak_password", message), password
    english = boss.post(f"{API}/staff", json={**new, "password": "1234567890"}, headers={"Accept-Language": "en"})
    assert error(english) == (400, "weak_password", "a password has at least 12 characters")

    svg = boss.post(f"{API}/staff", json={**new, "email": 'x"><svg/onload=alert(1)>@a.bc', "password": "fine pass 12"})
    assert error(svg)[:2] == (400, "invalid_input") and error(svg)[2].startswith("邮箱格式不对")
    assert staff_emails(office, "t1") == before
    assert list(AuditItem.query("staff:new.cashier@t1.cn")) == []

    made = boss.post(f"{API}/staff", json={**new, "password": "fine pass 12"})
    assert made.status_code == 201

    reset = boss.post(f"{API}/staff/new.cashier@t1.cn/password", json={"password": "\u0000" * 12})
    assert error(reset) == (400, "weak_password", "密码不能包含控制字符或不可见字符")
    login = client(office, "boss@t1.cn").post(
        f"{API}/auth/login", json={"email": "new.cashier@t1.cn", "password": "fine pass 12"}
    )
    assert login.status_code == 200  # the refused reset changed nothing


def test_an_email_or_lot_of_another_company_answers_as_one_taken_here_or_one_that_does_not_exist(
    office: Services,
) -> None:
    create_staff("theirs@t2.cn", PASSWORD, "t2", Role.CASHIER, {"lot-x"}, office.staff, office.passwords)
    boss = client(office, "boss@t1.cn")
    new = {"role": "cashier", "lots": ["lot-a"], "password": "fine pass 12"}
    theirs = boss.post(f"{API}/staff", json={**new, "email": "theirs@t2.cn"})
    mine = boss.post(f"{API}/staff", json={**new, "email": "a.cashier@t1.cn"})
    assert error(theirs) == error(mine) == (409, "staff_email_unavailable", "这个邮箱不能用于新账号，请换一个邮箱")
    assert theirs.get_json() == mine.get_json()

    their_lot = boss.post(f"{API}/staff", json={**new, "email": "n1@t1.cn", "lots": ["lot-x"]})
    no_lot = boss.post(f"{API}/staff", json={**new, "email": "n1@t1.cn", "lots": ["lot-y"]})
    assert their_lot.status_code == no_lot.status_code == 404
    assert str(their_lot.get_json()).replace("lot-x", "?") == str(no_lot.get_json()).replace("lot-y", "?")
    assert office.staff.get("n1@t1.cn") is None

    their_id = boss.post(f"{API}/lots", json={"id": "lot-x", "name": "新车场"})
    my_id = boss.post(f"{API}/lots", json={"id": "lot-a", "name": "新车场"})
    assert str(their_id.get_json()).replace("lot-x", "?") == str(my_id.get_json()).replace("lot-a", "?")
    assert error(their_id) == (400, "invalid_lot", "车场编号 lot-x 不能使用，请换一个编号")


def test_a_cashiers_invoice_queue_has_no_tax_id_and_a_managers_has(office: Services) -> None:
    from datetime import date

    from domain.card import Card, CardState
    from domain.owner import Owner

    office.owners.add(Owner("owner-a", "openid-owner-a"))
    add_card(office, Card("card-a", "lot-a", "owner-a", ("粤B12345",), date(2026, 11, 1), date(2026, 11, 30),
                          CardState.ACTIVE))  # fmt: skip
    cashier, manager = client(office, "a.cashier@t1.cn"), client(office, "a.manager@t1.cn")
    paid = cashier.post(
        f"{API}/cards/card-a/payments", json={"package_id": "m1", "channel": "cash", "idempotency_key": "cash-0001"}
    )
    order_id = paid.get_json()["order_id"]
    request_invoice(
        "owner-a", order_id, InvoiceType.COMPANY, "某某科技有限公司", "cfo@example.com", TAX_ID, None, office.orders,
        office.lots, office.invoicing, office.clock,
    )  # fmt: skip

    [mine] = manager.get(f"{API}/lots/lot-a/invoices").get_json()["invoices"]
    assert (mine["order_id"], mine["title"], mine["tax_id"]) == (order_id, "某某科技有限公司", TAX_ID)
    [seen] = cashier.get(f"{API}/lots/lot-a/invoices").get_json()["invoices"]
    assert (seen["order_id"], seen["title"]) == (order_id, "某某科技有限公司")
    assert "tax_id" not in seen and TAX_ID not in str(seen)

    for lang in ("zh", "en"):
        headers = {"Accept-Language": lang}
        shown = cashier.get(f"{API}/lots/lot-a/invoices?format=csv", headers=headers).get_data(as_text=True)
        managed = manager.get(f"{API}/lots/lot-a/invoices?format=csv", headers=headers).get_data(as_text=True)
        assert TAX_ID not in shown and TAX_ID in managed, lang
        header = next(csv.reader(io.StringIO(shown.lstrip("\ufeff"))))
        assert "税号" not in header and "tax_id" not in header and ("抬头" in header or "title" in header)
