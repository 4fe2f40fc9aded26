"""The office's reports for a lot and a day or a month: money, renewals, cards, reminders, gates."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.admin import Permission, Staff
from domain.calendar import month_end
from domain.card import FIRST_DAY, LAST_DAY, CardState
from domain.errors import InvalidInput
from domain.lot import Lot
from handlers.ports import CardRepository, Clock, GateStates, Ledger, LotRepository, ReminderStore
from handlers.reminders import reminders_of_day
from handlers.staff import lot_for


@dataclass
class LotReport:
    lot: Lot
    first_day: date
    last_day: date
    revenue_fen: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    by_package: dict[str, int] = field(default_factory=dict)
    by_day: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    refunds: int = 0
    online_share: float = 0.0
    """Online money as a share of all money taken (0..1)."""
    new_cards: int = 0
    """Cards whose first paid day falls in the period."""
    cards: dict[str, int] = field(default_factory=dict)
    """Today: active, expiring within 7 and 30 days, expired, paused, pending."""
    reminders: dict[str, int] = field(default_factory=dict)
    lagging_gates: list[tuple[str, int | None, str | None]] = field(default_factory=list)


def period_days(period: str) -> tuple[date, date]:
    """`2026-11-23` is that day; `2026-11` the whole month."""
    try:
        if len(period) == 7:
            first = date.fromisoformat(period + "-01")
            if not FIRST_DAY <= first <= LAST_DAY:
                raise InvalidInput("date_range", first=FIRST_DAY, last=LAST_DAY)
            return first, month_end(first)
        day = date.fromisoformat(period)
    except ValueError:
        raise InvalidInput("report_period") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput("date_range", first=FIRST_DAY, last=LAST_DAY)
    return day, day


def lot_report(
    account: Staff,
    lot_id: str,
    period: str,
    ledger: Ledger,
    cards: CardRepository,
    reminders: ReminderStore,
    gates: GateStates,
    lots: LotRepository,
    clock: Clock,
) -> LotReport:
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    first, last = period_days(period)
    zone = ZoneInfo(lot.timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    report = LotReport(lot, first, last)
    online = 0
    for e in ledger.around(lot.id, start, end):
        if not start <= e.booked_at < end:
            continue
        day = e.booked_at.astimezone(zone).date().isoformat()
        report.revenue_fen += e.amount_fen
        report.by_channel[e.channel.value] = report.by_channel.get(e.channel.value, 0) + e.amount_fen
        report.by_package[e.package or "?"] = report.by_package.get(e.package or "?", 0) + e.amount_fen
        report.by_day[day] = report.by_day.get(day, 0) + e.amount_fen
        online += e.amount_fen if e.channel.online else 0
        if e.amount_fen >= 0:
            report.payments += 1
        else:
            report.refunds += 1
    report.online_share = round(online / report.revenue_fen, 4) if report.revenue_fen > 0 else 0.0
    today = lot.today(clock.now())
    counts: Counter[str] = Counter()
    for card in cards.list_for_lot(lot.id):
        state = card.state_on(today)
        counts[state.value] += 1
        if state is CardState.ACTIVE and card.valid_until is not None:
            left = (card.valid_until - today).days
            counts["expiring_7"] += left < 7
            counts["expiring_30"] += left < 30
        if card.valid_from is not None and first <= card.valid_from <= last:
            report.new_cards += 1
    report.cards = {
        k: counts.get(k, 0) for k in ("active", "expiring_7", "expiring_30", "expired", "paused", "pending")
    }
    if first == last:  # a month would be 720 hourly reads: the day report has them
        report.reminders = reminders_of_day(first, lot.timezone, reminders)
    report.lagging_gates = [g for g in gates.sync_states(lot.id) if (g[1] or 0) < lot.entitlement_version]
    return report
