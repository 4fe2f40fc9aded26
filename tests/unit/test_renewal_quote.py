from dataclasses import replace
from datetime import date

import pytest

from domain.card import CardState
from domain.errors import InvalidLot, PackageNotFound
from domain.lot import RenewalMode
from domain.renewal import Refusal, quote
from tests.builders import a_card, a_lot, a_pause, days, months

TODAY = date(2026, 11, 23)
CONTINUOUS = a_lot()
CALENDAR = a_lot(mode=RenewalMode.CALENDAR_MONTH)


def test_renewal_of_active_card_continues_the_day_after_it_ends() -> None:
    q = quote(a_card(date(2026, 12, 3)), months(3), CONTINUOUS, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (date(2026, 12, 4), date(2027, 3, 3))
    assert q.allowed and q.reason is None
    assert q.amount_fen == 300_00


def test_renewal_on_the_expiry_day_itself_continues_without_a_gap() -> None:
    q = quote(a_card(TODAY), months(1), CONTINUOUS, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (date(2026, 11, 24), date(2026, 12, 23))


def test_renewal_of_lapsed_card_starts_today() -> None:
    q = quote(a_card(date(2026, 11, 22)), months(1), CONTINUOUS, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (TODAY, date(2026, 12, 22))


def test_renewal_of_a_card_marked_expired_with_paid_days_left_keeps_those_days() -> None:
    q = quote(a_card(date(2026, 12, 10), state=CardState.EXPIRED), months(1), CONTINUOUS, TODAY)
    assert q.new_valid_from == date(2026, 12, 11)


def test_first_payment_of_pending_card_starts_today() -> None:
    q = quote(a_card(None, state=CardState.PENDING), days(30), CONTINUOUS, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (TODAY, date(2026, 12, 22))


def test_paused_card_renews_after_its_current_end_for_a_whole_month_after_its_paid_end() -> None:
    # Paid through Dec 31; a 10-day pause from today moved its end to Jan 10.
    paused = replace(a_card(date(2027, 1, 10)), pauses=(a_pause(TODAY, date(2026, 12, 2)),))
    assert paused.state_on(TODAY) is CardState.PAUSED
    q = quote(paused, months(1), CONTINUOUS, TODAY)
    # The month is counted from the paid end (Dec 31 -> Jan 31) and moved by the pause's 10 days.
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 1, 11), date(2027, 2, 10))


def test_jan_31_plus_one_month_is_the_end_of_february() -> None:
    assert quote(a_card(date(2027, 1, 31)), months(1), CONTINUOUS, TODAY).new_valid_until == date(2027, 2, 28)
    assert quote(a_card(date(2028, 1, 31)), months(1), CONTINUOUS, TODAY).new_valid_until == date(2028, 2, 29)


def test_card_ending_on_feb_29_in_a_leap_year_keeps_month_ends() -> None:
    q = quote(a_card(date(2028, 2, 29)), months(1), CONTINUOUS, date(2028, 2, 1))
    assert q.new_valid_until == date(2028, 3, 31)
    q = quote(a_card(date(2028, 2, 29)), months(12), CONTINUOUS, date(2028, 2, 1))
    assert q.new_valid_until == date(2029, 2, 28)


def test_month_end_card_renewed_monthly_stays_on_month_ends() -> None:
    card = a_card(date(2027, 1, 31))
    ends = []
    for _ in range(14):
        q = quote(card, months(1), CONTINUOUS, TODAY)
        ends.append(q.new_valid_until)
        card = a_card(q.new_valid_until)
    assert ends[:4] == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    assert ends[-1] == date(2028, 3, 31)


def test_lapsed_card_starting_on_the_first_runs_to_a_month_end() -> None:
    q = quote(a_card(date(2027, 1, 10)), months(1), CONTINUOUS, date(2027, 2, 1))
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 2, 1), date(2027, 2, 28))


def test_three_months_from_a_card_ending_nov_30() -> None:
    assert quote(a_card(date(2026, 11, 30)), months(3), CONTINUOUS, TODAY).new_valid_until == date(2027, 2, 28)


def test_days_package_buys_exactly_that_many_days() -> None:
    q = quote(a_card(date(2026, 12, 31)), days(30), CONTINUOUS, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 1, 1), date(2027, 1, 30))
    assert q.amount_fen == 100_00


def test_max_date_exactly_reached_is_allowed() -> None:
    lot = a_lot(max_until=date(2027, 3, 3))
    q = quote(a_card(date(2026, 12, 3)), months(3), lot, TODAY)
    assert q.new_valid_until == date(2027, 3, 3)
    assert q.allowed and q.limit == date(2027, 3, 3)


