"""Ports shared by several use cases. Adapters in infra/ implement them.

Every change to a card, a place, an application, an order or money is a plan
(domain/plan.py) committed by the one `UnitOfWork`; the repositories here only
read (and `add` creates lots, packages and owners only when absent, so seeding
and retries never overwrite what is there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from domain.admin import Staff
from domain.application import Application
from domain.card import Card
from domain.card_change import AuditEntry
from domain.gate import Grant
from domain.invoice import (
    Invoice,
    InvoiceState,
)
from domain.login_limits import Tries, Turn
from domain.lot import Lot
from domain.order import (
    Channel,
    LedgerEntry,
    Order,
    RefundState,
)
from domain.owner import Owner
from domain.package import Package
from domain.plan import Claim, Plan
from domain.receipt import Receipt, SignedReceipt
from domain.reconciliation import Reconciliation, StatementLine
from domain.reminder import ReminderContext, ReminderPrefs, Slot
from domain.session import Ending, Session

if TYPE_CHECKING:  # property fees: loaded by the functions that use them, not by every cold start
    from domain.bill_order import BillOrder
    from domain.bill_reminder import BillReminder
    from domain.bill_run import Bill, BillRun, ChunkState, FeeItem, RunChunk, Unit
    from domain.collection import Booking, CollectionHours
    from domain.community import Community, Meter, Reading, Vacancy
    from domain.door import CashEntry
    from domain.parking import Occupancy, ParkedVisit, ParkingPass, ParkingSetup, PassageRecord, Stay
    from domain.visit_payment import VisitOrder


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, time-zone aware (UTC on Lambda)."""
        ...


class IdSource(Protocol):
    def new_id(self, kind: str) -> str: ...


class Sealer(Protocol):
    """Personal data kept sealed at rest and found by a keyed fingerprint (never by the value itself)."""

    def seal(self, text: str, context: str) -> bytes: ...

    def fingerprint(self, text: str, purpose: str) -> str: ...


class LotRepository(Protocol):
    def get(self, lot_id: str) -> Lot | None: ...

    def get_many(self, lot_ids: set[str]) -> dict[str, Lot]: ...

    def add(self, lot: Lot) -> bool: ...


class PackageRepository(Protocol):
    def list_for_lot(self, lot_id: str) -> list[Package]: ...

    def get(self, lot_id: str, package_id: str) -> Package | None: ...

    def add(self, package: Package) -> bool: ...


class UnitOfWork(Protocol):
    def commit(self, plan: Plan) -> None:
        """All of the plan in one transaction, or nothing.

        A failed condition raises the domain error the plan attached to it (the
        first in the plan's order); a collision with a concurrent transaction
        raises StaleCard or StaleLot, so the caller reads again and re-plans.
        """
        ...

    def claimed(self, key: str) -> Claim | None:
        """The claim a committed plan holds under `key` (an office form's key: did its action happen?)."""
        ...


class CardRepository(Protocol):
    def get(self, card_id: str) -> Card | None: ...

    def get_with_lot(self, card_id: str, lot_id: str) -> tuple[Card | None, Lot | None]:
        """The card and its lot as they are now, in one request (a payment at the barrier waits for it)."""
        ...

    def get_with_order(self, order_id: str, card_id: str, lot_id: str) -> tuple[Order | None, Card | None, Lot | None]:
        """An order with the card and the lot it names, in one request (a payment notification that says which)."""
        ...

    def get_many(self, card_ids: set[str]) -> dict[str, Card]: ...

    def list_for_owner(self, owner_id: str) -> list[Card]: ...

    def list_for_lot(self, lot_id: str) -> list[Card]: ...

    def card_for_plate(self, lot_id: str, plate: str) -> Card | None:
        """The card holding `plate` in the lot (through the plate's claim)."""
        ...


