"""Invoices and e-receipts over HTTP on the local stack: a company invoice issued by the provider's simulator
and downloaded, reversed after a refund; the receipt PDF, and its verification by anyone."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pypdfium2 as pdfium
from PIL import Image

from domain.order import Channel, OrderState
from functions.dev_stack import DevStack
from handlers.refund_order import refund_order
from infra.dynamodb.tables import ReceiptItem
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_refunds import paid_renewal as renewed_and_paid


def paid_renewal(stack: DevStack, channel: str) -> tuple[ApiClient, dict[str, str], dict[str, Any]]:
    return renewed_and_paid(stack, channel, next(_counter))


_counter = itertools.count()
COMPANY = {
    "type": "company",
    "title": "深圳市腾讯计算机系统有限公司",
    "tax_id": "9144030071526726XG",
    "email": "fin@example.com",
}


def ink(pdf: bytes) -> tuple[int, float]:
    """Pages, and the share of the first page's pixels that are not white, once it is a PNG at 100 dpi."""
    document = pdfium.PdfDocument(pdf)
    png = io.BytesIO()
    document[0].render(scale=100 / 72).to_pil().save(png, format="PNG")
    image = Image.open(io.BytesIO(png.getvalue())).convert("L")
    dark = sum(1 for value in image.tobytes() if value < 200)
    return len(document), dark / (image.width * image.height)


def test_a_company_invoice_is_issued_downloaded_and_reversed_after_a_refund(stack: DevStack) -> None:
    api, owner, made = paid_renewal(stack, "wechat")
    order_id = made["order_id"]
    wrong = api.post(
        f"/api/v1/orders/{order_id}/invoice", json={**COMPANY, "tax_id": "9144030071526726XH"}, headers=owner
    )
    assert wrong.status_code == 400 and json_error(wrong)["code"] == "invalid_tax_id"
    assert "校验位" in json_error(wrong)["message"]
    assert api.get(f"/api/v1/orders/{order_id}/invoice", headers=owner).status_code == 404  # nothing was stored

    r = api.post(f"/api/v1/orders/{order_id}/invoice", json=COMPANY, headers=owner)
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert (invoice["state"], invoice["tax_id"], invoice["email"], invoice["amount_fen"]) == (
        "issued", "9144030071526726XG", "f***@example.com", 85000,
    )  # fmt: skip
    assert invoice["number"] and invoice["issued_on"] == "2026-11-23"
    again = api.post(f"/api/v1/orders/{order_id}/invoice", json=COMPANY, headers=owner)
    assert again.status_code == 201 and again.json() == invoice  # one invoice per order: the same request answers it
    other = api.post(f"/api/v1/orders/{order_id}/invoice", json={**COMPANY, "title": "另一家公司"}, headers=owner)
    assert other.status_code == 409 and other.json()["error"]["code"] == "invoice_already_requested"
    assert other.json()["error"]["details"]["invoice"] == invoice  # what was asked for first
    pdf = api.get(invoice["download_url"], headers=owner)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert ink(pdf.content)[1] > 0.005
    messages = api.get("/sim/wechat/messages").json()["messages"]
    assert any(m["data"].get("phrase3", {}).get("value") == "已开具" for m in messages)  # the owner was told

    s = stack.services
    order = s.orders.get(order_id)
    assert order is not None
    refunded = refund_order(
        order_id, s.orders, s.cards, s.lots, s.provider(order.channel), s.uow, s.clock, s.invoicing
    )
    assert refunded.state is OrderState.REFUNDED
    reversed_ = api.get(f"/api/v1/orders/{order_id}/invoice", headers=owner).json()
    assert reversed_["state"] == "reversed" and reversed_["red_number"] not in (None, invoice["number"])
    red = api.get(reversed_["download_url"], headers=owner).content
    assert red != pdf.content and ink(red)[0] == 1
    assert len(stack.invoice_sim.issued) == 2  # one blue, one red: nothing issued twice

    other = {
        "Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': 'sim:someone-else'}).json()['token']}"
    }
    assert api.get(f"/api/v1/orders/{order_id}/invoice.pdf", headers=other).status_code == 404
    later = api.post(f"/api/v1/orders/{order_id}/invoice", json=COMPANY, headers=owner)
    assert later.json()["state"] == "reversed"


