"""In-memory adapters for unit tests of handlers: read views over one MemoryDB, which only the in-memory
unit of work (tests/memory.py) writes, with the same declared conditions as DynamoDB."""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.admin import Staff
from domain.application import OPEN, Application, ApplicationState
from domain.card import Card, CardState, PauseState
from domain.card_change import AuditEntry, plate_claim, unpaid_claim
from domain.errors import (
    InvoiceProviderUnavailable,
    LoginCodeInvalid,
    LoginCodeUsed,
    PaymentUnavailable,
    PhoneCodeInvalid,
    StaleCard,
    TooManyVehicles,
)
from domain.gate import Grant
from domain.invoice import Invoice, InvoiceState
from domain.login_limits import Tries, Turn
from domain.lot import Lot
from domain.order import Channel, LedgerEntry, Order, OrderState, RefundState, order_key_claim
from domain.owner import Owner
from domain.package import Package
from domain.receipt import Receipt, SignedReceipt
from domain.reconciliation import PROVIDER_ZONE, Reconciliation
from domain.reminder import ReminderPrefs, Slot
from domain.session import Ending, Session
from functions.bootstrap import Services
from functions.sim_routes import LocalMounts
from handlers.ports import Clock, Gate, IssuedDocument, PaymentStatus, SendFailed, WechatSession
from infra.clock import SimClock
from infra.dynamodb.reminders import LEASE as REMINDER_LEASE
from infra.receipt_signing import ReceiptKey
from tests.memory import MemoryBilling, MemoryCollection, MemoryDB, MemoryParking, MemoryUnitOfWork

if TYPE_CHECKING:
    from infra.simulators.alipay import AlipaySimulator
from infra.tokens import SignedTokens


def _create(items: dict[Any, Any], key: object, value: object) -> bool:
    """Create only when absent, as the DynamoDB adapters' conditional puts do."""
    if key in items:
        return False
    items[key] = value
    return True


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class FakeLots:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()
        self.items = self.db.lots

    def get(self, lot_id: str) -> Lot | None:
        return self.items.get(lot_id)

    def get_many(self, lot_ids: set[str]) -> dict[str, Lot]:
        return {i: self.items[i] for i in lot_ids if i in self.items}

    def save_settings(self, lot: Lot) -> None:
        stored = self.items[lot.id]
        self.items[lot.id] = replace(
            lot, held=stored.held, entitlement_version=stored.entitlement_version, receipt_seq=stored.receipt_seq,
            receipt_hash=stored.receipt_hash,
        )  # fmt: skip

    def list_for_tenant(self, tenant_id: str) -> list[Lot]:
        return [lot for lot in self.items.values() if lot.tenant_id == tenant_id]

    def add(self, lot: Lot) -> bool:
        return _create(self.items, lot.id, lot)


class FakePackages:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Package] = {}

    def list_for_lot(self, lot_id: str) -> list[Package]:
        return [p for (lot, _), p in sorted(self.items.items()) if lot == lot_id]

    def get(self, lot_id: str, package_id: str) -> Package | None:
        return self.items.get((lot_id, package_id))

    def add(self, package: Package) -> bool:
        return _create(self.items, (package.lot_id, package.id), package)

    def save(self, package: Package) -> None:
        self.items[(package.lot_id, package.id)] = package


class FakeCards:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()
        self.items = self.db.cards

    def get(self, card_id: str) -> Card | None:
        return self.items.get(card_id)

    def get_with_lot(self, card_id: str, lot_id: str) -> tuple[Card | None, Lot | None]:
        return self.items.get(card_id), self.db.lots.get(lot_id)

    def get_with_order(self, order_id: str, card_id: str, lot_id: str) -> tuple[Order | None, Card | None, Lot | None]:
        return self.db.orders.get(order_id), self.items.get(card_id), self.db.lots.get(lot_id)

    def get_many(self, card_ids: set[str]) -> dict[str, Card]:
        return {i: self.items[i] for i in card_ids if i in self.items}

    def save(self, card: Card) -> Card:
        """Test set-up only: write a card's dates or state as if the office had (no port has this)."""
        stored = self.items.get(card.id)
        if stored is None or stored.version != card.version:
            raise StaleCard(card.id)
        self.items[card.id] = saved = replace(card, plates=stored.plates, version=card.version + 1)
        return saved

    def list_for_owner(self, owner_id: str) -> list[Card]:
        return [c for c in self.items.values() if c.owner_id == owner_id]

    def list_for_lot(self, lot_id: str) -> list[Card]:
        return [c for c in self.items.values() if c.lot_id == lot_id]

    def card_for_plate(self, lot_id: str, plate: str) -> Card | None:
        claim = self.db.claims.get(plate_claim(lot_id, plate))
        return self.items.get(claim.card_id) if claim is not None and claim.card_id else None


