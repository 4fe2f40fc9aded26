"""Every office list and report answers CSV, in both languages, whatever state the lot's cards are in; dates
outside the calendar the system keeps are refused, never a 500 (#17, finding 6)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook

from domain.admin import Role, Staff
from domain.card import CardState
from domain.errors import Conflict, InvalidInput, InvalidInvoice
from domain.invoice import InvoiceType, invoice_request, new_invoice
from domain.lot import CardPolicy, Lot
from domain.order import Channel, Order, OrderState
from domain.owner import Owner
from functions.admin import create_admin_app
from functions.admin_office import read_table
from handlers.admin_cards import offline_payment
from handlers.invoices import enter_manual_invoice
from handlers.renewals import order_renewal
from tests.builders import a_card, a_pause, a_pending_order, add_card, months
from tests.fakes import NoPayments, fake_services

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password")


@pytest.fixture
def office() -> FlaskClient:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "一号车场", quota=10, tenant_id="t1", cards=CardPolicy(pause_allowed=True)))
    s.packages.add(months(1))
    s.staff.add(BOSS)
    today = date(2026, 12, 1)
    paused = replace(a_card(date(2027, 1, 31), card_id="card-paused"), pauses=(a_pause(today, date(2026, 12, 9)),))
    for card in (
        a_card(date(2027, 1, 31), card_id="card-active"),
        paused,
        a_card(date(2026, 11, 20), card_id="card-expired", state=CardState.EXPIRED),
        a_card(date(2026, 11, 20), card_id="card-cancelled", state=CardState.CANCELLED),
        a_card(None, card_id="card-pending", state=CardState.PENDING),
    ):
        assert add_card(s, card)
    c = create_admin_app(s).test_client()
    token = c.post("/admin/api/v1/auth/login", json={"email": BOSS.email, "password": "a long password"}).get_json()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token['token']}"
    return c


def _lists(client: FlaskClient) -> list[str]:
    """Every GET route of the office API that lists rows (and so answers ?format=csv), with the lot's ids."""
    app = client.application
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith("/admin/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?lot_id>", "lot-1", rule.rule).replace("<period>", "2026-12")
        if "<" not in path:
            paths.append(path)
    return paths


def test_every_list_answers_csv_in_both_languages_with_cards_in_every_state(office: FlaskClient) -> None:
    paths = _lists(office)
    assert {"/admin/api/v1/lots", "/admin/api/v1/lots/lot-1/cards", "/admin/api/v1/lots/lot-1/pauses"} <= set(paths)
    for path in paths:
        for lang in ("zh", "en"):
            r = office.get(f"{path}?format=csv&lang={lang}")
            assert r.status_code < 500, (path, lang, r.get_data(as_text=True)[:300])
    cards = office.get("/admin/api/v1/lots/lot-1/cards?format=csv").get_data(as_text=True)
    assert "2026-12-01 至 2026-12-09（已安排）" in cards and "暂停中" in cards


@pytest.mark.parametrize("period", ["9999-12", "0001-01", "9999-12-31", "0001-01-01", "2100-01"])
def test_a_report_for_a_period_outside_the_calendar_is_refused(office: FlaskClient, period: str) -> None:
    for csv in ("", "?format=csv"):
        r = office.get(f"/admin/api/v1/lots/lot-1/reports/{period}{csv}")
        assert r.status_code == 400 and r.get_json()["error"]["message"] == "日期应在 2000-01-01 到 2099-12-31 之间"


