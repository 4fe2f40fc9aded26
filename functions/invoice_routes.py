"""Invoices and e-receipts: the owner asks for an invoice and downloads it; anyone can verify a receipt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from domain.errors import InvalidInput, InvoiceAlreadyRequested
from domain.invoice import Invoice, InvoiceState, InvoiceType
from domain.receipt import SignedReceipt
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.errors import error_with_details
from functions.http import parse_body
from functions.receipt_page import receipt_link
from handlers.invoices import invoice_pdf, my_invoice, request_invoice
from handlers.receipts import lot_timezone, my_receipt, verify_receipt
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies
else:
    bodies = lazy_module("functions.bodies")

MAX_PAYLOAD = 4096


def invoice_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("invoices", __name__, url_prefix="/api/v1")

    @bp.post("/orders/<order_id>/invoice")
    def ask(order_id: str) -> tuple[dict[str, Any], int] | tuple[Response, int]:
        owner_id = current_owner_id(s.tokens)
        b = parse_body(bodies.InvoiceBody)
        try:
            invoice = request_invoice(
                owner_id, order_id, InvoiceType(b.type), b.title, b.email, b.tax_id, b.phone, s.orders, s.lots,
                s.invoicing, s.clock, s.billing,
            )  # fmt: skip
        except InvoiceAlreadyRequested as e:
            assert e.invoice is not None
            return error_with_details(e, invoice=_invoice_json(e.invoice))
        return _invoice_json(invoice), 201

    @bp.get("/orders/<order_id>/invoice")
    def show(order_id: str) -> dict[str, Any]:
        return _invoice_json(my_invoice(current_owner_id(s.tokens), order_id, s.orders, s.invoices, s.billing))

    @bp.get("/orders/<order_id>/invoice.pdf")
    def invoice_document(order_id: str) -> Response:
        pdf = invoice_pdf(current_owner_id(s.tokens), order_id, s.orders, s.invoicing, s.billing)
        return _pdf(pdf, f"invoice-{order_id}.pdf")

    @bp.get("/orders/<order_id>/receipt")
    def receipt(order_id: str) -> dict[str, Any]:
        signed = my_receipt(current_owner_id(s.tokens), order_id, s.orders, s.receipts, s.billing)
        return _receipt_json(signed, receipt_link(s.public_url, signed.receipt.id))

    @bp.get("/orders/<order_id>/receipt.pdf")
    def receipt_document(order_id: str) -> Response:
        from infra.pdf import receipt_pdf  # reportlab only for the routes that draw

        signed = my_receipt(current_owner_id(s.tokens), order_id, s.orders, s.receipts, s.billing)
        link = receipt_link(s.public_url, signed.receipt.id)
        pdf = receipt_pdf(signed, link, s.seal_png, lot_timezone(signed.receipt, s.lots))
        return _pdf(pdf, f"receipt-{order_id}.pdf")

    @bp.get("/receipts/public-key")
    def receipt_key() -> dict[str, Any]:
        import base64

        if s.receipt_signer is None:
            raise InvalidInput("no_receipt_signing")
        return {"algorithm": "Ed25519", "public_key": base64.b64encode(s.receipt_signer.public_key()).decode()}

    @bp.get("/receipts/<receipt_id>/verify")
    def verify(receipt_id: str) -> dict[str, Any]:
        payload = request.args.get("payload", "")
        if not payload or len(payload) > MAX_PAYLOAD:
            raise InvalidInput("receipt_payload", most=MAX_PAYLOAD)
        if s.receipt_signer is None:
            raise InvalidInput("no_receipt_signing")
        checked = verify_receipt(receipt_id, payload, s.receipts, s.receipt_signer)
        shown = checked.receipt
        return {
            "receipt_id": receipt_id,
            "valid": checked.valid,
            "problems": checked.problems,
            "receipt": shown.fields() if shown is not None and checked.valid else None,
        }

    return bp


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


def _masked_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def _invoice_json(invoice: Invoice) -> dict[str, Any]:
    r = invoice.request
    downloadable = invoice.state in (InvoiceState.ISSUED, InvoiceState.REVERSING, InvoiceState.REVERSED)
    return {
        "order_id": invoice.order_id,
        "type": r.type.value,
        "title": r.title,
        "tax_id": r.tax_id,
        "email": _masked_email(r.email),
        "amount_fen": invoice.amount_fen,
        "state": invoice.state.value,
        "requested_at": invoice.requested_at.isoformat(),
        "number": invoice.number,
        "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
        "download_url": f"/api/v1/orders/{invoice.order_id}/invoice.pdf" if downloadable else None,
        "reason": invoice.reason,
        "red_number": invoice.red_number,
        "reversed_on": invoice.reversed_on.isoformat() if invoice.reversed_on else None,
    }


def _receipt_json(signed: SignedReceipt, verify_url: str) -> dict[str, Any]:
    return {
        **signed.receipt.fields(),
        "hash": signed.receipt.hash,
        "qr_payload": signed.qr_payload,
        "verify_url": verify_url,
        "pdf_url": f"/api/v1/orders/{signed.receipt.order_id}/receipt.pdf",
    }
