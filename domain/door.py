"""At the door (上门收费): a collector checks in at a booked visit, takes cash or shows a one-time QR code for the
exact amount, the owner signs, and the payment is committed with its evidence; a collector's cash stays in their
custody until a cashier counts it (交接). Pure: each step is a plan for the one commit path.

A booking's bills are held by the booking (the claim an online order would take), so the door is the only place
they can be paid while it is open. Each try at the door (a QR code, cash) takes the booking's next try claim
(`door:<booking>:<n>`): two tries at once cannot both go ahead, and a new QR code closes the one before it.
The evidence (the signature image's SHA-256, the check-in's place, accuracy and time, the collector) goes into the
e-receipt's signed fields, so the receipt proves the signature image that was stored with it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.bill_order import BillOrder, close_bill_order, pay_bills, unpaid_bill_claim
from domain.bill_run import Bill
from domain.collection import OPEN_BOOKINGS, Booking, BookingState, CheckIn, CollectionHours, cancel_booking
from domain.errors import BillInOrder, BookingChanged, CustodyChanged, InvalidInput, OrderKeyUsed
from domain.order import OrderState, order_key_claim
from domain.plan import (
    Absent,
    BillOrderWrite,
    BookingWrite,
    CashWrite,
    Claim,
    CustodyMove,
    Holder,
    Plan,
    Release,
    SignatureWrite,
    Take,
)

FAR_M = 200
"""A check-in farther than this from the building, beyond what the phone says its fix is accurate to, is flagged
(a weak fix indoors is common: it is never refused)."""
SIGNATURE_MOST_BYTES = 200_000
"""A signature drawn on a phone is a few kilobytes as PNG; more is not a signature."""
PNG = b"\x89PNG\r\n\x1a\n"


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Over the few hundred metres of a community, a flat earth is accurate to centimetres."""
    north = (lat2 - lat1) * 111_320.0
    east = (lon2 - lon1) * 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(north, east)


def building_place(hours: CollectionHours, building: str) -> tuple[float, float] | None:
    """The building's latitude and longitude, when the office placed the community (its origin) and the building."""
    if hours.origin is None:
        return None
    found = next((b for b in hours.buildings if b.id == building), None)
    if found is None:
        return None
    lat0, lon0 = hours.origin
    return lat0 + found.y_m / 111_320.0, lon0 + found.x_m / (111_320.0 * math.cos(math.radians(lat0)))


def away_m(check_in: CheckIn, hours: CollectionHours, building: str) -> int | None:
    """How far the check-in is from the building (None: the office placed it nowhere)."""
    place = building_place(hours, building)
    if place is None:
        return None
    return round(metres_between(check_in.latitude, check_in.longitude, *place))


@dataclass(frozen=True)
class Evidence:
    """What a door payment is sealed with in its receipt."""

    collector: str
    check_in: CheckIn
    signature_sha256: str
    away_m: int | None = None
    """From the building; None when the office did not place it."""

    @property
    def far(self) -> bool:
        return self.away_m is not None and self.away_m - self.check_in.accuracy_m > FAR_M

    def fields(self) -> dict[str, Any]:
        """As the receipt signs them (text, so a number reads the same everywhere it is hashed)."""
        return {
            "collector": masked_staff(self.collector),
            "signature_sha256": self.signature_sha256,
            "latitude": f"{self.check_in.latitude:.6f}",
            "longitude": f"{self.check_in.longitude:.6f}",
            "accuracy_m": str(round(self.check_in.accuracy_m)),
            "checked_in_at": self.check_in.at.isoformat(),
            "away_m": "" if self.away_m is None else str(self.away_m),
            "far": self.far,
        }


def masked_staff(email: str) -> str:
    """How a receipt names the collector: enough for the office to know who (`wa***@demo.local`), not a login to
    hand around."""
    name, _, domain = email.partition("@")
    return f"{name[:2]}***@{domain}"


