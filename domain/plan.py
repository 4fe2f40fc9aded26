"""A plan: every write one change makes, with the conditions it holds under, as a value.

The domain computes a plan; one unit of work (DynamoDB, or in memory for tests)
applies any plan as a single transaction. Every rule that guards the lot's
invariants is a declared condition here (an expected version, a claim that must
be free, a counter's bound, a state an order or an application must be in), so
no adapter decides anything and the in-memory store cannot drift from DynamoDB.
A failed condition raises the domain error the plan attached to it; when several
fail, the first in `Plan.conditions()` order wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from domain.card import Card, CardState
from domain.errors import CardExists, DomainError, LotFull, RecordedAlready, StaleCard, StaleLot

if TYPE_CHECKING:  # plans are built by the modules below; at run time this one needs none of them
    from domain.application import Application, ApplicationState
    from domain.bill_order import BillOrder
    from domain.bill_reminder import BillReminder
    from domain.bill_run import Bill, BillState
    from domain.card_change import AuditEntry
    from domain.collection import Booking, BookingState
    from domain.door import CashEntry
    from domain.entitlement import Entitlement
    from domain.gate import Grant
    from domain.order import LedgerEntry, Order, OrderState, RefundState
    from domain.parking import ParkedVisit, ParkingPass, PassageRecord, Stay
    from domain.receipt import Receipt, SignedReceipt
    from domain.reminder import Slot
    from domain.visit_payment import VisitOrder


def holds_place(card: Card) -> bool:
    """I1: every card that is not cancelled holds one of its lot's places (pending, active, expired)."""
    return card.state is not CardState.CANCELLED


@dataclass(frozen=True)
class Claim:
    """A uniqueness claim (`plate:<lot>:<plate>`, `unpaid:<card>`, `order-key:<owner>:<key>`,
    `form:<actor>:<key>`) and its holder."""

    key: str
    owner_id: str | None = None
    card_id: str | None = None
    application_id: str | None = None
    order_id: str | None = None

    def held_by(self, holder: Holder) -> bool:
        held: str | None = getattr(self, holder.field)
        return held == holder.value


def form_claim(actor: str, key: str) -> str:
    """An office form's idempotency key, per account (`form:<actor>:<key>`): what the page sends for one
    opened form, so a double click or a retry of it is done once."""
    return f"form:{actor}:{key}"


@dataclass(frozen=True)
class Holder:
    """Who a claim may already belong to: `Holder("card_id", "card-1")`."""

    field: str
    value: str


@dataclass(frozen=True)
class Take:
    """Write `claim`; it must be free, or already held by `unless` (then it is taken over)."""

    claim: Claim
    error: DomainError
    unless: Holder | None = None


@dataclass(frozen=True)
class Release:
    """Delete the claim `key` if it is free or held by `holder`; held by anyone else: `error`."""

    key: str
    holder: Holder
    error: DomainError


@dataclass(frozen=True)
class Absent:
    """The claim `key` must not exist (e.g. no order of the card waits for payment)."""

    key: str
    error: DomainError


@dataclass(frozen=True)
class CardWrite:
    card: Card
    """The card after the change."""
    expected_version: int | None
    """The version read; None: the card is new and must not exist."""
    error: DomainError | None = None
    """Raised when the condition fails (default: StaleCard, or CardExists for a new card)."""

    @property
    def failure(self) -> DomainError:
        if self.error is not None:
            return self.error
        return CardExists(self.card.id) if self.expected_version is None else StaleCard(self.card.id)


@dataclass(frozen=True)
class CardUnchanged:
    """The card must still be at the version read (nothing of it is written): an order is made for the card
    as it was quoted."""

    card_id: str
    version: int


