"""Invoices, documents and receipts against real parts: DynamoDB and S3 in moto's server over HTTP, the invoice
provider's simulator over HTTP, concurrent payments that must leave a gapless receipt chain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import boto3
import pytest
from flask import Flask
from werkzeug.serving import make_server

from domain.errors import InvoiceProviderUnavailable
from domain.invoice import Invoice, InvoiceState, InvoiceType, invoice_request
from domain.lot import Lot
from domain.order import Order
from domain.receipt import GENESIS
from functions.bootstrap import Services
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.ports import PaymentNotice
from handlers.renewals import place
from infra.documents import S3Documents
from infra.dynamodb.emulator import LOCAL_CREDENTIALS
from infra.dynamodb.tables import InvoiceItem
from infra.invoices.provider import HttpInvoiceProvider
from infra.simulators.invoices import InvoiceSimulator
from tests.builders import a_card, a_pending_order, add_card, version_of
from tests.conftest import TEST_REGION
from tests.fakes import FixedClock

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def an_invoice(order_id: str = "order-1") -> Invoice:
    request = invoice_request(
        InvoiceType.COMPANY, "某某科技有限公司", "cfo@example.com", "91350100M000100Y43", "13800000000"
    )
    return Invoice(order_id, "owner-1", "lot-1", 300_00, request, InvoiceState.REQUESTED, NOW)


def test_an_invoice_keeps_its_email_and_phone_encrypted_and_moves_only_from_the_state_it_was_in(
    dynamo_services: Services,
) -> None:
    store = dynamo_services.invoices
    first = store.add(an_invoice())
    assert store.add(an_invoice()) == first == store.get("order-1")
    raw = InvoiceItem.get("order-1")
    assert b"cfo@example.com" not in raw.email_cipher and b"13800000000" not in (raw.phone_cipher or b"")
    assert "cfo@example.com" not in str(raw.attribute_values)
    issuing = Invoice(**{**first.__dict__, "state": InvoiceState.ISSUING})
    assert store.move(issuing, InvoiceState.REQUESTED) is True
    assert store.move(issuing, InvoiceState.REQUESTED) is False  # someone moved it first
    assert [i.order_id for i in store.unfinished()] == ["order-1"] and store.requested("lot-1") == []


def test_documents_go_to_s3_and_come_back(dynamodb: str) -> None:
    s3 = boto3.client(
        "s3", region_name=TEST_REGION, endpoint_url=dynamodb,
        aws_access_key_id=LOCAL_CREDENTIALS[0], aws_secret_access_key=LOCAL_CREDENTIALS[1],
    )  # fmt: skip
    s3.create_bucket(Bucket="parkpass-docs", CreateBucketConfiguration={"LocationConstraint": TEST_REGION})
    docs = S3Documents("parkpass-docs", s3)
    docs.put("invoices/lot-1/order-1/1.pdf", b"%PDF-1.7 test", "application/pdf")
    assert docs.get("invoices/lot-1/order-1/1.pdf") == b"%PDF-1.7 test"
    assert docs.get("invoices/lot-1/order-1/2.pdf") is None
    head = s3.head_object(Bucket="parkpass-docs", Key="invoices/lot-1/order-1/1.pdf")
    assert head["ContentType"] == "application/pdf"


@pytest.fixture
def simulator() -> Iterator[tuple[InvoiceSimulator, str]]:
    sim = InvoiceSimulator(FixedClock(NOW))
    app = Flask("invoice-sim")
    app.register_blueprint(sim.blueprint())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sim, f"http://127.0.0.1:{server.server_port}/sim/invoices"
    server.shutdown()


def test_a_lost_answer_is_asked_again_and_the_same_invoice_comes_back(simulator: tuple[InvoiceSimulator, str]) -> None:
    sim, url = simulator
    provider = HttpInvoiceProvider(url)
    sim.lose_next_answers(1)
    with pytest.raises(InvoiceProviderUnavailable):
        provider.issue(an_invoice())
    issued = provider.issue(an_invoice())
    assert provider.issue(an_invoice()).number == issued.number
    assert len(sim.issued) == 1 and sim.calls == 3
    assert issued.pdf.startswith(b"%PDF-") and issued.issued_on == date(2026, 11, 23)
    red = provider.reverse(Invoice(**{**an_invoice().__dict__, "number": issued.number}))
    assert red.number != issued.number and len(sim.issued) == 2
    with pytest.raises(InvoiceProviderUnavailable):
        HttpInvoiceProvider("http://127.0.0.1:9/sim/invoices").issue(an_invoice())


def test_concurrent_payments_at_one_lot_leave_a_gapless_signed_receipt_chain(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot("lot-1", "东门"))
    orders = []
    for n in range(8):
        add_card(s, a_card(date(2026, 12, 31), lot_id="lot-1", card_id=f"card-{n}", owner_id=f"owner-{n}"))
        order = a_pending_order(
            f"order-{n}", date(2027, 1, 1), date(2027, 1, 31), NOW, owner_id=f"owner-{n}", card_id=f"card-{n}",
            owner_label="138****0000",
        )  # fmt: skip
        orders.append(place(order, f"key-{n:08d}", version_of(s, order.card_id), s.orders, s.uow))

    def pay(order: Order) -> Outcome:
        notice = PaymentNotice(order.id, f"tx-{order.id}", order.amount_fen, NOW, True)
        return fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(pay, orders + orders))  # each one twice, all at once
    assert outcomes.count(Outcome.FULFILLED) == 8
    receipts = sorted((s.receipts.get(f"rcpt-{o.id}") for o in orders), key=lambda r: r.receipt.seq)  # type: ignore[union-attr, return-value]
    assert [r.receipt.seq for r in receipts] == list(range(1, 9))
    previous = GENESIS
    for signed in receipts:
        assert signed.receipt.prev_hash == previous
        assert s.receipt_signer is not None and s.receipt_signer.verify(signed.receipt.canonical(), signed.signature)
        previous = signed.receipt.hash
    lot = s.lots.get("lot-1")
    assert lot is not None and (lot.receipt_seq, lot.receipt_hash) == (8, previous)
