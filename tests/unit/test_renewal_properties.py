"""Properties of the renewal rules over many cards, packages, policies and days."""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import is_month_end
from domain.card import Card, CardState
from domain.lot import Lot, RenewalMode
from domain.package import DurationUnit, Package
from domain.renewal import pause_ahead, quote
from tests.builders import a_card, a_lot, a_pause, days, months

todays = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))
packages = st.one_of(
    st.builds(months, st.integers(1, 24), st.integers(1, 10_000_00)),
    st.builds(days, st.integers(1, 400), st.integers(1, 10_000_00)),
)
lots = st.builds(
    a_lot,
    mode=st.sampled_from(RenewalMode),
    max_until=st.none() | st.dates(min_value=date(2024, 1, 1), max_value=date(2036, 12, 31)),
    max_months_ahead=st.none() | st.integers(1, 36),
)


@st.composite
def cards_on(draw: st.DrawFn, today: date) -> Card:
    state = draw(st.sampled_from([CardState.ACTIVE, CardState.PAUSED, CardState.EXPIRED, CardState.PENDING]))
    if state is CardState.PENDING:
        return a_card(None, state=state)
    ends = today + timedelta(days=draw(st.integers(-400, 800)))
    if state is CardState.PAUSED:  # paused is read from a pause over today, never stored
        return replace(a_card(ends), pauses=(a_pause(today, today),))
    return a_card(ends, state=state)


@st.composite
def situations(draw: st.DrawFn) -> tuple[Card, Package, Lot, date]:
    today = draw(todays)
    return draw(cards_on(today)), draw(packages), draw(lots), today


@given(situations())
def test_a_renewal_never_shortens_a_card(s: tuple[Card, Package, Lot, date]) -> None:
    card, package, lot, today = s
    q = quote(card, package, lot, today)
    assert q.new_valid_from <= q.new_valid_until
    assert q.new_valid_from >= today
    if card.valid_until is not None:
        assert q.new_valid_until > card.valid_until


@given(situations())
def test_a_renewal_never_leaves_a_gap_for_a_running_card(s: tuple[Card, Package, Lot, date]) -> None:
    card, package, lot, today = s
    q = quote(card, package, lot, today)
    if card.valid_until is not None and card.valid_until >= today:
        assert q.new_valid_from == card.valid_until + timedelta(days=1)
    else:
        assert q.new_valid_from == today


@given(situations())
def test_an_allowed_renewal_never_passes_the_max_date(s: tuple[Card, Package, Lot, date]) -> None:
    card, package, lot, today = s
    q = quote(card, package, lot, today)
    assert q.limit == lot.policy.max_renewal_date(today)
    if q.allowed and q.limit is not None:
        assert q.new_valid_until <= q.limit
    if q.limit is not None and q.new_valid_until > q.limit:
        assert not q.allowed


@given(situations())
def test_month_ends_are_kept(s: tuple[Card, Package, Lot, date]) -> None:
    card, package, lot, today = s
    q = quote(card, package, lot, today)
    if package.duration.unit is not DurationUnit.MONTHS:
        return
    # A pause still to run moved the end by its days: the month-end chain is the paid one, moved by as much.
    shift = pause_ahead(card, today) if q.new_valid_from > today else timedelta(0)
    if lot.policy.mode is RenewalMode.CALENDAR_MONTH or is_month_end(q.new_valid_from - timedelta(days=1) - shift):
        assert is_month_end(q.new_valid_until - shift)


@given(situations())
def test_the_price_is_the_package_price_plus_at_most_one_prorated_month(s: tuple[Card, Package, Lot, date]) -> None:
    card, package, lot, today = s
    q = quote(card, package, lot, today)
    extra = q.amount_fen - package.price_fen
    if lot.policy.mode is RenewalMode.CALENDAR_MONTH and package.duration.unit is DurationUnit.MONTHS:
        monthly = -(-package.price_fen // package.duration.count)
        assert 0 <= extra <= monthly
        shift = pause_ahead(card, today) if q.new_valid_from > today else timedelta(0)
        if (q.new_valid_from - shift).day == 1:  # priced from where the paid period ends
            assert extra == 0
    else:
        assert extra == 0


@given(situations(), st.integers(1, 6))
def test_renewing_in_steps_reaches_the_same_end_as_at_once_for_continuous_day_packages(
    s: tuple[Card, Package, Lot, date], steps: int
) -> None:
    card, _, lot, today = s
    lot = a_lot()
    step = days(7)
    for _ in range(steps):
        q = quote(card, step, lot, today)
        card = a_card(q.new_valid_until, valid_from=card.valid_from or q.new_valid_from)
    start = quote(a_card(None, state=CardState.PENDING), step, lot, today).new_valid_from
    if s[0].valid_until is not None and s[0].valid_until >= today:
        start = s[0].valid_until + timedelta(days=1)
    assert card.valid_until == start + timedelta(days=7 * steps - 1)
