"""The admin function over HTTP (Flask's test client) on DynamoDB in moto: scopes and roles on every route,
cash and online payments for one card in the same minute, a 5,000-row import run twice."""

from __future__ import annotations

import base64
import csv
import io
import re
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from domain.admin import Role, Staff
from domain.application import ApplicationState
from domain.bill_run import BillState, FeeItem, FeeKind, Unit
from domain.card import Card, CardState
from domain.community import Meter, Vacancy
from domain.fee_rules import PricePoint
from domain.invoice import InvoiceType
from domain.lot import CardPolicy, InvoiceProvider, Lot
from domain.order import Channel
from domain.owner import Owner
from domain.parking import PassKind
from domain.visitor_fee import VisitorFeeRule
from functions.admin import create_admin_app
from functions.bootstrap import Services
from handlers.applications import apply_for_card
from handlers.card_changes import pause_card
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.invoices import request_invoice
from handlers.ports import PaymentNotice
from handlers.renewals import place
from handlers.staff import create_staff
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import CardItem, LedgerItem
from tests.builders import a_pending_order, add_card, months, version_of
from tests.fakes import FixedClock
from tests.unit.test_door_collection import signature

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def office(dynamo_services: Services) -> Services:
    s = dynamo_services
    for lot_id in ("lot-a", "lot-b"):
        policy = CardPolicy(pause_allowed=True, pause_needs_approval=True)
        s.lots.add(
            Lot(
                lot_id,
                f"车场 {lot_id}",
                quota=10,
                tenant_id="t1",
                cards=policy,
                invoice_provider=InvoiceProvider.MANUAL,
            )
        )
        s.packages.add(replace(months(1), lot_id=lot_id))
    s.lots.add(Lot("lot-x", "别家车场", tenant_id="t2"))
    create_staff("boss@t1.cn", PASSWORD, "t1", Role.TENANT_ADMIN, set(), s.staff, s.passwords)
    create_staff("a.manager@t1.cn", PASSWORD, "t1", Role.LOT_MANAGER, {"lot-a"}, s.staff, s.passwords)
    create_staff("a.cashier@t1.cn", PASSWORD, "t1", Role.CASHIER, {"lot-a"}, s.staff, s.passwords)
    return s


def client(s: Services, email: str) -> FlaskClient:
    c = create_admin_app(s).test_client()
    r = c.post("/admin/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.get_json()['token']}"
    return c


def lot_b_things(s: Services) -> dict[str, str]:
    """One of everything at lot B: a card with a pause to approve, a paid order with an invoice, an application."""
    s.owners.add(Owner("owner-b", "openid-b"))
    add_card(
        s, Card("card-b", "lot-b", "owner-b", ("粤B00002",), date(2026, 11, 1), date(2026, 12, 31), CardState.ACTIVE)
    )
    paused = pause_card(
        "owner-b", "card-b", date(2026, 12, 1), date(2026, 12, 5), s.cards, s.lots, s.uow, s.ids, s.clock
    )
    order = a_pending_order(
        "order-b", date(2027, 1, 6), date(2027, 2, 5), NOW, owner_id="owner-b", card_id="card-b", lot_id="lot-b"
    )
    place(order, "key-order-b", version_of(s, order.card_id), s.orders, s.uow)
    assert (
        fulfil_payment(
            PaymentNotice("order-b", "tx-b", 300_00, NOW, True),
            s.orders,
            s.cards,
            s.uow,
            s.receipt_signer,
        )
        is Outcome.FULFILLED
    )
    request_invoice(
        "owner-b",
        "order-b",
        InvoiceType.PERSONAL,
        "B 先生",
        "b@example.com",
        None,
        None,
        s.orders,
        s.lots,
        s.invoicing,
        s.clock,
    )
    applied = apply_for_card(
        "owner-b", "lot-b", ["粤B00003"], "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock,
        s.notices, s.cards,
    )  # fmt: skip
    assert applied.state is ApplicationState.SUBMITTED
    create_staff("someone@t2.cn", PASSWORD, "t2", Role.CASHIER, {"lot-x"}, s.staff, s.passwords)
    bills = property_of_lot_b(s)
    return {
        **bills,
        "email": "someone@t2.cn",  # an account of another property company
        "lot_id": "lot-b",
        "card_id": "card-b",
        "pause_id": paused.pauses[0].id,
        "verdict": "approve",
        "order_id": "order-b",
        "application_id": applied.id,
        "period": "2026-11",
        "package_id": "m1",
        "number": "0",  # a bill run's first chunk
        **parking_of_lot_b(s),
    }


def parking_of_lot_b(s: Services) -> dict[str, str]:
    """Lot B charges visitors and exempts a plate."""
    boss = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "-")
    s.parking_office.set_visitor_fee(boss, "lot-b", VisitorFeeRule(NOW.date(), 15, 60, 500))
    s.parking_office.add_pass(boss, "lot-b", "粤B00009", PassKind.EXEMPT, "救护车", None, None)
    return {"plate": "粤B00009"}


