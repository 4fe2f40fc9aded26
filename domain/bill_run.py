"""A bill run: the draft bills of a period for chosen fee items, one per (fee item, unit, period) however often it
runs. Each bill's lines add up to its amount exactly; the amount is its exact sum rounded once, half up.

Pure: the caller reads the units, the fee items with their price histories, each unit's metered use and shared
share, the approved vacancies and the bills the period has already; storage makes a bill id unique.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from domain.calendar import month_end
from domain.fee_rules import (
    Band,
    BandStretch,
    LateFeeRule,
    PricePoint,
    Stretch,
    exact_area_fee,
    half_up,
    period_days,
    prorated_tiered_charges,
    tiered_charges,
)
from domain.money import yuan_text


class UnitState(StrEnum):
    OCCUPIED = "occupied"
    VACANT = "vacant"
    UNDELIVERED = "undelivered"
    """Not handed over yet: the developer pays, no bill goes to the unit."""


@dataclass(frozen=True)
class Unit:
    id: str
    community_id: str
    building: str
    number: str
    area_hundredths: int
    state: UnitState = UnitState.OCCUPIED
    owners: tuple[str, ...] = ()
    """The owners' phones as the office may see them (masked: 139****0001); the numbers are kept only as
    fingerprints, to find an owner's units."""


class FeeKind(StrEnum):
    AREA = "area"
    FIXED = "fixed"
    METERED = "metered"


class FeeCategory(StrEnum):
    """What a receipt groups a fee under: the property's own fee (物业费), a parking space's (车位费), or money
    collected on behalf of a utility (代收代付: water, electricity)."""

    PROPERTY = "property"
    PARKING = "parking"
    ON_BEHALF = "on_behalf"


@dataclass(frozen=True)
class FeeItem:
    id: str
    community_id: str
    name: str
    kind: FeeKind
    prices: tuple[PricePoint, ...] = ()
    """area: fen per m² per month; fixed: fen per unit per month."""
    bands: tuple[Band, ...] = ()
    """metered: the tiers of a billing period's use."""
    meter: str = ""
    cycle_months: int = 1
    due_day: int | None = None
    """None: the last day of the period's first month."""
    late_fee: LateFeeRule | None = None
    vacancy_rate: Decimal | None = None
    later_bands: tuple[tuple[date, tuple[Band, ...]], ...] = ()
    """metered: bands that replace `bands` from a day on (a history, never edited): a period is priced on the bands
    in force on its first day."""
    category: FeeCategory | None = None
    """None: metered use is collected on behalf of the utility, anything else is the property's fee."""

    @property
    def group(self) -> FeeCategory:
        if self.category is not None:
            return self.category
        return FeeCategory.ON_BEHALF if self.kind is FeeKind.METERED else FeeCategory.PROPERTY

    def bands_on(self, day: date) -> tuple[Band, ...]:
        bands = self.bands
        for starts, later in sorted(self.later_bands, key=lambda x: x[0]):
            if starts <= day:
                bands = later
        return bands


class BillState(StrEnum):
    DRAFT = "draft"
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class BillLine:
    kind: str
    """base, band, shared, vacancy."""
    text: str
    amount_fen: int


@dataclass(frozen=True)
class Bill:
    id: str
    community_id: str
    unit_id: str
    fee_item_id: str
    period: str
    """The first month, "2027-01"."""
    lines: tuple[BillLine, ...]
    amount_fen: int
    due_date: date
    state: BillState = BillState.DRAFT
    replaces: str | None = None
    run_id: str | None = None
    late_fee_fen: int = 0
    """Frozen when it is paid (the late fee of the day it was paid)."""
    paid_fen: int = 0
    """What was paid for it: the amount and its late fee."""
    paid_at: datetime | None = None
    order_id: str | None = None
    """The order that paid it (an owner's, the till's, or `balance` when the prepaid balance did)."""
    waived: str | None = None
    """Why the office waived its late fee (audited); set: no late fee is charged."""
    note: str | None = None
    """Why it was cancelled or refunded."""


METER_UNITS = {"water": "吨", "electricity": "度", "gas": "立方米", "heat": "吉焦"}
"""How a bill names a meter's unit of use (a water meter counts 吨, m³)."""


def bill_id(fee_item_id: str, unit_id: str, period: str) -> str:
    """The one bill of a fee item, unit and period: a second run makes the same id, which storage keeps once. Ids of
    64 characters at most (domain.ids): a long fee item and unit id give a digest of them instead."""
    return short_id(f"bill-{fee_item_id}-{unit_id}-{period}")


