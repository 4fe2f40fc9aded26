"""Expiry reminders: the owner opts in per card, and a tick sends what has fallen due, once.

A tick finds what is due (a query per shard of each due hour, never a scan)
and hands it to the work queue; a consumer sends each one: it claims the
reminder with a conditional write under a lease before sending (so two
consumers, or one message delivered twice, send it once, and one that died
gives it back), skips stale ones (renewed, paused, opted out), and retries
failed sends on later ticks up to a cap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
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
    buckets_of_hour,
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
    RateLimited,
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


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    DONE = "done"
    """Sent, skipped or failed before: this message came twice."""
    BUSY = "busy"
    """Another consumer holds it now: try again later (if that one dies, its lease runs out)."""
    SLOWED = "slowed"
    """The provider asked us to slow down: given back untried."""
    WORKED = "worked"
    """Work other than a reminder done (a bill run's chunk drafted or published)."""

    @property
    def settled(self) -> bool:
        """Nothing more to do for this message."""
        return self not in (Outcome.BUSY, Outcome.SLOWED)


@dataclass
class TickReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def add(self, key: str, outcome: Outcome) -> None:
        if outcome in (Outcome.SENT, Outcome.SKIPPED, Outcome.FAILED):
            getattr(self, outcome.value).append(key)


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


def due_reminders(at: datetime, store: ReminderStore) -> list[Slot]:
    """What a tick finds: the reminders of the due hours still to send (pending, or their sender's lease run out)."""
    found = []
    hour = at - LOOK_BACK
    while hour <= at:
        for bucket in buckets_of_hour(hour):
            found += store.due(bucket, at)
        hour += timedelta(hours=1)
    return found


@dataclass(frozen=True)
class Reminding:
    """Sends one due reminder, once however often it is asked."""

    store: ReminderStore
    reads: ReminderReads
    owners: OwnerRepository
    consents: Consents
    messenger: Messenger
    template_id: str = EXPIRY_TEMPLATE

    def send(self, slot: Slot, at: datetime, lots: dict[str, Lot]) -> Outcome:
        """`lots`: the lots read already by this consumer (a batch's reminders share their lots)."""
        if not self.store.claim(slot, at):
            return Outcome.BUSY if self.store.held(slot, at) else Outcome.DONE
        if at - slot.due_at > LOOK_BACK:  # a message redriven or kept a day: "5 天后到期" would be untrue now
            self.store.finish(slot, "skipped", "late")
            return Outcome.SKIPPED
        found = self.reads.for_reminder(slot, lots)
        card, chosen = found.card, found.prefs
        stale = stale_reason(slot, card, chosen)
        if stale is not None or card is None or chosen is None:
            self.store.finish(slot, "skipped", stale)
            return Outcome.SKIPPED
        lot, owner = found.lot, found.owner
        if owner is None or owner.id != card.owner_id:  # the card changed hands since it was scheduled
            owner = self.owners.get(card.owner_id)
        if lot is None or owner is None:
            self.store.finish(slot, "skipped", "gone")
            return Outcome.SKIPPED
        data = _message(card, lot, slot)
        spent = False
        try:
            if chosen.channel is ReminderChannel.SUBSCRIBE and self.consents.spend(owner.id, self.template_id):
                spent = True
                self.messenger.send_subscribe(owner.openid, self.template_id, data, RENEW_PAGE)
            elif owner.oa_openid:
                self.messenger.send_template(owner.oa_openid, self.template_id, data, RENEW_PAGE)
            else:
                self.store.finish(slot, "failed", "no_channel")
                return Outcome.FAILED
        except RateLimited:
            if spent:  # WeChat refused it untried: the owner's consent is still theirs for the next try
                self.consents.record(owner.id, self.template_id)
            self.store.release(slot)
            return Outcome.SLOWED
        except SendFailed as e:
            log.warning("reminder %s not sent, will retry: %s", slot.key, e)
            self.store.retry_later(slot, str(e)[:200], MAX_ATTEMPTS)
            return Outcome.FAILED
        self.store.finish(slot, "sent")
        return Outcome.SENT


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
    """Find and send in one go, in this process (the deployed tick hands them to the work queue instead)."""
    report = TickReport()
    reminding = Reminding(store, reads or OneByOne(cards, lots, prefs, owners), owners, consents, messenger,
                          template_id)  # fmt: skip
    read_lots: dict[str, Lot] = {}
    for slot in due_reminders(at, store):
        report.add(slot.key, reminding.send(slot, at, read_lots))
    return report


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
        for bucket in buckets_of_hour(start + timedelta(hours=hour)):
            for state, n in store.states(bucket).items():
                totals[state] = totals.get(state, 0) + n
    return totals
