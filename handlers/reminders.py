"""Expiry reminders: the owner opts in per card, and a tick sends what has fallen due, once.

A tick reads only the due hours (a query per hour, never a scan), claims each
reminder with a conditional write before sending (so two ticks at once send it
once), skips stale ones (renewed, paused, opted out), and retries failed sends
on later ticks up to a cap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.card import Card
from domain.errors import CardNotFound
from domain.ids import checked_id
from domain.lot import Lot
from domain.reminder import (
    ReminderChannel,
    ReminderContext,
    ReminderPrefs,
    Slot,
    bucket_of,
    slots_for,
    stale_reason,
)
from handlers.ports import (
    CardRepository,
    Consents,
    LotRepository,
    Messenger,
    OwnerRepository,
    PrefsRepository,
    ReminderReads,
    ReminderStore,
    SendFailed,
)

EXPIRY_TEMPLATE = "sim-expiry"
"""The local simulator's expiry template id; deployments set PARKPASS_EXPIRY_TEMPLATE."""
RENEW_PAGE = "pages/renew/index"
LOOK_BACK = timedelta(hours=6)
"""A tick reads the due hours up to 6 hours back, so a missed tick or two loses nothing."""
MAX_ATTEMPTS = 3
log = logging.getLogger("parkpass.reminders")


def _my_card(owner_id: str, card_id: str, cards: CardRepository) -> Card:
    card = cards.get(checked_id("card_id", card_id))
    if card is None or card.owner_id != owner_id:
        raise CardNotFound(card_id)
    return card


def set_reminders(
    owner_id: str,
    card_id: str,
    enabled: bool,
    channel: ReminderChannel,
    cards: CardRepository,
    lots: LotRepository,
    prefs: PrefsRepository,
    store: ReminderStore,
) -> ReminderPrefs:
    card = _my_card(owner_id, card_id, cards)
    chosen = ReminderPrefs(card.id, enabled, channel)
    prefs.put(chosen)
    lot = lots.get(card.lot_id)
    if enabled and lot is not None:
        store.schedule(slots_for(card, lot))  # later cycles are written when the card's end moves
    return chosen


def get_reminders(owner_id: str, card_id: str, cards: CardRepository, prefs: PrefsRepository) -> ReminderPrefs:
    card = _my_card(owner_id, card_id, cards)
    return prefs.get(card.id) or ReminderPrefs(card.id, False)


@dataclass
class TickReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OneByOne:
    """The reads of a reminder one repository at a time (the in-memory stores; DynamoDB batches them)."""

    cards: CardRepository
    lots: LotRepository
    prefs: PrefsRepository
    owners: OwnerRepository

    def for_reminder(self, slot: Slot, lots: dict[str, Lot]) -> ReminderContext:
        if slot.lot_id not in lots:
            lot = self.lots.get(slot.lot_id)
            if lot is not None:
                lots[slot.lot_id] = lot
        owner = self.owners.get(slot.owner_id)
        return ReminderContext(self.cards.get(slot.card_id), self.prefs.get(slot.card_id), lots.get(slot.lot_id), owner)


def send_due_reminders(
    at: datetime,
    store: ReminderStore,
    cards: CardRepository,
    lots: LotRepository,
    prefs: PrefsRepository,
    owners: OwnerRepository,
    consents: Consents,
    messenger: Messenger,
    template_id: str = EXPIRY_TEMPLATE,
    reads: ReminderReads | None = None,
) -> TickReport:
    report = TickReport()
    reads = reads or OneByOne(cards, lots, prefs, owners)
    read_lots: dict[str, Lot] = {}  # a tick's reminders share their lots: each is read once
    hour = at - LOOK_BACK
    while hour <= at:
        for slot in store.due(bucket_of(hour), at):
            if store.claim(slot, at):
                _send_one(slot, store, reads.for_reminder(slot, read_lots), owners, consents, messenger,
                          template_id, report)  # fmt: skip
        hour += timedelta(hours=1)
    return report


def _send_one(
    slot: Slot,
    store: ReminderStore,
    found: ReminderContext,
    owners: OwnerRepository,
    consents: Consents,
    messenger: Messenger,
    template_id: str,
    report: TickReport,
) -> None:
    card, chosen = found.card, found.prefs
    stale = stale_reason(slot, card, chosen)
    if stale is not None or card is None or chosen is None:
        store.finish(slot, "skipped", stale)
        report.skipped.append(slot.key)
        return
    lot, owner = found.lot, found.owner
    if owner is None or owner.id != card.owner_id:  # the card changed hands since it was scheduled
        owner = owners.get(card.owner_id)
    if lot is None or owner is None:
        store.finish(slot, "skipped", "gone")
        report.skipped.append(slot.key)
        return
    data = _message(card, lot, slot)
    try:
        if chosen.channel is ReminderChannel.SUBSCRIBE and consents.spend(owner.id, template_id):
            messenger.send_subscribe(owner.openid, template_id, data, RENEW_PAGE)
        elif owner.oa_openid:
            messenger.send_template(owner.oa_openid, template_id, data, RENEW_PAGE)
        else:
            store.finish(slot, "failed", "no_channel")
            report.failed.append(slot.key)
            return
    except SendFailed as e:
        log.warning("reminder %s not sent, will retry: %s", slot.key, e)
        store.retry_later(slot, str(e)[:200], MAX_ATTEMPTS)
        report.failed.append(slot.key)
        return
    store.finish(slot, "sent")
    report.sent.append(slot.key)


def _message(card: Card, lot: Lot, slot: Slot) -> dict[str, dict[str, str]]:
    return {
        "thing1": {"value": lot.name[:20]},
        "car_number2": {"value": card.plates[0]},
        "date3": {"value": slot.cycle.isoformat()},
        "thing4": {"value": f"{slot.offset} 天后到期 点击续费" if slot.offset >= 0 else "已到期 宽限期内请续费"},
    }


def reminders_of_day(day: date, timezone: str, store: ReminderStore) -> dict[str, int]:
    """Sent, skipped, failed and pending reminders due on a lot-local day (24 hour queries, for the admin)."""
    start = datetime.combine(day, time(0), ZoneInfo(timezone))
    totals: dict[str, int] = {}
    for hour in range(24):
        for state, n in store.states(bucket_of(start + timedelta(hours=hour))).items():
            totals[state] = totals.get(state, 0) + n
    return totals