def short_id(text: str) -> str:
    return text if len(text) <= 64 else f"bill-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def period_start(period: str) -> date:
    year, month = period.split("-")
    return date(int(year), int(month), 1)


def due_date(period: str, due_day: int | None) -> date:
    first = period_start(period)
    end = month_end(first)
    return end if due_day is None else min(first.replace(day=1) + timedelta(days=due_day - 1), end)


@dataclass(frozen=True)
class RunInputs:
    use: Mapping[str, Decimal] = field(default_factory=dict)
    """unit id -> the period's metered use of the item's meter."""
    shared_fen: Mapping[str, int] = field(default_factory=dict)
    """unit id -> its share of the shared meter's cost (split so the shares add up, fee_rules.split_exactly)."""
    vacant: Mapping[str, Sequence[Stretch]] = field(default_factory=dict)
    """unit id -> approved vacant stretches."""


def draft_bills(
    period: str, items: Sequence[FeeItem], units: Sequence[Unit], existing: set[str], inputs: RunInputs
) -> list[Bill]:
    """The bills the run adds: none for a (fee item, unit, period) that has one, none for an undelivered unit, none
    of nothing (a metered unit with no use and no share)."""
    made = []
    for item in items:
        for unit in sorted(units, key=lambda u: (u.building, u.number)):
            key = bill_id(item.id, unit.id, period)
            if key in existing or unit.state is UnitState.UNDELIVERED or unit.community_id != item.community_id:
                continue
            lines = _lines(item, unit, period, inputs)
            if not lines or not any(line.amount_fen for line in lines):
                continue  # nothing to ask for (a period before the item's first price, no use and no share)
            amount = sum(line.amount_fen for line in lines)
            made.append(
                Bill(key, item.community_id, unit.id, item.id, period, lines, amount, due_date(period, item.due_day))
            )
    return made


def _lines(item: FeeItem, unit: Unit, period: str, inputs: RunInputs) -> tuple[BillLine, ...]:
    first = period_start(period)
    if item.kind is FeeKind.METERED:
        used = inputs.use.get(unit.id, Decimal(0))
        per = METER_UNITS.get(item.meter, "")
        stretches = band_stretches(item, first)
        if len(stretches) == 1:
            charged = [(c.band, c.used, c.amount) for c in tiered_charges(used, stretches[0].bands)]
        else:  # the bands changed inside the period: each stretch of days priced on its own bands
            charged = [(b, Decimal(u.numerator) / Decimal(u.denominator), a)
                       for b, u, a in prorated_tiered_charges(used, stretches)]  # fmt: skip
        exact = [(f"{_quantity(u)}{per} × {yuan_text(b.price_fen)} 元" + (f"/{per}" if per else ""), a)
                 for b, u, a in charged]  # fmt: skip
        lines = list(_rounded_once("band", exact))
        share = inputs.shared_fen.get(unit.id)
        if share:
            lines.append(BillLine("shared", "公摊", share))
        return tuple(line for line in lines if line.amount_fen or line.kind == "shared")
    area = unit.area_hundredths if item.kind is FeeKind.AREA else 100  # a fixed fee is "per unit": one m²'s worth
    base = exact_area_fee(item.prices, area, first, item.cycle_months)
    vacant = inputs.vacant.get(unit.id, ()) if item.kind is FeeKind.AREA and item.vacancy_rate is not None else ()
    discounted = exact_area_fee(item.prices, area, first, item.cycle_months, vacant, item.vacancy_rate)
    months = f"{first:%Y-%m}" + (f" 起 {item.cycle_months} 个月" if item.cycle_months > 1 else "")
    parts = [(f"{item.name} {months}", base)]
    if discounted != base:
        parts.append(("空置优惠", discounted - base))
    return tuple(_rounded_once("base", parts[:1]) + _rounded_once("vacancy", parts[1:], before=base))


def band_stretches(item: FeeItem, first: date) -> list[BandStretch]:
    """The period's days grouped by the bands in force on them, in order."""
    days = period_days(first, item.cycle_months)
    found: list[BandStretch] = []
    for day in days:
        bands = item.bands_on(day)
        if found and found[-1].bands == bands:
            found[-1] = BandStretch(bands, found[-1].days + 1, len(days))
        else:
            found.append(BandStretch(bands, 1, len(days)))
    return found


def _quantity(used: Decimal) -> str:
    """Use as a bill shows it: as read (23, 12.5), or to two places when a band change split it (7.42)."""
    return str(used) if used == used.quantize(Decimal("0.01")) else f"{used:.2f}"