def signature_hash(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


def checked_signature(image: bytes) -> bytes:
    """A PNG of a sensible size: the owner's signature drawn on the collector's screen."""
    if not image.startswith(PNG) or not 100 <= len(image) <= SIGNATURE_MOST_BYTES:
        raise InvalidInput("door_signature")
    return image


def evidence_for(collector: str, check_in: CheckIn, signature: bytes, hours: CollectionHours,
                 building: str) -> Evidence:  # fmt: skip
    return Evidence(
        collector, check_in, signature_hash(checked_signature(signature)), away_m(check_in, hours, building)
    )


def try_claim(booking: Booking) -> str:
    """The booking's next try at the door."""
    return f"door:{booking.id}:{booking.tries + 1}"


def open_at_door(booking: Booking, collector: str) -> None:
    """Only the collector it was given to works an open booking."""
    if booking.state is not BookingState.ASSIGNED or booking.collector != collector:
        raise BookingChanged(booking.id)


def _next_try(booking: Booking, order_id: str, who: str, key: str) -> tuple[Take, Take]:
    return (
        Take(Claim(order_key_claim(who, key), booking.owner_id, order_id=order_id), OrderKeyUsed()),
        Take(Claim(try_claim(booking), booking.owner_id, order_id=order_id), BookingChanged(booking.id)),
    )


def _closing(previous: BillOrder | None) -> tuple[BillOrderWrite, ...]:
    """The QR code shown before (closed at the provider first): closed here; the booking keeps holding its bills."""
    if previous is None or previous.state is not OrderState.PENDING:
        return ()
    return close_bill_order(previous).bill_orders


def show_qr(booking: Booking, order: BillOrder, previous: BillOrder | None, signature: bytes, who: str,
            key: str) -> Plan:  # fmt: skip
    """A one-time QR code for the exact amount: a new online order of the booking's bills (waiting for the owner
    to scan it), its evidence stored with it; the previous code's order closed."""
    if order.booking_id != booking.id or order.evidence is None or not order.channel.online:
        raise ValueError("a door QR order names its booking and its evidence")
    tried = replace(booking, tries=booking.tries + 1, order_id=order.id)
    return Plan(
        takes=_next_try(booking, order.id, who, key),
        bill_orders=(BillOrderWrite(order), *_closing(previous)),
        bookings=(BookingWrite(tried, OPEN_BOOKINGS),),
        signatures=(SignatureWrite(order.id, signature),),
    )


def take_cash(booking: Booking, order: BillOrder, bills: Sequence[Bill], previous: BillOrder | None,
              signature: bytes, who: str, key: str) -> Plan:  # fmt: skip
    """Cash for exactly what is due, paid at once: the bills paid (let out of the booking), the booking collected,
    the cash in the collector's custody, the evidence stored; a QR code shown before is closed."""
    if order.booking_id != booking.id or order.evidence is None or order.paid_at is None or order.staff is None:
        raise ValueError("a door cash order is paid, names its booking, its collector and its evidence")
    paid = pay_bills(replace(order, state=OrderState.PENDING), bills, order.paid_at, order.transaction_id or "")
    tried = replace(booking, tries=booking.tries + 1, order_id=order.id, state=BookingState.COLLECTED)
    cash = CashEntry(f"cash:{order.id}", order.staff, CashMove.COLLECTED, order.amount_fen, order.paid_at,
                     booking.community_id, order_id=order.id, booking_id=booking.id)  # fmt: skip
    return replace(
        paid,
        takes=_next_try(booking, order.id, who, key),
        bill_orders=(BillOrderWrite(order), *_closing(previous)),
        releases=_let_go(booking),
        bookings=(BookingWrite(tried, OPEN_BOOKINGS),),
        signatures=(SignatureWrite(order.id, signature),),
        cash=(CashWrite(cash),),
        custody=(CustodyMove(order.staff, order.amount_fen),),
    )


def paid_at_door(order: BillOrder, bills: Sequence[Bill], booking: Booking | None, paid_at: datetime,
                 transaction_id: str) -> Plan:  # fmt: skip
    """The owner paid the door's QR code: its bills paid and let out of the booking, the booking collected."""
    plan = pay_bills(replace(order, state=OrderState.PAID), bills, paid_at, transaction_id)
    was = replace(plan.bill_orders[0], was=(order.state,))
    if booking is None or booking.state not in OPEN_BOOKINGS or booking.order_id != order.id:
        # the visit ended another way meanwhile: the bills are paid only if nothing holds them (else: the balance)
        free = tuple(Absent(unpaid_bill_claim(b), BillInOrder(b)) for b in order.bill_ids)
        return replace(plan, bill_orders=(was,), absent=free, releases=())
    collected = replace(booking, state=BookingState.COLLECTED)
    return replace(plan, bill_orders=(was,), releases=_let_go(booking), absent=(),
                   bookings=(BookingWrite(collected, OPEN_BOOKINGS),))  # fmt: skip


def _let_go(booking: Booking) -> tuple[Release, ...]:
    held = Holder("order_id", booking.id)
    return tuple(Release(unpaid_bill_claim(b), held, BookingChanged(booking.id)) for b in booking.bill_ids)


def not_at_home(booking: Booking, reason: str, check_in: CheckIn | None) -> Plan:
    """Nobody paid (not at home, refused, asked to come another day): the booking ends unpaid with its reason,
    its bills free again."""
    ended = replace(booking, outcome=reason, check_in=check_in)
    return cancel_booking(ended, BookingState.NOT_HOME)


class CashMove(StrEnum):
    COLLECTED = "collected"
    HANDED_OVER = "handed_over"


@dataclass(frozen=True)
class CashEntry:
    """A move of cash in a collector's custody: collected at a door, or handed to a cashier (交接)."""

    id: str
    collector: str
    kind: CashMove
    fen: int
    """Collected: the amount; handed over: what the collector held (expected)."""
    at: datetime
    community_id: str = ""
    order_id: str | None = None
    booking_id: str | None = None
    cashier: str | None = None
    counted_fen: int | None = None
    """Handed over: what the cashier counted."""

    def __post_init__(self) -> None:
        if self.fen < 0 or (self.kind is CashMove.COLLECTED and self.fen == 0):
            raise ValueError("cash moves in whole positive fen")

    @property
    def difference_fen(self) -> int:
        """Counted less expected (negative: cash missing)."""
        return 0 if self.counted_fen is None else self.counted_fen - self.fen


def cash_in_hand(entries: Sequence[CashEntry], collector: str) -> int:
    """Cash collected and not yet handed over (a difference stays with its handover, it is not carried on)."""
    mine = [e for e in entries if e.collector == collector]
    return sum(e.fen if e.kind is CashMove.COLLECTED else -e.fen for e in mine)


def hand_over(handover_id: str, collector: str, held_fen: int, cashier: str, counted_fen: int, at: datetime,
              who: str, key: str) -> Plan:  # fmt: skip
    """The cashier counted `counted_fen` from a collector who held `held_fen`: all of it leaves their custody
    (never below zero: a handover that raced another one is refused and read again); the difference is recorded."""
    if counted_fen < 0 or held_fen < 0:
        raise InvalidInput("handover_amount")
    entry = CashEntry(handover_id, collector, CashMove.HANDED_OVER, held_fen, at, cashier=cashier,
                      counted_fen=counted_fen)  # fmt: skip
    key_taken = Take(Claim(order_key_claim(who, key), order_id=handover_id), OrderKeyUsed())
    moves = (CustodyMove(collector, -held_fen, CustodyChanged(collector)),) if held_fen else ()
    return Plan(takes=(key_taken,), cash=(CashWrite(entry),), custody=moves)