def property_of_lot_b(s: Services) -> dict[str, str]:
    """A community of lot B with a unit, a fee item, a meter, a vacancy, a published run and a bill paid at the till."""
    boss = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "-")
    s.records.add_community(boss, "c-b", "B 小区", ["lot-b"])
    s.records.add_unit(boss, Unit("u-b", "c-b", "1", "101", 8000), [])
    s.records.add_fee_item(boss, FeeItem("fee-b", "c-b", "物业费", FeeKind.FIXED, (PricePoint(date(2026, 1, 1), 100),)))
    s.records.add_meter(boss, Meter("m-b", "c-b", "water", "u-b"))
    vacancy = s.records.apply_vacancy(boss, Vacancy("vacancy-b", "", "u-b", date(2026, 12, 1), date(2026, 12, 5), "x"))
    run, (bill, *_) = s.bill_runs.run(boss, "c-b", "2026-11", ["fee-b"])
    s.bill_runs.publish(boss, run.id)
    s.bill_payments.take_at_office(boss, [bill.id], Channel.CASH, "till-b-0001")
    s.owners.add(Owner("owner-c-b", "openid-c-b", phone="13800000002"))
    s.records.add_unit(boss, Unit("u-b2", "c-b", "2", "201", 8000), ["13800000002"])
    slot = next(x.slot.starts for d in range(14) for x in s.collecting.slots("c-b", NOW.date() + timedelta(days=d)))
    booking = s.collecting.book("owner-c-b", "u-b2", slot, [], "", "booking-b-0001")
    s.staff.add(Staff("collector-b@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-b"}), "-"))  # lot B's collector
    s.collecting.assign(boss, booking.id, "collector-b@t1.cn")
    return {"community_id": "c-b", "booking_id": booking.id, "collector": "collector-b@t1.cn",
            "unit_id": "u-b", "item_id": "fee-b", "meter_id": "m-b",
            "run_id": run.id, "bill_id": bill.id, "vacancy_id": vacancy.id}  # fmt: skip