def _rounded_once(kind: str, parts: Sequence[tuple[str, Fraction]], before: Fraction = Fraction(0)) -> list[BillLine]:
    """Lines whose amounts add up to the rounded whole: each is the rounded running total less the one before."""
    lines, running = [], before
    for text, exact in parts:
        line = half_up(running + exact) - half_up(running)
        running += exact
        lines.append(BillLine(kind, text, line))
    return lines


@dataclass(frozen=True)
class BillRun:
    """One run of a period for chosen fee items: the drafts it made, reviewed and then published together."""

    id: str
    community_id: str
    period: str
    fee_item_ids: tuple[str, ...]
    bill_ids: tuple[str, ...]
    total_fen: int
    created_at: datetime
    published_at: datetime | None = None
    chunks: int = 0
    """0: drafted whole within the office's request (`bill_ids` are its bills). Otherwise drafted and published in
    this many chunks (RunChunk), each by a work consumer; `bill_ids` then holds only the bills reissued since."""
    drafted_bills: int = 0
    """Once every chunk is drafted: how many bills they drafted (`total_fen` is then their total)."""
    drafted_at: datetime | None = None
    """When its last chunk was drafted; set at once for a run drafted whole."""
    publishing_at: datetime | None = None
    """When the office asked to publish a run in chunks (its chunks are published by the consumers)."""


class RunState(StrEnum):
    DRAFTING = "drafting"
    DRAFTED = "drafted"
    PUBLISHING = "publishing"
    PUBLISHED = "published"


def run_state(run: BillRun) -> RunState:
    if run.published_at is not None:
        return RunState.PUBLISHED
    if run.drafted_at is None:
        return RunState.DRAFTING
    return RunState.DRAFTED if run.publishing_at is None else RunState.PUBLISHING


RUN_CHUNK_UNITS = 200
"""Units a chunk drafts and publishes: about 600 bills and 40 transactions for three fee items, well within one
consumer's minute; a community of no more is drafted within the office's request."""


class ChunkState(StrEnum):
    PENDING = "pending"
    DRAFTED = "drafted"
    PUBLISHED = "published"


@dataclass(frozen=True)
class RunChunk:
    """A fixed number of a run's units in building order, drafted by one consumer and later published by one:
    each bill stays one per (fee item, unit, period), so a chunk done twice drafts nothing twice, and its state moves
    only forward, so its bills and total count once."""

    run_id: str
    number: int
    unit_ids: tuple[str, ...]
    first_unit: str
    """"1栋 101": where the chunk begins, for the office's view of progress."""
    last_unit: str
    state: ChunkState = ChunkState.PENDING
    bill_ids: tuple[str, ...] = ()
    total_fen: int = 0


def run_chunks(run_id: str, units: Sequence[Unit], size: int = RUN_CHUNK_UNITS) -> list[RunChunk]:
    """The run's units (undelivered ones have no bills) cut into chunks of `size` in building order."""
    billed = sorted((u for u in units if u.state is not UnitState.UNDELIVERED), key=lambda u: (u.building, u.number))
    chunks = []
    for number, start in enumerate(range(0, len(billed), size)):
        part = billed[start : start + size]
        chunks.append(RunChunk(run_id, number, tuple(u.id for u in part), unit_label(part[0]), unit_label(part[-1])))
    return chunks


def unit_label(unit: Unit) -> str:
    return f"{unit.building} {unit.number}"


def drafted(chunk: RunChunk, bills: Sequence[Bill]) -> RunChunk:
    """The chunk once drafted: the run's bills of its units, however many tries it took to draft them."""
    units = set(chunk.unit_ids)
    mine = sorted((b for b in bills if b.run_id == chunk.run_id and b.unit_id in units), key=lambda b: b.id)
    return replace(chunk, state=ChunkState.DRAFTED, bill_ids=tuple(b.id for b in mine),
                   total_fen=sum(b.amount_fen for b in mine))  # fmt: skip


def with_chunks(run: BillRun, chunks: Sequence[RunChunk], at: datetime) -> BillRun:
    """The run once all its chunks are drafted: its bills counted and totalled once (unchanged before that)."""
    if run.drafted_at is not None or len(chunks) < run.chunks or any(c.state is ChunkState.PENDING for c in chunks):
        return run
    return replace(run, drafted_bills=sum(len(c.bill_ids) for c in chunks), total_fen=sum(c.total_fen for c in chunks),
                   drafted_at=at)  # fmt: skip
