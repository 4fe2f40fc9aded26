"""The scheduled work, found then fanned out: a tick only finds what is due and puts it on the work queue; consumers
(as many at once as the providers' limits allow) do each item, once however often its message comes.

A message names one item and carries what finding it read, so a consumer reads
nothing to know what to do. Whether it is still worth doing is decided by the
consumer, at the time it does it (the claim under a lease, then the item's
own checks).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.bill_reminder import BillReminder
from domain.lot import Lot
from domain.reminder import Slot
from handlers.bill_reminders import BillReminding
from handlers.bill_runs import DRAFT_CHUNK, PUBLISH_CHUNK, BillRuns
from handlers.card_jobs import EXPIRE_CARD, LAPSE_CARD, CardLife, expire_card, lapse_card
from handlers.ports import WorkQueue
from handlers.reminders import Outcome, Reminding, TickReport, due_reminders

EXPIRY_REMINDER, BILL_REMINDER = "expiry-reminder", "bill-reminder"


class UnknownWork(ValueError):
    """A message this version does not know: it goes back, and after a few tries to the dead-letter queue."""


def expiry_message(slot: Slot) -> dict[str, Any]:
    return {"kind": EXPIRY_REMINDER, "card_id": slot.card_id, "owner_id": slot.owner_id, "lot_id": slot.lot_id,
            "cycle": slot.cycle.isoformat(), "offset": slot.offset, "due_at": slot.due_at.isoformat()}  # fmt: skip


def bill_message(r: BillReminder) -> dict[str, Any]:
    return {"kind": BILL_REMINDER, "bill_id": r.bill_id, "unit_id": r.unit_id, "community_id": r.community_id,
            "due": r.due.isoformat(), "offset": r.offset, "due_at": r.due_at.isoformat()}  # fmt: skip


def slot_of(m: dict[str, Any]) -> Slot:
    return Slot(str(m["card_id"]), str(m["owner_id"]), str(m["lot_id"]), date.fromisoformat(m["cycle"]),
                int(m["offset"]), datetime.fromisoformat(m["due_at"]))  # fmt: skip


def _bill_reminder(m: dict[str, Any]) -> BillReminder:
    return BillReminder(str(m["bill_id"]), str(m["unit_id"]), str(m["community_id"]), date.fromisoformat(m["due"]),
                        int(m["offset"]), datetime.fromisoformat(m["due_at"]))  # fmt: skip


def key_of(message: dict[str, Any]) -> str:
    """The item's key, for logs and reports."""
    if message.get("kind") == EXPIRY_REMINDER:
        return slot_of(message).key
    if message.get("kind") == BILL_REMINDER:
        return _bill_reminder(message).key
    if message.get("kind") in (DRAFT_CHUNK, PUBLISH_CHUNK):
        return f"{message['kind']}#{message['run_id']}#{int(message['chunk'])}"
    if message.get("kind") in (EXPIRE_CARD, LAPSE_CARD):
        return f"{message['kind']}#{message['card_id']}"
    raise UnknownWork(str(message.get("kind"))[:40])


def enqueue_all(messages: Iterable[dict[str, Any]], queue: WorkQueue, batch: int = 500) -> int:
    """Put the messages on the queue `batch` at a time (a big hour or midnight is never held whole in memory);
    answer how many."""
    count, pending = 0, []
    for message in messages:
        pending.append(message)
        if len(pending) == batch:
            queue.send(pending)
            count, pending = count + len(pending), []
    if pending:
        queue.send(pending)
        count += len(pending)
    return count


@dataclass(frozen=True)
class ScheduledWork:
    reminding: Reminding
    bills: BillReminding
    runs: BillRuns
    """Bill runs of big communities: a chunk drafted or published a message."""
    cards: CardLife
    """The card jobs: a card expired or lapsed a message."""

    def find(self, at: datetime) -> Iterator[dict[str, Any]]:
        """Everything due at `at`: expiry reminders, then bill reminders (dunning) and visit reminders."""
        for slot in due_reminders(at, self.reminding.store):
            yield expiry_message(slot)
        for reminder in self.bills.due(at):
            yield bill_message(reminder)

    def enqueue_due(self, at: datetime, queue: WorkQueue) -> int:
        """Put what is due on the queue; answer how many. Anything still undone by the next tick is found and
        enqueued again: the claims make the second message harmless."""
        return enqueue_all(self.find(at), queue)

    def do(self, message: dict[str, Any], at: datetime, lots: dict[str, Lot]) -> Outcome:
        """One item; `lots`: the lots read already by this consumer."""
        kind = message.get("kind")
        if kind == EXPIRY_REMINDER:
            return self.reminding.send(slot_of(message), at, lots)
        if kind == BILL_REMINDER:
            return self.bills.send(_bill_reminder(message), at)
        if kind in (DRAFT_CHUNK, PUBLISH_CHUNK):
            run_id, chunk = str(message["run_id"]), int(message["chunk"])
            done = (self.runs.draft_chunk(run_id, chunk) if kind == DRAFT_CHUNK
                    else self.runs.publish_chunk(run_id, chunk, str(message["actor"])))  # fmt: skip
            return Outcome.WORKED if done else Outcome.DONE
        if kind == EXPIRE_CARD:
            return Outcome.WORKED if expire_card(str(message["card_id"]), self.cards) else Outcome.DONE
        if kind == LAPSE_CARD:
            return Outcome.WORKED if lapse_card(str(message["card_id"]), self.cards)[0] else Outcome.DONE
        raise UnknownWork(str(kind)[:40])


@dataclass
class WorkReport(TickReport):
    """What consumers did: sent, skipped, failed (each once), other work done (a bill run's chunks), and how often a
    message came back for later. Counted from several consumers at once."""

    worked: list[str] = field(default_factory=list)
    retried: int = 0
    duplicates: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def requeued(self) -> None:
        """A message put back on the queue as a new one, for another consumer."""
        with self._lock:
            self.retried += 1

    def count(self, key: str, outcome: Outcome) -> None:
        with self._lock:
            self.add(key, outcome)
            if outcome is Outcome.WORKED:
                self.worked.append(key)
            if not outcome.settled:
                self.retried += 1
            elif outcome is Outcome.DONE:
                self.duplicates += 1