class CardQueries(Protocol):
    """What the card jobs and the office look cards up by (sparse indexes and the audit log)."""

    def ended_before(self, day: date) -> list[Card]:
        """Active cards whose end date is before `day`."""
        ...

    def unpaid_before(self, day: date) -> list[Card]:
        """Approved, never-paid cards whose pay-by day is before `day`."""
        ...

    def pauses_to_approve(self, lot_id: str) -> list[Card]:
        """The lot's cards with a pause waiting for the office."""
        ...

    def waiting_for_phone(self, phone_key: str) -> list[Card]:
        """Imported cards not yet claimed whose holder's phone has this fingerprint (and no slip printed).
        An index may lag: the card as read now decides."""
        ...

    def waiting_for_code(self, locator: str) -> list[Card]:
        """Cards whose printed claim code has this locator, claimed or not (a claim keeps its code)."""
        ...

    def history(self, card_id: str) -> list[AuditEntry]: ...


class ApplicationRepository(Protocol):
    def get(self, application_id: str) -> Application | None: ...

    def list_for_owner(self, owner_id: str) -> list[Application]:
        """Newest first."""
        ...

    def queue(self, lot_id: str) -> list[Application]:
        """Submitted applications waiting for the office, oldest first."""
        ...

    def waiting(self, lot_id: str, limit: int | None = None) -> list[Application]:
        """The lot's waitlist in arrival order."""
        ...

    def holding(self, lot_id: str, plate: str) -> Application | None:
        """The open application holding `plate` in the lot, if an application is what holds it."""
        ...


