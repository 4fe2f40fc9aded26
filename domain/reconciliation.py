"""Daily reconciliation: the provider's statement of a day against the ledger, line by line.

A payment the provider took whose notification and query were both lost shows
up only here; it is repaired through the same exactly-once fulfilment as a
notification. Everything else that differs is flagged for the office: money
here the provider never took, an amount that differs, a refund on one side
only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.order import Channel, LedgerEntry

PROVIDER_ZONE = ZoneInfo("Asia/Shanghai")
"""Both providers cut their statements at midnight Beijing time, whatever the lot's zone."""

RECONCILED_CHANNELS = (Channel.WECHAT, Channel.ALIPAY)


def statement_day(channel: Channel, at: datetime) -> str:
    """The key of the day's ledger lines of one channel: the day on the provider's statement."""
    return f"{channel.value}#{at.astimezone(PROVIDER_ZONE).date().isoformat()}"


class LineKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class StatementLine:
    """One line of a provider's statement; amounts are positive fen."""

    kind: LineKind
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    at: datetime
    refund_no: str = ""


class DifferenceKind(StrEnum):
    UNFULFILLED = "unfulfilled"
    """Paid at the provider, not here: its notification and query were lost. Repaired by fulfilling it."""
    NOT_AT_PROVIDER = "not_at_provider"
    """Booked here, absent from the provider's statement."""
    AMOUNT_DIFFERS = "amount_differs"
    REFUND_NOT_HERE = "refund_not_here"
    """Refunded at the provider (in its merchant platform, say) with no refund here."""
    REFUND_NOT_AT_PROVIDER = "refund_not_at_provider"


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    order_id: str
    ours_fen: int | None
    theirs_fen: int | None
    transaction_id: str = ""
    lot_id: str = ""
    """The order's lot ("" when the order is unknown here): the office sees its own lots' differences."""
    repaired: bool = False
    """UNFULFILLED only: the payment was fulfilled by this reconciliation (or had been since)."""
    note: str = ""
    """Why a repair did not happen (the order is unknown here, say)."""


@dataclass(frozen=True)
class Reconciliation:
    """One channel's day, as last reconciled."""

    channel: Channel
    day: date
    checked_at: datetime
    provider_lines: int
    ledger_lines: int
    differences: tuple[Difference, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not self.differences


def _per_order(lines: Iterable[LedgerEntry]) -> dict[str, LedgerEntry]:
    merged: dict[str, LedgerEntry] = {}
    for e in lines:
        was = merged.get(e.order_id)
        merged[e.order_id] = e if was is None else replace(was, amount_fen=was.amount_fen + e.amount_fen)
    return merged


def compare(statement: Sequence[StatementLine], ledger: Iterable[LedgerEntry]) -> list[Difference]:
    """The differences between a day's statement and the same channel's ledger lines of that day.

    Payments match on the order (out_trade_no), refunds on the refunded order: ParkPass refunds an order once and
    in full. Ledger refunds are negative; statements' amounts are positive."""
    # An order paying several bills books a line per bill: the provider sees one payment of their sum.
    paid_here = _per_order(e for e in ledger if e.amount_fen > 0)
    refunded_here = _per_order(e for e in ledger if e.amount_fen < 0)
    paid_there = {line.out_trade_no: line for line in statement if line.kind is LineKind.PAYMENT}
    refunded_there: dict[str, int] = {}
    for line in statement:
        if line.kind is LineKind.REFUND:
            refunded_there[line.out_trade_no] = refunded_there.get(line.out_trade_no, 0) + line.amount_fen
    # Paid and given back in full at the provider with nothing here (an Alipay QR code revoked just as it was
    # paid, a payment to an order closed here): in balance. Fulfilling it would hand out days nobody paid for.
    netted = {
        order_id
        for order_id, line in paid_there.items()
        if order_id not in paid_here and order_id not in refunded_here
        and refunded_there.get(order_id, 0) >= line.amount_fen
    }  # fmt: skip
    found: list[Difference] = []
    for order_id, line in paid_there.items():
        ours = paid_here.get(order_id)
        if order_id in netted:
            continue
        if ours is None:
            found.append(Difference(DifferenceKind.UNFULFILLED, order_id, None, line.amount_fen, line.transaction_id))
        elif ours.amount_fen != line.amount_fen:
            found.append(
                Difference(
                    DifferenceKind.AMOUNT_DIFFERS,
                    order_id,
                    ours.amount_fen,
                    line.amount_fen,
                    ours.transaction_id,
                    ours.lot_id,
                )
            )
    for order_id, ours in paid_here.items():
        if order_id not in paid_there:
            found.append(
                Difference(
                    DifferenceKind.NOT_AT_PROVIDER, order_id, ours.amount_fen, None, ours.transaction_id, ours.lot_id
                )
            )
    for order_id, theirs in refunded_there.items():
        mine = refunded_here.get(order_id)
        if order_id in netted:
            continue
        if mine is None:
            found.append(Difference(DifferenceKind.REFUND_NOT_HERE, order_id, None, theirs))
        elif -mine.amount_fen != theirs:
            found.append(
                Difference(DifferenceKind.AMOUNT_DIFFERS, order_id, -mine.amount_fen, theirs, lot_id=mine.lot_id)
            )
    for order_id, mine in refunded_here.items():
        if order_id not in refunded_there:
            found.append(
                Difference(DifferenceKind.REFUND_NOT_AT_PROVIDER, order_id, -mine.amount_fen, None, lot_id=mine.lot_id)
            )
    return sorted(found, key=lambda d: (d.kind.value, d.order_id))
