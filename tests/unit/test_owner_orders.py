"""Owners' orders over in-memory fakes: cancelling an unpaid order (here and at the provider, which decides),
and the list of one's own orders, newest first, a page at a time."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from domain.errors import (
    Conflict,
    InvalidInput,
    OrderNotFound,
    OrderPaid,
    OrderRefundedAlready,
    PaymentUnavailable,
    UnpaidOrderExists,
)
from domain.invoice import InvoiceType
from domain.lot import InvoiceProvider, Lot, RenewalPolicy
from domain.order import Channel, Order, OrderState
from domain.owner import Owner
from functions.api import create_app
from functions.bootstrap import Services
from handlers.cancel_order import cancel_order
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.invoices import request_invoice
from handlers.my_orders import list_my_orders, parse_cursor
from handlers.ports import PaymentNotice, PaymentProvider
from handlers.refund_order import refund_order
from handlers.renewals import close_unpaid, order_renewal
from tests import contract
from tests.builders import a_card, add_card, months
from tests.fakes import FakeProvider, FixedClock, fake_services, memory_of
from tests.memory import MemoryUnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def s() -> Services:
    s = fake_services(NOW)
    s.lots.add(
        Lot(
            id="lot-1",
            name="东门",
            policy=RenewalPolicy(max_months_ahead=12),
            invoice_provider=InvoiceProvider.SIMULATOR,
        )
    )
    for p in (months(1, 300_00), months(3, 850_00)):
        s.packages.add(p)
    for owner in ("owner-1", "owner-2"):
        s.owners.add(Owner(owner, f"openid-{owner}"))
    add_card(s, a_card(date(2026, 12, 3)))
    return s


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


def renew(s: Services, provider: PaymentProvider, key: str = "key-00001", package: str = "m3") -> Order:
    return order_renewal(
        "owner-1", "card-1", package, Channel.WECHAT, key,
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=provider, ids=s.ids, clock=s.clock,
    ).order  # fmt: skip


def cancel(s: Services, provider: PaymentProvider, order_id: str, owner_id: str = "owner-1") -> Order:
    return cancel_order(
        owner_id, order_id, orders=s.orders, cards=s.cards, uow=s.uow,
        provider_for=lambda channel: provider, clock=s.clock, signer=s.receipt_signer,
    )  # fmt: skip


def ends(s: Services) -> date | None:
    card = s.cards.get("card-1")
    assert card is not None
    return card.valid_until


def test_a_cancelled_order_closes_at_the_provider_and_here_and_the_card_can_be_renewed_at_once(
    s: Services, provider: FakeProvider
) -> None:
    made = renew(s, provider)
    with pytest.raises(UnpaidOrderExists):
        renew(s, provider, key="key-00002")
    closed = cancel(s, provider, made.id)
    assert closed.state is OrderState.CLOSED and s.orders.get(made.id) == closed
    assert made.id in provider.closed and not provider.pay(made, NOW)  # the payer can no longer pay it
    assert s.orders.waiting_for("card-1") is None  # the card's unpaid slot is free
    again = renew(s, provider, key="key-00002")
    assert again.state is OrderState.PENDING and again.id != made.id
    assert ends(s) == date(2026, 12, 3) and not memory_of(s).ledger


def test_cancelling_again_answers_the_closed_order_and_changes_nothing(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    first = cancel(s, provider, made.id)
    assert isinstance(s.uow, MemoryUnitOfWork)
    commits, closes = s.uow.commits, provider.closes
    assert cancel(s, provider, made.id) == first
    assert (s.uow.commits, provider.closes) == (commits, closes)
    close_unpaid(renew(s, provider, key="key-00002"), s.uow)  # the sweep closed one: a cancel answers it too
    swept = next(o for o in memory_of(s).orders.values() if o.id != made.id)
    assert cancel(s, provider, swept.id).state is OrderState.CLOSED


def test_two_cancels_at_once_close_the_order_once(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    assert isinstance(s.uow, MemoryUnitOfWork)
    commits = s.uow.commits
    both_at_the_provider = threading.Barrier(2)
    close = provider.close

    def close_together(order: Order) -> None:
        both_at_the_provider.wait(timeout=5)  # both read the order pending; both ask the provider to close it
        close(order)

    provider.close = close_together  # type: ignore[method-assign]
    answers: list[Order | Exception] = []

    def tap() -> None:
        try:
            answers.append(cancel(s, provider, made.id))
        except Exception as e:  # the test shows whatever happened
            answers.append(e)

    taps = [threading.Thread(target=tap) for _ in range(2)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    assert [a.state for a in answers if isinstance(a, Order)] == [OrderState.CLOSED] * 2, answers
    assert s.uow.commits == commits + 1  # one close was committed; the other found it closed
    assert provider.closes == 2 and s.orders.waiting_for("card-1") is None


def test_an_order_paid_just_before_the_cancel_is_fulfilled_not_closed(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    paid_at = NOW + timedelta(minutes=2)
    assert provider.pay(made, paid_at)  # the notification is still on its way
    with pytest.raises(OrderPaid) as refused:
        cancel(s, provider, made.id)
    assert refused.value.order is not None and refused.value.order.state is OrderState.PAID
    assert refused.value.order.paid_at == paid_at and refused.value.order.new_valid_until == date(2027, 3, 3)
    assert "2027-03-03" in refused.value.text("zh") and "已支付" in refused.value.text("zh")
    assert ends(s) == date(2027, 3, 3) and [e.amount_fen for e in memory_of(s).ledger.values()] == [850_00]
    assert made.id not in provider.closed
    late = PaymentNotice(made.id, f"tx-{made.id}", 850_00, paid_at, True)  # the notification arrives after all
    assert fulfil_payment(late, s.orders, s.cards, s.uow) is Outcome.ALREADY_FULFILLED
    with pytest.raises(OrderPaid):  # asked again: still paid, nothing more
        cancel(s, provider, made.id)
    assert ends(s) == date(2027, 3, 3) and len(memory_of(s).ledger) == 1


def test_another_owners_order_does_not_exist_for_the_cancel(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    for who, order_id in (("owner-2", made.id), ("owner-1", "order-nope")):
        with pytest.raises(OrderNotFound):
            cancel(s, provider, order_id, owner_id=who)
    assert s.orders.get(made.id) == made and provider.closes == 0


def test_paid_and_refunded_orders_are_not_cancelled_and_say_so(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    fulfil_payment(PaymentNotice(made.id, "tx-1", 850_00, NOW, True), s.orders, s.cards, s.uow)
    with pytest.raises(OrderPaid):
        cancel(s, provider, made.id)
    refund_order(made.id, s.orders, s.cards, s.lots, provider, s.uow, s.clock, s.invoicing)
    with pytest.raises(OrderRefundedAlready) as refused:
        cancel(s, provider, made.id)
    assert refused.value.order is not None and refused.value.order.state is OrderState.REFUNDED
    assert provider.closes == 0


def test_a_provider_that_does_not_answer_changes_nothing(s: Services) -> None:
    class Down(FakeProvider):
        def close(self, order: Order) -> None:
            raise PaymentUnavailable()

    made = renew(s, Down())
    with pytest.raises(PaymentUnavailable):
        cancel(s, Down(), made.id)
    assert s.orders.get(made.id) == made and s.orders.waiting_for("card-1") == made


def test_a_close_that_keeps_colliding_is_a_conflict_to_retry(s: Services, provider: FakeProvider) -> None:
    made = renew(s, provider)
    assert isinstance(s.uow, MemoryUnitOfWork)
    from domain.errors import StaleCard

    def collide() -> None:
        raise StaleCard("card-1")

    s.uow.before_commit = collide
    with pytest.raises(Conflict):
        cancel(s, provider, made.id)
    s.uow.before_commit = lambda: None
    assert cancel(s, provider, made.id).state is OrderState.CLOSED  # asked again, it closes


def orders_over_time(s: Services, provider: FakeProvider) -> list[Order]:
    """Five orders a minute apart: paid, closed, paid (invoiced), refunded, pending (the newest)."""
    clock = s.clock
    assert isinstance(clock, FixedClock)
    made = []
    for n in range(5):
        clock._now = NOW + timedelta(minutes=n)
        o = renew(s, provider, key=f"key-{n:05d}", package="m1")
        made.append(o)
        if n in (0, 2, 3):
            paid = PaymentNotice(o.id, f"tx-{n}", o.amount_fen, clock.now(), True)
            fulfil_payment(paid, s.orders, s.cards, s.uow)
        elif n == 1:
            cancel(s, provider, o.id)
    request_invoice("owner-1", made[2].id, InvoiceType.PERSONAL, "张三", "z@b.cn", None, None, s.orders, s.lots,
                    s.invoicing, s.clock)  # fmt: skip
    refund_order(made[3].id, s.orders, s.cards, s.lots, provider, s.uow, s.clock, s.invoicing)
    return made


def test_the_list_is_newest_first_a_page_at_a_time_and_only_ones_own(s: Services, provider: FakeProvider) -> None:
    made = orders_over_time(s, provider)
    mine = lambda limit, cursor=None, owner="owner-1": list_my_orders(  # noqa: E731
        owner, limit, cursor, s.orders, s.cards, s.lots, s.invoices
    )
    everything = mine(50)
    assert [line.order.id for line in everything.orders] == [o.id for o in reversed(made)]
    assert everything.next_cursor is None
    seen, cursor = [], None
    while True:
        page = mine(2, cursor)
        seen += [line.order.id for line in page.orders]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [line.order.id for line in everything.orders] and len(seen) == 5
    first = everything.orders[0]
    assert first.card is not None and first.card.plates and first.lot is not None and first.lot.name == "东门"
    invoiced = {line.order.id: line.invoice for line in everything.orders if line.invoice is not None}
    assert list(invoiced) == [made[2].id]
    assert mine(50, owner="owner-2").orders == []
    for bad in (0, 51):
        with pytest.raises(InvalidInput):
            mine(bad)
    for forged in ("not-a-cursor", "bm90fGF8Yg", "x" * 300):
        with pytest.raises(InvalidInput):
            mine(2, forged)


def test_a_cursor_names_a_time_and_an_order_and_pages_only_through_the_askers_orders(
    s: Services, provider: FakeProvider
) -> None:
    made = orders_over_time(s, provider)
    page = list_my_orders("owner-1", 2, None, s.orders, s.cards, s.lots, s.invoices)
    assert page.next_cursor is not None
    assert parse_cursor(page.next_cursor) == (made[3].created_at, made[3].id)
    theirs = list_my_orders("owner-2", 2, page.next_cursor, s.orders, s.cards, s.lots, s.invoices)
    assert theirs.orders == []  # another owner's cursor shows nothing of this owner's


@pytest.fixture
def client(s: Services, provider: FakeProvider) -> tuple[FlaskClient, Services, FakeProvider]:
    app = create_app(replace(s, wechatpay=provider))  # type: ignore[arg-type]
    return app.test_client(), s, provider


def login(s: Services, owner_id: str = "owner-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {s.tokens.issue(owner_id).access_token}"}


def checked(method: str, path: str, r: Any) -> Any:
    contract.check_response(method, path, r.status_code, r.get_json())
    return r.get_json()


def test_over_http_the_list_shows_words_money_links_and_the_cancel_answers(
    client: tuple[FlaskClient, Services, FakeProvider],
) -> None:
    http, s, provider = client
    made = orders_over_time(s, provider)
    body = checked("GET", "/api/v1/me/orders", http.get("/api/v1/me/orders?limit=5", headers=login(s)))
    by_id = {o["order_id"]: o for o in body["orders"]}
    pending, refunded, invoiced, closed, paid = (by_id[o.id] for o in reversed(made))
    assert (pending["state"], pending["state_text"], pending["amount_fen"], pending["amount_yuan"]) == (
        "pending", "待支付", 300_00, "300.00",
    )  # fmt: skip
    assert pending["links"]["cancel"] == f"/api/v1/orders/{made[4].id}/cancel"
    assert pending["links"]["receipt"] is None and pending["invoice_state"] is None
    assert (
        paid["links"]["receipt_pdf"] == f"/api/v1/orders/{made[0].id}/receipt.pdf" and paid["links"]["cancel"] is None
    )
    assert invoiced["invoice_state"] == "issued" and invoiced["links"]["invoice_pdf"].endswith("/invoice.pdf")
    assert refunded["state_text"] == "已退款" and refunded["links"]["receipt"] is not None
    assert closed["links"] == {"self": f"/api/v1/orders/{made[1].id}", "cancel": None, "receipt": None,
                               "receipt_pdf": None, "invoice": None, "invoice_pdf": None}  # fmt: skip
    assert (
        paid["card"] == {"id": "card-1", "plates": list(a_card(date(2026, 12, 3)).plates)}
        and paid["lot"]["name"] == "东门"
    )
    assert paid["package"] == {"id": "m1", "name": "1 months"} and paid["channel_text"] == "微信支付"
    english = http.get("/api/v1/me/orders?limit=1", headers={**login(s), "Accept-Language": "en"}).get_json()
    assert english["orders"][0]["state_text"] == "pending" and english["next_cursor"]

    r = http.post(pending["links"]["cancel"], headers=login(s))
    cancelled = checked("POST", pending["links"]["cancel"], r)
    assert r.status_code == 200 and cancelled["state"] == "closed"
    r = http.post(f"/api/v1/orders/{made[0].id}/cancel", headers=login(s))
    refused = checked("POST", f"/api/v1/orders/{made[0].id}/cancel", r)
    assert r.status_code == 409 and refused["error"]["code"] == "order_paid"
    assert refused["error"]["details"]["order"]["state"] == "paid" and "不能取消" in refused["error"]["message"]
    r = http.post(f"/api/v1/orders/{made[0].id}/cancel", headers=login(s, "owner-2"))
    assert r.status_code == 404 and checked("POST", "/api/v1/orders/x/cancel", r)["error"]["code"] == "order_not_found"
    for query in ("limit=0", "limit=abc", "cursor=%25%25"):
        r = http.get(f"/api/v1/me/orders?{query}", headers=login(s))
        assert r.status_code == 400 and checked("GET", "/api/v1/me/orders", r)["error"]["code"] == "invalid_input"
    assert http.get("/api/v1/me/orders").status_code == 401


def test_over_http_an_invoice_asked_again_with_other_details_is_a_409_showing_the_first(
    client: tuple[FlaskClient, Services, FakeProvider],
) -> None:
    http, s, provider = client
    made = orders_over_time(s, provider)
    path = f"/api/v1/orders/{made[0].id}/invoice"
    first = {"type": "personal", "title": "张三", "email": "zhang@example.com"}
    r = http.post(path, json=first, headers=login(s))
    assert r.status_code == 201
    invoice = checked("POST", path, r)
    r = http.post(path, json=first, headers=login(s))
    assert r.status_code == 201 and checked("POST", path, r) == invoice  # the same again: idempotent
    r = http.post(path, json={**first, "title": "李四"}, headers=login(s))
    refused = checked("POST", path, r)
    assert r.status_code == 409 and refused["error"]["code"] == "invoice_already_requested"
    assert refused["error"]["details"]["invoice"] == invoice and "张三" in refused["error"]["message"]
    r = http.post(path, json={**first, "title": "李四"}, headers={**login(s), "Accept-Language": "en"})
    assert "already" in r.get_json()["error"]["message"]
