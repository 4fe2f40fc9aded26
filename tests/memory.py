"""The in-memory store and its unit of work: the same plans, the same declared conditions as DynamoDB.

Every fake repository in tests/fakes.py reads these tables; only `MemoryUnitOfWork`
writes them, checking exactly what `infra.dynamodb.unit_of_work` asks DynamoDB to
check, in the same order, so a failed plan raises the same error in both
(tests/integration/test_contract_suite.py holds them to it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from domain.application import Application
from domain.bill_order import BillOrder
from domain.bill_reminder import BillReminder
from domain.bill_run import Bill, BillRun, ChunkState, FeeItem, RunChunk, Unit
from domain.card import Card
from domain.card_change import AuditEntry
from domain.collection import Booking, CollectionHours
from domain.community import Community, Meter, Reading, Vacancy, VacancyState
from domain.door import CashEntry
from domain.errors import (
    ApplicationClosed,
    BalanceTooLow,
    BillChanged,
    BillingExists,
    BookingChanged,
    Conflict,
    CustodyChanged,
    DomainError,
    OrderSettled,
    StaleCard,
    StaleVisit,
)
from domain.gate import Grant
from domain.lot import Lot
from domain.order import LedgerEntry, Order, OrderState
from domain.parking import Occupancy, ParkedVisit, ParkingPass, ParkingSetup, PassageRecord, Stay
from domain.plan import Claim, Plan
from domain.receipt import SignedReceipt
from domain.reminder import SEND_LEASE, Slot
from domain.visit_payment import VisitOrder
from handlers.ports import AtGate

T = TypeVar("T")


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
    bills: dict[str, Bill] = field(default_factory=dict)
    bill_orders: dict[str, BillOrder] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    bill_reminders: dict[str, BillReminder] = field(default_factory=dict)
    bill_reminder_states: dict[str, str] = field(default_factory=dict)
    bill_reminder_leases: dict[str, datetime] = field(default_factory=dict)
    passages: dict[str, PassageRecord] = field(default_factory=dict)
    stays: dict[tuple[str, str], Stay] = field(default_factory=dict)
    visits: dict[str, ParkedVisit] = field(default_factory=dict)
    occupancy: dict[str, Occupancy] = field(default_factory=dict)
    passes: dict[tuple[str, str, str], ParkingPass] = field(default_factory=dict)
    visit_orders: dict[str, VisitOrder] = field(default_factory=dict)
    bookings: dict[str, Booking] = field(default_factory=dict)
    cash: dict[str, CashEntry] = field(default_factory=dict)
    custody: dict[str, int] = field(default_factory=dict)
    signatures: dict[str, bytes] = field(default_factory=dict)
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
        for p in plan.passages:
            if p.record.id in db.passages:
                return p.error
        for vo in plan.visit_orders:
            held_vo = db.visit_orders.get(vo.order.id)
            if not (held_vo is not None and held_vo.state in vo.was if vo.was else held_vo is None):
                return OrderSettled(vo.order.id)
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
        for bo in plan.bill_orders:
            held_order = db.bill_orders.get(bo.order.id)
            if not (held_order is not None and held_order.state in bo.was if bo.was else held_order is None):
                return OrderSettled(bo.order.id)
        for b in plan.bills:
            held_bill = db.bills.get(b.bill.id)
            if not (held_bill is not None and held_bill.state in b.was if b.was else held_bill is None):
                return b.error or BillChanged(b.bill.id)
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
            ok = (
                stored_card is None
                if c.expected_version is None
                else (stored_card is not None and stored_card.version == c.expected_version)
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
        for move in plan.balances:
            if move.fen < 0 and db.balances.get(move.unit_id, 0) < -move.fen:
                return move.error or BalanceTooLow(move.unit_id)
        parking = self._parking_failure(plan)
        if parking is not None:
            return parking
        for bw in plan.bookings:
            held_booking = db.bookings.get(bw.booking.id)
            if bw.was:
                if (
                    held_booking is None
                    or held_booking.state not in bw.was
                    or held_booking.version != bw.booking.version
                ):
                    return BookingChanged(bw.booking.id)
            elif held_booking is not None:
                return BookingChanged(bw.booking.id)
        for cw in plan.cash:
            if cw.entry.id in db.cash:
                return OrderSettled(cw.entry.order_id or cw.entry.id)
        for cm in plan.custody:
            if cm.fen < 0 and db.custody.get(cm.collector, 0) < -cm.fen:
                return cm.error or CustodyChanged(cm.collector)
        for sig in plan.signatures:
            if sig.order_id in db.signatures:
                return OrderSettled(sig.order_id)
        for entry in plan.audit:
            if (entry.subject, entry.entry) in db.audit:
                return Conflict("this change was recorded already")
        return None

    def _parking_failure(self, plan: Plan) -> DomainError | None:
        db = self.db
        for sw in plan.stays:
            held_stay = db.stays.get((sw.stay.lot_id, sw.stay.plate))
            if (held_stay.version if held_stay else 0) != sw.expected_version:
                return StaleVisit(sw.stay.lot_id)
        for vw in plan.visits:
            held_visit = db.visits.get(vw.visit.id)
            ok = (
                held_visit is None
                if vw.expected_version is None
                else (held_visit is not None and held_visit.version == vw.expected_version)
            )
            if not ok:
                return StaleVisit(vw.visit.lot_id)
        o = plan.occupancy
        if o is not None:
            now = db.occupancy.get(o.lot_id, Occupancy(o.lot_id))
            if o.was is not None and (now.inside, now.visitors) != o.was:
                return StaleVisit(o.lot_id)
            if now.inside + o.inside < 0 or now.visitors + o.visitors < 0:
                return StaleVisit(o.lot_id)
            if o.visitors_below is not None and o.visitors > 0 and now.visitors >= o.visitors_below:
                return StaleVisit(o.lot_id)
            if o.inside_below is not None and o.inside > 0 and now.inside >= o.inside_below:
                return StaleVisit(o.lot_id)
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
        for bo in plan.bill_orders:
            db.bill_orders[bo.order.id] = bo.order
        for b in plan.bills:
            db.bills[b.bill.id] = b.bill
        for move in plan.balances:
            db.balances[move.unit_id] = db.balances.get(move.unit_id, 0) + move.fen
        for reminder in plan.bill_reminders:
            db.bill_reminders[reminder.key] = reminder
            db.bill_reminder_states.setdefault(reminder.key, "pending")
        for p in plan.passages:
            db.passages[p.record.id] = p.record
        for sw in plan.stays:
            db.stays[(sw.stay.lot_id, sw.stay.plate)] = replace(sw.stay, version=sw.expected_version + 1)
        for vw in plan.visits:
            db.visits[vw.visit.id] = replace(vw.visit, version=(vw.expected_version or 0) + 1)
        if plan.occupancy is not None:
            o = plan.occupancy
            now = db.occupancy.get(o.lot_id, Occupancy(o.lot_id))
            db.occupancy[o.lot_id] = Occupancy(o.lot_id, now.inside + o.inside, now.visitors + o.visitors)
        for pw in plan.passes:
            db.passes[(pw.found.lot_id, pw.found.kind.value, pw.found.plate)] = pw.found
        for vo in plan.visit_orders:
            db.visit_orders[vo.order.id] = vo.order
        for bw in plan.bookings:
            db.bookings[bw.booking.id] = replace(bw.booking, version=bw.booking.version + 1) if bw.was else bw.booking
        for cw in plan.cash:
            db.cash[cw.entry.id] = cw.entry
        for cm in plan.custody:
            db.custody[cm.collector] = db.custody.get(cm.collector, 0) + cm.fen
        for sig in plan.signatures:
            db.signatures[sig.order_id] = sig.image


class MemoryBilling:
    """The billing records in memory; bills, bill orders and balances are MemoryDB's (written by the unit of work)."""

    def __init__(self, db: MemoryDB) -> None:
        self.db = db
        self.records: dict[str, object] = {}
        self.revisions: dict[str, int] = {}
        self.phones: dict[str, list[str]] = {}
        self.runs_: dict[str, BillRun] = {}
        self.chunks: dict[tuple[str, int], RunChunk] = {}

    def _add(self, key: str, record: object) -> None:
        with self.db.lock:
            if key in self.records:
                raise BillingExists(key.partition("#")[2])
            self.records[key] = record

    def _all(self, kind: type[T], community_id: str) -> list[T]:
        found = [r for r in self.records.values() if isinstance(r, kind)]
        return [r for r in found if getattr(r, "community_id", None) == community_id]

    def add_community(self, community: Community) -> None:
        self._add(f"community#{community.id}", community)

    def community(self, community_id: str) -> Community | None:
        found = self.records.get(f"community#{community_id}")
        return found if isinstance(found, Community) else None

    def communities(self, tenant_id: str) -> list[Community]:
        return [r for r in self.records.values() if isinstance(r, Community) and r.tenant_id == tenant_id]

    def add_unit(self, unit: Unit, phone_keys: Iterable[str]) -> None:
        self._add(f"unit#{unit.id}", unit)
        for key in phone_keys:
            self.phones.setdefault(key, []).append(unit.id)

    def unit(self, unit_id: str) -> Unit | None:
        found = self.records.get(f"unit#{unit_id}")
        return found if isinstance(found, Unit) else None

    def units(self, community_id: str) -> list[Unit]:
        return sorted(self._all(Unit, community_id), key=lambda u: (u.building, u.number, u.id))

    def units_of_phone(self, phone_key: str) -> list[str]:
        return list(self.phones.get(phone_key, []))

    def add_fee_item(self, item: FeeItem) -> None:
        self._add(f"fee#{item.id}", item)
        self.revisions[item.id] = 0

    def fee_item(self, item_id: str) -> tuple[FeeItem, int] | None:
        found = self.records.get(f"fee#{item_id}")
        return (found, self.revisions[item_id]) if isinstance(found, FeeItem) else None

    def fee_items(self, community_id: str) -> list[FeeItem]:
        return sorted(self._all(FeeItem, community_id), key=lambda f: f.id)

    def save_fee_item(self, item: FeeItem, revision: int) -> None:
        with self.db.lock:
            if self.revisions.get(item.id) != revision:
                raise BillChanged(item.id)
            self.records[f"fee#{item.id}"] = item
            self.revisions[item.id] = revision + 1

    def add_meter(self, meter: Meter) -> None:
        self._add(f"meter#{meter.id}", meter)

    def meter(self, meter_id: str) -> Meter | None:
        found = self.records.get(f"meter#{meter_id}")
        return found if isinstance(found, Meter) else None

    def meters(self, community_id: str) -> list[Meter]:
        return sorted(self._all(Meter, community_id), key=lambda m: m.id)

    def add_reading(self, reading: Reading) -> None:
        self._add(f"reading#{reading.meter_id}#{reading.day}", reading)

    def readings(self, meter_id: str) -> list[Reading]:
        found = [r for r in self.records.values() if isinstance(r, Reading) and r.meter_id == meter_id]
        return sorted(found, key=lambda r: r.day)

    def add_vacancy(self, vacancy: Vacancy) -> None:
        self._add(f"vacancy#{vacancy.id}", vacancy)

    def vacancy(self, vacancy_id: str) -> Vacancy | None:
        found = self.records.get(f"vacancy#{vacancy_id}")
        return found if isinstance(found, Vacancy) else None

    def vacancies(self, community_id: str) -> list[Vacancy]:
        return sorted(self._all(Vacancy, community_id), key=lambda v: v.id)

    def decide_vacancy(self, vacancy: Vacancy) -> bool:
        with self.db.lock:
            held = self.vacancy(vacancy.id)
            if held is None or held.state is not VacancyState.PENDING:
                return False
            self.records[f"vacancy#{vacancy.id}"] = vacancy
            return True

    def save_run(self, run: BillRun) -> None:
        self.runs_[run.id] = run

    def change_run(self, run_id: str, change: Callable[[BillRun], BillRun]) -> BillRun | None:
        with self.db.lock:
            if run_id not in self.runs_:
                return None
            self.runs_[run_id] = change(self.runs_[run_id])
            return self.runs_[run_id]

    def add_run_chunks(self, chunks: Sequence[RunChunk]) -> None:
        self.chunks.update({(c.run_id, c.number): c for c in chunks})

    def run_chunks(self, run_id: str, count: int) -> list[RunChunk]:
        return [self.chunks[(run_id, n)] for n in range(count) if (run_id, n) in self.chunks]

    def finish_run_chunk(self, chunk: RunChunk, was: ChunkState) -> bool:
        with self.db.lock:
            if self.chunks[(chunk.run_id, chunk.number)].state is not was:
                return False
            self.chunks[(chunk.run_id, chunk.number)] = chunk
            return True

    def runs(self, community_id: str) -> list[BillRun]:
        return [r for r in self.runs_.values() if r.community_id == community_id]

    def run(self, run_id: str) -> BillRun | None:
        return self.runs_.get(run_id)

    def bill(self, bill_id: str) -> Bill | None:
        return self.db.bills.get(bill_id)

    def bills(self, bill_ids: Iterable[str]) -> list[Bill]:
        return [self.db.bills[b] for b in dict.fromkeys(bill_ids) if b in self.db.bills]

    def reminder_records(self, bill_id: str, community_id: str, unit_id: str) -> tuple[Bill | None, Community | None,
                                                                                        Unit | None]:  # fmt: skip
        return self.bill(bill_id), self.community(community_id), self.unit(unit_id)

    def bills_of_community(self, community_id: str, period: str | None = None) -> list[Bill]:
        found = [b for b in self.db.bills.values() if b.community_id == community_id and period in (None, b.period)]
        return sorted(found, key=lambda b: (b.period, b.id))

    def bills_of_unit(self, unit_id: str) -> list[Bill]:
        return sorted((b for b in self.db.bills.values() if b.unit_id == unit_id), key=lambda b: (b.period, b.id))

    def bill_order(self, order_id: str) -> BillOrder | None:
        return self.db.bill_orders.get(order_id)

    def pending_bill_orders(self, created_before: datetime) -> list[BillOrder]:
        orders = self.db.bill_orders.values()
        return [o for o in orders if o.state is OrderState.PENDING and o.created_at <= created_before]

    def balance(self, unit_id: str) -> int:
        return self.db.balances.get(unit_id, 0)

    def due_bill_reminders(self, since: datetime, at: datetime) -> list[tuple[BillReminder, str]]:
        found = [r for r in self.db.bill_reminders.values() if since <= r.due_at <= at]
        return [(r, "pending" if self._claimable(r, at) else self.db.bill_reminder_states[r.key])
                for r in sorted(found, key=lambda r: r.sort)]  # fmt: skip

    def _claimable(self, reminder: BillReminder, at: datetime) -> bool:
        state = self.db.bill_reminder_states.get(reminder.key)
        lease = self.db.bill_reminder_leases.get(reminder.key)
        return state == "pending" or (state == "sending" and (lease is None or lease < at))

    def claim_bill_reminder(self, reminder: BillReminder, at: datetime) -> bool:
        with self.db.lock:
            if not self._claimable(reminder, at):
                return False
            self.db.bill_reminder_states[reminder.key] = "sending"
            self.db.bill_reminder_leases[reminder.key] = at + SEND_LEASE
            return True

    def bill_reminder_held(self, reminder: BillReminder, at: datetime) -> bool:
        state = self.db.bill_reminder_states.get(reminder.key)
        return state == "sending" and self.db.bill_reminder_leases.get(reminder.key, at) >= at

    def finish_bill_reminder(self, reminder: BillReminder, state: str) -> None:
        self.db.bill_reminder_states[reminder.key] = state
        self.db.bill_reminder_leases.pop(reminder.key, None)


