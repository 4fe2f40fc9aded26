"""The barrier's decisions and display texts; property-fee arrears only ever remind (Civil Code art. 944)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.barrier import BarrierPolicy, Car, ExpiredCard, Kind, UnpaidVisit, entry, exit_, spaces_text

TODAY = date(2026, 12, 10)
NOW = datetime(2026, 12, 10, 4, tzinfo=UTC)
POLICY = BarrierPolicy()


def test_entries_by_kind_with_their_display_text() -> None:
    card = Car("粤B12345", card_until=date(2026, 12, 15))
    assert entry(card, TODAY, 3, POLICY) == entry(card, TODAY, 0, POLICY)  # a card holder enters a full lot
    full_lot = entry(card, TODAY, 0, POLICY)
    assert (full_lot.allow, full_lot.display) == (True, "粤B12345 月卡剩余5天")
    assert entry(card, TODAY, 0, POLICY, "en").display == "粤B12345 card: 5 days left"
    visitor = Car("粤B99999")
    assert entry(visitor, TODAY, 1, POLICY).kind is Kind.VISITOR and entry(visitor, TODAY, 1, POLICY).allow
    full = entry(visitor, TODAY, 0, POLICY)
    assert (full.allow, full.display) == (False, "满位")
    assert entry(Car("粤B1", exempt=True), TODAY, 0, POLICY).allow
    blocked = entry(Car("粤B2", blacklisted=True, card_until=date(2027, 1, 1)), TODAY, 5, POLICY)
    assert (blocked.allow, blocked.kind) == (False, Kind.BLACKLISTED)
    expired = Car("粤B3", card_until=date(2026, 12, 9))
    assert entry(expired, TODAY, 1, POLICY).kind is Kind.VISITOR  # the default: treated as a visitor
    refused = entry(expired, TODAY, 1, replace(POLICY, expired_card=ExpiredCard.REFUSE))
    assert (refused.allow, refused.display) == (False, "粤B3 月卡已过期 请续费")
    owing = Car("粤B4", owes_visits_fen=1_500)
    assert entry(owing, TODAY, 1, POLICY).display == "粤B4 临时车 欢迎光临 有未缴停车费15.00元"
    assert not entry(owing, TODAY, 1, replace(POLICY, unpaid_visit=UnpaidVisit.REFUSE)).allow


def test_a_card_holder_with_property_fee_arrears_is_admitted_with_the_reminder() -> None:
    owes = entry(Car("粤B5", card_until=date(2026, 12, 31), property_arrears=True), TODAY, 0, POLICY)
    assert owes.allow and owes.display == "粤B5 月卡剩余21天 物业费已欠缴 请及时缴纳"
    assert owes.remind == "物业费已欠缴 请及时缴纳"


def test_a_visitor_leaves_once_paid_within_the_window_and_owes_the_difference_after_it() -> None:
    stay = timedelta(hours=2, minutes=15)
    unpaid = exit_(Car("粤B6"), TODAY, stay, 1_500, 0, None, NOW, POLICY)
    assert (unpaid.allow, unpaid.display, unpaid.fee_fen) == (False, "临时车 停车2小时15分 应缴15.00元", 1_500)
    paid_at = NOW - timedelta(minutes=10)
    assert exit_(Car("粤B6"), TODAY, stay, 2_000, 1_500, paid_at, NOW, POLICY).allow  # in the window
    late = exit_(Car("粤B6"), TODAY, stay, 2_000, 1_500, NOW - timedelta(minutes=16), NOW, POLICY)
    assert (late.allow, late.fee_fen) == (False, 500)
    assert exit_(Car("粤B7"), TODAY, timedelta(minutes=10), 0, 0, None, NOW, POLICY).allow  # a free stay
    assert spaces_text(3) == "余位 3" and spaces_text(0) == "满位"


@given(
    card_days=st.none() | st.integers(-5, 30),
    exempt=st.booleans(),
    blacklisted=st.booleans(),
    owes=st.integers(0, 5_000),
    free=st.integers(0, 3),
    expired=st.sampled_from(ExpiredCard),
    unpaid=st.sampled_from(UnpaidVisit),
)
def test_property_fee_arrears_never_close_the_barrier(
    card_days: int | None, exempt: bool, blacklisted: bool, owes: int, free: int, expired: ExpiredCard,
    unpaid: UnpaidVisit,
) -> None:  # fmt: skip
    until = TODAY + timedelta(days=card_days) if card_days is not None else None
    car = Car("粤B8", until, exempt, blacklisted, owes)
    policy = BarrierPolicy(expired, unpaid)
    clear, owing = entry(car, TODAY, free, policy), entry(replace(car, property_arrears=True), TODAY, free, policy)
    assert owing.allow == clear.allow and owing.kind == clear.kind
    out_clear = exit_(car, TODAY, timedelta(hours=1), owes, 0, None, NOW, policy)
    out_owing = exit_(replace(car, property_arrears=True), TODAY, timedelta(hours=1), owes, 0, None, NOW, policy)
    assert out_owing.allow == out_clear.allow
