"""Paying for a visit (临时车缴费): an order for what the stay costs as of now (and what earlier visits of the plate
left unpaid), and its payment as a plan for the one commit path. Pure.

One order of a visit waits for payment at a time (the claim `visit-unpaid:<visit>`); its payment moves the order
pending -> paid under a condition, books its ledger line once, adds to the visit's paid amount under the visit's
version, and tells the gates (a signed feed event) that the plate may leave until the leave window ends. Staying
longer than that owes the difference: a new order for the periods since.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.errors import OrderKeyUsed, OrderSettled, VisitInOrder
from domain.order import Channel, LedgerEntry, OrderState, order_key_claim
from domain.parking import ParkedVisit, Stay, visit_paid_news
from domain.plan import Claim, Holder, LotMove, Plan, Release, StayWrite, Take, VisitOrderWrite, VisitWrite


@dataclass(frozen=True)
class Described:
    name: str


@dataclass(frozen=True)
class VisitOrder:
    """What a payer pays for a visit; its id is the out_trade_no and starts with `vo-`."""

    id: str
    owner_id: str
    lot_id: str
    visit_id: str
    plate: str
    visit_fen: int
    """For this visit (its fee as of the order, less what was paid)."""
    owed_fen: int
    """For earlier visits of the plate left unpaid."""
    channel: Channel
    state: OrderState
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None = None
    transaction_id: str | None = None

    @property
    def amount_fen(self) -> int:
        return self.visit_fen + self.owed_fen

    @property
    def package(self) -> Described:
        """What the provider shows the payer."""
        return Described(f"停车费 {self.plate}")

    @property
    def card_id(self) -> None:
        return None


def unpaid_visit_claim(visit_id: str) -> str:
    return f"visit-unpaid:{visit_id}"


def place_visit_order(order: VisitOrder, who: str, idempotency_key: str) -> Plan:
    """A new order: its key once, and the visit's one waiting order."""
    return Plan(
        orders=(),
        visit_orders=(VisitOrderWrite(order),),
        takes=(
            Take(Claim(order_key_claim(who, idempotency_key), order_id=order.id), OrderKeyUsed()),
            Take(Claim(unpaid_visit_claim(order.visit_id), order_id=order.id), VisitInOrder(order.visit_id)),
        ),
    )


def close_visit_order(order: VisitOrder) -> Plan:
    """pending -> closed (the provider closed it too): the visit may be ordered again."""
    return Plan(
        visit_orders=(VisitOrderWrite(replace(order, state=OrderState.CLOSED), (OrderState.PENDING,)),),
        releases=(Release(unpaid_visit_claim(order.visit_id), Holder("order_id", order.id), OrderSettled(order.id)),),
    )


def pay_visit(order: VisitOrder, visit: ParkedVisit, stay: Stay, feed_at: int, epoch: str, leave_minutes: int,
              paid_at: datetime, transaction_id: str) -> Plan:  # fmt: skip
    """The order paid: once (its state, its ledger line), the visit's paid amount and the plate's debts moved, the
    gates told the car may leave within the lot's leave window."""
    paid = replace(order, state=OrderState.PAID, paid_at=paid_at, transaction_id=transaction_id)
    after = replace(visit, paid_fen=visit.paid_fen + order.visit_fen, paid_at=paid_at)
    settles = order.owed_fen + (order.visit_fen if not visit.open else 0)  # a visit that ended unpaid went to debts
    stays = (StayWrite(replace(stay, owed_fen=max(0, stay.owed_fen - settles)), stay.version),) if settles else ()
    leave_by = paid_at + timedelta(minutes=leave_minutes)
    line = LedgerEntry(
        id=f"visit:{order.id}", lot_id=order.lot_id, order_id=order.id, card_id=visit.id, owner_id=order.owner_id,
        amount_fen=order.amount_fen, channel=order.channel, transaction_id=transaction_id, booked_at=paid_at,
        package="临时停车",
    )  # fmt: skip
    return Plan(
        visit_orders=(VisitOrderWrite(paid, (OrderState.PENDING,)),),
        visits=(VisitWrite(after, visit.version),),
        stays=stays,
        releases=(Release(unpaid_visit_claim(order.visit_id), Holder("order_id", order.id), OrderSettled(order.id)),),
        ledger=(line,),
        lot=LotMove(order.lot_id, feed_at=feed_at),
        events=(visit_paid_news(after, leave_by, epoch),),
    )