class MemoryParking:
    """Parking records in memory; all but the setup are MemoryDB's (written by the unit of work)."""

    def __init__(self, db: MemoryDB) -> None:
        self.db = db
        self.setups: dict[str, ParkingSetup] = {}

    def setup(self, lot_id: str) -> ParkingSetup:
        return self.setups.get(lot_id) or ParkingSetup(lot_id)

    def save_setup(self, setup: ParkingSetup) -> None:
        self.setups[setup.lot_id] = setup

    def passage(self, lot_id: str, gate_id: str, event_id: str) -> PassageRecord | None:
        return self.db.passages.get(f"{lot_id}#{gate_id}#{event_id}")

    def stay(self, lot_id: str, plate: str) -> Stay:
        return self.db.stays.get((lot_id, plate)) or Stay(lot_id, plate)

    def at_gate(self, lot_id: str, gate_id: str, event_id: str, plate: str) -> AtGate:
        with self.db.lock:
            return AtGate(self.passage(lot_id, gate_id, event_id), self.stay(lot_id, plate),
                          self.occupancy(lot_id), self.setup(lot_id), self.passes_of(lot_id, plate))  # fmt: skip

    def visit(self, visit_id: str) -> ParkedVisit | None:
        return self.db.visits.get(visit_id)

    def visits_on(self, lot_id: str, day: date) -> list[ParkedVisit]:
        found = [v for v in self.db.visits.values() if v.lot_id == lot_id and v.day == day]
        return sorted(found, key=lambda v: (v.first_at, v.id))

    def open_visits(self, lot_id: str) -> list[ParkedVisit]:
        return sorted((v for v in self.db.visits.values() if v.lot_id == lot_id and v.open), key=lambda v: v.first_at)

    def owing(self, lot_id: str) -> list[Stay]:
        return [s for (lot, _), s in sorted(self.db.stays.items()) if lot == lot_id and s.owed_fen > 0]

    def occupancy(self, lot_id: str) -> Occupancy:
        return self.db.occupancy.get(lot_id) or Occupancy(lot_id)

    def passes(self, lot_id: str) -> list[ParkingPass]:
        return [p for (lot, _, _), p in sorted(self.db.passes.items()) if lot == lot_id]

    def passes_of(self, lot_id: str, plate: str) -> list[ParkingPass]:
        return [p for p in self.passes(lot_id) if p.plate == plate]

    def guests(self, lot_id: str, owner_id: str) -> list[ParkingPass]:
        return [p for p in self.passes(lot_id) if p.owner_id == owner_id]

    def visit_order(self, order_id: str) -> VisitOrder | None:
        return self.db.visit_orders.get(order_id)

    def pending_visit_orders(self, created_before: datetime) -> list[VisitOrder]:
        found = [o for o in self.db.visit_orders.values() if o.state is OrderState.PENDING]
        return sorted((o for o in found if o.created_at <= created_before), key=lambda o: o.created_at)