class FakeOwners:
    def __init__(self) -> None:
        self.items: dict[str, Owner] = {}
        self.claims: dict[str, str] = {}
        self.session_keys: dict[str, str] = {}

    def get(self, owner_id: str) -> Owner | None:
        return self.items.get(owner_id)

    def find_by_wechat(self, openid: str, unionid: str | None) -> Owner | None:
        owner_id = self.claims.get(f"wx-openid:{openid}") or self.claims.get(f"wx-unionid:{unionid}")
        return self.items.get(owner_id) if owner_id else None

    def add(self, owner: Owner) -> bool:
        keys = [f"wx-openid:{owner.openid}", *([f"wx-unionid:{owner.unionid}"] if owner.unionid else [])]
        if owner.id in self.items or any(k in self.claims for k in keys):
            return False
        self.items[owner.id] = owner
        self.claims.update({k: owner.id for k in keys})
        return True

    def store_session_key(self, owner_id: str, session_key: str) -> None:
        self.session_keys[owner_id] = session_key

    def set_phone(self, owner_id: str, phone: str) -> None:
        self.items[owner_id] = replace(self.items[owner_id], phone=phone)

    def with_phone_ending(self, last4: str) -> set[str]:
        return {o.id for o in self.items.values() if o.phone and o.phone.endswith(last4)}

    def add_vehicle(self, owner_id: str, plate: str, limit: int) -> None:
        vehicles = set(self.items[owner_id].vehicles)
        if plate not in vehicles and len(vehicles) >= limit:
            raise TooManyVehicles(f"at most {limit}")
        self.items[owner_id] = replace(self.items[owner_id], vehicles=tuple(sorted(vehicles | {plate})))

    def remove_vehicle(self, owner_id: str, plate: str) -> None:
        vehicles = set(self.items[owner_id].vehicles) - {plate}
        self.items[owner_id] = replace(self.items[owner_id], vehicles=tuple(sorted(vehicles)))


