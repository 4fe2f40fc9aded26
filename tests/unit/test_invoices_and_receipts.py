"""Invoices over in-memory ports (one per order, retries, the office's queue, reversal after a refund), and the
receipt chain's rules (hash links, signatures, what verification says)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidInvoice, InvoiceAlreadyRequested, InvoiceRefused
from domain.invoice import Invoice, InvoiceRequest, InvoiceState, InvoiceType, invoice_request
from domain.lot import InvoiceProvider, Lot
from domain.order import Channel, Order, OrderState
from domain.owner import Owner
from domain.receipt import GENESIS, Receipt, SignedReceipt, chain_problems, parse_qr_payload, receipt_for
from functions.bootstrap import Services
from handlers.invoices import enter_manual_invoice, reject_invoice, request_invoice, retry_invoices, reverse_invoice
from handlers.receipts import sign, verify_receipt
from infra.receipt_signing import ReceiptKey
from tests.builders import months
from tests.fakes import FakeInvoices, FakeIssuer, FakeMessenger, FakeReceipts, fake_services

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CODE = "91350100M000100Y43"


def services(provider: InvoiceProvider = InvoiceProvider.SIMULATOR) -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "东门", invoice_provider=provider))
    s.owners.add(Owner("owner-1", "openid-1", oa_openid="oa-1"))
    for n in (1, 2):
        paid = Order(
            f"order-{n}", "owner-1", "card-1", "lot-1", months(1), 300_00, Channel.WECHAT, date(2026, 11, 23),
            date(2026, 12, 22), OrderState.PAID, NOW, NOW, NOW, f"tx-{n}", date(2026, 11, 23), date(2026, 12, 22),
        )  # fmt: skip
        s.orders.items[paid.id] = paid  # type: ignore[attr-defined]
    return s


def ask(s: Services, order_id: str = "order-1", **changes: object) -> object:
    fields: dict[str, object] = {
        "type": InvoiceType.COMPANY,
        "title": "某某科技有限公司",
        "email": "a@b.cn",
        "tax_id": CODE,
    }
    fields.update(changes)
    return request_invoice(
        "owner-1", order_id, fields["type"], fields["title"], fields["email"], fields["tax_id"], None,  # type: ignore[arg-type]
        s.orders, s.lots, s.invoicing, s.clock,
    )  # fmt: skip


def test_a_request_is_checked_and_one_order_has_one_invoice() -> None:
    s = services()
    issued = ask(s)
    assert issued.state is InvoiceState.ISSUED and issued.number  # type: ignore[attr-defined]
    assert ask(s) == issued  # the same request again (a retry, a double tap) answers the invoice
    assert ask(s, title=" 某某科技有限公司 ", tax_id=CODE.lower()) == issued  # the same, once checked
    with pytest.raises(InvalidInvoice, match="credit code"):
        invoice_request(InvoiceType.COMPANY, "某某公司", "a@b.cn", None, None)
    with pytest.raises(InvalidInvoice, match="email"):
        invoice_request(InvoiceType.PERSONAL, "张三", "not-an-email", None, None)
    assert invoice_request(InvoiceType.PERSONAL, " 张三 ", "z@b.cn", "whatever", None).tax_id is None
    assert isinstance(s.messenger, FakeMessenger) and s.messenger.sent[0][2]["phrase3"]["value"] == "已开具"


def test_asking_again_with_other_details_is_refused_with_what_was_asked_first() -> None:
    s = services()
    first = ask(s)
    for other in ({"title": "别的公司"}, {"email": "other@b.cn"}, {"type": InvoiceType.PERSONAL, "title": "张三"}):
        with pytest.raises(InvoiceAlreadyRequested) as refused:
            ask(s, **other)
        assert refused.value.invoice == first and refused.value.code == "invoice_already_requested"
        assert "某某科技有限公司" in refused.value.text("zh")
    assert s.invoices.get("order-1") == first and isinstance(s.invoice_issuer, FakeIssuer)
    assert len(s.invoice_issuer.issued) == 1  # nothing else was issued


def test_two_requests_with_other_details_at_once_make_one_invoice_and_refuse_the_other() -> None:
    s = services()
    start, answers = threading.Barrier(2), []
    store_add = s.invoices.add

    def add_together(invoice: Invoice) -> Invoice:
        start.wait(timeout=5)  # both have seen no invoice; both try to add theirs
        return store_add(invoice)

    s.invoices.add = add_together  # type: ignore[method-assign]

    def request(title: str) -> None:
        try:
            answers.append(ask(s, title=title))
        except InvoiceAlreadyRequested as e:
            answers.append(e)

    threads = [threading.Thread(target=request, args=(t,)) for t in ("甲公司", "乙公司")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [a for a in answers if isinstance(a, Invoice)]
    refused = [a for a in answers if isinstance(a, InvoiceAlreadyRequested)]
    assert len(made) == 1 and len(refused) == 1 and refused[0].invoice is not None
    assert refused[0].invoice.request.title == made[0].request.title == s.invoices.get("order-1").request.title  # type: ignore[union-attr]


def test_only_a_paid_order_not_refunded_is_invoiced() -> None:
    s = services()
    s.orders.items["order-2"] = replace(s.orders.items["order-2"], state=OrderState.REFUNDED)  # type: ignore[attr-defined]
    with pytest.raises(InvoiceRefused, match="refunded"):
        ask(s, "order-2")
    assert s.invoices.get("order-2") is None


def test_a_provider_that_does_not_answer_is_asked_again_for_the_same_invoice() -> None:
    s = services()
    issuer = s.invoice_issuer
    assert isinstance(issuer, FakeIssuer)
    issuer.failing = True
    waiting = ask(s)
    assert waiting.state is InvoiceState.ISSUING  # type: ignore[attr-defined]
    assert retry_invoices(s.orders, s.lots, s.invoicing)[0].state is InvoiceState.ISSUING
    issuer.failing = False
    (done,) = retry_invoices(s.orders, s.lots, s.invoicing)
    assert done.state is InvoiceState.ISSUED and len(issuer.issued) == 1
    assert retry_invoices(s.orders, s.lots, s.invoicing) == []


def test_where_the_office_issues_elsewhere_it_enters_the_number_and_the_pdf_or_rejects() -> None:
    s = services(InvoiceProvider.MANUAL)
    asked = ask(s)
    assert asked.state is InvoiceState.REQUESTED  # type: ignore[attr-defined]
    assert isinstance(s.invoices, FakeInvoices) and s.invoices.requested("lot-1") == [asked]
    done = enter_manual_invoice("order-1", "24440000000000000099", date(2026, 11, 24), b"%PDF-1.7 office", s.invoicing)
    assert (done.state, done.number) == (InvoiceState.ISSUED, "24440000000000000099")
    assert enter_manual_invoice("order-1", "24440000000000000099", date(2026, 11, 24), b"x", s.invoicing) == done
    ask(s, "order-2")
    no = reject_invoice("order-2", "抬头与营业执照不符", s.invoicing)
    assert (no.state, no.reason) == (InvoiceState.REJECTED, "抬头与营业执照不符")
    told = [data["phrase3"]["value"] for _, _, data in s.messenger.sent]  # type: ignore[attr-defined]
    assert told == ["已开具", "未开具"]


def test_a_refund_reverses_an_issued_invoice_once_and_withdraws_one_not_issued() -> None:
    s = services()
    issued = ask(s)
    red = reverse_invoice("order-1", s.invoicing)
    assert red.state is InvoiceState.REVERSED and red.red_number not in (None, issued.number)  # type: ignore[attr-defined]
    assert reverse_invoice("order-1", s.invoicing) == red
    assert s.documents.get(red.red_document or "") is not None
    manual = services(InvoiceProvider.MANUAL)
    ask(manual)
    assert reverse_invoice("order-1", manual.invoicing).state is InvoiceState.REJECTED


def _receipt(seq: int, prev: str, amount: int = 300_00) -> Receipt:
    order = Order(
        f"order-{seq}", "owner-1", "card-1", "lot-1", months(1), amount, Channel.ALIPAY, date(2026, 11, 23),
        date(2026, 12, 22), OrderState.PAID, NOW, NOW, NOW, f"tx-{seq}", date(2026, 11, 23), date(2026, 12, 22),
        owner_label="138****0000",
    )  # fmt: skip
    return receipt_for(order, "东门", ("粤B12345",), seq, prev)


def test_receipts_chain_by_hash_and_verification_names_what_is_wrong() -> None:
    key = ReceiptKey(bytes(range(32)))
    first = _receipt(1, GENESIS)
    second = _receipt(2, first.hash)
    store = FakeReceipts()
    store.items = {r.id: sign(r, key) for r in (first, second)}
    assert verify_receipt(second.id, sign(second, key).qr_payload, store, key).valid
    shown, raw, signature = parse_qr_payload(sign(second, key).qr_payload)
    assert shown == second and key.verify(raw, signature)
    assert chain_problems(first, first, None) == []
    assert chain_problems(second, second, replace(first, amount_fen=1)) == [
        "receipt 1 of the lot was changed: the chain is broken"
    ]
    assert chain_problems(second, second, None) == ["receipt 1 of the lot is missing: the chain is broken"]
    forged = SignedReceipt(replace(second, amount_fen=1), sign(second, key).signature)
    checked = verify_receipt(second.id, forged.qr_payload, store, key)
    assert not checked.valid and any("signature" in p for p in checked.problems)
    with pytest.raises(ValueError):
        Receipt.from_fields({**second.fields(), "amount_yuan": "0.01"})  # a printed amount that disagrees
    assert InvoiceRequest(InvoiceType.PERSONAL, "张三", "z@b.cn").tax_id is None
