"""What a published bill costs on a day (its late fee as of then), what a prepaid balance pays, what is in arrears
and how much of a period was collected. Pure; amounts in fen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from domain.bill_run import Bill, BillState
from domain.fee_rules import LateFeeRule, late_days, late_fee

OWED = (BillState.UNPAID,)
PUBLISHED = (BillState.UNPAID, BillState.PAID)
"""What a collection rate counts: drafts were never asked for, cancelled and refunded bills are not owed."""


@dataclass(frozen=True)
class Payable:
    bill_id: str
    principal_fen: int
    late_fee_fen: int
    late_days: int
    rule: LateFeeRule | None

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.late_fee_fen

    def late_fee_text(self, lang: str = "zh") -> str:
        """The late fee's line as the owner reads it before paying, citing the contract's rule."""
        if self.rule is None or not self.late_fee_fen:
            return ""
        r = self.rule
        if lang == "en":
            return (
                f"Late fee: {self.late_days} days past the {r.grace_days} days' grace after the due date, at "
                f"{_percent(r.daily_rate)} a day (at most {_percent(r.cap)} of the amount)"
            )
        return (
            f"滞纳金：到期后宽限 {r.grace_days} 天，已超过 {self.late_days} 天，每天 {_percent(r.daily_rate)}"
            f"（最多本金的 {_percent(r.cap)}）"
        )


def _percent(share: Decimal) -> str:
    """0.0005 -> "0.05%", 0.30 -> "30%"."""
    return f"{format((share * 100).normalize(), 'f')}%"


def payable(bill: Bill, rule: LateFeeRule | None, on: date) -> Payable:
    """The bill as paid on `on`: its amount and the late fee of that day (frozen into the bill once paid)."""
    if bill.state is not BillState.UNPAID:
        raise ValueError("only an unpaid bill is payable")
    if bill.waived is not None:
        rule = None
    days = late_days(on, bill.due_date, rule.grace_days) if rule else 0
    return Payable(bill.id, bill.amount_fen, late_fee(bill.amount_fen, bill.due_date, on, rule), days, rule)


def paid_from_balance(balance_fen: int, bills: Sequence[Bill]) -> tuple[list[str], int]:
    """Whole unpaid bills paid from a prepaid balance, oldest due first, never below zero: it stops at the first
    that does not fit, so a newer bill is never paid before an older one. (The bills paid, what is left.)"""
    if balance_fen < 0:
        raise ValueError("a balance is never negative")
    paid, left = [], balance_fen
    for bill in sorted((b for b in bills if b.state is BillState.UNPAID), key=lambda b: (b.due_date, b.id)):
        if bill.amount_fen > left:
            break
        paid.append(bill.id)
        left -= bill.amount_fen
    return paid, left


@dataclass(frozen=True)
class Arrears:
    unit_id: str
    bill_ids: tuple[str, ...]
    principal_fen: int
    late_fee_fen: int
    days_overdue: int
    """Of its oldest bill, since the due date."""


def arrears(bills: Sequence[Bill], rules: Mapping[str, LateFeeRule | None], today: date) -> list[Arrears]:
    """Each unit's unpaid bills past due (欠费), with late fees as of today (`rules` by fee item), most owed first."""
    by_unit: dict[str, list[Bill]] = {}
    for bill in bills:
        if bill.state in OWED and bill.due_date < today:
            by_unit.setdefault(bill.unit_id, []).append(bill)
    found = [
        Arrears(
            unit,
            tuple(sorted(b.id for b in owed)),
            sum(b.amount_fen for b in owed),
            sum(late_fee(b.amount_fen, b.due_date, today, _rule(b, rules)) for b in owed),
            (today - min(b.due_date for b in owed)).days,
        )
        for unit, owed in by_unit.items()
    ]
    return sorted(found, key=lambda a: (-(a.principal_fen + a.late_fee_fen), a.unit_id))


def _rule(bill: Bill, rules: Mapping[str, LateFeeRule | None]) -> LateFeeRule | None:
    return None if bill.waived else rules.get(bill.fee_item_id)


@dataclass(frozen=True)
class Collection:
    fee_item_id: str
    billed_fen: int
    paid_fen: int

    @property
    def rate(self) -> Fraction:
        """收缴率: paid over published (1 when nothing was billed: nothing is outstanding)."""
        return Fraction(self.paid_fen, self.billed_fen) if self.billed_fen else Fraction(1)


def collection(bills: Sequence[Bill], period: str) -> list[Collection]:
    """Per fee item, what the period's published bills asked for and what of it was paid."""
    billed: dict[str, int] = {}
    paid: dict[str, int] = {}
    for bill in bills:
        if bill.period != period or bill.state not in PUBLISHED:
            continue
        billed[bill.fee_item_id] = billed.get(bill.fee_item_id, 0) + bill.amount_fen
        if bill.state is BillState.PAID:
            paid[bill.fee_item_id] = paid.get(bill.fee_item_id, 0) + bill.amount_fen
    return [Collection(item, billed[item], paid.get(item, 0)) for item in sorted(billed)]
