"""E-receipts: one per paid order, signed, and chained per lot so none can be changed, dropped or slipped in.

A receipt's hash is SHA-256 over the canonical JSON of its fields, which
include the previous receipt's hash in the lot (the first one names 64
zeros). The signature (Ed25519, by the property's receipt key) is over the
same bytes. Anyone holding the QR payload can have it checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain.money import yuan_text

if TYPE_CHECKING:
    from domain.order import Order

GENESIS = "0" * 64


@dataclass(frozen=True)
class Receipt:
    id: str
    lot_id: str
    seq: int
    """1, 2, 3... per lot, with no gaps."""
    order_id: str
    lot_name: str
    owner: str
    """Masked: the phone as 138****0000, never the whole number."""
    plates: tuple[str, ...]
    period_from: str
    period_until: str
    amount_fen: int
    channel: str
    transaction_id: str
    paid_at: str
    prev_hash: str
    evidence: dict[str, Any] | None = None
    """Paid at a door: the hash of the owner's signature image, where and when the collector checked in, who they
    are. Signed with the rest, so the evidence cannot change without breaking the receipt."""

    def fields(self) -> dict[str, Any]:
        """What is hashed, signed, printed and put in the QR code (a receipt without evidence hashes as before)."""
        shown = {
            "receipt_id": self.id,
            "lot_id": self.lot_id,
            "seq": self.seq,
            "order_id": self.order_id,
            "lot_name": self.lot_name,
            "owner": self.owner,
            "plates": list(self.plates),
            "period_from": self.period_from,
            "period_until": self.period_until,
            "amount_fen": self.amount_fen,
            "amount_yuan": yuan_text(self.amount_fen),
            "channel": self.channel,
            "transaction_id": self.transaction_id,
            "paid_at": self.paid_at,
            "prev_hash": self.prev_hash,
        }
        if self.evidence is not None:
            shown["evidence"] = dict(self.evidence)
        return shown

    @classmethod
    def from_fields(cls, f: dict[str, Any], strict: bool = True) -> Receipt:
        """KeyError, TypeError or ValueError when a field is missing or malformed (or, if strict, inconsistent)."""
        receipt = cls(
            id=str(f["receipt_id"]),
            lot_id=str(f["lot_id"]),
            seq=int(f["seq"]),
            order_id=str(f["order_id"]),
            lot_name=str(f["lot_name"]),
            owner=str(f["owner"]),
            plates=tuple(str(p) for p in f["plates"]),
            period_from=str(f["period_from"]),
            period_until=str(f["period_until"]),
            amount_fen=int(f["amount_fen"]),
            channel=str(f["channel"]),
            transaction_id=str(f["transaction_id"]),
            paid_at=str(f["paid_at"]),
            prev_hash=str(f["prev_hash"]),
            evidence=dict(f["evidence"]) if f.get("evidence") is not None else None,
        )
        if strict and receipt.fields() != f:  # e.g. a changed amount_yuan next to an unchanged amount_fen
            raise ValueError("fields that do not agree")
        return receipt

    def canonical(self) -> bytes:
        return canonical(self.fields())

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def receipt_id_for(order_id: str) -> str:
    return f"rcpt-{order_id}"


def receipt_for(order: Order, lot_name: str, plates: tuple[str, ...], seq: int, prev_hash: str) -> Receipt:
    """The receipt of a paid order, as the `seq`-th of its lot after the one whose hash is `prev_hash`."""
    if order.paid_at is None or order.new_valid_from is None or order.new_valid_until is None:
        raise ValueError("only a paid order has a receipt")
    return Receipt(
        id=receipt_id_for(order.id),
        lot_id=order.lot_id,
        seq=seq,
        order_id=order.id,
        lot_name=lot_name,
        owner=order.owner_label,
        plates=plates,
        period_from=order.new_valid_from.isoformat(),
        period_until=order.new_valid_until.isoformat(),
        amount_fen=order.amount_fen,
        channel=order.channel.value,
        transaction_id=order.transaction_id or "",
        paid_at=order.paid_at.isoformat(),
        prev_hash=prev_hash,
    )


@dataclass(frozen=True)
class SignedReceipt:
    receipt: Receipt
    signature: bytes

    @property
    def qr_payload(self) -> str:
        """`<base64url canonical JSON>.<base64url signature>`: everything a verifier needs."""
        return f"{_b64(self.receipt.canonical())}.{_b64(self.signature)}"


def parse_qr_payload(payload: str) -> tuple[Receipt, bytes, bytes]:
    """The receipt, the exact bytes that were signed and the signature; ValueError if it is not a payload."""
    body, _, sig = payload.partition(".")
    raw = _unb64(body)
    fields = json.loads(raw)
    if not isinstance(fields, dict):
        raise ValueError("not a receipt")
    return Receipt.from_fields(fields), raw, _unb64(sig)


def chain_problems(receipt: Receipt, stored: Receipt | None, previous: Receipt | None) -> list[str]:
    """What is wrong with the receipt against the lot's stored chain (the signature is checked apart)."""
    problems = []
    if stored is None:
        return ["no such receipt was issued"]
    if stored != receipt:
        problems.append("the receipt differs from the one issued")
    if receipt.seq == 1:
        if receipt.prev_hash != GENESIS:
            problems.append("the first receipt of a lot must start the chain")
    elif previous is None:
        problems.append(f"receipt {receipt.seq - 1} of the lot is missing: the chain is broken")
    elif previous.hash != receipt.prev_hash:
        problems.append(f"receipt {receipt.seq - 1} of the lot was changed: the chain is broken")
    return problems


class ChainFault(StrEnum):
    """Why a stored receipt no longer sits in an unbroken chain."""

    BAD_START = "bad_start"
    PREVIOUS_MISSING = "previous_missing"
    PREVIOUS_CHANGED = "previous_changed"
    NEXT_UNLINKED = "next_unlinked"


def chain_faults(receipt: Receipt, previous: Receipt | None, following: Receipt | None) -> list[ChainFault]:
    """Both links of a stored receipt: to the lot's receipt before it and from the one after it (if any yet)."""
    faults = []
    if receipt.seq == 1:
        if receipt.prev_hash != GENESIS:
            faults.append(ChainFault.BAD_START)
    elif previous is None:
        faults.append(ChainFault.PREVIOUS_MISSING)
    elif previous.hash != receipt.prev_hash:
        faults.append(ChainFault.PREVIOUS_CHANGED)
    if following is not None and following.prev_hash != receipt.hash:
        faults.append(ChainFault.NEXT_UNLINKED)
    return faults


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