class FakeWechat:
    """Codes `sim:<openid>` and `sim-phone:<number>`, each usable once, like the real thing."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def _use(self, code: str, prefix: str) -> str:
        if not code.startswith(prefix):
            raise LoginCodeInvalid() if prefix == "sim:" else PhoneCodeInvalid()
        if code in self.used:
            raise LoginCodeUsed() if prefix == "sim:" else PhoneCodeInvalid()
        self.used.add(code)
        return code.removeprefix(prefix).split(":")[0]

    def code_to_session(self, code: str) -> WechatSession:
        openid = self._use(code, "sim:")
        return WechatSession(openid=openid, session_key=f"sk-{openid}-{len(self.used)}", unionid=f"u-{openid}")

    def phone_number(self, code: str) -> str:
        return self._use(code, "sim-phone:")


class CountingIds:
    def __init__(self) -> None:
        self.count = 0

    def new_id(self, kind: str) -> str:
        self.count += 1
        return f"{kind}-{self.count}"


class FakeSealer:
    """Seals by marking (tests read what was sealed); fingerprints by a keyed-looking digest."""

    def seal(self, text: str, context: str) -> bytes:
        return f"sealed:{context}:{text}".encode()

    def fingerprint(self, text: str, purpose: str) -> str:
        return hashlib.sha256(f"test-key|{purpose}|{text}".encode()).hexdigest()[:40]


class FakeOrders:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()
        self.items = self.db.orders

    def get(self, order_id: str) -> Order | None:
        return self.items.get(order_id)

    def for_card(self, card_id: str) -> list[Order]:
        return sorted((o for o in self.items.values() if o.card_id == card_id), key=lambda o: o.created_at)[::-1]

    def pending(self, created_before: datetime) -> list[Order]:
        return [o for o in self.items.values() if o.state is OrderState.PENDING and o.created_at <= created_before]

    def refunding(self) -> list[Order]:
        return [o for o in self.items.values() if o.refund is RefundState.PROCESSING]

    def made_with(self, who: str, idempotency_key: str) -> Order | None:
        return self._claimed(order_key_claim(who, idempotency_key))

    def waiting_for(self, card_id: str) -> Order | None:
        return self._claimed(unpaid_claim(card_id))

    def _claimed(self, key: str) -> Order | None:
        claim = self.db.claims.get(key)
        return self.items.get(claim.order_id) if claim is not None and claim.order_id else None

    def for_owner(self, owner_id: str, limit: int, after: tuple[datetime, str] | None = None) -> list[Order]:
        mine = sorted((o for o in self.items.values() if o.owner_id == owner_id),
                      key=lambda o: (o.created_at, o.id), reverse=True)  # fmt: skip
        if after is not None:
            mine = [o for o in mine if (o.created_at, o.id) < after]
        return mine[:limit]


class FakeCardQueries:
    def __init__(self, db: MemoryDB) -> None:
        self.db = db

    def ended_before(self, day: date) -> list[Card]:
        return [
            c
            for c in self.db.cards.values()
            if c.state is CardState.ACTIVE and c.valid_until is not None and c.valid_until < day
        ]

    def unpaid_before(self, day: date) -> list[Card]:
        return [c for c in self.db.cards.values() if c.state is CardState.PENDING and c.pay_by and c.pay_by < day]

    def pauses_to_approve(self, lot_id: str) -> list[Card]:
        waiting = (c for c in self.db.cards.values() if c.lot_id == lot_id)
        return [c for c in waiting if any(p.state is PauseState.REQUESTED for p in c.pauses)]

    def history(self, card_id: str) -> list[AuditEntry]:
        return sorted((e for e in self.db.audit.values() if e.subject == f"card:{card_id}"), key=lambda e: e.entry)

    def waiting_for_phone(self, phone_key: str) -> list[Card]:
        return [
            c
            for c in self.db.cards.values()
            if c.claim is not None and c.claim.phone_key == phone_key and c.claim.code_locator is None
        ]

    def waiting_for_code(self, locator: str) -> list[Card]:
        return [c for c in self.db.cards.values() if c.claim is not None and c.claim.code_locator == locator]


class FakeApplications:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()
        self.items = self.db.applications

    def get(self, application_id: str) -> Application | None:
        return self.items.get(application_id)

    def list_for_owner(self, owner_id: str) -> list[Application]:
        mine = [a for a in self.items.values() if a.owner_id == owner_id]
        return sorted(mine, key=lambda a: a.queue_key, reverse=True)

    def queue(self, lot_id: str) -> list[Application]:
        return self._in(lot_id, ApplicationState.SUBMITTED)

    def waiting(self, lot_id: str, limit: int | None = None) -> list[Application]:
        return self._in(lot_id, ApplicationState.WAITLISTED)[:limit]

    def holding(self, lot_id: str, plate: str) -> Application | None:
        claim = self.db.claims.get(plate_claim(lot_id, plate))
        if claim is None or not claim.application_id:
            return None
        found = self.items.get(claim.application_id)
        return found if found is not None and found.state in OPEN else None

    def _in(self, lot_id: str, state: ApplicationState) -> list[Application]:
        found = [a for a in self.items.values() if a.lot_id == lot_id and a.state is state]
        return sorted(found, key=lambda a: a.queue_key)


class FakeReceipts:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.items = (db or MemoryDB()).receipts

    def get(self, receipt_id: str) -> SignedReceipt | None:
        return self.items.get(receipt_id)

    def in_chain(self, lot_id: str, seq: int) -> Receipt | None:
        return next(
            (s.receipt for s in self.items.values() if (s.receipt.lot_id, s.receipt.seq) == (lot_id, seq)), None
        )


class FakeInvoices:
    def __init__(self) -> None:
        self.items: dict[str, Invoice] = {}
        self._lock = threading.Lock()

    def get(self, order_id: str) -> Invoice | None:
        return self.items.get(order_id)

    def get_many(self, order_ids: set[str]) -> dict[str, Invoice]:
        return {k: self.items[k] for k in order_ids if k in self.items}

    def add(self, invoice: Invoice) -> Invoice:
        with self._lock:
            return self.items.setdefault(invoice.order_id, invoice)

    def move(self, invoice: Invoice, was: InvoiceState) -> bool:
        with self._lock:
            if self.items[invoice.order_id].state is not was:
                return False
            self.items[invoice.order_id] = invoice
            return True

    def unfinished(self) -> list[Invoice]:
        return [i for i in self.items.values() if i.state in (InvoiceState.ISSUING, InvoiceState.REVERSING)]

    def requested(self, lot_id: str) -> list[Invoice]:
        return [i for i in self.items.values() if i.lot_id == lot_id and i.state is InvoiceState.REQUESTED]


class FakeIssuer:
    """Issues numbered invoices once per request, and can fail like a provider that does not answer."""

    def __init__(self) -> None:
        self.issued: dict[str, IssuedDocument] = {}
        self.failing = False

    def issue(self, invoice: Invoice) -> IssuedDocument:
        return self._make(invoice.order_id)

    def reverse(self, invoice: Invoice) -> IssuedDocument:
        return self._make(f"{invoice.order_id}-red")

    def _make(self, request_id: str) -> IssuedDocument:
        if self.failing:
            raise InvoiceProviderUnavailable()
        if request_id not in self.issued:
            number = f"2644{len(self.issued) + 1:016d}"
            self.issued[request_id] = IssuedDocument(number, date(2026, 11, 23), b"%PDF-1.4 " + number.encode())
        return self.issued[request_id]


class FakeDocuments:
    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.items[key] = data

    def get(self, key: str) -> bytes | None:
        return self.items.get(key)


class FakeSessions:
    def __init__(self) -> None:
        self.items: dict[str, Session] = {}
        self.until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def start(self, session: Session, until: datetime) -> None:
        with self._lock:
            assert session.id not in self.items
            self.items[session.id], self.until[session.id] = session, until

    def get(self, session_id: str) -> Session | None:
        return self.items.get(session_id)

    def rotate(self, session: Session, until: datetime) -> bool:
        with self._lock:
            stored = self.items.get(session.id)
            if stored is None or stored.ended is not None or stored.generation != session.generation:
                return False
            self.items[session.id] = replace(stored, generation=stored.generation + 1)
            self.until[session.id] = until
            return True

    def end(self, session_id: str, why: Ending) -> None:
        with self._lock:
            stored = self.items.get(session_id)
            if stored is not None and stored.ended is None:
                self.items[session_id] = replace(stored, ended=why)


class FakeStaff:
    def __init__(self) -> None:
        self.items: dict[str, Staff] = {}
        self._lock = threading.Lock()

    def get(self, email: str) -> Staff | None:
        return self.items.get(email)

    def add(self, staff: Staff) -> bool:
        return _create(self.items, staff.email, staff)

    def list_for_tenant(self, tenant_id: str) -> list[Staff]:
        return sorted((s for s in self.items.values() if s.tenant_id == tenant_id), key=lambda s: s.email)

    def save(self, staff: Staff, was: Staff) -> bool:
        with self._lock:
            stored = self.items.get(staff.email)
            if stored is None or stored.revision != was.revision:
                return False
            epoch = stored.session_epoch + (1 if staff.session_epoch != was.session_epoch else 0)
            self.items[staff.email] = replace(staff, revision=was.revision + 1, session_epoch=epoch)
            return True

    def end_sessions(self, email: str) -> None:
        with self._lock:
            stored = self.items[email]
            self.items[email] = replace(stored, session_epoch=stored.session_epoch + 1)


class PlainPasswords:
    """Not a KDF: unit tests of the rules around passwords only (the scrypt adapter has its own test)."""

    def hash(self, password: str) -> str:
        return f"plain${password}"

    def matches(self, password: str, stored: str) -> bool:
        return stored == f"plain${password}"


class FakeAudit:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()

    @property
    def entries(self) -> list[AuditEntry]:
        return sorted(self.db.audit.values(), key=lambda e: (e.subject, e.entry))

    def record(self, entry: AuditEntry) -> None:
        self.db.audit[(entry.subject, entry.entry)] = entry

    def history(self, subject: str) -> list[AuditEntry]:
        return [e for e in self.entries if e.subject == subject]


class FakeLedger:
    def __init__(self, db: MemoryDB) -> None:
        self.db = db

    def around(self, lot_id: str, start: datetime, end: datetime) -> list[LedgerEntry]:
        low, high = start - timedelta(days=1), end + timedelta(days=1)
        return [e for e in self.db.ledger.values() if e.lot_id == lot_id and low <= e.booked_at <= high]

    def on_statement_day(self, channel: Channel, day: date) -> list[LedgerEntry]:
        return [
            e
            for e in self.db.ledger.values()
            if e.channel is channel and e.booked_at.astimezone(PROVIDER_ZONE).date() == day
        ]


class FakeReconciliations:
    def __init__(self) -> None:
        self.items: dict[tuple[Channel, date], Reconciliation] = {}

    def save(self, result: Reconciliation) -> None:
        self.items[(result.channel, result.day)] = result

    def get(self, channel: Channel, day: date) -> Reconciliation | None:
        return self.items.get((channel, day))

    def recent(self, channel: Channel, days: int, today: date) -> list[Reconciliation]:
        since = today - timedelta(days=days - 1)
        return sorted(
            (r for (c, d), r in self.items.items() if c is channel and since <= d <= today),
            key=lambda r: r.day,
            reverse=True,
        )


class FakeLoginTries:
    def __init__(self) -> None:
        self.items: dict[str, Tries] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Tries | None:
        return self.items.get(key)

    def get_many(self, keys: list[str]) -> dict[str, Tries]:
        return {k: self.items[k] for k in keys if k in self.items}

    def take(self, key: str, turn: Turn) -> bool:
        with self._lock:
            held, before = self.items.get(key), turn.before
            seen = None if held is None else (held.count, held.last)
            if seen != (None if before is None else (before.count, before.last)):
                return False  # as DynamoDB's condition: the count and the last try as read
            self.items[key] = turn.after
            return True

    def forget(self, key: str) -> None:
        self.items.pop(key, None)


class FakeRates:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, key: str, expires_at: datetime) -> int:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)


class FakeFeed:
    def __init__(self, db: MemoryDB | None = None) -> None:
        self.db = db or MemoryDB()

    @property
    def events(self) -> list[Grant]:
        return [self.db.events[k] for k in sorted(self.db.events)]

    @events.setter
    def events(self, grants: list[Grant]) -> None:
        self.db.events.clear()
        self.db.events.update({(g.lot_id, g.version): g for g in grants})

    def since(self, lot_id: str, version: int, limit: int) -> list[Grant]:
        return [e for e in self.events if e.lot_id == lot_id and e.version > version][:limit]


class FakeGates:
    def __init__(self) -> None:
        self.items: dict[str, Gate] = {}
        self.synced: dict[str, tuple[int, str]] = {}

    def get(self, gate_id: str) -> Gate | None:
        return self.items.get(gate_id)

    def add(self, gate: Gate) -> bool:
        return _create(self.items, gate.id, gate)

    def record_sync(self, gate_id: str, version: int, at: str) -> None:
        self.synced[gate_id] = (version, at)

    def record_applied(self, gate_id: str, version: int, at: str) -> bool:
        if gate_id not in self.items or self.synced.get(gate_id, (-1, ""))[0] >= version:
            return False
        self.synced[gate_id] = (version, at)
        return True

    def sync_states(self, lot_id: str) -> list[tuple[str, int | None, str | None]]:
        gates = sorted(g.id for g in self.items.values() if g.lot_id == lot_id)
        return [(g, *self.synced.get(g, (None, None))) for g in gates]


class FakeReminderStore:
    """Reminders by key with their state and lease; claims are atomic under a lock, as the conditional write is."""

    def __init__(self, db: MemoryDB | None = None) -> None:
        db = db or MemoryDB()
        self.slots: dict[str, Slot] = db.slots
        self.state: dict[str, str] = db.slot_states
        self.leases: dict[str, datetime] = {}
        self.attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def schedule(self, slots: list[Slot]) -> None:
        for slot in slots:
            self.slots[slot.key] = slot
            self.state.setdefault(slot.key, "pending")

    def _claimable(self, key: str, at: datetime) -> bool:
        state = self.state.get(key)
        return state == "pending" or (state == "sending" and self.leases.get(key, at) < at)

    def due(self, bucket: str, at: datetime) -> list[Slot]:
        return [
            s for k, s in sorted(self.slots.items())
            if s.bucket == bucket and s.due_at <= at and self._claimable(k, at)
        ]  # fmt: skip

    def claim(self, slot: Slot, at: datetime) -> bool:
        with self._lock:
            if not self._claimable(slot.key, at):
                return False
            self.state[slot.key] = "sending"
            self.leases[slot.key] = at + REMINDER_LEASE
            return True

    def held(self, slot: Slot, at: datetime) -> bool:
        return self.state.get(slot.key) == "sending" and self.leases.get(slot.key, at) >= at

    def release(self, slot: Slot) -> None:
        self.state[slot.key] = "pending"
        self.leases.pop(slot.key, None)

    def finish(self, slot: Slot, state: str, reason: str | None = None) -> None:
        self.state[slot.key] = state
        self.leases.pop(slot.key, None)

    def states(self, bucket: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key, slot in self.slots.items():
            if slot.bucket == bucket:
                counts[self.state[key]] = counts.get(self.state[key], 0) + 1
        return counts

    def retry_later(self, slot: Slot, reason: str, max_attempts: int) -> None:
        self.attempts[slot.key] = self.attempts.get(slot.key, 0) + 1
        self.state[slot.key] = "failed" if self.attempts[slot.key] >= max_attempts else "pending"
        self.leases.pop(slot.key, None)


class FakePrefs:
    def __init__(self) -> None:
        self.items: dict[str, ReminderPrefs] = {}

    def get(self, card_id: str) -> ReminderPrefs | None:
        return self.items.get(card_id)

    def put(self, prefs: ReminderPrefs) -> None:
        self.items[prefs.card_id] = prefs


class FakeConsents:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def record(self, owner_id: str, template_id: str) -> None:
        self.counts[(owner_id, template_id)] = self.counts.get((owner_id, template_id), 0) + 1

    def spend(self, owner_id: str, template_id: str) -> bool:
        if self.counts.get((owner_id, template_id), 0) <= 0:
            return False
        self.counts[(owner_id, template_id)] -= 1
        return True


class NoPayments:
    """A payment provider that takes nothing itself: tests confirm payments with notices of their own."""

    def prepay(self, order: Order, payer_id: str) -> dict[str, str]:
        return {}

    def query(self, order: Order) -> PaymentStatus:
        return PaymentStatus(paid=False)

    def __init__(self, refunds: RefundState = RefundState.SUCCEEDED) -> None:
        self.refunds = refunds
        """How refunds are answered: SUCCEEDED at once, or PROCESSING (settled by `refund_state` later)."""
        self.settled: dict[str, RefundState] = {}

    def close(self, order: Order) -> None:
        pass

    def refund(self, order: object, refund_no: str, amount_fen: int | None = None) -> RefundState:
        return self.refunds

    def refund_state(self, order: Order, refund_no: str) -> RefundState:
        return self.settled.get(refund_no, self.refunds)


class FakeProvider(NoPayments):
    """A provider that knows which orders the payer paid and which were closed, as WeChat Pay does: closing a
    paid one is refused (ORDERPAID), closing a closed one again is fine, and a closed one cannot be paid."""

    def __init__(self) -> None:
        super().__init__()
        self.paid: dict[str, datetime] = {}
        self.closed: set[str] = set()
        self.closes = 0
        self._lock = threading.Lock()

    def pay(self, order: Order, at: datetime) -> bool:
        with self._lock:
            if order.id in self.closed:
                return False
            self.paid.setdefault(order.id, at)
            return True

    def query(self, order: Order) -> PaymentStatus:
        with self._lock:
            if order.id in self.paid:
                return PaymentStatus(True, f"tx-{order.id}", order.amount_fen, self.paid[order.id])
            return PaymentStatus(paid=False, closed=order.id in self.closed)

    def close(self, order: Order) -> None:
        with self._lock:
            self.closes += 1
            if order.id in self.paid:
                raise PaymentUnavailable()
            self.closed.add(order.id)


class FakeQr(FakeProvider):
    """A provider that also draws QR codes (WeChat Pay native / Alipay precreate) for a door's payments."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[str] = []

    def code(self, order: Order) -> str:
        self.codes.append(order.id)
        return f"weixin://wxpay/bizpayurl?pr={order.id}"


