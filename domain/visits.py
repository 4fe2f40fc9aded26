"""Visits: a lot's passages (each entry and exit a gate reported) paired into stays, whatever order they arrived
in (a gate offline uploads later; each event carries its own time). Nothing is dropped: an exit with no entry, or
a second entry with no exit between, is kept as a visit flagged for the office. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class Passage:
    event_id: str
    """The gate's own id of the event: a second report of it is the same passage."""
    gate_id: str
    plate: str
    direction: Direction
    at: datetime


class Flag(StrEnum):
    NO_ENTRY = "no_entry"
    """An exit with no entry before it (a car let in by hand, an entry the gate never reported)."""
    NO_EXIT = "no_exit"
    """An entry followed by another entry of the plate (an exit never reported)."""


@dataclass(frozen=True)
class Visit:
    plate: str
    entered: Passage | None
    left: Passage | None
    flag: Flag | None = None

    @property
    def inside(self) -> bool:
        """Still in the lot (an open stay)."""
        return self.entered is not None and self.left is None and self.flag is None

    @property
    def first(self) -> Passage:
        """Its entry, or its exit for an exit with no entry."""
        found = self.entered or self.left
        assert found is not None
        return found

    @property
    def id(self) -> str:
        return f"visit-{self.first.gate_id}-{self.first.event_id}"


def pair(passages: Iterable[Passage]) -> list[Visit]:
    """The passages' visits, by plate and time; a passage reported twice (same gate and event id) counts once."""
    unique = {(p.gate_id, p.event_id): p for p in passages}
    visits: list[Visit] = []
    open_: dict[str, Passage] = {}
    for p in sorted(unique.values(), key=lambda p: (p.at, p.direction is Direction.OUT, p.event_id)):
        if p.direction is Direction.IN:
            earlier = open_.pop(p.plate, None)
            if earlier is not None:
                visits.append(Visit(p.plate, earlier, None, Flag.NO_EXIT))
            open_[p.plate] = p
        else:
            entry = open_.pop(p.plate, None)
            visits.append(Visit(p.plate, entry, p, None if entry is not None else Flag.NO_ENTRY))
    visits += [Visit(plate, entry, None) for plate, entry in open_.items()]
    return sorted(visits, key=lambda v: (v.first.at, v.plate))


def occupancy(visits: Iterable[Visit]) -> int:
    """Cars inside now by the passages (never negative: an exit with no entry frees nothing)."""
    return sum(v.inside for v in visits)