class MemoryCollection:
    """Collection hours here; bookings are MemoryDB's (written by the unit of work)."""

    def __init__(self, db: MemoryDB) -> None:
        self.db = db
        self.hours_: dict[str, CollectionHours] = {}

    def hours(self, community_id: str) -> CollectionHours:
        return self.hours_.get(community_id) or CollectionHours(community_id)

    def save_hours(self, hours: CollectionHours) -> None:
        self.hours_[hours.community_id] = hours

    def booking(self, booking_id: str) -> Booking | None:
        return self.db.bookings.get(booking_id)

    def bookings_between(self, community_id: str, start: datetime, end: datetime) -> list[Booking]:
        found = [b for b in self.db.bookings.values() if b.community_id == community_id and start <= b.slot < end]
        return sorted(found, key=lambda b: (b.slot, b.id))

    def bookings_of_unit(self, unit_id: str) -> list[Booking]:
        return sorted((b for b in self.db.bookings.values() if b.unit_id == unit_id), key=lambda b: (b.slot, b.id))

    def cash_in_hand(self, collector: str) -> int:
        return self.db.custody.get(collector, 0)

    def cash_moves(self, collector: str, start: datetime, end: datetime) -> list[CashEntry]:
        found = [e for e in self.db.cash.values() if e.collector == collector and start <= e.at < end]
        return sorted(found, key=lambda e: (e.at, e.id))

    def signature(self, order_id: str) -> bytes | None:
        return self.db.signatures.get(order_id)

    def cash_entry(self, entry_id: str) -> CashEntry | None:
        return self.db.cash.get(entry_id)