class FakeMessenger:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, dict[str, str]]]] = []
        self.failing = False

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None:
        self._send("subscribe", openid, data)

    def send_template(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None:
        self._send("template", openid, data)

    def _send(self, kind: str, openid: str, data: dict[str, dict[str, str]]) -> None:
        if self.failing:
            raise SendFailed("simulated outage")
        self.sent.append((kind, openid, data))


class RecordingMetrics:
    def __init__(self) -> None:
        self.counted: list[tuple[str, float, str, dict[str, str]]] = []

    def count(self, name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
        self.counted.append((name, value, unit, dimensions))


def fake_services(now: datetime, clock: Clock | None = None) -> Services:
    clock = clock or FixedClock(now)
    db = MemoryDB()
    return Services(
        clock=clock,
        ids=CountingIds(),
        lots=FakeLots(db),
        packages=FakePackages(),
        cards=FakeCards(db),
        owners=FakeOwners(),
        tokens=SignedTokens(b"test-token-secret", clock),
        sessions=FakeSessions(),
        wechat=FakeWechat(),
        orders=FakeOrders(db),
        uow=MemoryUnitOfWork(db),
        wechatpay=None,
        alipay=None,
        feed=FakeFeed(db),
        gates=FakeGates(),
        signer=None,
        reminders=FakeReminderStore(db),
        reminder_prefs=FakePrefs(),
        consents=FakeConsents(),
        messenger=FakeMessenger(),
        applications=FakeApplications(db),
        card_queries=FakeCardQueries(db),
        invoices=FakeInvoices(),
        invoice_issuer=FakeIssuer(),
        documents=FakeDocuments(),
        receipts=FakeReceipts(db),
        receipt_signer=ReceiptKey(bytes(range(32))),
        staff=FakeStaff(),
        passwords=PlainPasswords(),
        staff_tokens=SignedTokens(b"test-staff-secret", clock),
        audit=FakeAudit(db),
        ledger=FakeLedger(db),
        reconciliations=FakeReconciliations(),
        rates=FakeRates(),
        login_tries=FakeLoginTries(),
        sealer=FakeSealer(),
        billing=MemoryBilling(db),
        parking=MemoryParking(db),
        collection=MemoryCollection(db),
        metrics=RecordingMetrics(),
    )


def memory_of(s: Services) -> MemoryDB:
    """The in-memory store behind fake services."""
    assert isinstance(s.uow, MemoryUnitOfWork)
    return s.uow.db


@functools.cache
def _sim_keys() -> tuple[str, str]:
    from infra.simulators.keys import new_rsa_key, private_pem

    return private_pem(new_rsa_key()), private_pem(new_rsa_key())


def _alipay_sim(clock: SimClock) -> AlipaySimulator:
    from infra.simulators.alipay import AlipaySimulator
    from infra.simulators.keys import public_pem_of

    app, alipay = _sim_keys()
    return AlipaySimulator("2021000000000001", "2088000000000001", public_pem_of(app), alipay, clock)


def local_mounts(clock: SimClock) -> LocalMounts:
    """The local stack's simulators, for tests that build the app themselves."""
    from infra.simulators.keys import public_pem_of
    from infra.simulators.wechat import WechatSimulator
    from infra.simulators.wechatpay import WechatPaySimulator

    merchant, platform = _sim_keys()
    wechatpay = WechatPaySimulator(
        "1900000109", "wx-appid", "k" * 32, public_pem_of(merchant), platform, "PUB_KEY_ID_1", clock
    )
    from infra.simulators.invoices import InvoiceSimulator

    wechat = WechatSimulator("wx-appid", "secret", clock)
    return LocalMounts(clock, None, None, wechat, wechatpay, _alipay_sim(clock), InvoiceSimulator(clock))