CHECK_IN = {"latitude": 31.23, "longitude": 121.47, "accuracy_m": 10, "at": "2026-11-23T11:00:00+00:00"}
SIGNATURE = base64.b64encode(signature()).decode()
BODIES: dict[str, Any] = {
    "POST /admin/api/v1/communities/<community_id>/units": {
        "id": "u-x",
        "building": "1",
        "number": "1",
        "area": "1.00",
    },
    "POST /admin/api/v1/communities/<community_id>/fee-items": {
        "id": "f-x",
        "name": "x",
        "kind": "fixed",
        "price_fen": 1,
        "from": "2026-01-01",
    },
    "POST /admin/api/v1/communities/<community_id>/meters": {"id": "m-x", "kind": "water", "unit_id": "u-b"},
    "POST /admin/api/v1/communities/<community_id>/bill-runs": {"period": "2026-12", "fee_item_ids": ["fee-b"]},
    "POST /admin/api/v1/fee-items/<item_id>/prices": {"from": "2027-01-01", "price_fen": 2},
    "POST /admin/api/v1/meters/<meter_id>/readings": {"date": "2026-11-30", "reading": "1.00"},
    "POST /admin/api/v1/bills/<bill_id>/cancel": {"reason": "x"},
    "POST /admin/api/v1/bills/<bill_id>/late-fee-waivers": {"reason": "x"},
    "POST /admin/api/v1/bills/<bill_id>/refund": {"reason": "x"},
    "PUT /admin/api/v1/communities/<community_id>/collection-hours": {
        "windows": [{"weekday": 0, "from": "19:00", "until": "21:00"}],
    },
    "POST /admin/api/v1/collection-bookings/<booking_id>/assign": {"collector": "boss@t1.cn"},
    "POST /admin/api/v1/collection-bookings/<booking_id>/cancel": {"reason": "x"},
    "POST /admin/api/v1/collect/visits/<booking_id>/cash": {
        "amount_fen": 1,
        "check_in": CHECK_IN,
        "signature_png": SIGNATURE,
        "idempotency_key": "door-12345678",
    },
    "POST /admin/api/v1/collect/visits/<booking_id>/qr": {
        "channel": "wechat",
        "check_in": CHECK_IN,
        "signature_png": SIGNATURE,
        "idempotency_key": "door-12345679",
    },
    "POST /admin/api/v1/collect/visits/<booking_id>/not-home": {"reason": "不在家"},
    "POST /admin/api/v1/units/<unit_id>/vacancies": {"from": "2027-01-01", "until": "2027-01-02", "reason": "x"},
    "PUT /admin/api/v1/lots/<lot_id>": {"quota": 3, "reason": "test"},
    "PUT /admin/api/v1/lots/<lot_id>/visitor-fee": {
        "from": "2030-01-01",
        "free_minutes": 0,
        "period_minutes": 60,
        "price_fen": 1,
    },
    "PUT /admin/api/v1/lots/<lot_id>/spaces": {"total": 1, "visitor": 1},
    "PUT /admin/api/v1/lots/<lot_id>/barrier-policy": {"expired_card": "refuse"},
    "POST /admin/api/v1/lots/<lot_id>/exemptions": {"plate": "粤B00008", "reason": "x"},
    "POST /admin/api/v1/lots/<lot_id>/blacklist": {"plate": "粤B00008", "reason": "x"},
    "POST /admin/api/v1/lots/<lot_id>/exemptions/<plate>/lift": {"reason": "x"},
    "POST /admin/api/v1/lots/<lot_id>/blacklist/<plate>/lift": {"reason": "x"},
    "POST /admin/api/v1/lots/<lot_id>/occupancy/counts": {"inside": 1, "visitors": 0, "reason": "x"},
    "POST /admin/api/v1/lots/<lot_id>/packages": {"id": "m9", "name": "九个月", "count": 9, "price_fen": 2_500_00},
    "PATCH /admin/api/v1/lots/<lot_id>/packages/<package_id>": {"price_fen": 1_00},
    "POST /admin/api/v1/staff/<email>/password": {"password": "a new long password"},
    "PUT /admin/api/v1/staff/<email>/role": {"role": "cashier", "lots": ["lot-a"]},
    "POST /admin/api/v1/applications/<application_id>/reject": {"reason": "no"},
    "POST /admin/api/v1/orders/<order_id>/invoice/reject": {"reason": "no"},
    "POST /admin/api/v1/orders/<order_id>/refund": {"reason": "moved away"},
    "POST /admin/api/v1/cards/<card_id>/fix": {"valid_until": "2027-01-01", "reason": "typo"},
    "POST /admin/api/v1/cards/<card_id>/cancel": {"reason": "moved away"},
    "POST /admin/api/v1/cards/<card_id>/restore": {"reason": "back again"},
    "POST /admin/api/v1/cards/<card_id>/claim-slip": {"idempotency_key": "slip-12345678"},
    "POST /admin/api/v1/cards/<card_id>/payments": {
        "package_id": "m1",
        "channel": "cash",
        "idempotency_key": "k-12345678",
    },
    "POST /admin/api/v1/lots/<lot_id>/imports/rows": {
        "first_row": 2,
        "rows": [{"plates": "粤B99999", "valid_until": "2027-01-01"}],
    },
}


def routes_with_ids(c: FlaskClient) -> list[tuple[str, str]]:
    found = []
    for rule in c.application.url_map.iter_rules():
        if not rule.rule.startswith("/admin/api/v1/") or not rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    return sorted(found)


