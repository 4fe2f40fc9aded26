"""The invoice provider's API over HTTP (locally the simulator at /sim/invoices).

The order's id is the request id of its invoice (and `<order>-red` of its
red-letter one), so asking again after a timeout answers the same invoice.
"""

from __future__ import annotations

import base64
from datetime import date

import requests

from domain.errors import InvoiceProviderUnavailable
from domain.invoice import Invoice, invoice_item
from handlers.ports import IssuedDocument

TIMEOUT_S = 10


class HttpInvoiceProvider:
    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self._url = base_url.rstrip("/") + "/issue"
        self._http = session or requests.Session()

    def issue(self, invoice: Invoice) -> IssuedDocument:
        return self._ask(invoice, invoice.order_id, "blue")

    def reverse(self, invoice: Invoice) -> IssuedDocument:
        return self._ask(invoice, f"{invoice.order_id}-red", "red")

    def _ask(self, invoice: Invoice, request_id: str, kind: str) -> IssuedDocument:
        body = {
            "request_id": request_id,
            "kind": kind,
            "title": invoice.request.title,
            "tax_id": invoice.request.tax_id,
            "amount_fen": invoice.amount_fen,
            "original_number": invoice.number,
            "item": invoice_item(invoice),
        }
        try:
            r = self._http.post(self._url, json=body, timeout=TIMEOUT_S)
        except requests.RequestException as e:
            raise InvoiceProviderUnavailable() from e
        if r.status_code >= 500:
            raise InvoiceProviderUnavailable()
        r.raise_for_status()  # a 4xx is our bug, not a retry
        made = r.json()
        return IssuedDocument(made["number"], date.fromisoformat(made["issued_on"]), base64.b64decode(made["pdf"]))


class NoInvoiceProvider:
    """No provider configured: automatic invoices wait (`issuing`) until one is, and the retry job asks again."""

    def issue(self, invoice: Invoice) -> IssuedDocument:
        raise InvoiceProviderUnavailable()

    def reverse(self, invoice: Invoice) -> IssuedDocument:
        raise InvoiceProviderUnavailable()