@dataclass(frozen=True)
class LotMove:
    """What the change moves on its lot: the gate feed, the places held, the receipt chain."""

    lot_id: str
    feed_at: int | None = None
    """The feed version read; the plan's events take the next versions. None: the feed does not move."""
    held: int = 0
    """Places taken (+) or given back (-)."""
    within_quota: bool = True
    """A place taken must be free (`held < quota`); False only for explicit, audited office overrides."""
    receipt_at: int | None = None
    """The receipt chain's head read (its seq); the plan's receipt must come next."""
    held_at: int | None = None
    """The places held as read: they must still be that many (a recount from the cards)."""


@dataclass(frozen=True)
class OrderWrite:
    order: Order
    was: tuple[OrderState, ...] = ()
    """The states it may move from; () for a new order (it must not exist)."""
    error: DomainError | None = None
    refund_was: tuple[RefundState | None, ...] | None = None
    """Set: the refund states it may move from too (None: no refund yet)."""


@dataclass(frozen=True)
class ApplicationWrite:
    application: Application
    was: tuple[ApplicationState, ...] = ()
    """The states it may move from; () for a new application."""
    error: DomainError | None = None


@dataclass(frozen=True)
class BillWrite:
    bill: Bill
    was: tuple[BillState, ...] = ()
    """The states it may move from; () for a new bill (it must not exist)."""
    error: DomainError | None = None


@dataclass(frozen=True)
class BillOrderWrite:
    order: BillOrder
    was: tuple[OrderState, ...] = ()
    """The states it may move from; () for a new order."""


@dataclass(frozen=True)
class BalanceMove:
    """A unit's prepaid balance moves by `fen`; taking (< 0) it must hold that much, or `error`."""

    unit_id: str
    fen: int
    error: DomainError | None = None


@dataclass(frozen=True)
class PassageWrite:
    """A passage a gate reported: new (a gate's event id is recorded once), else `error`."""

    record: PassageRecord
    error: DomainError


@dataclass(frozen=True)
class StayWrite:
    """A plate's stay after the change; it must still be at `expected_version` (0: never stored)."""

    stay: Stay
    expected_version: int


@dataclass(frozen=True)
class VisitWrite:
    """A visit after the change; `expected_version` None: new (it must not exist)."""

    visit: ParkedVisit
    expected_version: int | None


@dataclass(frozen=True)
class OccupancyMove:
    """The cars inside a lot move by `inside` (and `visitors` of them); a count moved down must hold that many,
    one moved up by visitors must stay below `visitors_below` (the visitor spaces), `was` (an office count) must
    find the counts as read."""

    lot_id: str
    inside: int = 0
    visitors: int = 0
    visitors_below: int | None = None
    inside_below: int | None = None
    """A car coming in must find the lot below this (its spaces)."""
    was: tuple[int, int] | None = None


@dataclass(frozen=True)
class PassWrite:
    """An exemption or a blacklisting of a plate, as it is now (upserted)."""

    found: ParkingPass


@dataclass(frozen=True)
class BookingWrite:
    """A door-to-door collection booking after the change; `was`: the states it may move from (() for a new one).
    A change is written over the booking's `version` as read (the stored one becomes `version + 1`)."""

    booking: Booking
    was: tuple[BookingState, ...] = ()


@dataclass(frozen=True)
class CashWrite:
    """A move of cash in a collector's custody (new: its id is the order's or the handover's)."""

    entry: CashEntry


@dataclass(frozen=True)
class CustodyMove:
    """A collector's cash in hand moved by a delta; a negative one never takes it below zero."""

    collector: str
    fen: int
    error: DomainError | None = None


@dataclass(frozen=True)
class SignatureWrite:
    """The signature image drawn at the door for an order (new; its hash is in the order's evidence)."""

    order_id: str
    image: bytes


@dataclass(frozen=True)
class VisitOrderWrite:
    order: VisitOrder
    was: tuple[OrderState, ...] = ()
    """The states it may move from; () for a new order."""