def test_a_manager_of_lot_a_finds_nothing_of_lot_b_on_any_route(office: Services) -> None:
    things = lot_b_things(office)
    manager = client(office, "a.manager@t1.cn")
    routes = routes_with_ids(manager)
    assert len(routes) >= 20
    for method, rule in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: things[m.group(1)], rule)
        key = f"{method} {rule}"
        if rule.endswith("/invoice/issue") or rule.endswith("/imports/parse"):
            data = {
                "number": "1",
                "issued_on": "2026-11-23",
                "pdf": (io.BytesIO(b"%PDF-1.4"), "x.pdf"),
                "file": (io.BytesIO(b"plates,valid_until\\n"), "x.csv"),
            }
            r = manager.open(path, method=method, data=data, content_type="multipart/form-data")
        else:
            r = manager.open(path, method=method, json=BODIES.get(key))
        assert r.status_code == 404, (key, r.status_code, r.get_json())
    # Nothing moved at lot B, and the tenant admin sees it all.
    boss = client(office, "boss@t1.cn")
    assert boss.get("/admin/api/v1/cards/card-b").status_code == 200
    assert [lot["id"] for lot in boss.get("/admin/api/v1/lots").get_json()["lots"]] == ["lot-a", "lot-b"]
    assert office.lots.get("lot-b").quota == 10  # type: ignore[union-attr]
    assert office.billing.bill(things["bill_id"]).state is BillState.PAID  # type: ignore[union-attr]
    assert [(p.plate, p.lifted) for p in office.parking.passes("lot-b")] == [("粤B00009", False)]
    assert office.parking.setup("lot-b").spaces.visitor is None
    assert client(office, "a.manager@t1.cn").get("/admin/api/v1/lots/lot-x").status_code == 404