def test_a_card_cannot_be_fixed_to_end_past_the_calendar(office: FlaskClient) -> None:
    r = office.post("/admin/api/v1/cards/card-active/fix", json={"valid_until": "9999-12-31", "reason": "永久"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_card"
    assert office.get("/admin/api/v1/cards/card-active").get_json()["card"]["valid_until"] == "2027-01-31"


def test_an_invoice_number_that_would_name_a_file_elsewhere_is_refused_and_nothing_is_written() -> None:
    s = fake_services(NOW)
    paid = replace(a_pending_order("order-1", date(2026, 12, 1), date(2026, 12, 31), NOW), state=OrderState.PAID)
    request = invoice_request(InvoiceType.PERSONAL, "张三", "zhang@example.com", None, None)
    s.invoices.add(new_invoice(paid, request, NOW))
    for number in ("../../../traversal", "a/b", "12 34", "x" * 33, ""):
        with pytest.raises(InvalidInvoice):
            enter_manual_invoice("order-1", number, date(2026, 12, 1), b"%PDF-1.4", s.invoicing)
    assert s.documents.items == {}  # type: ignore[attr-defined]
    done = enter_manual_invoice("order-1", "26442000000000000001", date(2026, 12, 1), b"%PDF-1.4", s.invoicing)
    assert done.document == "invoices/lot-1/order-1/26442000000000000001.pdf"


def _xlsx_with_rows(rows: int) -> bytes:
    """A small file that unpacks to `rows` rows (each the same, so it compresses to almost nothing)."""
    row = '<row><c t="inlineStr"><is><t>粤B10001</t></is></c><c t="inlineStr"><is><t>2027-01-01</t></is></c></row>'
    header = '<row><c t="inlineStr"><is><t>车牌</t></is></c><c t="inlineStr"><is><t>结束日期</t></is></c></row>'
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{header}{row * rows}</sheetData></worksheet>"
    )
    book = Workbook()
    plain = io.BytesIO()
    book.save(plain)
    bomb = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for entry in source.infolist():
            body = sheet.encode() if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            out.writestr(entry.filename, body)
    return bomb.getvalue()


def test_a_small_xlsx_that_unpacks_to_200000_rows_is_refused() -> None:
    bomb = _xlsx_with_rows(200_000)
    assert len(bomb) < 200_000  # about as small as the one tried
    with pytest.raises(InvalidInput) as refused:
        read_table("cards.xlsx", bomb)
    assert refused.value.key == "import_too_many_rows"
    assert [row["plates"] for row in read_table("cards.xlsx", _xlsx_with_rows(3))] == ["粤B10001"] * 3


def test_a_file_that_is_not_a_spreadsheet_is_refused_in_chinese() -> None:
    with pytest.raises(InvalidInput) as refused:
        read_table("cards.xlsx", b"PK\x03\x04 not really a zip")
    assert refused.value.text("zh").startswith("无法读取这个 XLSX 文件")


def test_every_answer_says_do_not_sniff_or_frame_it_and_pages_allow_only_our_own_scripts(office: FlaskClient) -> None:
    page = office.get("/admin/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert "<script>" not in page.get_data(as_text=True)  # so the policy holds: no inline script to allow
    for answer in (page, office.get("/admin/api/v1/lots"), office.get("/admin/static/app.js")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Referrer-Policy"] == "no-referrer"


def test_an_owners_key_never_meets_the_office_tills_and_a_key_sent_for_another_purchase_is_refused() -> None:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "一号车场", quota=10, tenant_id="t1"))
    s.packages.add(months(1))
    s.packages.add(months(3, 850_00))
    s.owners.add(Owner("owner-1", "openid-1"))
    assert add_card(s, a_card(date(2026, 12, 31), card_id="card-1"))

    def renew(package: str, key: str) -> Order:
        return order_renewal(
            "owner-1", "card-1", package, Channel.WECHAT, key,
            cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
            provider=NoPayments(), ids=s.ids, clock=s.clock,
        ).order  # fmt: skip

    mine = renew("m1", "office:cash-key-0001")  # an owner's key shaped like the office's used to be
    cash = offline_payment(
        BOSS, "card-1", "m1", Channel.CASH, "cash-key-0001",
        cards=s.cards, lots=s.lots, packages=s.packages, orders=s.orders, uow=s.uow, signer=s.receipt_signer,
        ids=s.ids, clock=s.clock,
    )  # fmt: skip
    assert cash.id != mine.id and cash.channel is Channel.CASH and cash.state is OrderState.PAID
    assert s.orders.get(mine.id).state is OrderState.PENDING  # type: ignore[union-attr]  # untouched by the till
    assert renew("m1", "office:cash-key-0001").id == mine.id  # the owner's retry finds the owner's order
    with pytest.raises(Conflict) as reused:
        renew("m3", "office:cash-key-0001")  # the same key for another purchase
    assert reused.value.key == "idempotency_key_reused"
