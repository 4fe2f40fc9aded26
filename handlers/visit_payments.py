"""Paying for a visit before leaving (in the mini-program, or by scanning the exit's QR code), and an owner's guest
plates. Like a renewal: the server prices the order (the stay's fee as of now, less what was paid, plus what earlier
visits of the plate left unpaid), stores it before the provider is asked, and fulfils a payment exactly once through
the one commit path, which also tells the lot's gates (signed, through the same fan-out) to open the exit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.errors import (
    Conflict,
    GuestLimit,
    GuestNotAllowed,
    InvalidInput,
    LotNotFound,
    NothingToPay,
    OrderKeyUsed,
    OrderSettled,
    PaymentRejected,
    RecordedAlready,
    StaleLot,
    StaleVisit,
    UpstreamUnavailable,
    VisitInOrder,
    VisitNotFound,
    VisitOrderNotFound,
)
from domain.ids import VISIT_ORDER_PREFIX, checked_id
from domain.lot import Lot
from domain.order import UNPAID_ORDER_LIFETIME, Channel, OrderState
from domain.parking import ParkedVisit, ParkingPass, PassKind, fee_as_of, guest_claim, guest_plan
from domain.plan import holds_place
from domain.plate import normalise_plate
from domain.visit_payment import (
    VisitOrder,
    close_visit_order,
    pay_visit,
    place_visit_order,
    unpaid_visit_claim,
)
from handlers.fulfil_payment import Outcome
from handlers.office_keys import order_of_key
from handlers.ports import (
    Billing,
    CardRepository,
    Clock,
    IdSource,
    LotRepository,
    OwnerRepository,
    ParkingRecords,
    PaymentNotice,
    PaymentProvider,
    Sealer,
    UnitOfWork,
)
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.sweep_orders import SweepReport, settle, settle_waiting

log = logging.getLogger("parkpass.parking")
GUEST_DAYS_AHEAD = 30


@dataclass(frozen=True)
class VisitNow:
    visit: ParkedVisit
    fee_fen: int
    """The stay's fee as of now."""
    owed_fen: int
    """Earlier visits of the plate left unpaid."""
    leave_by: datetime | None
    """Paid: leave until then (staying longer owes the periods since)."""

    @property
    def visit_due_fen(self) -> int:
        """For this stay (a visit that ended unpaid: nothing here, its fee is among the debts)."""
        return max(0, self.fee_fen - self.visit.paid_fen) if self.visit.open else 0

    @property
    def due_fen(self) -> int:
        return self.visit_due_fen + self.owed_fen


@dataclass(frozen=True)
class VisitOrderToPay:
    order: VisitOrder
    payment: dict[str, str]