def test_max_date_passed_by_one_day_is_refused_with_the_limit() -> None:
    lot = a_lot(max_until=date(2027, 3, 2))
    q = quote(a_card(date(2026, 12, 3)), months(3), lot, TODAY)
    assert not q.allowed
    assert q.reason is Refusal.EXCEEDS_MAX_RENEWAL_DATE
    assert q.limit == date(2027, 3, 2)
    # The owner still sees what it would have bought.
    assert q.new_valid_until == date(2027, 3, 3) and q.amount_fen == 300_00


def test_max_months_ahead_counts_from_today() -> None:
    lot = a_lot(max_months_ahead=12)
    card = a_card(date(2026, 12, 3))
    assert quote(card, months(3), lot, TODAY).allowed
    refused = quote(card, months(12), lot, TODAY)
    assert refused.reason is Refusal.EXCEEDS_MAX_RENEWAL_DATE
    assert refused.limit == date(2027, 11, 23)


def test_earlier_of_both_limits_wins() -> None:
    lot = a_lot(max_until=date(2027, 6, 30), max_months_ahead=3)
    assert quote(a_card(TODAY), months(1), lot, TODAY).limit == date(2027, 2, 23)
    lot = a_lot(max_until=date(2027, 1, 31), max_months_ahead=3)
    assert quote(a_card(TODAY), months(1), lot, TODAY).limit == date(2027, 1, 31)


def test_calendar_month_from_the_first_costs_the_package_price_and_ends_on_a_month_end() -> None:
    q = quote(a_card(date(2026, 11, 30)), months(3, 850_00), CALENDAR, TODAY)
    assert (q.new_valid_from, q.new_valid_until) == (date(2026, 12, 1), date(2027, 2, 28))
    assert q.amount_fen == 850_00


def test_calendar_month_prices_the_first_partial_month_by_the_day() -> None:
    # Lapsed, starting Jan 15: Jan 15-31 is 17 of 31 days at 300.00 a month (164.516... -> 164.52),
    # then all of February.
    q = quote(a_card(date(2026, 12, 1)), months(1), CALENDAR, date(2027, 1, 15))
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 1, 15), date(2027, 2, 28))
    assert q.amount_fen == 300_00 + 164_52


def test_calendar_month_partial_rate_is_per_month_of_the_package() -> None:
    # 3 months for 850.00 is 283.33... a month; Apr 21-30 is 10 of 30 days -> 94.444... -> 94.44.
    q = quote(a_card(date(2027, 4, 20)), months(3, 850_00), CALENDAR, date(2027, 4, 10))
    assert (q.new_valid_from, q.new_valid_until) == (date(2027, 4, 21), date(2027, 7, 31))
    assert q.amount_fen == 850_00 + 94_44


@pytest.mark.parametrize(("price_fen", "expected_partial"), [(3, 2), (5, 3), (1, 1)])
def test_calendar_month_proration_rounds_half_up_to_the_fen(price_fen: int, expected_partial: int) -> None:
    # Apr 16-30 is exactly half of April: 1.5 -> 2, 2.5 -> 3 (not banker's 2), 0.5 -> 1.
    q = quote(a_card(date(2027, 4, 15)), months(1, price_fen), CALENDAR, date(2027, 4, 1))
    assert q.amount_fen == price_fen + expected_partial


def test_calendar_month_lot_sells_day_packages_by_the_day() -> None:
    q = quote(a_card(date(2027, 4, 15)), days(10), CALENDAR, date(2027, 4, 1))
    assert (q.new_valid_from, q.new_valid_until, q.amount_fen) == (date(2027, 4, 16), date(2027, 4, 25), 100_00)


def test_disabled_package_is_not_allowed() -> None:
    q = quote(a_card(TODAY), months(1, enabled=False), CONTINUOUS, TODAY)
    assert (q.allowed, q.reason) == (False, Refusal.PACKAGE_DISABLED)


def test_lot_without_online_renewal_refuses_every_package() -> None:
    q = quote(a_card(TODAY), months(1), a_lot(online_renewal=False), TODAY)
    assert (q.allowed, q.reason) == (False, Refusal.ONLINE_RENEWAL_DISABLED)


def test_cancelled_card_cannot_be_renewed() -> None:
    q = quote(a_card(date(2026, 12, 3), state=CardState.CANCELLED), months(1), CONTINUOUS, TODAY)
    assert (q.allowed, q.reason) == (False, Refusal.CARD_CANCELLED)


def test_package_of_another_lot_is_not_found() -> None:
    with pytest.raises(PackageNotFound):
        quote(a_card(TODAY), months(1, lot_id="lot-2"), CONTINUOUS, TODAY)


def test_policy_refuses_a_non_positive_months_ahead() -> None:
    with pytest.raises(InvalidLot):
        a_lot(max_months_ahead=0)
