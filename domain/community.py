"""A community (小区) of a property company: its meters and their readings, vacancy applications, and what a bill
run needs from them (each unit's metered use, its share of a shared meter, its approved vacant days). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.bill_run import FeeItem, FeeKind, RunInputs, Unit, period_start
from domain.calendar import add_months
from domain.errors import InvalidInput
from domain.fee_rules import ReadingRefused, Stretch, metered_use, split_exactly, tiered_fee
from domain.lot import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class Community:
    id: str
    tenant_id: str
    name: str
    lot_ids: tuple[str, ...] = ()
    timezone: str = DEFAULT_TIMEZONE

    def today(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.timezone)).date()


class Split(StrEnum):
    AREA = "area"
    EQUAL = "equal"


@dataclass(frozen=True)
class Meter:
    id: str
    community_id: str
    kind: str
    """water, electricity, gas: what a metered fee item prices."""
    unit_id: str | None = None
    """A unit's own meter; None for a shared (master) meter."""
    split: Split | None = None
    unit_ids: tuple[str, ...] = ()
    """A master meter's units: its use less its sub-meters' is split over them."""
    sub_meter_ids: tuple[str, ...] = ()
    digits: int | None = None
    """The register's whole digits (a 5-digit water meter turns over at 99999): a rollover needs them."""


class ReadingKind(StrEnum):
    NORMAL = "normal"
    REPLACEMENT = "replacement"
    ROLLOVER = "rollover"


@dataclass(frozen=True)
class Reading:
    meter_id: str
    day: date
    reading: Decimal
    kind: ReadingKind
    use: Decimal
    """Since the reading before (0 for a meter's first: it is where counting starts)."""
    old_final: Decimal | None = None


def next_reading(
    meter_id: str,
    last: Reading | None,
    day: date,
    reading: Decimal,
    kind: ReadingKind,
    old_final: Decimal | None,
    digits: int | None = None,
    today: date | None = None,
) -> Reading:
    """A new reading after `last`: a reading below the last is refused unless it is a replacement (with the old
    meter's final reading) or a rollover of a meter whose digits are known; none from the future."""
    if today is not None and day > today:
        raise InvalidInput("reading_future", date=day.isoformat())
    if last is None:
        return Reading(meter_id, day, reading, kind, Decimal(0), old_final)
    if day <= last.day:
        raise InvalidInput("reading_date", date=day.isoformat(), last=last.day.isoformat())
    if kind is ReadingKind.ROLLOVER:
        if digits is None:
            raise InvalidInput("rollover_digits")
        if not reading < last.reading < Decimal(10) ** digits:
            raise InvalidInput("not_a_rollover", last=str(last.reading))
        return Reading(meter_id, day, reading, kind, Decimal(10) ** digits - last.reading + reading, old_final)
    try:
        use = metered_use(last.reading, reading, kind.value, old_final)
    except ReadingRefused as e:
        last_text = str(last.reading)
        if str(e) == "reading_below_last":
            raise InvalidInput("reading_below_last", last=last_text) from None
        if str(e) == "replacement_needs_old_final":
            raise InvalidInput("replacement_needs_old_final", last=last_text) from None
        if str(e) == "not_a_rollover":
            raise InvalidInput("not_a_rollover", last=last_text) from None
        raise InvalidInput("reading_kind") from None
    return Reading(meter_id, day, reading, kind, use, old_final)


def period_use(readings: Sequence[Reading], period: str, months: int = 1) -> Decimal:
    """Use read within the period's months (each reading counts the use since the one before)."""
    first = period_start(period)
    end = add_months(first, months)
    return sum((r.use for r in readings if first <= r.day < end), Decimal(0))


class VacancyState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Vacancy:
    id: str
    community_id: str
    unit_id: str
    first: date
    last: date
    reason: str
    state: VacancyState = VacancyState.PENDING


def needed_meters(meters: Sequence[Meter], unit_ids: set[str]) -> list[Meter]:
    """The meters whose readings bill `unit_ids`: their own meters, and the shared meters they share with their
    sub-meters (a chunk of a run reads these, not every meter of the community)."""
    shared = [m for m in meters if m.unit_id is None and unit_ids & set(m.unit_ids)]
    subs = {s for m in shared for s in m.sub_meter_ids}
    return [m for m in meters if m.unit_id in unit_ids or m in shared or m.id in subs]


def run_inputs(
    item: FeeItem,
    period: str,
    units: Sequence[Unit],
    meters: Sequence[Meter],
    readings: Mapping[str, Sequence[Reading]],
    vacancies: Sequence[Vacancy],
) -> RunInputs:
    """What a run of `item` for `period` needs: each unit's use on its own meter of the item's kind, its share of each
    shared meter of that kind (the master's use less its sub-meters', priced on the item's bands as one use and split
    so the shares add up), and its approved vacant days."""
    by_id = {u.id: u for u in units}
    use: dict[str, Decimal] = {}
    shared: dict[str, int] = {}
    if item.kind is FeeKind.METERED:
        of_kind = [m for m in meters if m.kind == item.meter]
        for meter in of_kind:
            if meter.unit_id is not None:
                used = period_use(readings.get(meter.id, ()), period, item.cycle_months)
                use[meter.unit_id] = use.get(meter.unit_id, Decimal(0)) + used
        for meter in of_kind:
            if meter.unit_id is not None or not meter.unit_ids:
                continue
            master = period_use(readings.get(meter.id, ()), period, item.cycle_months)
            subs = sum((period_use(readings.get(s, ()), period, item.cycle_months) for s in meter.sub_meter_ids),
                       Decimal(0))  # fmt: skip
            cost = tiered_fee(max(Decimal(0), master - subs), item.bands_on(period_start(period)))
            sharing = [by_id[u] for u in meter.unit_ids if u in by_id]
            if not cost or not sharing:
                continue
            order = [u.id for u in sorted(sharing, key=lambda u: (u.building, u.number))]
            weights = {u.id: (u.area_hundredths if meter.split is Split.AREA else 1) for u in sharing}
            for unit_id, fen in split_exactly(cost, weights, order).items():
                shared[unit_id] = shared.get(unit_id, 0) + fen
    vacant: dict[str, list[Stretch]] = {}
    for v in vacancies:
        if v.state is VacancyState.APPROVED:
            vacant.setdefault(v.unit_id, []).append(Stretch(v.first, v.last))
    return RunInputs(use=use, shared_fen=shared, vacant=vacant)


def hundredths(text: str, field: str) -> int:
    """ "88.50" -> 8850: an area (or a reading) in hundredths; never a float."""
    value = decimal_text(text, field)
    return int(value * 100)


_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


FIELD_NAMES = {"area": "建筑面积", "reading": "读数", "old_final": "旧表末次读数"}
"""How the Chinese messages name a field people type a number into."""


def decimal_text(text: object, field: str, places: int = 2) -> Decimal:
    """A non-negative decimal given as a string with at most `places` decimals."""
    refused = InvalidInput("decimal", field=field, name=FIELD_NAMES.get(field, field))
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text.strip()):
        raise refused
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise refused from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value < 0 or (isinstance(exponent, int) and -exponent > places):
        raise refused
    return value


def rate_text(text: object, field: str) -> Decimal:
    """A share from 0 to 1 as a decimal string ("0.0005", "0.30")."""
    try:
        value = decimal_text(text, field, places=6)
    except InvalidInput:
        raise InvalidInput("rate", field=field) from None
    if value > 1:
        raise InvalidInput("rate", field=field)
    return value