def test_a_cashier_looks_up_and_takes_cash_but_cannot_change_a_policy(office: Services) -> None:
    add_card(
        office,
        Card("card-a", "lot-a", "office-lot-a", ("粤A00001",), date(2026, 11, 1), date(2026, 11, 30), CardState.ACTIVE),
    )
    cashier = client(office, "a.cashier@t1.cn")
    r = cashier.put("/admin/api/v1/lots/lot-a", json={"quota": 99, "reason": "why not"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert (
        cashier.post(
            "/admin/api/v1/lots/lot-a/packages", json=BODIES["POST /admin/api/v1/lots/<lot_id>/packages"]
        ).status_code
        == 403
    )
    assert (
        cashier.post("/admin/api/v1/cards/card-a/fix", json={"valid_until": "2030-01-01", "reason": "x"}).status_code
        == 403
    )
    assert office.lots.get("lot-a").quota == 10  # type: ignore[union-attr]
    assert cashier.get("/admin/api/v1/lots/lot-a/cards?q=粤a 00001").get_json()["cards"][0]["id"] == "card-a"
    paid = cashier.post(
        "/admin/api/v1/cards/card-a/payments",
        json={"package_id": "m1", "channel": "cash", "idempotency_key": "till-0001"},
    )
    assert paid.status_code == 201 and paid.get_json()["staff"] == "a.cashier@t1.cn"
    pdf = cashier.get(paid.get_json()["receipt_url"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    manager = client(office, "a.manager@t1.cn")
    changed = manager.put("/admin/api/v1/lots/lot-a", json={"quota": 12, "max_months_ahead": 6, "reason": "new bays"})
    assert changed.status_code == 200 and changed.get_json()["quota"] == 12
    history = office.audit.history("lot:lot-a")  # type: ignore[attr-defined]
    assert [(e.actor, e.action, e.before["quota"], e.after["quota"]) for e in history] == [
        ("admin:a.manager@t1.cn", "update_lot", 10, 12)
    ]


def login_at(app: Any, email: str, password: str, caller: str) -> Any:
    return app.test_client().post(
        "/admin/api/v1/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": caller}
    )


def test_40_parallel_logins_check_at_most_5_passwords(office: Services, caplog: pytest.LogCaptureFixture) -> None:
    """#17 finding 1: the failure count was read, changed and written back, so parallel attempts all got checked."""
    checked: list[str] = []
    real = office.passwords

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def matches(self, password: str, stored: str) -> bool:
            if stored.count("$") == 5 and "AAAA$AAAA" not in stored:  # a real account's hash, not the decoy
                checked.append(password)
            return real.matches(password, stored)

    app = create_admin_app(replace(office, passwords=Counting()))
    guesses = [f"guess number {n:02d}" for n in range(39)] + [PASSWORD]
    answers: list[str] = []

    def attempt(password: str) -> None:
        r = login_at(app, "a.cashier@t1.cn", password, "203.0.113.7")
        answers.append(r.get_json()["error"]["code"] if r.status_code != 200 else "ok")

    with caplog.at_level("WARNING", logger="parkpass.security"):
        threads = [threading.Thread(target=attempt, args=(p,)) for p in guesses]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(checked) <= 5, f"{len(checked)} passwords were checked"
    assert answers.count("rate_limited") >= 35 and len(answers) == 40
    refusals = [r.getMessage() for r in caplog.records if r.name == "parkpass.security"]
    assert len(refusals) >= 39 and not any("a.cashier" in m for m in refusals)  # logged, the account hashed
    assert all("caller='203.0.113.7'" in m for m in refusals)


def test_a_guesser_is_slowed_while_the_accounts_owner_elsewhere_still_logs_in(
    office: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """#17 finding 3: five wrong passwords from anywhere locked the account, even against the right one."""
    app, clock = create_admin_app(office), office.clock
    assert isinstance(clock, FixedClock)
    wrong = [login_at(app, "a.cashier@t1.cn", "wrong password", "203.0.113.7") for _ in range(4)]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429]
    assert wrong[2].get_json()["error"]["message"] == "邮箱或密码错误"
    assert wrong[3].headers["Retry-After"] == "30"
    assert wrong[3].get_json()["error"]["message"] == "请求过于频繁，请 30 秒后再试"
    assert login_at(app, "a.cashier@t1.cn", PASSWORD, "198.51.100.2").status_code == 200  # the owner, at the office

    waits = []  # the guesser waits twice as long after each further wrong password
    for _ in range(3):
        waiting = login_at(app, "a.cashier@t1.cn", "x", "203.0.113.7")
        clock._now += timedelta(seconds=int(waiting.headers["Retry-After"]))
        assert login_at(app, "a.cashier@t1.cn", "still wrong", "203.0.113.7").status_code == 401
        waits.append(int(login_at(app, "a.cashier@t1.cn", "x", "203.0.113.7").headers["Retry-After"]))
    assert waits == [60, 120, 240]
    with caplog.at_level("WARNING", logger="parkpass.security"):
        assert login_at(app, "a.cashier@t1.cn", PASSWORD, "203.0.113.7").status_code == 429  # even the right one
    assert "reason=waiting (account_address)" in caplog.text


def test_an_unknown_email_answers_as_a_known_one_with_the_same_work(office: Services) -> None:
    """#17 finding 3: only real accounts answered account_locked, and real accounts answered slower."""
    app = create_admin_app(office)

    def tries(email: str) -> tuple[list[tuple[int, str, str]], list[tuple[int, dict[str, int]]]]:
        seen, work = [], []
        for _ in range(4):
            with DynamoRequestCounter() as counter:
                r = login_at(app, email, "wrong password", "203.0.113.9")
            body = r.get_json()["error"]
            seen.append((r.status_code, body["code"], body["message"]))
            work.append((counter.total, dict(counter.by_operation)))
        return seen, work

    known, unknown = tries("a.cashier@t1.cn"), tries("nobody.here@t1.cn")
    assert known == unknown
    assert [code for _, code, _ in known[0]] == ["login_failed"] * 3 + ["rate_limited"]


def test_spraying_one_address_over_many_accounts_meets_a_429(
    office: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """#17 finding 1: 40 logins with different emails in 2 s never met a 429."""
    app = create_admin_app(office)
    with caplog.at_level("WARNING", logger="parkpass.security"):
        answers = [login_at(app, f"user{n}@t1.cn", "Spring2026!", "203.0.113.50").status_code for n in range(40)]
    assert answers[:20] == [401] * 20 and set(answers[20:]) == {429}
    assert caplog.text.count("429: caller='203.0.113.50' path='/admin/api/v1/auth/login'") == 20
    assert login_at(app, "a.cashier@t1.cn", PASSWORD, "198.51.100.2").status_code == 200  # elsewhere: untouched


def test_cash_and_an_online_payment_in_the_same_minute_both_count_once(office: Services) -> None:
    s = office
    s.owners.add(Owner("owner-a", "openid-a"))
    add_card(
        s, Card("card-a", "lot-a", "owner-a", ("粤A00001",), date(2026, 11, 1), date(2026, 11, 30), CardState.ACTIVE)
    )
    online = a_pending_order(
        "order-online", date(2026, 12, 1), date(2026, 12, 31), NOW, owner_id="owner-a", card_id="card-a", lot_id="lot-a"
    )
    place(
        online, "owner-key-0001", version_of(s, online.card_id), s.orders, s.uow
    )  # the owner is paying in the mini-program...
    cashier = client(s, "a.cashier@t1.cn")
    body = {"package_id": "m1", "channel": "cash", "idempotency_key": "till-0002"}
    first = cashier.post("/admin/api/v1/cards/card-a/payments", json=body)  # ...while the office takes cash
    again = cashier.post("/admin/api/v1/cards/card-a/payments", json=body)  # a double click
    assert (
        first.status_code == again.status_code == 201 and first.get_json()["order_id"] == again.get_json()["order_id"]
    )
    notice = PaymentNotice("order-online", "tx-online", 300_00, NOW + timedelta(seconds=20), True)
    assert fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer) is Outcome.FULFILLED
    assert fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer) is Outcome.ALREADY_FULFILLED
    card = s.cards.get("card-a")
    assert card is not None and card.valid_until == date(2027, 1, 31)  # Nov 30 + one month + one month
    entries = sorted((e.channel, int(e.amount_fen)) for e in LedgerItem.by_lot.query("lot-a"))
    assert entries == [("cash", 300_00), ("wechat", 300_00)]
    report = client(s, "a.manager@t1.cn").get("/admin/api/v1/lots/lot-a/reports/2026-11-23").get_json()
    assert report["revenue_fen"] == 600_00 and report["by_channel"] == {"cash": 300_00, "wechat": 300_00}
    assert report["online_share"] == 0.5


def test_5000_rows_with_50_bad_ones_import_4950_cards_once(office: Services) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["plates", "valid_from", "valid_until", "holder"])
    bad_rows = set(range(100, 5000, 100))  # 49 of them, plus one duplicate plate below
    mistakes = [
        ("粤B12", "2026-01-01", "2026-12-31"),
        ("粤B{n:05d}", "2026-13-01", "2026-12-31"),
        ("粤B{n:05d}", "2026-06-01", "2026-01-31"),
        ("", "2026-01-01", "2026-12-31"),
    ]
    for n in range(5000):
        plate, start, until = f"粤B{n:05d}", "2026-01-01", "2026-12-31" if n % 7 else "2027-06-30"
        if n in bad_rows:
            plate, start, until = mistakes[n // 100 % 4]
            plate = plate.format(n=n)
        if n == 4999:
            plate, until = "粤B00007", "2027-01-31"  # row 7's plate again, other dates: refused
        writer.writerow([plate, start, until, f"车主{n}"])
    manager = client(office, "a.manager@t1.cn")
    upload = {"file": (io.BytesIO(out.getvalue().encode("utf-8-sig")), "cards.csv")}
    rows = manager.post("/admin/api/v1/lots/lot-b/imports/parse", data=upload, content_type="multipart/form-data")
    assert rows.status_code == 404  # not this manager's lot
    upload = {"file": (io.BytesIO(out.getvalue().encode("utf-8-sig")), "cards.csv")}
    parsed = manager.post("/admin/api/v1/lots/lot-a/imports/parse", data=upload, content_type="multipart/form-data")
    rows = parsed.get_json()["rows"]
    assert len(rows) == 5000

    def run() -> dict[str, Any]:
        total: dict[str, Any] = {"created": 0, "existing": 0, "errors": []}
        for start in range(0, 5000, 1000):
            r = manager.post(
                "/admin/api/v1/lots/lot-a/imports/rows",
                json={"first_row": start + 2, "rows": rows[start : start + 1000]},
            )
            assert r.status_code == 200, r.get_json()
            part = r.get_json()
            total["created"] += part["created"]
            total["existing"] += part["existing"]
            total["errors"] += part["errors"]
        return total

    first = run()
    assert (first["created"], first["existing"], len(first["errors"])) == (4950, 0, 50)
    assert {e["row"] for e in first["errors"]} == {n + 2 for n in bad_rows} | {5001}  # file rows: header is row 1
    messages = {e["row"]: e["message"] for e in first["errors"]}
    assert "另一张月卡" in messages[5001] and "不是日期" in messages[102] and "晚于" in messages[202]
    assert "缺少车牌" in messages[302] and "7 位" in messages[402]
    second = run()
    assert (second["created"], second["existing"], len(second["errors"])) == (0, 4950, 50)
    assert sum(1 for _ in CardItem.by_lot.query("lot-a")) == 4950
    assert office.lots.get("lot-a").held == 4950  # type: ignore[union-attr]
