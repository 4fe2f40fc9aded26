"""Invoices for paid orders: the owner asks, a provider (or the office) issues, a refund reverses.

Issuing is idempotent per order: the invoice moves to `issuing` before the
provider is asked, the provider is asked with the order's id as its request
id, so a retry after a timeout gets the same invoice back, never a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from domain.errors import InvoiceAlreadyRequested, InvoiceNotFound, InvoiceProviderUnavailable, OrderNotFound
from domain.ids import checked_id, is_bill_order
from domain.invoice import (
    Invoice,
    InvoiceRequest,
    InvoiceState,
    InvoiceType,
    checked_invoice_number,
    invoice_request,
    issued,
    new_bill_invoice,
    new_invoice,
    red_lettered,
    refunded,
    rejected,
)
from domain.lot import InvoiceProvider
from domain.money import yuan_text
from domain.order import Order, OrderState
from handlers.notify import Notices, notify_owner
from handlers.ports import (
    Billing,
    Clock,
    Documents,
    InvoiceIssuer,
    InvoiceStore,
    LotRepository,
    Metrics,
    OrderRepository,
)

INVOICE_TEMPLATE = "sim-invoice"
"""The local simulator's template id for invoice news; deployments set PARKPASS_INVOICE_TEMPLATE."""
INVOICE_PAGE = "pages/invoice/index"
log = logging.getLogger("parkpass.invoices")

if TYPE_CHECKING:
    from domain.bill_order import BillOrder


@dataclass(frozen=True)
class Invoicing:
    store: InvoiceStore
    issuer: InvoiceIssuer
    """The provider for lots that issue automatically (the simulator here)."""
    documents: Documents
    notices: Notices
    metrics: Metrics | None = None


def request_invoice(
    owner_id: str,
    order_id: str,
    type: InvoiceType,
    title: str,
    email: str,
    tax_id: str | None,
    phone: str | None,
    orders: OrderRepository,
    lots: LotRepository,
    invoicing: Invoicing,
    clock: Clock,
    bills: Billing | None = None,
) -> Invoice:
    """The order's invoice: made now, or the one asked for before with the same details (one per order). A bill
    order (`bills` given) is invoiced for what it paid less the bills refunded since.

    InvoiceAlreadyRequested, carrying the first request, when the order has one asked for with other details.
    """
    order = _my_order(owner_id, order_id, orders, bills)
    asked = invoice_request(type, title, email, tax_id, phone)
    earlier = invoicing.store.get(order.id)
    if earlier is not None:
        return _asked_again(earlier, asked)
    if not isinstance(order, Order):
        assert bills is not None
        made = _bill_invoice(order, bills, asked, clock)
    else:
        made = new_invoice(order, asked, clock.now())
    invoice = _asked_again(invoicing.store.add(made), asked)  # another may win
    lot = lots.get(invoice.lot_id)
    if (
        invoice.state is InvoiceState.REQUESTED
        and lot is not None
        and lot.invoice_provider is InvoiceProvider.SIMULATOR
    ):
        return issue_invoice(invoice, orders, invoicing)
    return invoice


def _asked_again(invoice: Invoice, asked: InvoiceRequest) -> Invoice:
    """The same details again answer the order's invoice; other details are refused with what was asked first."""
    if invoice.request == asked:
        return invoice
    refused = InvoiceAlreadyRequested(invoice.order_id, invoice.request.title)
    refused.invoice = invoice
    raise refused


def _bill_invoice(order: BillOrder, bills: Billing, asked: InvoiceRequest, clock: Clock) -> Invoice:
    """A bill order's invoice: what it paid less its bills refunded since, at the community's first lot."""
    from domain.bill_run import BillState  # property fees load with the first bill order, not every cold start

    community = bills.community(order.community_id)
    refunded = sum(b.paid_fen for b in bills.bills(order.bill_ids) if b.state is BillState.REFUNDED)
    first_lot = community.lot_ids[0] if community and community.lot_ids else None
    return new_bill_invoice(order, refunded, first_lot, asked, clock.now())


def _my_order(owner_id: str, order_id: str, orders: OrderRepository, bills: Billing | None) -> Order | BillOrder:
    checked_id("order_id", order_id)
    found: Order | BillOrder | None
    found = bills.bill_order(order_id) if bills is not None and is_bill_order(order_id) else orders.get(order_id)
    if found is None or found.owner_id != owner_id:
        raise OrderNotFound(order_id)
    return found


def my_invoice(
    owner_id: str, order_id: str, orders: OrderRepository, store: InvoiceStore, bills: Billing | None = None
) -> Invoice:
    order = _my_order(owner_id, order_id, orders, bills)
    invoice = store.get(order.id)
    if invoice is None:
        raise InvoiceNotFound(order_id)
    return invoice


def invoice_pdf(
    owner_id: str, order_id: str, orders: OrderRepository, invoicing: Invoicing, bills: Billing | None = None
) -> bytes:
    invoice = my_invoice(owner_id, order_id, orders, invoicing.store, bills)
    key = invoice.red_document if invoice.state is InvoiceState.REVERSED else invoice.document
    pdf = invoicing.documents.get(key) if key else None
    if pdf is None:
        raise InvoiceNotFound(order_id)
    return pdf