@dataclass(frozen=True)
class Plan:
    cards: tuple[CardWrite, ...] = ()
    unchanged: tuple[CardUnchanged, ...] = ()
    lot: LotMove | None = None
    events: tuple[Entitlement, ...] = ()
    """The gates' news, in order: they take the lot's next feed versions."""
    takes: tuple[Take, ...] = ()
    releases: tuple[Release, ...] = ()
    absent: tuple[Absent, ...] = ()
    orders: tuple[OrderWrite, ...] = ()
    applications: tuple[ApplicationWrite, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    """Each line is new (its id is derived from the order): a second booking of it is OrderSettled."""
    receipt: Receipt | None = None
    signed: SignedReceipt | None = None
    """The receipt with its signature, set by the handler that holds the key."""
    reminders: tuple[Slot, ...] = ()
    """The current cycle's reminders (upserted: one already sent stays sent)."""
    dropped_reminders: tuple[Slot, ...] = ()
    """An earlier cycle's reminders not yet due: deleted, so none is left for an old end."""
    audit: tuple[AuditEntry, ...] = ()
    bills: tuple[BillWrite, ...] = ()
    bill_orders: tuple[BillOrderWrite, ...] = ()
    balances: tuple[BalanceMove, ...] = ()
    bill_reminders: tuple[BillReminder, ...] = ()
    """Upserted: one already sent stays sent."""
    passages: tuple[PassageWrite, ...] = ()
    stays: tuple[StayWrite, ...] = ()
    visits: tuple[VisitWrite, ...] = ()
    occupancy: OccupancyMove | None = None
    passes: tuple[PassWrite, ...] = ()
    visit_orders: tuple[VisitOrderWrite, ...] = ()
    bookings: tuple[BookingWrite, ...] = ()
    cash: tuple[CashWrite, ...] = ()
    custody: tuple[CustodyMove, ...] = ()
    signatures: tuple[SignatureWrite, ...] = ()
    follow_ups: tuple[object, ...] = field(default=(), compare=False)
    """Domain events handled after the commit (tell the owner, offer a freed place, reverse an invoice)."""

    def __post_init__(self) -> None:
        if self.events and (self.lot is None or self.lot.feed_at is None):
            raise ValueError("a plan with gate events moves its lot's feed")
        if self.receipt is not None and (self.lot is None or self.lot.receipt_at is None):
            raise ValueError("a plan with a receipt moves its lot's receipt chain")
        if self.lot is not None and self.lot.held > 0 and self.lot.within_quota and self.lot.held != 1:
            raise ValueError("a conditional counter takes one place at a time")
        claims = [t.claim.key for t in self.takes] + [r.key for r in self.releases] + [a.key for a in self.absent]
        cards = [c.card.id for c in self.cards] + [u.card_id for u in self.unchanged]
        orders = [o.order.id for o in self.orders] + [o.order.id for o in self.bill_orders]
        orders += [o.order.id for o in self.visit_orders]
        touched = (("claim", claims), ("card", cards), ("order", orders), ("bill", [b.bill.id for b in self.bills]),
                   ("balance", [b.unit_id for b in self.balances]), ("visit", [v.visit.id for v in self.visits]),
                   ("stay", [s.stay.plate for s in self.stays]),
                   ("custody", [c.collector for c in self.custody]))  # fmt: skip
        for kind, keys in touched:
            if len(keys) != len(set(keys)):  # DynamoDB refuses two actions on one item in a transaction
                raise ValueError(f"a plan touches a {kind} twice: {sorted(k for k in keys if keys.count(k) > 1)}")

    def grants(self) -> tuple[Grant, ...]:
        """The events as the feed holds them once this plan is committed (they take the versions after
        `lot.feed_at`): what the gates are told at once after the commit."""
        if not self.events or self.lot is None or self.lot.feed_at is None:
            return ()
        order_id = self.orders[0].order.id if len(self.orders) == 1 else None
        return tuple(
            replace(news.grant(version), order_id=order_id)
            for version, news in enumerate(self.events, start=self.lot.feed_at + 1)
        )

    def with_signature(self, signed: SignedReceipt) -> Plan:
        return replace(self, signed=signed)

    def unsigned(self) -> Plan:
        """No receipt key: the plan writes no receipt and leaves the lot's chain where it is."""
        lot = replace(self.lot, receipt_at=None) if self.lot is not None else None
        return replace(self, receipt=None, signed=None, lot=lot)

    @property
    def size(self) -> int:
        """Items one transaction writes or checks (DynamoDB takes at most 100)."""
        parts = (self.cards, self.unchanged, self.takes, self.releases, self.absent, self.orders, self.applications,
                 self.ledger, self.events, self.reminders, self.dropped_reminders, self.audit, self.bills,
                 self.bill_orders, self.balances, self.bill_reminders, self.passages, self.stays, self.visits,
                 self.passes, self.visit_orders, self.bookings, self.cash, self.custody, self.signatures)  # fmt: skip
        return sum(len(p) for p in parts) + sum(1 for x in (self.signed, self.lot, self.occupancy) if x is not None)

    def lot_error(self) -> DomainError:
        """A failed lot condition: its feed or receipt chain moved (read again), else no place was free.

        The lot is one item, so DynamoDB cannot say which part failed; a plan that
        both moves the feed and takes a place is retried, and the re-read decides.
        """
        assert self.lot is not None
        moved = self.lot.feed_at is not None or self.lot.receipt_at is not None or self.lot.held_at is not None
        if moved or self.lot.held <= 0 or not self.lot.within_quota:
            return StaleLot(self.lot.lot_id)
        return LotFull(self.lot.lot_id)

    def __add__(self, other: Plan) -> Plan:
        """Two plans in one transaction (e.g. an import batch): at most one may move the feed or a chain."""
        lot = self.lot or other.lot
        if self.lot and other.lot:
            if self.lot.lot_id != other.lot.lot_id or (
                self.lot.receipt_at is not None and other.lot.receipt_at is not None
            ):
                raise ValueError("plans of one transaction share one lot and one receipt")
            lot = replace(
                self.lot,
                feed_at=self.lot.feed_at if self.lot.feed_at is not None else other.lot.feed_at,
                held=self.lot.held + other.lot.held,
                within_quota=self.lot.within_quota and other.lot.within_quota,
            )
        return Plan(
            cards=self.cards + other.cards,
            unchanged=self.unchanged + other.unchanged,
            lot=lot,
            events=self.events + other.events,
            takes=self.takes + other.takes,
            releases=self.releases + other.releases,
            absent=self.absent + other.absent,
            orders=self.orders + other.orders,
            applications=self.applications + other.applications,
            ledger=self.ledger + other.ledger,
            receipt=self.receipt or other.receipt,
            signed=self.signed or other.signed,
            reminders=self.reminders + other.reminders,
            dropped_reminders=self.dropped_reminders + other.dropped_reminders,
            audit=self.audit + other.audit,
            bills=self.bills + other.bills,
            bill_orders=self.bill_orders + other.bill_orders,
            balances=self.balances + other.balances,
            bill_reminders=self.bill_reminders + other.bill_reminders,
            passages=self.passages + other.passages,
            stays=self.stays + other.stays,
            visits=self.visits + other.visits,
            occupancy=self.occupancy or other.occupancy,
            passes=self.passes + other.passes,
            visit_orders=self.visit_orders + other.visit_orders,
            bookings=self.bookings + other.bookings,
            cash=self.cash + other.cash,
            custody=self.custody + other.custody,
            signatures=self.signatures + other.signatures,
            follow_ups=self.follow_ups + other.follow_ups,
        )


def once(claim: Claim) -> Plan:
    """Take an office form's key (`form_claim`) in the plan it is added to: a second plan with the same key
    fails as RecordedAlready and writes nothing."""
    return Plan(takes=(Take(claim, RecordedAlready()),))