def test_a_refunded_order_is_not_invoiced_and_a_lost_answer_is_asked_again(stack: DevStack) -> None:
    api, owner, made = paid_renewal(stack, "alipay")
    stack.invoice_sim.lose_next_answers(1)
    r = api.post(
        f"/api/v1/orders/{made['order_id']}/invoice",
        json={"type": "personal", "title": "张三", "email": "zhang@example.com", "tax_id": "ignored"},
        headers=owner,
    )
    assert r.status_code == 201 and r.json()["state"] == "issuing" and r.json()["tax_id"] is None
    assert stack.sweep().invoices == [made["order_id"]]  # the retry job asks again with the same request id
    issued = api.get(f"/api/v1/orders/{made['order_id']}/invoice", headers=owner).json()
    assert issued["state"] == "issued" and len(stack.invoice_sim.issued) == 1 and stack.invoice_sim.calls == 2

    s = stack.services
    refund_order(
        made["order_id"], s.orders, s.cards, s.lots, s.provider(Channel.ALIPAY), s.uow, s.clock, s.invoicing
    )
    refused = api.post(f"/api/v1/orders/{made['order_id']}/invoice", json=COMPANY, headers=owner)
    assert refused.status_code == 409  # it has one already, asked for with other details: that one is shown
    assert refused.json()["error"]["details"]["invoice"]["state"] == "reversed"
    fresh_api, fresh_owner, fresh = paid_renewal(stack, "wechat")
    order = s.orders.get(fresh["order_id"])
    assert order is not None
    refund_order(
        fresh["order_id"], s.orders, s.cards, s.lots, s.provider(order.channel), s.uow, s.clock, s.invoicing
    )
    late = fresh_api.post(f"/api/v1/orders/{fresh['order_id']}/invoice", json=COMPANY, headers=fresh_owner)
    assert late.status_code == 409 and json_error(late)["code"] == "invoice_refused"


def receipt_of(api: ApiClient, owner: dict[str, str], order_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/orders/{order_id}/receipt", headers=owner)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def verify(api: ApiClient, receipt_id: str, payload: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/receipts/{receipt_id}/verify", params={"payload": payload})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_every_payment_has_a_signed_chained_receipt_anyone_can_verify(stack: DevStack) -> None:
    api, owner, first = paid_renewal(stack, "wechat")
    _, _, second = paid_renewal(stack, "alipay")
    one, two = receipt_of(api, owner, first["order_id"]), receipt_of(api, owner, second["order_id"])
    assert (one["seq"], two["seq"]) == (1, 2) and two["prev_hash"] == one["hash"] and one["prev_hash"] == "0" * 64
    assert (one["amount_fen"], one["amount_yuan"], one["channel"], one["plates"]) == (
        85000,
        "850.00",
        "wechat",
        ["粤B12345"],
    )
    assert one["owner"] == "微信用户" and one["transaction_id"]

    pdf = api.get(one["pdf_url"], headers=owner)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    pages, share = ink(pdf.content)
    assert pages == 1 and share > 0.01  # text, the QR code and the seal: not a blank page

    assert verify(api, one["receipt_id"], one["qr_payload"])["valid"] is True
    checked = verify(api, two["receipt_id"], two["qr_payload"])
    assert checked["valid"] is True and checked["receipt"]["amount_fen"] == 85000

    # A changed amount: re-encode the payload with amount_fen (and its yuan text) changed, same signature.
    import base64
    import json

    body, sig = one["qr_payload"].split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields.update(amount_fen=8500, amount_yuan="85.00")
    forged = (
        base64.urlsafe_b64encode(json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        .decode()
        .rstrip("=")
    )
    bad = verify(api, one["receipt_id"], f"{forged}.{sig}")
    assert bad["valid"] is False and bad["receipt"] is None
    assert any("signature" in p for p in bad["problems"])
    assert verify(api, one["receipt_id"], "not-a-receipt")["valid"] is False

    # A broken chain: the first receipt is changed in the database; the second no longer links to it.
    item = ReceiptItem.get(one["receipt_id"])
    item.fields = {**item.fields, "amount_fen": 1, "amount_yuan": "0.01"}
    item.save()
    broken = verify(api, two["receipt_id"], two["qr_payload"])
    assert broken["valid"] is False and any("chain is broken" in p for p in broken["problems"])
    assert verify(api, one["receipt_id"], one["qr_payload"])["valid"] is False  # and it no longer matches itself
    ReceiptItem.get(one["receipt_id"]).delete()
    gone = verify(api, two["receipt_id"], two["qr_payload"])
    assert any("missing" in p for p in gone["problems"])

    unknown = api.get("/api/v1/receipts/rcpt-nothing/verify", params={"payload": "x"})
    assert unknown.status_code == 404 and json_error(unknown)["code"] == "receipt_not_found"
    assert io.BytesIO(pdf.content).read(5) == b"%PDF-"
