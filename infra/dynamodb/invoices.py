"""Invoices and receipts in DynamoDB. An invoice's email and phone are personal data: encrypted like the owner's."""

from __future__ import annotations

from datetime import date, datetime

from pynamodb.exceptions import PutError, UpdateError

from domain.invoice import Invoice, InvoiceRequest, InvoiceState, InvoiceType
from domain.receipt import Receipt, SignedReceipt
from infra.crypto import FieldCipher
from infra.dynamodb.repositories import is_condition_failure, iso_day
from infra.dynamodb.tables import InvoiceItem, ReceiptItem

UNFINISHED = (InvoiceState.ISSUING, InvoiceState.REVERSING)


class DynamoInvoiceStore:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def get(self, order_id: str) -> Invoice | None:
        try:
            return self._invoice(InvoiceItem.get(order_id, consistent_read=True))
        except InvoiceItem.DoesNotExist:
            return None

    def get_many(self, order_ids: set[str]) -> dict[str, Invoice]:
        """One BatchGetItem (pynamodb splits it per 100 keys)."""
        return {i.order_id: self._invoice(i) for i in InvoiceItem.batch_get(sorted(order_ids))} if order_ids else {}

    def add(self, invoice: Invoice) -> Invoice:
        try:
            self._item(invoice).save(condition=InvoiceItem.order_id.does_not_exist())
        except PutError as e:
            if is_condition_failure(e):
                return self.get(invoice.order_id) or invoice
            raise
        return invoice

    def move(self, invoice: Invoice, was: InvoiceState) -> bool:
        item = self._item(invoice)
        actions = [
            getattr(InvoiceItem, name).set(value) if value is not None else getattr(InvoiceItem, name).remove()
            for name, value in _mutable(invoice).items()
        ]
        try:
            item.update(actions=actions, condition=InvoiceItem.state == was.value)
        except UpdateError as e:
            if is_condition_failure(e):
                return False
            raise
        return True

    def unfinished(self) -> list[Invoice]:
        return [self._invoice(i) for i in InvoiceItem.unfinished_invoices.query("1")]

    def requested(self, lot_id: str) -> list[Invoice]:
        return [self._invoice(i) for i in InvoiceItem.requested_invoices.query(lot_id)]

    def _item(self, invoice: Invoice) -> InvoiceItem:
        r = invoice.request
        item = InvoiceItem(
            order_id=invoice.order_id,
            owner_id=invoice.owner_id,
            lot_id=invoice.lot_id,
            amount_fen=invoice.amount_fen,
            type=r.type.value,
            title=r.title,
            tax_id=r.tax_id,
            email_cipher=self._cipher.encrypt(r.email, f"{invoice.order_id}:email"),
            phone_cipher=self._cipher.encrypt(r.phone, f"{invoice.order_id}:phone") if r.phone else None,
            requested_at=invoice.requested_at.isoformat(),
        )
        for name, value in _mutable(invoice).items():
            setattr(item, name, value)
        return item

    def _invoice(self, i: InvoiceItem) -> Invoice:
        request = InvoiceRequest(
            type=InvoiceType(i.type),
            title=i.title,
            email=self._cipher.decrypt(i.email_cipher, f"{i.order_id}:email"),
            tax_id=i.tax_id,
            phone=self._cipher.decrypt(i.phone_cipher, f"{i.order_id}:phone") if i.phone_cipher else None,
        )
        return Invoice(
            order_id=i.order_id,
            owner_id=i.owner_id,
            lot_id=i.lot_id,
            amount_fen=int(i.amount_fen),
            request=request,
            state=InvoiceState(i.state),
            requested_at=datetime.fromisoformat(i.requested_at),
            number=i.number,
            issued_on=_day(i.issued_on),
            document=i.document,
            reason=i.reason,
            red_number=i.red_number,
            red_document=i.red_document,
            reversed_on=_day(i.reversed_on),
        )


def _mutable(invoice: Invoice) -> dict[str, object]:
    """What a step may change, with the sparse index keys that follow from the state."""
    return {
        "state": invoice.state.value,
        "number": invoice.number,
        "issued_on": iso_day(invoice.issued_on),
        "document": invoice.document,
        "reason": invoice.reason,
        "red_number": invoice.red_number,
        "red_document": invoice.red_document,
        "reversed_on": iso_day(invoice.reversed_on),
        "unfinished": "1" if invoice.state in UNFINISHED else None,
        "office_queue": invoice.lot_id if invoice.state is InvoiceState.REQUESTED else None,
    }


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class DynamoReceiptStore:
    def get(self, receipt_id: str) -> SignedReceipt | None:
        try:
            item = ReceiptItem.get(receipt_id, consistent_read=True)
        except ReceiptItem.DoesNotExist:
            return None
        # Lenient: a stored receipt changed behind our back still loads, and then fails its signature check.
        return SignedReceipt(Receipt.from_fields(item.fields, strict=False), item.signature)

    def in_chain(self, lot_id: str, seq: int) -> Receipt | None:
        for item in ReceiptItem.chain.query(lot_id, ReceiptItem.seq == seq):
            try:
                return Receipt.from_fields(item.fields, strict=False)
            except (KeyError, TypeError, ValueError):
                return None  # a damaged link: the chain check says so
        return None