@dataclass(frozen=True)
class VisitPayments:
    parking: ParkingRecords
    lots: LotRepository
    owners: OwnerRepository
    uow: UnitOfWork
    ids: IdSource
    clock: Clock
    may_invite: Callable[[str, Lot], bool] | None = None
    """Whether an owner may register guests at a lot (None: anyone)."""

    def current(self, lot_id: str, plate: str) -> VisitNow:
        """The plate's visit in the lot now, with what it costs as of now (anyone at the exit may pay for it)."""
        lot = self._lot(lot_id)
        stay = self.parking.stay(lot.id, normalise_plate(plate))
        # Inside: its visit. Outside but owing (refused at the entrance for it): the last visit that left a debt.
        found = stay.visit_id or (stay.owed_visit if stay.owed_fen else None)
        visit = self.parking.visit(found) if found else None
        if visit is None:
            raise VisitNotFound(plate)
        return self._priced(visit, lot, stay.owed_fen)

    def order(self, owner_id: str, visit_id: str, channel: Channel, key: str, provider: PaymentProvider,
              provider_for: Callable[[Channel], PaymentProvider]) -> VisitOrderToPay:  # fmt: skip
        """An order for what the visit owes now; the same key answers the order it made. An earlier order of the
        visit still waiting is closed first (at the provider too: if it was paid meanwhile, that payment counts)."""
        if not channel.online:
            raise InvalidInput("bill_channel")
        owner = self.owners.get(owner_id)
        openid = owner.openid if owner else ""
        who = f"owner:{owner_id}"
        for attempt in range(MAX_ATTEMPTS):
            earlier = self._made_with(who, key)
            if earlier is not None:
                if earlier.visit_id != visit_id or earlier.channel is not channel:
                    raise Conflict("idempotency_key_reused")
                return self._answer(earlier, provider, openid)
            visit = self.parking.visit(checked_id("visit_id", visit_id))
            if visit is None or not visit.charged:
                raise VisitNotFound(visit_id)
            lot = self._lot(visit.lot_id)
            stay = self.parking.stay(lot.id, visit.plate)
            now_ = self._priced(visit, lot, stay.owed_fen if visit.id in (stay.visit_id, stay.owed_visit) else 0)
            if now_.due_fen <= 0:
                raise NothingToPay(visit.id)
            waiting = self.uow.claimed(unpaid_visit_claim(visit.id))
            if waiting is not None and waiting.order_id:
                self._give_up(waiting.order_id, provider_for)
                continue
            now = self.clock.now()
            order = VisitOrder(
                id=VISIT_ORDER_PREFIX + self.ids.new_id("visit").removeprefix("visit-"), owner_id=owner_id,
                lot_id=lot.id, visit_id=visit.id, plate=visit.plate,
                visit_fen=now_.visit_due_fen, owed_fen=now_.owed_fen, channel=channel,
                state=OrderState.PENDING, created_at=now, expires_at=now + UNPAID_ORDER_LIFETIME,
            )  # fmt: skip
            try:
                self.uow.commit(place_visit_order(order, who, key))
            except (OrderKeyUsed, VisitInOrder, StaleVisit):
                wait_before_retry(attempt)
                continue
            return self._answer(order, provider, openid)
        raise Conflict("kept_changing")

    def fulfil(self, notice: PaymentNotice) -> Outcome:
        """A provider says a visit order is paid: the visit is paid once and the gates told to open the exit."""
        order = self.parking.visit_order(checked_id("out_trade_no", notice.out_trade_no))
        if order is None:
            raise PaymentRejected("notice_unknown_order")
        if notice.amount_fen != order.amount_fen:
            raise PaymentRejected("notice_amount_differs", paid=notice.amount_fen, due=order.amount_fen)
        if not notice.succeeded:
            return Outcome.NOT_PAID
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                order = self.parking.visit_order(order.id) or order
            if order.state is OrderState.PAID:
                return Outcome.ALREADY_FULFILLED
            if order.state is not OrderState.PENDING:
                # Closed here only after the provider closed it: no payment can follow. Said loudly if one does.
                log.error("a payment for visit order %s, which was %s", order.id, order.state.value)
                return Outcome.ALREADY_FULFILLED
            visit = self.parking.visit(order.visit_id)
            lot = self.lots.get(order.lot_id)
            if visit is None or lot is None:
                raise RuntimeError(f"visit order {order.id} points at a missing visit or lot")
            stay = self.parking.stay(lot.id, visit.plate)
            leave = self.parking.setup(lot.id).policy.leave_minutes
            plan = pay_visit(order, visit, stay, lot.entitlement_version, lot.feed_epoch, leave, notice.paid_at,
                             notice.transaction_id)  # fmt: skip
            try:
                self.uow.commit(plan)
            except OrderSettled:
                continue
            except (StaleVisit, StaleLot):
                wait_before_retry(attempt)
                continue
            return Outcome.FULFILLED
        raise Conflict("kept_changing")

    def sweep(self, provider_for: Callable[[Channel], PaymentProvider], asked_after: timedelta) -> SweepReport:
        """Visit orders left unpaid: paid at the provider -> fulfilled (a lost notification); past their lifetime ->
        closed there and here, the visit free for another order."""
        now = self.clock.now()
        waiting = self.parking.pending_visit_orders(created_before=now - asked_after)
        return settle_waiting(waiting, provider_for, now, self.fulfil, self._close)

    def _close(self, order: VisitOrder) -> bool:
        """pending -> closed, the visit free for another order; False if it was no longer pending."""
        try:
            self.uow.commit(close_visit_order(order))
        except OrderSettled:
            return False
        return True

    def my_order(self, owner_id: str, order_id: str) -> VisitOrder:
        order = self.parking.visit_order(checked_id("order_id", order_id))
        if order is None or order.owner_id != owner_id:
            raise VisitOrderNotFound(order_id)
        return order

    def register_guest(self, owner_id: str, lot_id: str, plate: str, day: date) -> ParkingPass:
        """An owner's guest may come and go free on `day`; at most the lot's number of guests a month per owner
        (registering the same plate for the same day again answers the first)."""
        lot = self._lot(lot_id)
        plate = normalise_plate(plate)
        if self.may_invite is not None and not self.may_invite(owner_id, lot):
            raise GuestNotAllowed()
        today = lot.today(self.clock.now())
        if not today <= day <= today + timedelta(days=GUEST_DAYS_AHEAD):
            raise InvalidInput("guest_day")
        most = self.parking.setup(lot.id).guests_per_month
        for attempt in range(MAX_ATTEMPTS):
            earlier = next((p for p in self.parking.passes_of(lot.id, plate) if p.kind is PassKind.GUEST), None)
            if earlier is not None and not earlier.lifted and earlier.until is not None and earlier.until >= today:
                if (earlier.owner_id, earlier.starts) == (owner_id, day):
                    return earlier  # registered already
                raise Conflict("guest_plate_registered")  # one guest day of a plate at a time: none is lost
            month = day.strftime("%Y-%m")
            n = next((n for n in range(1, most + 1)
                      if self.uow.claimed(guest_claim(lot.id, owner_id, month, n).key) is None), None)  # fmt: skip
            if n is None:
                raise GuestLimit(most)
            lot = self._lot(lot.id)
            guest = ParkingPass(lot.id, plate, PassKind.GUEST, "访客", day, day, f"owner:{owner_id}",
                                self.clock.now(), owner_id=owner_id)  # fmt: skip
            try:
                self.uow.commit(guest_plan(guest, n, lot.entitlement_version, lot.feed_epoch))
            except (RecordedAlready, StaleLot):
                wait_before_retry(attempt)
                continue
            return guest
        raise Conflict("kept_changing")

    # --- helpers
    def _priced(self, visit: ParkedVisit, lot: Lot, owed_fen: int) -> VisitNow:
        setup = self.parking.setup(lot.id)
        fee = fee_as_of(visit, setup, lot.timezone, self.clock.now())
        leave_by = visit.paid_at + timedelta(minutes=setup.policy.leave_minutes) if visit.paid_at else None
        if leave_by is not None and self.clock.now() <= leave_by:
            fee = min(fee, visit.paid_fen)  # paid, and within the window to leave: nothing more yet
        return VisitNow(visit, fee, owed_fen, leave_by)

    def _lot(self, lot_id: str) -> Lot:
        lot = self.lots.get(checked_id("lot_id", lot_id))
        if lot is None:
            raise LotNotFound(lot_id)
        return lot

    def _made_with(self, who: str, key: str) -> VisitOrder | None:
        order_id = order_of_key(who, key, self.uow)
        return self.parking.visit_order(order_id) if order_id else None

    def _give_up(self, order_id: str, provider_for: Callable[[Channel], PaymentProvider]) -> None:
        """Close an earlier waiting order of the visit, at the provider first: paid there, it is fulfilled."""
        order = self.parking.visit_order(order_id)
        if order is None or order.state is not OrderState.PENDING:
            return
        try:
            settle(order, provider_for(order.channel), self.clock.now(), self.fulfil, self._close, close_now=True)
        except UpstreamUnavailable:
            raise VisitInOrder(order.visit_id) from None

    def _answer(self, order: VisitOrder, provider: PaymentProvider, openid: str) -> VisitOrderToPay:
        if order.state is not OrderState.PENDING:
            return VisitOrderToPay(order, {})
        return VisitOrderToPay(order, provider.prepay(order, openid))


def inviter(
    cards: CardRepository, billing: Billing, owners: OwnerRepository, sealer: Sealer
) -> Callable[[str, Lot], bool]:
    """Who may register guests at a lot: a card holder of it, or an owner of a unit (by the verified phone) of a
    community the lot belongs to."""

    def may(owner_id: str, lot: Lot) -> bool:
        if any(c.lot_id == lot.id and holds_place(c) for c in cards.list_for_owner(owner_id)):
            return True
        owner = owners.get(owner_id)
        if owner is None or owner.phone is None:
            return False
        for unit_id in billing.units_of_phone(sealer.fingerprint(owner.phone, "phone")):
            unit = billing.unit(unit_id)
            community = billing.community(unit.community_id) if unit else None
            if community is not None and lot.id in community.lot_ids:
                return True
        return False

    return may
