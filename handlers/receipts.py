"""E-receipts: the owner's receipt of a paid order, and the checks anyone can run: on a receipt's QR payload, or
on the receipt stored under the id its QR code's link names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.errors import OrderNotFound, ReceiptNotFound
from domain.ids import checked_id, is_bill_order
from domain.lot import DEFAULT_TIMEZONE
from domain.order import Order, OrderState
from domain.receipt import (
    ChainFault,
    Receipt,
    SignedReceipt,
    chain_faults,
    chain_problems,
    parse_qr_payload,
    receipt_id_for,
)
from handlers.ports import Billing, LotRepository, OrderRepository, ReceiptSigner, ReceiptStore

if TYPE_CHECKING:
    from domain.bill_order import BillOrder


def sign(receipt: Receipt, signer: ReceiptSigner) -> SignedReceipt:
    return SignedReceipt(receipt, signer.sign(receipt.canonical()))


def my_receipt(
    owner_id: str, order_id: str, orders: OrderRepository, store: ReceiptStore, bills: Billing | None = None
) -> SignedReceipt:
    """The receipt of the owner's order: a renewal's, or (`bills` given) a bill order's."""
    checked_id("order_id", order_id)
    if bills is not None and is_bill_order(order_id):
        found: Order | BillOrder | None = bills.bill_order(order_id)
    else:
        found = orders.get(order_id)
    if found is None or found.owner_id != owner_id:
        raise OrderNotFound(order_id)
    signed = store.get(receipt_id_for(found.id))
    if signed is None:
        raise ReceiptNotFound(receipt_id_for(found.id))
    return signed


@dataclass(frozen=True)
class Verification:
    valid: bool
    problems: list[str]
    receipt: Receipt | None
    """As issued, when the receipt exists."""


def verify_receipt(receipt_id: str, payload: str, store: ReceiptStore, signer: ReceiptSigner) -> Verification:
    """Is this QR payload a receipt we signed, unchanged, still linked into its lot's chain?"""
    stored = store.get(checked_id("receipt_id", receipt_id))
    if stored is None:
        raise ReceiptNotFound(receipt_id)
    try:
        shown, signed_bytes, signature = parse_qr_payload(payload)
    except (ValueError, KeyError, TypeError):
        return Verification(False, ["the payload is not a receipt's QR code"], stored.receipt)
    problems = []
    if shown.id != stored.receipt.id:
        problems.append("the payload is another receipt's")
    if not signer.verify(signed_bytes, signature):
        problems.append("the signature does not match: the receipt was changed or not issued by us")
    previous = store.in_chain(shown.lot_id, shown.seq - 1) if shown.seq > 1 else None
    problems += chain_problems(shown, stored.receipt, previous)
    if not signer.verify(stored.receipt.canonical(), stored.signature):
        problems.append("the stored receipt no longer matches its signature")
    return Verification(not problems, problems, stored.receipt)


def lot_timezone(receipt: Receipt, lots: LotRepository) -> str:
    """The zone the receipt's times are shown in: its lot's (the default one if the lot is gone)."""
    lot = lots.get(receipt.lot_id)
    return lot.timezone if lot is not None else DEFAULT_TIMEZONE


@dataclass(frozen=True)
class ReceiptStanding:
    """The receipt stored under an id, and whether it still holds: what the QR code's link shows."""

    receipt: Receipt
    timezone: str
    signature_valid: bool
    chain_faults: list[ChainFault]
    refunded: bool = False
    """The money went back: the receipt is genuine but void (it must not be claimed as an expense)."""
    evidence_valid: bool | None = None
    """Paid at a door: does the signature image stored with the payment still hash to what the receipt sealed?
    None: no evidence to check."""

    @property
    def valid(self) -> bool:
        return self.signature_valid and not self.chain_faults and not self.refunded and self.evidence_valid is not False


def receipt_standing(
    receipt_id: str,
    store: ReceiptStore,
    signer: ReceiptSigner,
    lots: LotRepository,
    orders: OrderRepository,
    signatures: Callable[[str], bytes | None] | None = None,
) -> ReceiptStanding:
    """Is the receipt issued under this id still as signed, and still linked to its neighbours in the lot's chain?
    Paid at a door: is the owner's signature image the one it sealed (`signatures`: the image stored per order)?"""
    stored = store.get(checked_id("receipt_id", receipt_id))
    if stored is None:
        raise ReceiptNotFound(receipt_id)
    receipt = stored.receipt
    previous = store.in_chain(receipt.lot_id, receipt.seq - 1) if receipt.seq > 1 else None
    following = store.in_chain(receipt.lot_id, receipt.seq + 1)
    return ReceiptStanding(
        receipt=receipt,
        timezone=lot_timezone(receipt, lots),
        signature_valid=signer.verify(receipt.canonical(), stored.signature),
        chain_faults=chain_faults(receipt, previous, following),
        refunded=_refunded(receipt, orders),
        evidence_valid=_evidence_holds(receipt, signatures),
    )


def _evidence_holds(receipt: Receipt, signatures: Callable[[str], bytes | None] | None) -> bool | None:
    if receipt.evidence is None:
        return None
    from domain.door import signature_hash  # door payments' rules: loaded only for a receipt sealed at a door

    image = signatures(receipt.order_id) if signatures is not None else None
    return image is not None and signature_hash(image) == receipt.evidence.get("signature_sha256")


def _refunded(receipt: Receipt, orders: OrderRepository) -> bool:
    order = orders.get(receipt.order_id)
    return order is not None and order.state is OrderState.REFUNDED
