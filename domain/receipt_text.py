"""What a person reads about an e-receipt, Chinese first: one place for the PDF and the public verify page.

Times are shown in the lot's zone (`2026-12-01 20:27 北京时间`), never as UTC
ISO text; amounts as yuan with two decimals; plates on the public page masked.
"""

from __future__ import annotations

from datetime import datetime

from domain.ids import is_bill_order
from domain.labels import label, local_time
from domain.money import yuan_text
from domain.receipt import ChainFault, Receipt

CHAIN_FAULTS = {
    ChainFault.BAD_START: "本停车场的第一张收据没有从链首开始",
    ChainFault.PREVIOUS_MISSING: "上一张收据已不存在：收据链断裂",
    ChainFault.PREVIOUS_CHANGED: "上一张收据已被改动：收据链断裂",
    ChainFault.NEXT_UNLINKED: "下一张收据与本张对不上：本张或其后的收据被改动",
}


def channel_name(channel: str) -> str:
    return label("channel", channel)


def local_time_text(instant: datetime, timezone: str) -> str:
    """2026-12-01T12:27:24+00:00 in Asia/Shanghai -> '2026-12-01 20:27 北京时间' (the office's words too)."""
    return local_time(instant, timezone)


def paid_at_text(receipt: Receipt, timezone: str) -> str:
    return local_time_text(datetime.fromisoformat(receipt.paid_at), timezone)


def amount_text(fen: int) -> str:
    """85000 -> '850.00 元'."""
    return f"{yuan_text(fen)} 元"


def period_text(receipt: Receipt) -> str:
    return f"{receipt.period_from} 至 {receipt.period_until}"


def masked_plate(plate: str) -> str:
    """粤B12345 -> 粤B***45: enough to match the paper receipt, too little to follow the car."""
    if len(plate) <= 4:
        return "*" * len(plate)
    return plate[:2] + "*" * (len(plate) - 4) + plate[-2:]


def for_bills(receipt: Receipt) -> bool:
    """A receipt of property-fee bills (a bill order's) rather than of a card's renewal."""
    return is_bill_order(receipt.order_id)


def masked_item(item: str) -> str:
    """`1栋101 / 物业费 2027-01 / 221.25 元` -> `*** / 物业费 2027-01 / 221.25 元`: the unit stays private."""
    _, sep, rest = item.partition(" / ")
    return f"***{sep}{rest}" if sep else item
