"""Door-to-door collection, pure: slots from a community's hours in its zone, the cut-off for changing a booking,
room in a slot, the collector's route (slot by slot, the nearest building next: measured against the order the
bookings came in), and a collector's cash in hand through a handover with a difference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collection import (
    Booking,
    BookingState,
    Building,
    CollectionHours,
    Stop,
    Window,
    changeable,
    route,
    slot_free,
    slots_on,
    walked,
)
from domain.door import CashEntry, CashMove, cash_in_hand, hand_over

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
HOURS = CollectionHours("c1")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def test_weekday_evenings_and_weekend_days_make_half_hour_slots_in_the_community_s_zone() -> None:
    tuesday = slots_on(HOURS, date(2026, 12, 1), ZONE)
    assert [s.starts for s in tuesday] == [at(1, 19), at(1, 19, 30), at(1, 20), at(1, 20, 30)]
    assert tuesday[0].starts.astimezone(UTC) == datetime(2026, 12, 1, 11, tzinfo=UTC)
    saturday = slots_on(HOURS, date(2026, 12, 5), ZONE)
    assert len(saturday) == 6 + 8 and saturday[6].starts == at(5, 14)
    hourly = CollectionHours("c1", (Window(1, time(19), time(20, 45)),), slot_minutes=60)
    assert [s.starts for s in slots_on(hourly, date(2026, 12, 1), ZONE)] == [at(1, 19)]  # a part slot is none
    with pytest.raises(ValueError):
        Window(1, time(21), time(19))


def test_an_owner_changes_a_booking_up_to_the_cut_off_and_a_slot_takes_its_visits() -> None:
    booking = Booking("b1", "c1", "u1", "o1", at(1, 19, 30))
    assert changeable(booking, HOURS, at(1, 17, 30)) and not changeable(booking, HOURS, at(1, 17, 31))
    assert not changeable(booking.__class__(**{**booking.__dict__, "state": BookingState.COLLECTED}), HOURS,
                          at(1, 10))  # fmt: skip
    two = [Booking(f"b{n}", "c1", f"u{n}", "o1", at(1, 19, 30)) for n in range(2)]
    assert not slot_free(two, at(1, 19, 30), HOURS, collectors=1)
    assert slot_free(two, at(1, 19, 30), HOURS, collectors=2) and slot_free(two, at(1, 20), HOURS, collectors=1)


BUILDINGS = {"1栋": Building("1栋", 0, 0), "3栋": Building("3栋", 200, 0), "5栋": Building("5栋", 20, 10)}


def stop(n: int, slot: datetime, building: str) -> Stop:
    return Stop(Booking(f"b{n}", "c1", f"u{n}", "o1", slot), BUILDINGS[building])


def test_an_evening_of_six_bookings_across_three_buildings_walks_less_than_the_booking_order() -> None:
    came_in = [
        stop(1, at(1, 19), "3栋"), stop(2, at(1, 19), "1栋"), stop(3, at(1, 19), "5栋"),
        stop(4, at(1, 19, 30), "1栋"), stop(5, at(1, 19, 30), "3栋"), stop(6, at(1, 19, 30), "5栋"),
    ]  # fmt: skip
    office = BUILDINGS["1栋"]
    planned = route(came_in, start=office)
    assert [s.booking.id for s in planned] == ["b2", "b3", "b1", "b5", "b6", "b4"]
    assert [s.booking.slot for s in planned] == sorted(s.booking.slot for s in came_in)  # slots in time order
    assert walked(planned, office) < walked(came_in, office)
    assert (round(walked(planned, office)), round(walked(came_in, office))) == (405, 825)  # about half


@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(sorted(BUILDINGS))), min_size=0, max_size=12))
def test_a_route_visits_every_booking_once_slot_by_slot(picks: list[tuple[int, str]]) -> None:
    stops = [stop(n, at(1, 19) + timedelta(minutes=30 * slot), b) for n, (slot, b) in enumerate(picks)]
    planned = route(stops)
    assert sorted(s.booking.id for s in planned) == sorted(s.booking.id for s in stops)
    assert [s.booking.slot for s in planned] == sorted(s.booking.slot for s in stops)


def test_a_collector_s_cash_in_hand_and_a_handover_with_a_difference() -> None:
    entries = [
        CashEntry("c1", "wang", CashMove.COLLECTED, 22_125, at(1, 19, 10)),
        CashEntry("c2", "wang", CashMove.COLLECTED, 30_000, at(1, 19, 40)),
        CashEntry("c3", "li", CashMove.COLLECTED, 5_000, at(1, 19, 20)),
    ]
    assert cash_in_hand(entries, "wang") == 52_125
    handover = hand_over("h1", "wang", 52_125, "cashier@t1.cn", 52_000, at(1, 21, 30), "admin:cashier@t1.cn", "k1")
    [entry] = [c.entry for c in handover.cash]
    assert (entry.fen, entry.counted_fen, entry.difference_fen) == (52_125, 52_000, -125)
    assert [(m.collector, m.fen) for m in handover.custody] == [("wang", -52_125)]  # never below zero (its error)
    after = [*entries, entry]
    assert cash_in_hand(after, "wang") == 0 and cash_in_hand(after, "li") == 5_000
    with pytest.raises(ValueError):
        CashEntry("c4", "wang", CashMove.COLLECTED, 0, at(1, 19))