def issue_invoice(invoice: Invoice, orders: OrderRepository, invoicing: Invoicing) -> Invoice:
    """Issue it through the provider; left `issuing` when the provider does not answer (the job retries)."""
    if invoice.state is InvoiceState.REQUESTED:
        sending = replace(invoice, state=InvoiceState.ISSUING)
        if not invoicing.store.move(sending, InvoiceState.REQUESTED):
            return invoicing.store.get(invoice.order_id) or invoice
        invoice = sending
    if invoice.state is not InvoiceState.ISSUING:
        return invoice
    try:
        doc = invoicing.issuer.issue(invoice)
    except InvoiceProviderUnavailable:
        log.warning("invoice for order %s: the provider did not answer; it will be asked again", invoice.order_id)
        _count_failure(invoicing, "blue")
        return invoice
    key = f"invoices/{invoice.lot_id}/{invoice.order_id}/{doc.number}.pdf"
    invoicing.documents.put(key, doc.pdf, "application/pdf")
    done = issued(invoice, doc.number, doc.issued_on, key)
    if not invoicing.store.move(done, InvoiceState.ISSUING):
        return invoicing.store.get(invoice.order_id) or done
    _tell(done, invoicing.notices)
    order = orders.get(done.order_id)
    if order is not None and order.state is OrderState.REFUNDED:  # refunded while it was being issued
        return reverse_invoice(done.order_id, invoicing)
    return done


def enter_manual_invoice(order_id: str, number: str, on: date, pdf: bytes, invoicing: Invoicing) -> Invoice:
    """The office issued it elsewhere: record the number and keep the PDF (the admin function calls this)."""
    number = checked_invoice_number(number)  # before it names a file
    invoice = invoicing.store.get(checked_id("order_id", order_id))
    if invoice is None:
        raise InvoiceNotFound(order_id)
    if invoice.state is InvoiceState.ISSUED and invoice.number == number:
        return invoice
    key = f"invoices/{invoice.lot_id}/{invoice.order_id}/{number}.pdf"
    done = issued(invoice, number, on, key)
    invoicing.documents.put(key, pdf, "application/pdf")
    if not invoicing.store.move(done, invoice.state):
        return invoicing.store.get(invoice.order_id) or done
    _tell(done, invoicing.notices)
    return done


def reject_invoice(order_id: str, reason: str, invoicing: Invoicing) -> Invoice:
    invoice = invoicing.store.get(checked_id("order_id", order_id))
    if invoice is None:
        raise InvoiceNotFound(order_id)
    if invoice.state is InvoiceState.REJECTED:
        return invoice
    done = rejected(invoice, reason)
    if not invoicing.store.move(done, invoice.state):
        return invoicing.store.get(invoice.order_id) or done
    _tell(done, invoicing.notices)
    return done


def reverse_invoice(order_id: str, invoicing: Invoicing) -> Invoice:
    """After a refund: reverse an issued invoice with a red-letter one, or withdraw one not issued yet.

    InvoiceNotFound when the order has none (nothing to reverse).
    """
    for _ in range(3):
        invoice = invoicing.store.get(order_id)
        if invoice is None:
            raise InvoiceNotFound(order_id)
        wanted = refunded(invoice)
        if wanted == invoice or invoicing.store.move(wanted, invoice.state):
            break
        # moved meanwhile: decide again from what is there
    if wanted.state is not InvoiceState.REVERSING or wanted.number is None:
        return wanted
    try:
        doc = invoicing.issuer.reverse(wanted)
    except InvoiceProviderUnavailable:
        log.warning("red-letter invoice for order %s: the provider did not answer; asked again later", order_id)
        _count_failure(invoicing, "red")
        return wanted
    key = f"invoices/{wanted.lot_id}/{wanted.order_id}/{doc.number}.pdf"
    invoicing.documents.put(key, doc.pdf, "application/pdf")
    done = red_lettered(wanted, doc.number, doc.issued_on, key)
    if not invoicing.store.move(done, InvoiceState.REVERSING):
        return invoicing.store.get(order_id) or done
    return done


def retry_invoices(orders: OrderRepository, lots: LotRepository, invoicing: Invoicing) -> list[Invoice]:
    """Ask the provider again for what it did not answer (a job, like the payment sweep)."""
    done = []
    for invoice in invoicing.store.unfinished():
        lot = lots.get(invoice.lot_id)
        if lot is None or lot.invoice_provider is not InvoiceProvider.SIMULATOR:
            continue  # the office finishes manual ones
        if invoice.state is InvoiceState.ISSUING:
            done.append(issue_invoice(invoice, orders, invoicing))
        else:
            done.append(reverse_invoice(invoice.order_id, invoicing))
    return done


def _tell(invoice: Invoice, notices: Notices) -> None:
    what = {
        InvoiceState.ISSUED: ("已开具", f"发票号 {invoice.number}"),
        InvoiceState.REJECTED: ("未开具", invoice.reason or ""),
    }.get(invoice.state)
    if what is None:
        return
    data = {
        "thing1": {"value": invoice.request.title[:20]},
        "amount2": {"value": f"{yuan_text(invoice.amount_fen)}元"},
        "phrase3": {"value": what[0]},
        "thing4": {"value": what[1][:20]},
    }
    notify_owner(invoice.owner_id, data, INVOICE_PAGE, notices)


def _count_failure(invoicing: Invoicing, kind: str) -> None:
    if invoicing.metrics is not None:
        invoicing.metrics.count("InvoiceIssueFailures", kind=kind)
