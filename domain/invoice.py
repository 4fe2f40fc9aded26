"""Invoices (发票) for paid orders: what the owner asks for, and the steps an invoice goes through.

One invoice per order. A company invoice is made out to a unified social
credit code; a personal one to a name. A refund of an invoiced order needs a
red-letter (红字) invoice that reverses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.credit_code import checked_credit_code
from domain.errors import InvalidInvoice, InvoiceRefused
from domain.ids import is_bill_order
from domain.order import Order, OrderState
from domain.phone import checked_phone

if TYPE_CHECKING:  # domain.bill_order imports the order module this one does
    from domain.bill_order import BillOrder

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
_NUMBER = re.compile(r"[A-Za-z0-9]{1,32}")
"""发票号码: 8 digits (paper), 20 (数电发票); letters for other systems' numbers. It names the PDF's file."""


def checked_invoice_number(number: str) -> str:
    number = number.strip()
    if not _NUMBER.fullmatch(number):
        raise InvalidInvoice("invoice_number")
    return number


class InvoiceType(StrEnum):
    PERSONAL = "personal"
    COMPANY = "company"


class InvoiceState(StrEnum):
    REQUESTED = "requested"
    """Asked for; waits for the provider (or, where the office issues elsewhere, for the office)."""
    ISSUING = "issuing"
    """Sent to the provider; a retry asks again for the same invoice, never a second one."""
    ISSUED = "issued"
    REJECTED = "rejected"
    REVERSING = "reversing"
    """The order was refunded: a red-letter invoice is being issued."""
    REVERSED = "reversed"


@dataclass(frozen=True)
class InvoiceRequest:
    type: InvoiceType
    title: str
    """A company's registered name, or a person's name."""
    email: str
    tax_id: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.title.strip()) <= 100:
            raise InvalidInvoice("invoice_title")
        if len(self.email) > 254 or not _EMAIL.fullmatch(self.email):
            raise InvalidInvoice("invoice_email")
        if self.type is InvoiceType.COMPANY and not self.tax_id:
            raise InvalidInvoice("invoice_tax_id_missing")


def invoice_request(type: InvoiceType, title: str, email: str, tax_id: str | None, phone: str | None) -> InvoiceRequest:
    """A checked request: the credit code verified for a company, dropped for a person."""
    code = checked_credit_code(tax_id) if type is InvoiceType.COMPANY and tax_id else None
    return InvoiceRequest(type, title.strip(), email.strip(), code, checked_phone(phone) if phone else None)


@dataclass(frozen=True)
class Invoice:
    order_id: str
    """One invoice per order: the order's id is the invoice's."""
    owner_id: str
    lot_id: str
    amount_fen: int
    request: InvoiceRequest
    state: InvoiceState
    requested_at: datetime
    number: str | None = None
    issued_on: date | None = None
    document: str | None = None
    """Where its PDF is kept."""
    reason: str | None = None
    """Why it was rejected."""
    red_number: str | None = None
    red_document: str | None = None
    reversed_on: date | None = None


def new_invoice(order: Order, request: InvoiceRequest, at: datetime) -> Invoice:
    if order.state is OrderState.REFUNDED:
        raise InvoiceRefused("invoice_refunded")
    if order.state is not OrderState.PAID:
        raise InvoiceRefused("invoice_unpaid")
    return Invoice(order.id, order.owner_id, order.lot_id, order.amount_fen, request, InvoiceState.REQUESTED, at)


PARKING_ITEM = "*经营租赁*停车服务费"
PROPERTY_ITEM = "*物业管理服务*物业服务费"


def invoice_item(invoice: Invoice) -> str:
    """What the invoice says was sold (its tax classification and name): parking for a card's order, property
    management for a bill order's."""
    return PROPERTY_ITEM if is_bill_order(invoice.order_id) else PARKING_ITEM


def new_bill_invoice(order: BillOrder, refunded_fen: int, lot_id: str | None, request: InvoiceRequest,
                     at: datetime) -> Invoice:  # fmt: skip
    """The invoice of a paid bill order: what it paid less what was refunded of it, issued by the property office
    of the community's first lot (a community with none invoices at its office, not online)."""
    if order.state is not OrderState.PAID:
        raise InvoiceRefused("invoice_unpaid")
    if order.prepay_unit is not None or order.credited is not None:
        raise InvoiceRefused("invoice_prepayment")  # invoiced as the bills it pays are
    if refunded_fen >= order.amount_fen:
        raise InvoiceRefused("invoice_refunded")
    if lot_id is None:
        raise InvoiceRefused("invoice_no_lot")
    return Invoice(order.id, order.owner_id, lot_id, order.amount_fen - refunded_fen, request, InvoiceState.REQUESTED,
                   at)  # fmt: skip


def issued(invoice: Invoice, number: str, on: date, document: str) -> Invoice:
    checked_invoice_number(number)
    _step(invoice, InvoiceState.ISSUED, InvoiceState.REQUESTED, InvoiceState.ISSUING)
    return replace(invoice, state=InvoiceState.ISSUED, number=number, issued_on=on, document=document)


def rejected(invoice: Invoice, reason: str) -> Invoice:
    _step(invoice, InvoiceState.REJECTED, InvoiceState.REQUESTED, InvoiceState.ISSUING)
    if not reason.strip():
        raise InvalidInvoice("reason_for_owner")
    return replace(invoice, state=InvoiceState.REJECTED, reason=reason.strip()[:200])


def refunded(invoice: Invoice) -> Invoice:
    """The order was refunded: an issued invoice must be reversed; one not issued yet is withdrawn."""
    if invoice.state in (InvoiceState.ISSUED,):
        return replace(invoice, state=InvoiceState.REVERSING)
    if invoice.state is InvoiceState.REQUESTED:
        return replace(invoice, state=InvoiceState.REJECTED, reason="订单已退款")
    return invoice  # already reversing, reversed or rejected; one being issued is reversed once it is


def red_lettered(invoice: Invoice, red_number: str, on: date, document: str) -> Invoice:
    _step(invoice, InvoiceState.REVERSED, InvoiceState.REVERSING)
    return replace(invoice, state=InvoiceState.REVERSED, red_number=red_number, reversed_on=on, red_document=document)


def _step(invoice: Invoice, to: InvoiceState, *allowed: InvoiceState) -> None:
    if invoice.state not in allowed:
        raise InvoiceRefused("invoice_refused", state=invoice.state.value, to=to.value)
