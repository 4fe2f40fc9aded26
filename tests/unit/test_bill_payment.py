"""Bills as paid: the late fee of the day with the rule cited, a prepaid balance, arrears and the collection rate."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domain.bill_payment import arrears, collection, paid_from_balance, payable
from domain.bill_run import Bill, BillState
from domain.fee_rules import LateFeeRule

RULE = LateFeeRule(Decimal("0.0005"), 15, Decimal("0.30"))


def bill(n: int, amount: int, due: date, state: BillState = BillState.UNPAID, unit: str = "u101") -> Bill:
    return Bill(f"b{n}", "c1", unit, "fee-area", "2027-01", (), amount, due, state)


def test_the_late_fee_of_the_day_of_payment_is_its_own_line_citing_the_rule() -> None:
    owed = payable(bill(1, 22_125, date(2027, 1, 31)), RULE, date(2027, 3, 17))
    assert (owed.principal_fen, owed.late_fee_fen, owed.total_fen, owed.late_days) == (22_125, 332, 22_457, 30)
    assert owed.late_fee_text() == "滞纳金：到期后宽限 15 天，已超过 30 天，每天 0.05%（最多本金的 30%）"
    assert owed.late_fee_text("en") == (
        "Late fee: 30 days past the 15 days' grace after the due date, at 0.05% a day (at most 30% of the amount)"
    )
    on_time = payable(bill(1, 22_125, date(2027, 1, 31)), RULE, date(2027, 2, 10))
    assert (on_time.late_fee_fen, on_time.late_fee_text()) == (0, "")
    assert payable(bill(1, 22_125, date(2027, 1, 31)), None, date(2030, 1, 1)).late_fee_fen == 0  # no contract


def test_a_balance_pays_whole_bills_oldest_due_first_and_stops_at_one_that_does_not_fit() -> None:
    bills = [bill(1, 5_000, date(2027, 2, 28)), bill(2, 3_000, date(2027, 1, 31)), bill(3, 1_000, date(2027, 3, 31))]
    assert paid_from_balance(8_500, bills) == (["b2", "b1"], 500)
    assert paid_from_balance(2_000, bills) == ([], 2_000)  # the oldest does not fit: no newer one goes first
    paid_one = [replace(bills[1], state=BillState.PAID), bills[0], bills[2]]
    assert paid_from_balance(6_000, paid_one) == (["b1", "b3"], 0)


def test_arrears_count_unpaid_bills_past_due_per_unit_with_late_fees_as_of_today() -> None:
    bills = [
        bill(1, 22_125, date(2027, 1, 31)),
        bill(2, 9_300, date(2027, 2, 28)),
        bill(3, 100, date(2027, 1, 31), unit="u102"),
        bill(4, 50_000, date(2027, 1, 31), BillState.PAID, unit="u103"),
        bill(5, 70_000, date(2027, 4, 30), unit="u104"),  # not due yet
    ]
    found = arrears(bills, {"fee-area": RULE}, date(2027, 3, 17))
    assert [(a.unit_id, a.bill_ids, a.principal_fen, a.late_fee_fen, a.days_overdue) for a in found] == [
        ("u101", ("b1", "b2"), 31_425, 332 + 9, 45),  # b2: 2 days past its grace, 9.3 -> 9
        ("u102", ("b3",), 100, 2, 45),  # 100 x 0.0005 x 30 = 1.5 -> 2
    ]


def test_the_collection_rate_is_paid_over_published_per_fee_item() -> None:
    bills = [
        bill(1, 30_000, date(2027, 1, 31), BillState.PAID),
        bill(2, 10_000, date(2027, 1, 31)),
        bill(3, 99_999, date(2027, 1, 31), BillState.DRAFT),
        bill(4, 99_999, date(2027, 1, 31), BillState.CANCELLED),
    ]
    [c] = collection(bills, "2027-01")
    assert (c.billed_fen, c.paid_fen, c.rate) == (40_000, 30_000, Fraction(3, 4))
    assert collection(bills, "2027-02") == []


@given(
    balance=st.integers(0, 1_000_000),
    amounts=st.lists(st.integers(1, 200_000), max_size=12),
    days=st.lists(st.integers(0, 400), min_size=12, max_size=12),
)
def test_a_balance_never_goes_below_zero_and_pays_a_prefix_of_the_due_order(
    balance: int, amounts: list[int], days: list[int]
) -> None:
    start = date(2027, 1, 1)
    bills = [bill(n, a, start + timedelta(days=d)) for n, (a, d) in enumerate(zip(amounts, days, strict=False))]
    paid, left = paid_from_balance(balance, bills)
    assert left >= 0
    assert sum(b.amount_fen for b in bills if b.id in paid) + left == balance
    order = [b.id for b in sorted(bills, key=lambda b: (b.due_date, b.id))]
    assert order[: len(paid)] == paid