class OrderRepository(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def for_card(self, card_id: str) -> list[Order]:
        """The card's orders, newest first."""
        ...

    def pending(self, created_before: datetime) -> list[Order]:
        """Orders still waiting for payment, made before `created_before`."""
        ...

    def refunding(self) -> list[Order]:
        """Refunded orders whose money the provider has not settled yet (PROCESSING)."""
        ...

    def made_with(self, who: str, idempotency_key: str) -> Order | None:
        """The order `who` (`owner:<id>` or `admin:<email>`) made with this idempotency key."""
        ...

    def waiting_for(self, card_id: str) -> Order | None:
        """The card's online order waiting for payment, if any."""
        ...

    def for_owner(self, owner_id: str, limit: int, after: tuple[datetime, str] | None = None) -> list[Order]:
        """The owner's orders, newest first (created_at, then id, descending): at most `limit`, and with
        `after` (created_at, order_id of the last one already shown) only those that come after it."""
        ...


class OwnerRepository(Protocol):
    def get(self, owner_id: str) -> Owner | None: ...

    def find_by_wechat(self, openid: str, unionid: str | None) -> Owner | None: ...

    def add(self, owner: Owner) -> bool:
        """Create the owner and claim its WeChat identities, together; False if any is taken."""
        ...

    def store_session_key(self, owner_id: str, session_key: str) -> None: ...

    def set_phone(self, owner_id: str, phone: str) -> None: ...

    def with_phone_ending(self, last4: str) -> set[str]:
        """The owners whose phone ends with these four digits, found without decrypting any phone."""
        ...

    def add_vehicle(self, owner_id: str, plate: str, limit: int) -> None:
        """Add `plate` (idempotent); TooManyVehicles if that would pass `limit`."""
        ...

    def remove_vehicle(self, owner_id: str, plate: str) -> None: ...


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    subject: str
    epoch: int
    """The account's session epoch when the token was issued (the office's; 0 for owners)."""


@dataclass(frozen=True)
class RefreshClaims:
    subject: str
    session: str
    generation: int


class SessionTokens(Protocol):
    """Our own signed tokens (never WeChat's session_key). Access tokens are stateless: checking one reads
    nothing; a refresh token names its session and generation, which the session store decides on."""

    def issue(self, subject: str, *, session: str | None = None, generation: int = 0, epoch: int = 0) -> IssuedTokens:
        """An access token carrying `epoch`, and for a `session` its refresh token at `generation` (without a
        session the refresh token is empty: the office has none)."""
        ...

    def verify_access(self, token: str) -> str:
        """The subject of a valid access token; TokenExpired or TokenInvalid otherwise."""
        ...

    def access_claims(self, token: str) -> AccessClaims: ...

    def verify_refresh(self, token: str) -> RefreshClaims:
        """The claims of a validly signed, unexpired refresh token; TokenExpired or TokenInvalid otherwise."""
        ...


class SessionStore(Protocol):
    """Owners' sessions (refresh-token families) by id: one key read and one conditional write per refresh."""

    def start(self, session: Session, until: datetime) -> None:
        """Store a new session, kept until `until` (its refresh token's end) at least."""
        ...

    def get(self, session_id: str) -> Session | None:
        """Read strongly: a token rotated a moment ago must be seen as retired."""
        ...

    def rotate(self, session: Session, until: datetime) -> bool:
        """Move `session` on to its next generation if it is still live at `session.generation`; False if not
        (another refresh with the same token came first, or it ended meanwhile)."""
        ...

    def end(self, session_id: str, why: Ending) -> None:
        """End the session (again: no change). It is kept as long as any of its tokens could be presented."""
        ...


class GateStates(Protocol):
    def sync_states(self, lot_id: str) -> list[tuple[str, int | None, str | None]]: ...


class LotAdmin(LotRepository, Protocol):
    def save_settings(self, lot: Lot) -> None: ...

    def add_held(self, lot_id: str, count: int) -> None: ...

    def list_for_tenant(self, tenant_id: str) -> list[Lot]: ...


class PackageAdmin(PackageRepository, Protocol):
    def save(self, package: Package) -> None: ...


class Audit(Protocol):
    def record(self, entry: AuditEntry) -> None: ...


class PhoneNumbers(Protocol):
    def phone_number(self, code: str) -> str:
        """The number behind a getPhoneNumber code; PhoneCodeInvalid or WechatUnavailable otherwise."""
        ...


class EntitlementFeed(Protocol):
    def since(self, lot_id: str, version: int, limit: int) -> list[Grant]:
        """The lot's events after `version`, in order (a key query)."""
        ...


@dataclass(frozen=True)
class StreamRecord:
    """One record of the entitlements table's stream: its sequence number, and the event it inserted (None for
    a record that carries none: a removal, or an item no retry would make readable)."""

    sequence: str
    grant: Grant | None


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Deliver at QoS 1 and wait for the broker's acknowledgement; PublishFailed otherwise."""
        ...


class Signer(Protocol):
    def sign(self, fields: dict[str, Any]) -> dict[str, Any]: ...

    def public_key(self) -> bytes: ...


class PublishFailed(Exception):
    pass


class Metrics(Protocol):
    def count(self, name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
        """Record `value` of metric `name` (namespace ParkPass) under these dimensions; never fails the caller."""
        ...


@dataclass(frozen=True)
class Gate:
    id: str
    lot_id: str
    secret: str


class GateRepository(Protocol):
    def get(self, gate_id: str) -> Gate | None: ...

    def add(self, gate: Gate) -> bool: ...


class AppliedVersions(GateRepository, Protocol):
    def record_applied(self, gate_id: str, version: int, at: str) -> bool:
        """Raise the gate's recorded version to `version`; False (nothing written) when it already has as much."""
        ...


@dataclass(frozen=True)
class IssuedDocument:
    number: str
    issued_on: date
    pdf: bytes


class InvoiceIssuer(Protocol):
    def issue(self, invoice: Invoice) -> IssuedDocument:
        """Issue the (blue) invoice; asking again for the same order answers the same invoice.

        InvoiceProviderUnavailable when it did not answer (it may have issued: ask again).
        """
        ...

    def reverse(self, invoice: Invoice) -> IssuedDocument:
        """Issue the red-letter invoice that reverses `invoice.number`; idempotent the same way."""
        ...


class InvoiceStore(Protocol):
    def get(self, order_id: str) -> Invoice | None: ...

    def get_many(self, order_ids: set[str]) -> dict[str, Invoice]:
        """The invoices of those orders that have one, by order id."""
        ...

    def add(self, invoice: Invoice) -> Invoice:
        """Store it unless the order has one; answers the order's invoice either way."""
        ...

    def move(self, invoice: Invoice, was: InvoiceState) -> bool:
        """Write `invoice` if the stored one is still in state `was`; False if it moved meanwhile."""
        ...

    def unfinished(self) -> list[Invoice]:
        """Invoices left `issuing` or `reversing` (a provider that did not answer), for the retry job."""
        ...

    def requested(self, lot_id: str) -> list[Invoice]:
        """The lot's invoices waiting for the office (manual lots), oldest first."""
        ...


class Documents(Protocol):
    """Where invoice PDFs are kept: the local data folder, or S3 in the cloud."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None: ...


@dataclass(frozen=True)
class WechatSession:
    openid: str
    session_key: str
    unionid: str | None = None


class WechatLogin(Protocol):
    def code_to_session(self, code: str) -> WechatSession:
        """LoginCodeInvalid, LoginCodeUsed or WechatUnavailable when WeChat says no."""
        ...


class LoginTries(Protocol):
    """Office login tries per key (domain/login_limits), shared by every container."""

    def get(self, key: str) -> Tries | None: ...

    def get_many(self, keys: list[str]) -> dict[str, Tries]:
        """The keys that hold tries (one request)."""
        ...

    def take(self, key: str, turn: Turn) -> bool:
        """Store `turn.after` if the key still holds `turn.before` (False: another try came first)."""
        ...

    def forget(self, key: str) -> None: ...


class RateCounter(Protocol):
    def hit(self, key: str, expires_at: datetime) -> int:
        """Add one to `key` (made if absent, gone after `expires_at`); answer the new count."""
        ...

    def count(self, key: str) -> int:
        """What `key` holds (0 if absent)."""
        ...


class ReceiptSigner(Protocol):
    def sign(self, data: bytes) -> bytes: ...

    def verify(self, data: bytes, signature: bytes) -> bool: ...

    def public_key(self) -> bytes: ...


class ReceiptStore(Protocol):
    def get(self, receipt_id: str) -> SignedReceipt | None: ...

    def in_chain(self, lot_id: str, seq: int) -> Receipt | None:
        """The lot's `seq`-th receipt."""
        ...


class ReminderStore(Protocol):
    def schedule(self, slots: list[Slot]) -> None:
        """Write these reminders; one already there keeps its state (a sent one stays sent)."""
        ...

    def due(self, bucket: str, at: datetime) -> list[Slot]:
        """Reminders of this hour still to send whose time has come."""
        ...

    def claim(self, slot: Slot, at: datetime) -> bool:
        """Take the reminder for sending (conditional); False if another consumer has it or it is done."""
        ...

    def held(self, slot: Slot, at: datetime) -> bool:
        """Whether another consumer has it now (its lease not yet run out), after a refused claim."""
        ...

    def release(self, slot: Slot) -> None:
        """Give it back untried (the provider asked us to slow down), its attempts not counted."""
        ...

    def finish(self, slot: Slot, state: str, reason: str | None = None) -> None: ...

    def retry_later(self, slot: Slot, reason: str, max_attempts: int) -> None:
        """Give it back for the next tick, or mark it failed once it has had `max_attempts`."""
        ...

    def states(self, bucket: str) -> dict[str, int]:
        """How many reminders of this hour are in each state."""
        ...


class ReminderReads(Protocol):
    def for_reminder(self, slot: Slot, lots: dict[str, Lot]) -> ReminderContext:
        """The slot's card, its preferences, its owner and its lot, read together; `lots` holds the lots read
        already this tick (a lot read here is added to it)."""
        ...


class PrefsRepository(Protocol):
    def get(self, card_id: str) -> ReminderPrefs | None: ...

    def put(self, prefs: ReminderPrefs) -> None: ...


class Consents(Protocol):
    def record(self, owner_id: str, template_id: str) -> None: ...

    def spend(self, owner_id: str, template_id: str) -> bool:
        """Use one consent (conditional); False if none is left."""
        ...


class SendFailed(Exception):
    pass


class RateLimited(SendFailed):
    """The provider answered that we send too fast (WeChat's 45009 / 45011): slow down, this one was not sent."""


class WorkQueue(Protocol):
    """Where the scheduled functions put what they found due, for the consumers to do one by one."""

    def send(self, messages: list[dict[str, Any]]) -> None:
        """Enqueue every message, or raise (none is lost silently; a message enqueued twice is harmless)."""
        ...


class Messenger(Protocol):
    def send_subscribe(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None: ...

    def send_template(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None: ...


@dataclass(frozen=True)
class PaymentStatus:
    """What the provider says of an order."""

    paid: bool
    transaction_id: str | None = None
    amount_fen: int | None = None
    paid_at: datetime | None = None
    closed: bool = False
    """Closed at the provider: it can no longer be paid."""


@dataclass(frozen=True)
class RefundNotice:
    """A verified, decrypted provider notification of a refund's result."""

    out_trade_no: str
    out_refund_no: str
    state: RefundState


class QrProvider(Protocol):
    """A provider that opens a payment as a code the payer scans (WeChat Pay native, Alipay precreate): a door's
    one-time QR code."""

    def code(self, order: BillOrder) -> str: ...
    def close(self, order: BillOrder) -> None: ...


class PaymentProvider(Protocol):
    def prepay(self, order: Order | BillOrder | VisitOrder, payer_id: str) -> dict[str, str]:
        """Open the payment at the provider; answer what the client needs to pay (e.g. wx.requestPayment)."""
        ...

    def query(self, order: Order | BillOrder | VisitOrder) -> PaymentStatus: ...

    def close(self, order: Order | BillOrder | VisitOrder) -> None: ...

    def refund(
        self, order: Order | BillOrder | VisitOrder, refund_no: str, amount_fen: int | None = None
    ) -> RefundState:
        """Return the order's whole amount (or `amount_fen` of it: one bill of several) to the payer; idempotent for
        one refund_no. SUCCEEDED when the money went back at once, PROCESSING when the provider settles it later;
        PaymentUnavailable when refused."""
        ...

    def refund_state(self, order: Order | BillOrder | VisitOrder, refund_no: str) -> RefundState:
        """Ask where the refund is (a lost notification, or a provider that never sends one)."""
        ...


class StatementSource(Protocol):
    def statement(self, day: date) -> list[StatementLine]:
        """The provider's statement of `day` (Beijing time): every payment and refund it made that day.

        PaymentUnavailable when it cannot be had (not ready yet, the provider down, a file that fails its hash)."""
        ...


class Ledger(Protocol):
    def around(self, lot_id: str, start: datetime, end: datetime) -> list[LedgerEntry]: ...

    def on_statement_day(self, channel: Channel, day: date) -> list[LedgerEntry]:
        """The channel's payments and refunds booked on `day` as the provider's statement counts days."""
        ...


class Reconciliations(Protocol):
    def save(self, result: Reconciliation) -> None: ...

    def get(self, channel: Channel, day: date) -> Reconciliation | None: ...

    def recent(self, channel: Channel, days: int, today: date) -> list[Reconciliation]:
        """The channel's results of the `days` days up to `today`, newest first."""
        ...


class StaffRepository(Protocol):
    def get(self, email: str) -> Staff | None: ...

    def add(self, staff: Staff) -> bool: ...

    def list_for_tenant(self, tenant_id: str) -> list[Staff]:
        """The property company's accounts, by email."""
        ...

    def save(self, staff: Staff, was: Staff) -> bool:
        """Write the account's role, lots, password and disabled flag if they are still as in `was`
        (False: changed meanwhile, read again); a `session_epoch` moved on from `was` moves on by one."""
        ...

    def end_sessions(self, email: str) -> None:
        """Move the account's session epoch on by one: every token issued before stops working."""
        ...


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...

    def matches(self, password: str, stored: str) -> bool: ...


@dataclass(frozen=True)
class PaymentNotice:
    """A verified, decrypted provider notification (or query answer) about one order."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    paid_at: datetime
    succeeded: bool
    card_id: str | None = None
    lot_id: str | None = None
    """The card and lot the order named to the provider (`payment_reference`), handed back: a hint to read them
    with the order; None when the provider gave none back (a query, Alipay, an order from before)."""


class Billing(Protocol):
    """Property fees' records. The office's (communities, units, fee items, meters, readings, vacancies, runs) are
    written here, a new one only once (BillingExists); bills, bill orders and balances only by the unit of work."""

    def add_community(self, community: Community) -> None: ...
    def community(self, community_id: str) -> Community | None: ...
    def communities(self, tenant_id: str) -> list[Community]: ...
    def add_unit(self, unit: Unit, phone_keys: Iterable[str]) -> None:
        """The unit, and a link from each owner phone's fingerprint to it."""
        ...

    def unit(self, unit_id: str) -> Unit | None: ...
    def units(self, community_id: str) -> list[Unit]: ...
    def units_of_phone(self, phone_key: str) -> list[str]: ...
    def add_fee_item(self, item: FeeItem) -> None: ...
    def fee_item(self, item_id: str) -> tuple[FeeItem, int] | None:
        """The item and its revision."""
        ...

    def fee_items(self, community_id: str) -> list[FeeItem]: ...
    def save_fee_item(self, item: FeeItem, revision: int) -> None:
        """Only over the revision read (BillChanged otherwise)."""
        ...

    def add_meter(self, meter: Meter) -> None: ...
    def meter(self, meter_id: str) -> Meter | None: ...
    def meters(self, community_id: str) -> list[Meter]: ...
    def add_reading(self, reading: Reading) -> None: ...
    def readings(self, meter_id: str) -> list[Reading]:
        """Oldest first."""
        ...

    def add_vacancy(self, vacancy: Vacancy) -> None: ...
    def vacancy(self, vacancy_id: str) -> Vacancy | None: ...
    def vacancies(self, community_id: str) -> list[Vacancy]: ...
    def decide_vacancy(self, vacancy: Vacancy) -> bool:
        """False: it was decided already."""
        ...

    def save_run(self, run: BillRun) -> None: ...
    def change_run(self, run_id: str, change: Callable[[BillRun], BillRun]) -> BillRun | None:
        """`change` applied over the run as read, written only if nothing was written between (read again and
        applied again if so); None: no such run."""
        ...

    def runs(self, community_id: str) -> list[BillRun]: ...
    def run(self, run_id: str) -> BillRun | None: ...
    def add_run_chunks(self, chunks: Sequence[RunChunk]) -> None: ...
    def run_chunks(self, run_id: str, count: int) -> list[RunChunk]:
        """The run's chunks, read consistently (what a consumer just wrote is there), in order."""
        ...

    def finish_run_chunk(self, chunk: RunChunk, was: ChunkState) -> bool:
        """The chunk saved in its new state if it is still `was`; False: another consumer moved it first."""
        ...

    def bill(self, bill_id: str) -> Bill | None: ...
    def bills(self, bill_ids: Iterable[str]) -> list[Bill]:
        """Those found, in the order asked."""
        ...

    def reminder_records(self, bill_id: str, community_id: str, unit_id: str) -> tuple[Bill | None, Community | None,
                                                                                        Unit | None]:  # fmt: skip
        """A bill reminder's bill, community and unit, read together."""
        ...

    def bills_of_community(self, community_id: str, period: str | None = None) -> list[Bill]: ...
    def bills_of_unit(self, unit_id: str) -> list[Bill]: ...
    def bill_order(self, order_id: str) -> BillOrder | None: ...
    def pending_bill_orders(self, created_before: datetime) -> list[BillOrder]: ...
    def balance(self, unit_id: str) -> int: ...
    def due_bill_reminders(self, since: datetime, at: datetime) -> list[tuple[BillReminder, str]]:
        """The bill reminders falling due from `since` to `at`, in the order they fall due, with their state
        (pending, sending, sent, skipped, failed; pending too for one whose sender's lease ran out)."""
        ...

    def claim_bill_reminder(self, reminder: BillReminder, at: datetime) -> bool:
        """pending (or sending, its lease run out) -> sending under a lease, once."""
        ...

    def bill_reminder_held(self, reminder: BillReminder, at: datetime) -> bool:
        """Whether another consumer has it now, after a refused claim."""
        ...

    def finish_bill_reminder(self, reminder: BillReminder, state: str) -> None: ...


@dataclass(frozen=True)
class AtGate:
    """What a passage reads of its lot's parking first, at once: the passage if recorded, the plate's stay, the count
    of cars inside, the lot's setup."""

    passage: PassageRecord | None
    stay: Stay
    occupancy: Occupancy
    setup: ParkingSetup
    passes: list[ParkingPass]
    """The plate's exemption, blacklisting and guest day, in force or not."""


class ParkingRecords(Protocol):
    """Parking at the barrier. The setup is written here; passages, stays, visits, the count of cars inside,
    exemptions and blacklistings and visit orders only by the unit of work."""

    def setup(self, lot_id: str) -> ParkingSetup:
        """The lot's setup (a default one, charging no visitor, when the office set none)."""
        ...

    def save_setup(self, setup: ParkingSetup) -> None: ...
    def passage(self, lot_id: str, gate_id: str, event_id: str) -> PassageRecord | None: ...
    def at_gate(self, lot_id: str, gate_id: str, event_id: str, plate: str) -> AtGate:
        """The passage, the plate's stay and passes, the count inside and the setup, in one request."""
        ...

    def stay(self, lot_id: str, plate: str) -> Stay:
        """The plate's stay (version 0 when never stored)."""
        ...

    def visit(self, visit_id: str) -> ParkedVisit | None: ...
    def visits_on(self, lot_id: str, day: date) -> list[ParkedVisit]:
        """The visits that began on the lot-local `day` (a key query)."""
        ...

    def open_visits(self, lot_id: str) -> list[ParkedVisit]:
        """The cars inside now, by the passages."""
        ...

    def owing(self, lot_id: str) -> list[Stay]:
        """Plates that left visits unpaid."""
        ...

    def occupancy(self, lot_id: str) -> Occupancy: ...
    def passes(self, lot_id: str) -> list[ParkingPass]: ...
    def passes_of(self, lot_id: str, plate: str) -> list[ParkingPass]: ...
    def guests(self, lot_id: str, owner_id: str) -> list[ParkingPass]: ...
    def visit_order(self, order_id: str) -> VisitOrder | None: ...
    def pending_visit_orders(self, created_before: datetime) -> list[VisitOrder]:
        """Visit orders still waiting for payment, made before then (a key query on a sparse index)."""
        ...


class CollectionRecords(Protocol):
    """Door-to-door collection. A community's hours are written here; bookings only by the unit of work."""

    def hours(self, community_id: str) -> CollectionHours:
        """The community's collection hours (the usual evenings and weekends when the office set none)."""
        ...

    def save_hours(self, hours: CollectionHours) -> None: ...
    def booking(self, booking_id: str) -> Booking | None: ...
    def bookings_between(self, community_id: str, start: datetime, end: datetime) -> list[Booking]:
        """The community's bookings whose slot starts from `start` to before `end` (a key query)."""
        ...

    def bookings_of_unit(self, unit_id: str) -> list[Booking]: ...
    def cash_in_hand(self, collector: str) -> int:
        """Cash a collector collected at doors and has not handed over (one counter)."""
        ...

    def cash_moves(self, collector: str, start: datetime, end: datetime) -> list[CashEntry]:
        """The collector's cash collected and handed over from `start` to before `end`, in time order."""
        ...

    def signature(self, order_id: str) -> bytes | None:
        """The signature image drawn at the door for an order."""
        ...

    def cash_entry(self, entry_id: str) -> CashEntry | None:
        """One move of a collector's cash (a consistent read)."""
        ...
