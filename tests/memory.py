"""The in-memory store and its unit of work: the same plans, the same declared conditions as DynamoDB.

Every fake repository in tests/fakes.py reads these tables; only `MemoryUnitOfWork`
writes them, checking exactly what `infra.dynamodb.unit_of_work` asks DynamoDB to
check, in the same order, so a failed plan raises the same error in both
(tests/integration/test_contract_suite.py holds them to it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from domain.application import Application
from domain.card import Card
from domain.card_change import AuditEntry
from domain.errors import ApplicationClosed, Conflict, DomainError, OrderSettled, StaleCard
from domain.gate import Grant
from domain.lot import Lot
from domain.order import LedgerEntry, Order
from domain.plan import Claim, Plan
from domain.receipt import SignedReceipt
from domain.reminder import Slot


@dataclass
class MemoryDB:
    lots: dict[str, Lot] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    receipts: dict[str, SignedReceipt] = field(default_factory=dict)
    events: dict[tuple[str, int], Grant] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    slot_states: dict[str, str] = field(default_factory=dict)
    audit: dict[tuple[str, str], AuditEntry] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class MemoryUnitOfWork:
    def __init__(self, db: MemoryDB) -> None:
        self.db = db
        self.before_commit: Callable[[], None] = lambda: None
        """Runs before each commit: tests use it to change the store under a use case (a race)."""
        self.commits = 0

    def commit(self, plan: Plan) -> None:
        self.before_commit()
        with self.db.lock:
            failed = self._first_failure(plan)
            if failed is not None:
                raise failed
            self._apply(plan)
            self.commits += 1

    def claimed(self, key: str) -> Claim | None:
        with self.db.lock:
            return self.db.claims.get(key)

    def _first_failure(self, plan: Plan) -> DomainError | None:
        db = self.db
        for o in plan.orders:
            stored = db.orders.get(o.order.id)
            ok = stored is not None and stored.state in o.was if o.was else stored is None
            if ok and o.refund_was is not None:
                ok = stored is not None and stored.refund in o.refund_was
            if not ok:
                return o.error or OrderSettled(o.order.id)
        for a in plan.applications:
            held = db.applications.get(a.application.id)
            ok = held is not None and held.state in a.was if a.was else held is None
            if not ok:
                return a.error or ApplicationClosed("application_decided")
        for line in plan.ledger:
            if line.id in db.ledger:
                return OrderSettled(line.order_id)
        if plan.signed is not None and plan.signed.receipt.id in db.receipts:
            return OrderSettled(plan.signed.receipt.order_id)
        for absent in plan.absent:
            if absent.key in db.claims:
                return absent.error
        for release in plan.releases:
            claim = db.claims.get(release.key)
            if claim is not None and not claim.held_by(release.holder):
                return release.error
        for take in plan.takes:
            claim = db.claims.get(take.claim.key)
            if claim is not None and not (take.unless is not None and claim.held_by(take.unless)):
                return take.error
        for c in plan.cards:
            stored_card = db.cards.get(c.card.id)
            ok = stored_card is None if c.expected_version is None else (
                stored_card is not None and stored_card.version == c.expected_version
            )
            if not ok:
                return c.failure
        for unchanged in plan.unchanged:
            checked = db.cards.get(unchanged.card_id)
            if checked is None or checked.version != unchanged.version:
                return StaleCard(unchanged.card_id)
        if plan.lot is not None:
            lot_failure = self._lot_failure(plan)
            if lot_failure is not None:
                return lot_failure
        for entry in plan.audit:
            if (entry.subject, entry.entry) in db.audit:
                return Conflict("this change was recorded already")
        return None

    def _lot_failure(self, plan: Plan) -> DomainError | None:
        move = plan.lot
        assert move is not None
        lot = self.db.lots.get(move.lot_id)
        if lot is None:
            return plan.lot_error()
        if move.feed_at is not None and lot.entitlement_version != move.feed_at:
            return plan.lot_error()
        if move.held > 0 and move.within_quota and not lot.has_room():
            return plan.lot_error()
        if move.held_at is not None and lot.held != move.held_at:
            return plan.lot_error()
        if plan.signed is not None and move.receipt_at is not None and lot.receipt_seq != move.receipt_at:
            return plan.lot_error()
        if move.feed_at is not None:
            for version in range(move.feed_at + 1, move.feed_at + len(plan.events) + 1):
                if (move.lot_id, version) in self.db.events:
                    return plan.lot_error()
        return None

    def _apply(self, plan: Plan) -> None:
        db = self.db
        move = plan.lot
        moved = None
        if move is not None:  # first: a counter that cannot move (a negative `held`) must leave nothing written
            moved = db.lots[move.lot_id]
            if move.feed_at is not None:
                moved = replace(moved, entitlement_version=move.feed_at + len(plan.events))
            moved = replace(moved, held=moved.held + move.held)
            if plan.signed is not None and move.receipt_at is not None:
                moved = replace(moved, receipt_seq=plan.signed.receipt.seq, receipt_hash=plan.signed.receipt.hash)
        for o in plan.orders:
            db.orders[o.order.id] = o.order
        for a in plan.applications:
            db.applications[a.application.id] = a.application
        for line in plan.ledger:
            db.ledger[line.id] = line
        for release in plan.releases:
            db.claims.pop(release.key, None)
        for take in plan.takes:
            db.claims[take.claim.key] = take.claim
        for c in plan.cards:
            db.cards[c.card.id] = replace(c.card, version=(c.expected_version or 0) + 1)
        if move is not None and moved is not None:
            db.lots[move.lot_id] = moved
            if move.feed_at is not None:
                for version, news in enumerate(plan.events, start=move.feed_at + 1):
                    db.events[(move.lot_id, version)] = news.grant(version)
        if plan.signed is not None:
            db.receipts[plan.signed.receipt.id] = plan.signed
        for slot in plan.reminders:
            db.slots[slot.key] = slot
            db.slot_states.setdefault(slot.key, "pending")
        for slot in plan.dropped_reminders:
            db.slots.pop(slot.key, None)
            db.slot_states.pop(slot.key, None)
        for entry in plan.audit:
            db.audit[(entry.subject, entry.entry)] = entry
