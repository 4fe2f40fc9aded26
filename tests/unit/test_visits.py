"""Passages paired into visits whatever order they arrive in; nothing dropped, anomalies flagged; occupancy never
negative."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.visits import Direction, Flag, Passage, occupancy, pair

T0 = datetime(2026, 12, 10, 2, tzinfo=UTC)


def passage(n: int, plate: str, direction: Direction, minutes: int, gate: str = "g1") -> Passage:
    return Passage(f"e{n}", gate, plate, direction, T0 + timedelta(minutes=minutes))


def test_entries_and_exits_pair_into_visits_and_anomalies_are_kept_flagged() -> None:
    passages = [
        passage(1, "粤B1", Direction.IN, 0),
        passage(2, "粤B2", Direction.OUT, 5),  # never seen coming in
        passage(3, "粤B1", Direction.OUT, 125),
        passage(4, "粤B3", Direction.IN, 10),
        passage(5, "粤B3", Direction.IN, 200),  # its exit was never reported
        passage(6, "粤B4", Direction.IN, 300),  # still inside
    ]
    visits = pair(passages)
    shown = [(v.plate, v.entered and v.entered.event_id, v.left and v.left.event_id, v.flag) for v in visits]
    assert shown == [
        ("粤B1", "e1", "e3", None),
        ("粤B2", None, "e2", Flag.NO_ENTRY),
        ("粤B3", "e4", None, Flag.NO_EXIT),
        ("粤B3", "e5", None, None),
        ("粤B4", "e6", None, None),
    ]
    assert occupancy(visits) == 2  # 粤B3 (its second entry) and 粤B4


def test_a_gate_s_late_upload_pairs_the_same_and_a_repeated_report_counts_once() -> None:
    ordered = [passage(n, f"粤B{n % 5}", Direction.IN if (n // 5) % 2 == 0 else Direction.OUT, n * 7)
               for n in range(20)]  # fmt: skip
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    assert pair(shuffled + ordered[:3]) == pair(ordered)


@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.booleans(), st.integers(0, 10_000)), max_size=40))
def test_every_passage_is_in_one_visit_and_occupancy_is_never_negative(
    events: list[tuple[str, bool, int]],
) -> None:
    passages = [passage(n, plate, Direction.IN if inward else Direction.OUT, m) for n, (plate, inward, m) in
                enumerate(events)]  # fmt: skip
    visits = pair(passages)
    seen = [p.event_id for v in visits for p in (v.entered, v.left) if p is not None]
    assert sorted(seen) == sorted(p.event_id for p in passages)
    assert 0 <= occupancy(visits) <= len({p.plate for p in passages})
