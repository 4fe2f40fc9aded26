"""A stateful property test of the lot's invariants (docs/architecture.md, I1-I9).

Random sequences of what owners, the office, the scheduler, imports and payment
providers do at one lot, through the real use cases; after every step the lot's
stored state is checked against the invariants. It runs over the in-memory
adapters (tests/unit/test_lot_invariants.py, many examples) and over DynamoDB in
moto (tests/integration/test_lot_invariants_dynamodb.py, fewer): both read the
store only through the ports, plus `stored_reminders` and `claims_of`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.admin import Role, Staff
from domain.application import OPEN, ApplicationState, occupies_slot
from domain.bill_order import BillOrder
from domain.bill_run import Bill, BillState, FeeItem, FeeKind, Unit
from domain.card import Card, CardState
from domain.card_claim import office_owner
from domain.collection import OPEN_BOOKINGS, Booking, BookingState, CheckIn, seat_claim
from domain.door import CashMove, cash_in_hand
from domain.entitlement import entitlements_of
from domain.errors import DomainError, OrderNotFound, OrderPaid, OrderRefundedAlready
from domain.fee_rules import LateFeeRule, PricePoint
from domain.lot import Approval, CardPolicy, Lot
from domain.order import REFUND_MOVES, Channel, Order, OrderState, RefundState
from domain.owner import Owner
from domain.parking import PassKind, Reported
from domain.plan import Claim, Plan, holds_place
from domain.reconciliation import PROVIDER_ZONE, LineKind, StatementLine
from domain.reminder import Slot, slots_for
from domain.renewal import bought_until
from domain.visitor_fee import VisitorFeeRule, visitor_fee
from domain.visits import Direction
from functions.bootstrap import Services
from handlers.admin_cards import fix_card, office_refund, offline_payment
from handlers.applications import apply_for_card, approve_application, reject_application
from handlers.cancel_order import cancel_order
from handlers.card_changes import add_card_plate, change_plate, pause_card, remove_card_plate, resume_card
from handlers.card_jobs import cancel_card, restore_card, run_card_jobs
from handlers.claim_cards import claim_by_code, claim_by_phone, print_claim_code
from handlers.fulfil_payment import fulfil_payment
from handlers.import_cards import import_rows
from handlers.ports import Gate, PaymentNotice, RefundNotice, UnitOfWork
from handlers.reconcile import Reconciling, reconcile_day
from handlers.refund_order import refund_no
from handlers.refund_results import refund_notified
from handlers.renewals import close_unpaid, order_renewal
from tests.builders import days, months
from tests.fakes import FakeProvider, FakeQr, FixedClock, NoPayments

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime.combine(date(2026, 11, 23), time(10), SHANGHAI).astimezone(UTC)
PLATES = tuple(f"粤B1000{n}" for n in range(7))
OWNERS = tuple(f"owner-{n}" for n in range(4))
PHONES = tuple(f"1380000000{n}" for n in range(4))
QUOTA = 2
MANAGER = Staff("manager@t1.cn", "t1", Role.LOT_MANAGER, frozenset({"lot-1"}), "-")
COLLECTOR = Staff("wang@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "-")
OTHER_COLLECTOR = Staff("li@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "-")
CASHIERS = tuple(Staff(f"cashier{n}@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "-") for n in range(2))
UNITS = ("u1", "u2")
PAYERS = ("payer-0", "payer-1")
"""The owners of u1 and u2 (by their phones): they pay bills and prepay."""
PERIODS = ("2026-11", "2026-12", "2027-01")
VISITORS = ("粤A20000", "粤A20001", "粤A20002")
"""Cars with no card (and card plates too pass the barrier)."""
GATES = (Gate("gate-in", "lot-1", "s"), Gate("gate-out", "lot-1", "s"))
VISITOR_SPACES = 2
DOOR_SIGNATURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
"""What the door's tests need of a signature: a PNG's header and some bytes (the page draws real ones)."""
BILL_MOVES = {
    (BillState.DRAFT, BillState.UNPAID),
    (BillState.DRAFT, BillState.PAID),  # published and paid from the prepaid balance at once
    (BillState.DRAFT, BillState.CANCELLED),
    (BillState.UNPAID, BillState.PAID),
    (BillState.UNPAID, BillState.CANCELLED),
    (BillState.PAID, BillState.REFUNDED),
}

ORDER_MOVES = {
    (OrderState.PENDING, OrderState.PAID),
    (OrderState.PENDING, OrderState.CLOSED),
    (OrderState.CLOSED, OrderState.PAID),  # the provider took the money just as the order closed: it is honoured
    (OrderState.PAID, OrderState.REFUNDED),
}


class Interleaving:
    """The unit of work with a hook: `meanwhile` runs once, just before the next commit, as another request
    that got there first would (the plan about to commit was made from what it read before)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.meanwhile: Callable[[], object] | None = None

    def commit(self, plan: Plan) -> None:
        other, self.meanwhile = self.meanwhile, None
        if other is not None:
            with contextlib.suppress(DomainError):
                other()
        self.uow.commit(plan)

    def claimed(self, key: str) -> Claim | None:
        return self.uow.claimed(key)


class _Statement:
    def __init__(self, lines: list[StatementLine]) -> None:
        self.lines = lines

    def statement(self, day: date) -> list[StatementLine]:
        return self.lines


def _seen(what: str) -> None:
    """Counted in --hypothesis-show-statistics (replayed races run outside a Hypothesis test: nothing to count)."""
    if currently_in_test_context():
        event(what)


class LotMachine(RuleBasedStateMachine):
    """Subclasses set `services` (fresh, empty stores), `stored_reminders` and `claims_of`."""

    services: Callable[[], Services]
    stored_reminders: Callable[[Services], list[tuple[Slot, str]]]

    def __init__(self) -> None:
        super().__init__()
        self.fresh = fresh = type(self).services()
        self.racing = Interleaving(fresh.uow)
        self.qr = FakeQr()
        """The provider of the door's QR codes (it knows which the owner paid and which were closed)."""
        self.s = s = replace(fresh, uow=self.racing, wechatpay=self.qr)
        clock = s.clock
        assert isinstance(clock, FixedClock)
        self.clock = clock
        policy = CardPolicy(
            approval=Approval.MANUAL,
            pay_within_days=3,
            pause_allowed=True,
            pause_min_days=2,
            pause_max_days=20,
            pauses_per_year=9,
            max_plates=2,
            plate_changes_per_month=3,
            grace_days=1,
        )
        s.lots.add(Lot("lot-1", "一号车场", quota=QUOTA, tenant_id="t1", cards=policy))
        for package in (months(1), months(3), days(10)):
            s.packages.add(package)
        for owner in OWNERS:
            s.owners.add(Owner(owner, f"openid-{owner}"))
        self.ceiling = QUOTA
        """The most places the lot may hold now: its quota, or more where an import took them on purpose."""
        self.orders_seen: dict[str, OrderState] = {}
        self.refunds_seen: dict[str, RefundState | None] = {}
        self.keys = 0
        self.restores: dict[str, int] = {}
        self.provider = FakeProvider()
        """What the payment provider knows of owners' orders (paid by the payer, closed by a cancel)."""
        self._property()
        self.bills_seen: dict[str, BillState] = {}
        self._parking()
        self.events = 0
        self.visits_seen: set[str] = set()
        self.visit_orders: set[str] = set()
        self.let_in_offline = False

    def _parking(self) -> None:
        """The lot charges visitors (free 15 minutes, 500 fen an hour, at most 3,000 a day) and has two visitor
        spaces."""
        from domain.parking import Spaces

        office = self.s.parking_office
        office.set_visitor_fee(MANAGER, "lot-1", VisitorFeeRule(START.date(), 15, 60, 500, 3000))
        office.set_spaces(MANAGER, "lot-1", Spaces(total=None, visitor=VISITOR_SPACES))

    def _property(self) -> None:
        """A community of the lot: two units, each with its owner (by phone), an area fee with a late fee."""
        s = self.s
        s.records.add_community(MANAGER, "c1", "一号小区", ["lot-1"])
        for n, unit in enumerate(UNITS):
            phone = f"1390000000{n}"
            s.records.add_unit(MANAGER, Unit(unit, "c1", "1栋", f"10{n}", 8850 + n * 1000), [phone])
            s.owners.add(Owner(PAYERS[n], f"openid-{PAYERS[n]}", phone=phone))
        late = LateFeeRule(Decimal("0.0005"), 15, Decimal("0.30"))
        s.records.add_fee_item(MANAGER, FeeItem("mgmt", "c1", "物业费", FeeKind.AREA,
                                                (PricePoint(date(2026, 11, 1), 250),), late_fee=late))  # fmt: skip
        for account in (COLLECTOR, OTHER_COLLECTOR, *CASHIERS):
            s.staff.add(account)
        run, _ = s.bill_runs.run(MANAGER, "c1", PERIODS[0], ["mgmt"])  # bills owed from the start: visits to make
        s.bill_runs.publish(MANAGER, run.id)

    # What people and machines do.

    def _restoring(self, card: Card) -> None:
        """The office brings a card back (a restore; a refund of a new card's only payment): its application
        waits again without taking a slot (an office decision may pass an owner's allowance, I9)."""
        self.restores[card.owner_id] = self.restores.get(card.owner_id, 0) + 1

    def _try(self, action: Callable[[], object]) -> None:
        with contextlib.suppress(DomainError):  # refused: nothing may have changed (the invariants say so)
            action()

    def _cards(self) -> list[Card]:
        return sorted(self.s.cards.list_for_lot("lot-1"), key=lambda c: c.id)

    def _order(self, card: Card, package: str, channel: Channel) -> Order | None:
        """The card's owner orders a renewal (not paid yet); None when refused."""
        s = self.s
        try:
            made = order_renewal(
                card.owner_id, card.id, package, channel, self._key(),
                cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
                provider=NoPayments(), ids=s.ids, clock=s.clock,
            ).order  # fmt: skip
        except DomainError:
            return None
        self.orders_seen.setdefault(made.id, made.state)
        return made

    def _key(self) -> str:
        self.keys += 1
        return f"key-{self.keys:06d}"

    @initialize(waiting=st.integers(0, 4), one_approved=st.booleans())
    def some_owners_applied(self, waiting: int, one_approved: bool) -> None:
        """The lot opens with applications in the office's queue (one approved, maybe), so races for its last
        place are a step away."""
        for n in range(waiting):
            self.apply(OWNERS[n % len(OWNERS)], [PLATES[-1 - n]])
        if waiting and one_approved:
            self.decide(0, True)

    @rule(owner=st.sampled_from(OWNERS), plates=st.lists(st.sampled_from(PLATES), min_size=1, max_size=2, unique=True))
    def apply(self, owner: str, plates: list[str]) -> None:
        s = self.s
        self._try(
            lambda: apply_for_card(
                owner, "lot-1", plates, "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids, s.clock,
                s.notices, s.cards,
            )
        )  # fmt: skip

    @rule(pick=st.integers(0, 50), approve=st.booleans())
    def decide(self, pick: int, approve: bool) -> None:
        s = self.s
        open_ones = sorted(
            (a for owner in OWNERS for a in s.applications.list_for_owner(owner) if a.state in OPEN),
            key=lambda a: a.id,
        )
        if not open_ones:
            return
        a = open_ones[pick % len(open_ones)]
        if approve:
            self._try(lambda: approve_application(a.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices))
        else:
            self._try(
                lambda: reject_application(a.id, "admin:m", "不符合", s.lots, s.applications, s.uow, s.clock, s.notices)
            )

    def _card(self, pick: int) -> Card | None:
        cards = self._cards()
        return cards[pick % len(cards)] if cards else None

    @rule(pick=st.integers(0, 50), package=st.sampled_from(["m1", "m3", "d10"]), twice=st.booleans())
    def pay_online(self, pick: int, package: str, twice: bool) -> None:
        s, card = self.s, self._card(pick)
        if card is None:
            return
        made = self._order(card, package, Channel.WECHAT)
        if made is None:
            return
        notice = PaymentNotice(made.id, f"tx-{made.id}", made.amount_fen, s.clock.now(), True)
        for _ in range(2 if twice else 1):  # a duplicate notification
            self._try(lambda: fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer))

    @rule(first=st.integers(0, 50), second=st.integers(0, 50))
    def approvals_at_once(self, first: int, second: int) -> None:
        """The office approves two applications at the same moment (two clicks, two managers)."""
        s = self.s
        undecided = (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED)
        waiting = sorted(
            (a for owner in OWNERS for a in s.applications.list_for_owner(owner) if a.state in undecided),
            key=lambda a: a.id,
        )
        if len(waiting) < 2:
            return
        a, b = waiting[first % len(waiting)], waiting[second % len(waiting)]
        self.racing.meanwhile = lambda: approve_application(
            b.id, "admin:n", s.lots, s.applications, s.uow, s.clock, s.notices
        )
        self._try(lambda: approve_application(a.id, "admin:m", s.lots, s.applications, s.uow, s.clock, s.notices))

    @rule(pick=st.integers(0, 50), pause_meanwhile=st.booleans())
    def payment_raced(self, pick: int, pause_meanwhile: bool) -> None:
        """A notification arrives while its duplicate (or a pause of the card) is being committed."""
        s, card = self.s, self._card(pick)
        if card is None:
            return
        made = self._order(card, "m1", Channel.WECHAT)
        if made is None:
            return
        notice = PaymentNotice(made.id, f"tx-{made.id}", made.amount_fen, s.clock.now(), True)
        if pause_meanwhile:
            starts = s.clock.now().date() + timedelta(days=2)
            self.racing.meanwhile = lambda: pause_card(
                card.owner_id, card.id, starts, None, s.cards, s.lots, s.uow, s.ids, s.clock
            )
        else:
            self.racing.meanwhile = lambda: fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer)
        self._try(lambda: fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer))

    @rule(pick=st.integers(0, 50), owner=st.sampled_from(OWNERS))
    def restore_raced_by_an_application(self, pick: int, owner: str) -> None:
        """The office restores a card while an owner's application for one of its plates is approved."""
        s, card = self.s, self._card(pick)
        if card is None:
            return
        self.racing.meanwhile = lambda: approve_application(
            apply_for_card(
                owner, "lot-1", list(card.plates[:1]), "m1", "", s.lots, s.packages, s.applications, s.uow, s.ids,
                s.clock, s.notices, s.cards,
            ).id,
            "admin:n", s.lots, s.applications, s.uow, s.clock, s.notices,
        )  # fmt: skip
        self._restoring(card)
        self._try(lambda: restore_card(card.id, "admin:m", "恢复", s.card_life))

    @rule(pick=st.integers(0, 50), close=st.booleans())
    def order_left_unpaid(self, pick: int, close: bool) -> None:
        """An owner orders and walks away; the sweep closes it later (or a late payment arrives)."""
        s, card = self.s, self._card(pick)
        if card is None:
            return
        made = self._order(card, "m1", Channel.ALIPAY)
        if made is not None and close:
            close_unpaid(made, s.uow)

    @rule(
        pick=st.integers(0, 50),
        fresh=st.booleans(),
        paid_first=st.booleans(),
        meanwhile=st.sampled_from(["nothing", "cancel", "payment", "sweep"]),
        by_other=st.booleans(),
    )
    def owner_cancels(self, pick: int, fresh: bool, paid_first: bool, meanwhile: str, by_other: bool) -> None:
        """An owner cancels an order (a new unpaid one, or any of the lot's): the provider decides. The payer may
        have paid just before; a second cancel, the notification or the sweep may get there at the same moment."""
        s, provider, card = self.s, self.provider, self._card(pick)
        if card is None:
            return
        made = self._order(card, "m1", Channel.WECHAT) if fresh else None
        orders = sorted((o for c in self._cards() for o in s.orders.for_card(c.id)), key=lambda o: o.id)
        if made is None and not orders:
            return
        o = made or orders[pick % len(orders)]
        if paid_first and o.state is OrderState.PENDING:  # (one closed is closed at the provider: it cannot be paid)
            provider.pay(o, s.clock.now())

        def cancel(owner_id: str) -> Order:
            return cancel_order(
                owner_id, o.id, orders=s.orders, cards=s.cards, uow=s.uow,
                provider_for=lambda channel: provider, clock=s.clock, signer=s.receipt_signer,
            )  # fmt: skip

        if by_other:
            before = s.orders.get(o.id)
            with contextlib.suppress(OrderNotFound):
                cancel(next(x for x in OWNERS if x != o.owner_id))
                raise AssertionError(f"another owner cancelled {o.id}")
            assert s.orders.get(o.id) == before, "another owner's cancel changed the order"
            return
        if meanwhile == "cancel":
            self.racing.meanwhile = lambda: cancel(o.owner_id)
        elif meanwhile == "payment" and o.id in provider.paid:
            notice = PaymentNotice(o.id, f"tx-{o.id}", o.amount_fen, provider.paid[o.id], True)
            self.racing.meanwhile = lambda: fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer)
        elif meanwhile == "sweep":
            self.racing.meanwhile = lambda: (provider.close(o), close_unpaid(o, s.uow))
        try:
            answer = cancel(o.owner_id)
        except (OrderPaid, OrderRefundedAlready) as refused:
            now = s.orders.get(o.id)
            assert now is not None and now.state in (OrderState.PAID, OrderState.REFUNDED) and refused.order == now
            _seen(f"owner_cancels: {refused.code} (meanwhile {meanwhile})")
            return
        except DomainError as refused:
            _seen(f"owner_cancels: {refused.code}")
            return
        finally:
            self.racing.meanwhile = None
        _seen(f"owner_cancels: closed (was {o.state.value}, meanwhile {meanwhile})")
        assert answer.state is OrderState.CLOSED and s.orders.get(o.id) == answer
        assert o.id not in provider.paid, f"{o.id} was paid at the provider but closed here"
        assert o.state is not OrderState.PENDING or o.id in provider.closed, f"{o.id} closed here only"
        waiting = s.orders.waiting_for(o.card_id)
        assert waiting is None or waiting.id != o.id, f"closed {o.id} still holds its card's unpaid slot"

    @rule(pick=st.integers(0, 50))
    def late_payment(self, pick: int) -> None:
        s = self.s
        waiting = sorted(
            (o for c in self._cards() for o in s.orders.for_card(c.id)
             if o.state in (OrderState.PENDING, OrderState.CLOSED)),
            key=lambda o: o.id,
        )  # fmt: skip
        if waiting:
            o = waiting[pick % len(waiting)]
            notice = PaymentNotice(o.id, f"tx-{o.id}", o.amount_fen, s.clock.now(), True)
            self._try(lambda: fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer))

    @rule(pick=st.integers(0, 50), twice=st.booleans())
    def reconciliation_finds_a_lost_payment(self, pick: int, twice: bool) -> None:
        """A payer paid; the notification and every query were lost; the day's statement shows it."""
        s = self.s
        waiting = sorted(
            (o for c in self._cards() for o in s.orders.for_card(c.id)
             if o.state in (OrderState.PENDING, OrderState.CLOSED) and o.channel is Channel.WECHAT),
            key=lambda o: o.id,
        )  # fmt: skip
        if not waiting:
            return
        o = waiting[pick % len(waiting)]
        at = s.clock.now()
        paid_there = [StatementLine(LineKind.PAYMENT, o.id, f"tx-{o.id}", o.amount_fen, at)]
        r = Reconciling(s.ledger, s.orders, s.cards, s.uow, s.reconciliations, s.clock, s.metrics, s.receipt_signer)
        day = at.astimezone(PROVIDER_ZONE).date()
        for _ in range(2 if twice else 1):  # the day reconciled again
            self._try(lambda: reconcile_day(Channel.WECHAT, day, _Statement(paid_there), r))

    @rule(pick=st.integers(0, 50), twice=st.booleans())
    def pay_cash(self, pick: int, twice: bool) -> None:
        s, card = self.s, self._card(pick)
        if card is None:
            return
        key = self._key()
        for _ in range(2 if twice else 1):  # a double click on the office page
            self._try(
                lambda: offline_payment(
                    MANAGER, card.id, "m1", Channel.CASH, key, cards=s.cards, lots=s.lots, packages=s.packages,
                    orders=s.orders, uow=s.uow, signer=s.receipt_signer, ids=s.ids, clock=s.clock,
                )
            )  # fmt: skip

    @rule(pick=st.integers(0, 50), to=st.sampled_from(RefundState), twice=st.booleans())
    def refund_settles(self, pick: int, to: RefundState, twice: bool) -> None:
        """The provider's word on a refund still processing (or abnormal): a notification, maybe twice."""
        s = self.s
        open_ = sorted((o for c in self._cards() for o in s.orders.for_card(c.id)
                        if o.refund in (RefundState.PROCESSING, RefundState.ABNORMAL)), key=lambda o: o.id)  # fmt: skip
        if open_:
            o = open_[pick % len(open_)]
            notice = RefundNotice(o.id, refund_no(o), to)
            for _ in range(2 if twice else 1):
                self._try(lambda: refund_notified(notice, s.orders, s.uow, s.metrics))

    @rule(pick=st.integers(0, 50), processing=st.booleans())
    def refund(self, pick: int, processing: bool) -> None:
        s = self.s
        paid = sorted((o for c in self._cards() for o in s.orders.for_card(c.id) if o.state is OrderState.PAID),
                      key=lambda o: o.id)  # fmt: skip
        if paid:
            o = paid[pick % len(paid)]
            self.restores[o.owner_id] = self.restores.get(o.owner_id, 0) + 1  # a new card's only payment back:
            self._try(  # unpaid again, it waits for payment without a slot (I9)
                lambda: office_refund(
                    MANAGER, o.id, orders=s.orders, cards=s.cards, lots=s.lots, uow=s.uow,
                    provider=NoPayments(RefundState.PROCESSING if processing else RefundState.SUCCEEDED),
                    invoicing=s.invoicing, clock=s.clock,
                )
            )  # fmt: skip

    @rule(pick=st.integers(0, 50), starts_in=st.integers(1, 5), length=st.none() | st.integers(2, 20))
    def pause(self, pick: int, starts_in: int, length: int | None) -> None:
        s, card = self.s, self._card(pick)
        if card is None:
            return
        lot = s.lots.get("lot-1")
        assert lot is not None
        starts = lot.today(s.clock.now()) + timedelta(days=starts_in)
        until = starts + timedelta(days=length - 1) if length else None
        self._try(lambda: pause_card(card.owner_id, card.id, starts, until, s.cards, s.lots, s.uow, s.ids, s.clock))

    @rule(pick=st.integers(0, 50))
    def resume(self, pick: int) -> None:
        s, card = self.s, self._card(pick)
        if card is not None:
            self._try(lambda: resume_card(card.owner_id, card.id, s.cards, s.lots, s.uow, s.clock))

    @rule(pick=st.integers(0, 50), plate=st.sampled_from(PLATES), how=st.sampled_from(["swap", "add", "remove"]))
    def plates(self, pick: int, plate: str, how: str) -> None:
        s, card = self.s, self._card(pick)
        if card is None:
            return
        o, c = card.owner_id, card.id
        if how == "swap":
            self._try(lambda: change_plate(o, c, card.plates[0], plate, s.cards, s.lots, s.uow, s.clock))
        elif how == "add":
            self._try(lambda: add_card_plate(o, c, plate, s.cards, s.lots, s.uow, s.clock))
        else:
            self._try(lambda: remove_card_plate(o, c, plate, s.cards, s.lots, s.uow, s.clock))

    @rule(pick=st.integers(0, 50), days_=st.integers(-40, 60))
    def office_fix(self, pick: int, days_: int) -> None:
        s, card = self.s, self._card(pick)
        if card is None:
            return
        until = (card.valid_until or date(2026, 11, 23)) + timedelta(days=days_)
        self._try(lambda: fix_card(MANAGER, card.id, until, None, "补录", s.cards, s.lots, s.uow, s.clock))

    @rule(pick=st.integers(0, 50), twice=st.booleans())
    def office_cancel(self, pick: int, twice: bool) -> None:
        card = self._card(pick)
        if card is not None:
            for _ in range(2 if twice else 1):
                self._try(lambda: cancel_card(card.id, "admin:m", "退租", self.s.card_life))

    @rule(pick=st.integers(0, 50))
    def office_restore(self, pick: int) -> None:
        card = self._card(pick)
        if card is not None:
            self._restoring(card)
            self._try(lambda: restore_card(card.id, "admin:m", "恢复", self.s.card_life))

    @rule(
        plates=st.lists(st.sampled_from(PLATES), min_size=1, max_size=3, unique=True),
        ends_in=st.integers(-5, 90),
        phone_of=st.one_of(st.none(), st.integers(0, len(OWNERS) - 1)),
    )
    def import_cards(self, plates: list[str], ends_in: int, phone_of: int | None) -> None:
        s = self.s
        ends = (s.clock.now().date() + timedelta(days=ends_in)).isoformat()
        phone = "" if phone_of is None else PHONES[phone_of]
        rows = [
            {"plates": p, "valid_from": "2026/1/1", "valid_until": ends, "holder": "导入", "phone": phone}
            for p in plates
        ]
        with contextlib.suppress(DomainError):
            import_rows(MANAGER, "lot-1", 2, rows, s.cards, s.lots, s.uow, s.clock, s.sealer)
        self.ceiling = max(self.ceiling, self._lot().held)  # existing cards: an audited override

    @rule(who=st.integers(0, len(OWNERS) - 1), twice=st.booleans())
    def owner_binds_phone_and_claims(self, who: int, twice: bool) -> None:
        owner = OWNERS[who]
        self.s.owners.set_phone(owner, PHONES[who])
        for _ in range(2 if twice else 1):
            self._try(lambda: claim_by_phone(owner, self.s.owners, self.s.claiming))

    @rule(pick=st.integers(0, 50), who=st.integers(0, len(OWNERS) - 1), right=st.booleans(), race=st.booleans())
    def office_prints_slip_owner_claims(self, pick: int, who: int, right: bool, race: bool) -> None:
        card = self._card(pick)
        if card is None:
            return
        self.keys += 1
        try:
            slip = print_claim_code(MANAGER, card.id, f"slip-key-{self.keys}", self.s.claiming)
        except DomainError:
            return
        code = slip.code if right else slip.code[:-1] + ("2" if slip.code[-1] != "2" else "3")

        def claim(owner: str) -> Callable[[], object]:
            return lambda: claim_by_code(owner, code, self.s.rates, self.s.claiming)

        if race:  # another owner's claim with the same slip lands first
            self.racing.meanwhile = claim(OWNERS[(who + 1) % len(OWNERS)])
        self._try(claim(OWNERS[who]))

    @rule()
    def card_jobs(self) -> None:
        self._try(lambda: run_card_jobs(self.s.card_queries, self.s.card_life))

    @rule(days_=st.integers(1, 25))
    def time_passes(self, days_: int) -> None:
        self.clock._now += timedelta(days=days_)

    # Property fees: bill runs, owners paying bills and prepaying, the till, refunds, cancels.

    def _bills(self, state: BillState | None = None) -> list[Bill]:
        found = self.s.billing.bills_of_community("c1")
        return [b for b in found if state in (None, b.state)]

    def _pick_bills(self, picks: list[int], state: BillState = BillState.UNPAID) -> list[Bill]:
        open_ = self._bills(state)
        return list({open_[p % len(open_)].id: open_[p % len(open_)] for p in picks}.values()) if open_ else []

    @rule(period=st.sampled_from(PERIODS), publish=st.booleans(), twice=st.booleans(), chunked=st.booleans())
    def bill_run(self, period: str, publish: bool, twice: bool, chunked: bool) -> None:
        """Drafted whole, or unit by unit in chunks (as the work consumers do a big community's, here in turn)."""
        runs = replace(self.s, run_chunk_units=1).bill_runs if chunked else self.s.bill_runs
        for _ in range(2 if twice else 1):  # a run sent twice drafts nothing more
            try:
                run, _ = runs.run(MANAGER, "c1", period, ["mgmt"])
            except DomainError:
                return
            if publish:
                self._try(lambda run=run: runs.publish(MANAGER, run.id))

    @rule(
        picks=st.lists(st.integers(0, 50), min_size=1, max_size=3),
        twice=st.booleans(),
        race=st.sampled_from(["none", "closed", "till", "another order"]),
    )
    def owner_pays_bills(self, picks: list[int], twice: bool, race: str) -> None:
        """An owner pays some of their unpaid bills in one order; the notification comes twice, or late after the
        order closed: alone, or with the till taking one of the bills or another order holding it meanwhile (then
        the money goes to the balance)."""
        s = self.s
        bills = self._pick_bills(picks)
        if not bills:
            return
        payer = PAYERS[UNITS.index(bills[0].unit_id)]
        bills = [b for b in bills if b.unit_id == bills[0].unit_id]
        try:
            made = s.bill_payments.order_bills(payer, [b.id for b in bills], Channel.WECHAT, self._key(), NoPayments())
        except DomainError:
            return
        notice = PaymentNotice(made.order.id, f"tx-{made.order.id}", made.order.amount_fen, s.clock.now(), True)
        key = self._key()
        if race == "closed":
            self.racing.meanwhile = lambda: s.bill_payments.close(made.order)
        elif race == "till":
            self.racing.meanwhile = lambda: (
                s.bill_payments.close(made.order),
                s.bill_payments.take_at_office(MANAGER, [bills[0].id], Channel.CASH, key),
            )
        elif race == "another order":
            self.racing.meanwhile = lambda: (
                s.bill_payments.close(made.order),
                s.bill_payments.order_bills(payer, [bills[0].id], Channel.WECHAT, key, NoPayments()),
            )
        for _ in range(2 if twice else 1):
            self._try(lambda: s.bill_payments.fulfil(notice))
        order = s.billing.bill_order(made.order.id)
        assert order is not None and order.state is OrderState.PAID, "money taken is never refused"
        _seen(f"bill order: {'to the balance' if order.credited else 'bills paid'}")

    def _next_slot(self, after: datetime | None = None) -> datetime | None:
        """The first collection slot of the community still open to book (after `after`)."""
        today = self._lot().today(self.s.clock.now())
        for ahead in range(8):
            for open_ in self.s.collecting.slots("c1", today + timedelta(days=ahead)):
                if open_.free > 0 and (after is None or open_.slot.starts > after):
                    return open_.slot.starts
        return None

    @rule(
        picks=st.lists(st.integers(0, 50), min_size=1, max_size=2),
        race=st.sampled_from(["none", "online order", "till", "another booking"]),
        cancel=st.sampled_from(["no", "owner", "office", "moved"]),
    )
    def owner_books_a_collector(self, picks: list[int], race: str, cancel: str) -> None:
        """An owner books a collector's visit with unpaid bills to pay at the door, raced by an online order, the
        till or another booking taking one of them; the owner or the office may cancel it."""
        s = self.s
        bills = self._pick_bills(picks)
        slot = self._next_slot()
        if not bills or slot is None:
            return
        unit = bills[0].unit_id
        payer = PAYERS[UNITS.index(unit)]
        ids = [b.id for b in bills if b.unit_id == unit]
        key = self._key()
        if race == "online order":
            self.racing.meanwhile = lambda: s.bill_payments.order_bills(payer, ids[:1], Channel.WECHAT, key,
                                                                        NoPayments())  # fmt: skip
        elif race == "till":
            self.racing.meanwhile = lambda: s.bill_payments.take_at_office(MANAGER, ids[:1], Channel.CASH, key)
        elif race == "another booking":
            self.racing.meanwhile = lambda: s.collecting.book(payer, unit, slot, ids[:1], "", key)
        try:
            booking = s.collecting.book(payer, unit, slot, ids, "", self._key())
        except DomainError:
            return
        finally:
            self.racing.meanwhile = None
        _seen(f"collection booked ({race})")
        if cancel == "owner":
            self._try(lambda: s.collecting.cancel(payer, booking.id))
        elif cancel == "office":
            self._try(lambda: s.collecting.cancel_at_office(MANAGER, booking.id, "联系不上"))
        elif cancel == "moved":  # to a later slot, maybe raced by another owner for it
            later = self._next_slot(after=booking.slot if picks[0] % 2 else None)
            if later is not None:
                self._try(lambda: s.collecting.change(payer, booking.id, later, "改约"))
                _seen("collection moved" if later != booking.slot else "collection notes changed")

    def _open_booking(self, pick: int) -> Booking | None:
        """An open booking; none open: the owner of a unit with unpaid bills books one for them."""
        found = [b for u in UNITS for b in self.s.collection.bookings_of_unit(u) if b.state in OPEN_BOOKINGS]
        if found:
            return sorted(found, key=lambda b: b.id)[pick % len(found)]
        bills, slot = self._pick_bills([pick]), self._next_slot()
        if not bills or slot is None:
            return None
        unit = bills[0].unit_id
        ids = [b.id for b in self._bills(BillState.UNPAID) if b.unit_id == unit]
        try:
            return self.s.collecting.book(PAYERS[UNITS.index(unit)], unit, slot, ids, "", self._key())
        except DomainError:
            return None

    @rule(
        pick=st.integers(0, 50),
        how=st.sampled_from(["cash", "qr", "a second qr", "not home"]),
        race=st.sampled_from(["none", "owner pays the qr", "online order", "till", "office cancels", "reassigned"]),
        again=st.booleans(),
    )
    def collector_at_the_door(self, pick: int, how: str, race: str, again: bool) -> None:
        """The office gives a booking to the collector, who takes cash for it (the upload maybe sent again), shows
        a QR code the owner pays (or a second one, the first closed), or finds nobody at home; meanwhile the owner
        may pay an earlier code, try an online order or the till, or the office cancel the booking."""
        s = self.s
        booking = self._open_booking(pick)
        if booking is None:
            return
        try:
            booking = s.collecting.assign(MANAGER, booking.id, COLLECTOR.email)
        except DomainError:
            return
        signature, here = DOOR_SIGNATURE, CheckIn(31.23, 121.47, 20, s.clock.now())
        earlier = s.billing.bill_order(booking.order_id) if booking.order_id else None
        payer = PAYERS[UNITS.index(booking.unit_id)]
        if race == "owner pays the qr" and earlier is not None:
            self.racing.meanwhile = lambda: self._scan(earlier)
        elif race == "online order":
            self.racing.meanwhile = lambda: s.bill_payments.order_bills(payer, list(booking.bill_ids), Channel.WECHAT,
                                                                        self._key(), NoPayments())  # fmt: skip
        elif race == "till":
            self.racing.meanwhile = lambda: s.bill_payments.take_at_office(MANAGER, list(booking.bill_ids),
                                                                           Channel.CASH, self._key())  # fmt: skip
        elif race == "office cancels":
            self.racing.meanwhile = lambda: s.collecting.cancel_at_office(MANAGER, booking.id, "业主改约")
        elif race == "reassigned":  # the office gives the visit to another collector as this one works it
            self.racing.meanwhile = lambda: s.collecting.assign(MANAGER, booking.id, OTHER_COLLECTOR.email)
        key = self._key()
        try:
            if how == "cash":
                due = s.doorstep.visit(COLLECTOR, booking.id).due_fen
                for _ in range(2 if again else 1):  # the offline page's upload, retried after a lost answer
                    s.doorstep.take_cash(COLLECTOR, booking.id, due, here, signature, key)
                _seen(f"door: cash ({race})")
            elif how in ("qr", "a second qr"):
                shown = s.doorstep.show_qr(COLLECTOR, booking.id, Channel.WECHAT, here, signature, key)
                if how == "a second qr":
                    self.racing.meanwhile = None
                    shown = s.doorstep.show_qr(COLLECTOR, booking.id, Channel.WECHAT, here, signature, self._key())
                self.racing.meanwhile = None
                for _ in range(2 if again else 1):
                    self._scan(shown.order)
                _seen(f"door: {how} ({race})")
            else:
                s.doorstep.not_home(COLLECTOR, booking.id, "不在家", here)
        except DomainError:
            return
        finally:
            self.racing.meanwhile = None

    def _scan(self, order: BillOrder) -> None:
        """The owner scans a door's QR code and pays (refused at the provider once the code was closed)."""
        if self.qr.pay(order, self.s.clock.now()):  # type: ignore[arg-type]
            notice = PaymentNotice(order.id, f"wx-{order.id}", order.amount_fen, self.s.clock.now(), True)
            self._try(lambda: self.s.bill_payments.fulfil(notice))

    @rule(off_by=st.sampled_from([0, 0, -500, 300]), race=st.booleans(), again=st.booleans())
    def cashier_counts_the_collector(self, off_by: int, race: bool, again: bool) -> None:
        """A cashier counts the collector's cash (交接), maybe a little off; another cashier may count at once."""
        s = self.s
        held = s.collection.cash_in_hand(COLLECTOR.email)
        counted, key = max(0, held + off_by), self._key()
        if race:
            self.racing.meanwhile = lambda: s.doorstep.hand_over(CASHIERS[1], COLLECTOR.email, counted, self._key())
        try:
            for _ in range(2 if again else 1):
                s.doorstep.hand_over(CASHIERS[0], COLLECTOR.email, counted, key)
        except DomainError:
            return
        finally:
            self.racing.meanwhile = None
        _seen("door: handover")

    @rule(pick=st.integers(0, 50), fen=st.integers(1, 40_000))
    def owner_prepays(self, pick: int, fen: int) -> None:
        s = self.s
        n = pick % len(UNITS)
        try:
            made = s.bill_payments.prepay(PAYERS[n], UNITS[n], fen, Channel.WECHAT, self._key(), NoPayments())
        except DomainError:
            return
        self._try(lambda: s.bill_payments.fulfil(PaymentNotice(made.order.id, "tx", fen, s.clock.now(), True)))

    @rule(picks=st.lists(st.integers(0, 50), min_size=1, max_size=2), twice=st.booleans())
    def till_takes_bills(self, picks: list[int], twice: bool) -> None:
        s, key = self.s, self._key()
        bills = [b.id for b in self._pick_bills(picks)]
        for _ in range(2 if twice else 1):  # a double click
            self._try(lambda: s.bill_payments.take_at_office(MANAGER, bills, Channel.CASH, key))

    @rule(pick=st.integers(0, 50), twice=st.booleans())
    def office_refunds_a_bill(self, pick: int, twice: bool) -> None:
        s = self.s
        bills = self._pick_bills([pick], BillState.PAID)
        for _ in range(2 if twice else 1):
            for bill in bills:
                self._try(lambda bill=bill: s.bill_payments.refund(MANAGER, bill.id, "退费", s.provider))

    @rule(pick=st.integers(0, 50), unpaid=st.booleans())
    def office_cancels_a_bill(self, pick: int, unpaid: bool) -> None:
        s = self.s
        for bill in self._pick_bills([pick], BillState.UNPAID if unpaid else BillState.DRAFT):
            self._try(lambda bill=bill: s.bill_runs.cancel(MANAGER, bill.id, "面积有误", None))

    # Parking at the barrier: passages (live, repeated, at once, reported late by an offline gate), visit payments.

    def _event(self) -> str:
        self.events += 1
        return f"ev{self.events}"

    @rule(plate=st.sampled_from(VISITORS + PLATES[:3]), inward=st.booleans(), gate=st.sampled_from(GATES),
          offline=st.none() | st.booleans(), late_minutes=st.sampled_from([0, 0, 30, 600]), again=st.booleans(),
          race=st.booleans())  # fmt: skip
    def car_at_the_barrier(self, plate: str, inward: bool, gate: Gate, offline: bool | None, late_minutes: int,
                           again: bool, race: bool) -> None:  # fmt: skip
        """A car at a gate: decided now, or reported after the fact by a gate that was offline (`offline`: what it
        did), perhaps late; the same event sent again, or at once with another car of the same plate."""
        s = self.s
        seen = Reported(gate.id, self._event(), plate, Direction.IN if inward else Direction.OUT,
                        s.clock.now() - timedelta(minutes=late_minutes), offline)  # fmt: skip
        if race:
            other = Reported(gate.id, self._event(), plate, Direction.OUT if inward else Direction.IN, s.clock.now())
            self.racing.meanwhile = lambda: s.barrier.passage(gate, other)
        self.let_in_offline |= bool(offline) and inward
        for _ in range(2 if again else 1):
            try:
                answer = s.barrier.passage(gate, seen)
            except DomainError:
                continue
            if answer.record.visit_id:
                self.visits_seen.add(answer.record.visit_id)
            _seen(f"passage: {answer.record.kind.value} {'opened' if answer.record.allow else 'refused'}")
        self.racing.meanwhile = None
        for v in s.parking.visits_on("lot-1", s.lots.get("lot-1").today(seen.at)):  # type: ignore[union-attr]
            self.visits_seen.add(v.id)  # a racing passage's, too

    @rule(minutes=st.integers(1, 300))
    def minutes_pass(self, minutes: int) -> None:
        self.clock._now += timedelta(minutes=minutes)

    @rule(pick=st.integers(0, 50), channel=st.sampled_from([Channel.WECHAT, Channel.ALIPAY]), twice=st.booleans(),
          meanwhile=st.sampled_from(["nothing", "leaves", "another_order"]))  # fmt: skip
    def visitor_pays(self, pick: int, channel: Channel, twice: bool, meanwhile: str) -> None:
        """Someone pays for a car inside (in the mini-program); the notification comes once or twice, perhaps after
        the car left or after another order of the visit was made."""
        s = self.s
        inside = sorted((v for v in (s.parking.visit(x) for x in self.visits_seen) if v is not None and v.open
                         and v.charged), key=lambda v: v.id)  # fmt: skip
        if not inside:
            return
        visit = inside[pick % len(inside)]
        provider = self.provider
        try:
            order = s.visit_payments.order(
                PAYERS[0], visit.id, channel, self._key(), provider, lambda _: provider
            ).order
        except DomainError:
            return
        self.visit_orders.add(order.id)
        if meanwhile == "leaves":
            gate = GATES[1]
            self.racing.meanwhile = lambda: s.barrier.passage(
                gate, Reported(gate.id, self._event(), visit.plate, Direction.OUT, s.clock.now(), True)
            )
        elif meanwhile == "another_order":

            def another() -> None:
                again = s.visit_payments.order(PAYERS[1], visit.id, channel, self._key(), provider,
                                               lambda _: provider).order  # fmt: skip
                self.visit_orders.add(again.id)

            self._try(another)
        if not provider.pay(order, s.clock.now()):  # closed by the other order first: nothing can be paid
            return
        notice = PaymentNotice(order.id, f"tx-{order.id}", order.amount_fen, s.clock.now(), True)
        for _ in range(2 if twice else 1):
            with contextlib.suppress(DomainError):
                _seen(f"visit payment: {s.visit_payments.fulfil(notice).value} ({meanwhile})")

    @rule(plate=st.sampled_from(VISITORS), blacklist=st.booleans(), lift=st.booleans())
    def office_exempts_or_blacklists(self, plate: str, blacklist: bool, lift: bool) -> None:
        office, kind = self.s.parking_office, PassKind.BLACKLISTED if blacklist else PassKind.EXEMPT
        if lift:
            self._try(lambda: office.lift_pass(MANAGER, "lot-1", plate, kind, "解除", None))
        else:
            self._try(lambda: office.add_pass(MANAGER, "lot-1", plate, kind, "测试", None, None))

    # The invariants.

    def _lot(self) -> Lot:
        lot = self.s.lots.get("lot-1")
        assert lot is not None
        return lot

    @invariant()
    def i1_places(self) -> None:
        lot, cards = self._lot(), self._cards()
        holding = [c for c in cards if holds_place(c)]
        assert lot.held == len(holding), f"held {lot.held}, cards holding a place {[c.id for c in holding]}"
        # Only an import may take places past the quota; everything else takes one only while one is free.
        assert lot.held <= self.ceiling, f"held {lot.held} > {self.ceiling} (quota {QUOTA})"
        self.ceiling = max(QUOTA, lot.held)

    @invariant()
    def i2_plates(self) -> None:
        s = self.s
        live = [c for c in self._cards() if holds_place(c)]
        on_cards = [p for c in live for p in c.plates]
        assert len(on_cards) == len(set(on_cards)), f"a plate on two live cards: {on_cards}"
        for c in live:
            for plate in c.plates:
                holder = s.cards.card_for_plate("lot-1", plate)
                assert holder is not None and holder.id == c.id, f"{plate} of {c.id} is claimed by {holder}"
        for plate in PLATES:
            holder = s.cards.card_for_plate("lot-1", plate)
            assert holder is None or (holds_place(holder) and plate in holder.plates), f"{plate} -> {holder}"

    @invariant()
    def i3_gates(self) -> None:
        s, lot = self.s, self._lot()
        events = s.feed.since("lot-1", 0, 10_000)
        assert [e.version for e in events] == list(range(1, lot.entitlement_version + 1))
        latest = {e.plate: e for e in events if e.kind == "card"}
        for c in self._cards():
            if not holds_place(c):  # out of the lot: whatever its dates say now, the gates must refuse it
                told = [latest[p] for p in c.plates if p in latest and latest[p].card_id == c.id]
                assert all(e.state == "cancelled" for e in told), f"gates still admit {c.id}: {told}"
                continue
            for wanted in entitlements_of(c, lot, START):
                got = latest.get(wanted.plate)
                if got is None or got.card_id != c.id:
                    # Never told: only a card that admits nobody yet (pending, no dates), or one that left.
                    assert c.valid_until is None or not holds_place(c), f"gates never learnt {c.id}/{wanted.plate}"
                    continue
                terms = (got.valid_from, got.valid_until, got.state, got.paused_from, got.paused_until, got.grace_until)
                expected = (wanted.valid_from, wanted.valid_until, wanted.state.value, wanted.paused_from,
                            wanted.paused_until, wanted.grace_until)  # fmt: skip
                assert terms == expected, f"gates hold {terms} for {c.id}/{wanted.plate}, the card says {expected}"
        live_plates = {p: c for c in self._cards() if holds_place(c) for p in c.plates}
        for plate, e in latest.items():
            if plate not in live_plates:
                assert e.state in ("cancelled", "pending") or e.valid_until is None, f"{plate} still admitted: {e}"

    @invariant()
    def i4_reminders(self) -> None:
        lot, now = self._lot(), self.s.clock.now()
        cards = {c.id: c for c in self._cards()}
        stored = type(self).stored_reminders(self.fresh)
        for slot, state in stored:
            if state != "pending" or slot.due_at <= now:
                continue
            card = cards[slot.card_id]
            assert card.valid_until == slot.cycle and card.state in (CardState.ACTIVE, CardState.EXPIRED), (
                f"a reminder for the old end {slot.cycle} of {card.id} ({card.state}, ends {card.valid_until})"
            )
        keys = {slot.key for slot, _ in stored}
        for c in cards.values():
            missing = [x.key for x in slots_for(c, lot) if x.due_at > now and x.key not in keys]
            assert not missing, f"{c.id} has no reminder {missing}"

    @invariant()
    def i8_claims(self) -> None:
        """An imported card is the office's until claimed, then its owner's alone; its reminders follow it."""
        for c in self._cards():
            office = c.owner_id == office_owner("lot-1")
            assert office or c.claim is None or c.claim.phone_key is None, f"{c.id} claimed, still found by phone"
            claims = [e for e in self.s.card_queries.history(c.id) if e.action == "claim"]
            assert len(claims) == (0 if office else int(c.id.startswith("imp-"))), f"{c.id} claimed {len(claims)}x"
            if claims:
                by = claims[0].actor
                assert by == f"owner:{c.owner_id}", f"{c.id} is {c.owner_id}'s, claimed by {by}"
        owners = {c.id: c.owner_id for c in self._cards()}
        for slot, state in type(self).stored_reminders(self.fresh):
            if state == "pending" and slot.due_at > self.s.clock.now():
                assert slot.owner_id == owners[slot.card_id], f"{slot.key} goes to {slot.owner_id}"

    @invariant()
    def i9_applications(self) -> None:
        """An owner's applications waiting at the lot (in review, on the waitlist, approved and unpaid) stay
        within the lot's allowance; an undecided one holds its plates, unless it waits for review over them."""
        s = self.s
        allowance = self._lot().cards.open_applications_per_owner
        for owner in OWNERS:
            mine = s.applications.list_for_owner(owner)
            waiting = [a.id for a in mine if occupies_slot(a, s.cards.get(a.card_id) if a.card_id else None)]
            assert len(waiting) <= allowance + self.restores.get(owner, 0), f"{owner} has {waiting} waiting"
            for a in mine:
                if a.state not in (ApplicationState.SUBMITTED, ApplicationState.WAITLISTED):
                    continue
                holders = {p: s.applications.holding("lot-1", p) for p in a.plates}
                if a.held_elsewhere:
                    assert all(h is None or h.id != a.id for h in holders.values()), f"{a.id} in review holds"
                else:
                    assert all(h is not None and h.id == a.id for h in holders.values()), f"{a.id}: {holders}"

    @invariant()
    def i5_audit(self) -> None:
        for c in self._cards():
            assert len(self.s.card_queries.history(c.id)) == c.version, f"{c.id} v{c.version} has another count"

    @invariant()
    def i6_money(self) -> None:
        s, lot = self.s, self._lot()
        orders = [o for c in self._cards() for o in s.orders.for_card(c.id)]
        booked = s.ledger.around("lot-1", START - timedelta(days=1), s.clock.now() + timedelta(days=1))
        ledger = {e.id: e for e in booked if not e.id.startswith("visit:")}  # visits' money: I11
        settled = 0
        for o in orders:
            was = self.orders_seen.get(o.id, OrderState.PENDING)
            assert was == o.state or (was, o.state) in ORDER_MOVES, f"order {o.id} moved {was} -> {o.state}"
            self.orders_seen[o.id] = o.state
            money = self.refunds_seen.get(o.id)
            assert o.refund == money or o.refund in REFUND_MOVES[money], f"refund {o.id} {money} -> {o.refund}"
            assert (o.refund is None) == (o.state is not OrderState.REFUNDED)
            self.refunds_seen[o.id] = o.refund
            paid, back = ledger.get(f"payment:{o.id}"), ledger.get(f"refund:{o.id}")
            if o.state in (OrderState.PAID, OrderState.REFUNDED):
                settled += 1
                assert paid is not None and paid.amount_fen == o.amount_fen
                assert (back is not None) == (o.state is OrderState.REFUNDED)
                assert back is None or back.amount_fen == -o.amount_fen
            else:
                assert paid is None and back is None, f"{o.id} is {o.state} with a ledger line"
        assert len(ledger) == settled + sum(o.state is OrderState.REFUNDED for o in orders)
        for c in self._cards():  # a card's one unpaid slot is held by its online order waiting for payment, if any
            waiting = [o for o in s.orders.for_card(c.id) if o.state is OrderState.PENDING and o.channel.online]
            holder = s.orders.waiting_for(c.id)
            assert [o.id for o in waiting] == ([holder.id] if holder else []), f"{c.id}: slot {holder}, {waiting}"
        # One receipt per settled order in the lot's chain, with no gaps: a card's, or a bill order's (the
        # community's payments are chained with its first lot's).
        chained = [s.receipts.in_chain("lot-1", seq) for seq in range(1, lot.receipt_seq + 1)]
        assert all(r is not None for r in chained), f"a receipt of {lot.receipt_seq} is missing"
        for_bills = [r for r in chained if r is not None and r.order_id.startswith("bo-")]
        assert len(chained) - len(for_bills) == settled
        for r in for_bills:
            paid = s.billing.bill_order(r.order_id)
            assert paid is not None and paid.state is OrderState.PAID and paid.amount_fen == r.amount_fen

    @invariant()
    def i7_periods(self) -> None:
        s, lot = self.s, self._lot()
        for c in self._cards():
            for o in s.orders.for_card(c.id):
                if o.new_valid_from is None or o.new_valid_until is None:
                    continue
                start, until = o.new_valid_from, o.new_valid_until
                # The package's length counted from where the paid period began; a pause that was still to
                # run when it was bought moves both ends by its days.
                assert any(
                    bought_until(start - timedelta(days=shift), o.package, lot) + timedelta(days=shift) == until
                    for shift in range(0, 60)
                ), f"order {o.id} bought {start}..{until} for {o.package.duration}"

    @invariant()
    def i10_bills(self) -> None:
        """No bill is paid twice, no balance goes below zero, the community's ledger is exactly its paid bills and
        its balances, bills only move forward, a bill is in an unpaid order only while that order waits, and a
        drafted run's count and total are its drafts'."""
        s = self.s
        bills = self._bills()
        for b in bills:
            was = self.bills_seen.get(b.id, BillState.DRAFT)
            assert was == b.state or (was, b.state) in BILL_MOVES, f"bill {b.id} moved {was} -> {b.state}"
            self.bills_seen[b.id] = b.state
            if b.state is BillState.PAID:
                assert b.paid_fen == b.amount_fen + b.late_fee_fen, f"{b.id} paid {b.paid_fen}"
        booked = s.ledger.around("community:c1", START - timedelta(days=1), s.clock.now() + timedelta(days=1))
        for b in bills:
            paid_lines = [e for e in booked if e.card_id == b.id and e.amount_fen > 0]
            assert len(paid_lines) <= 1, f"bill {b.id} booked {len(paid_lines)} times"
        balances = {u: s.billing.balance(u) for u in UNITS}
        assert all(v >= 0 for v in balances.values()), balances
        held = sum(b.paid_fen for b in bills if b.state is BillState.PAID)
        assert sum(e.amount_fen for e in booked) == held + sum(balances.values())
        for b in bills:
            claim = s.uow.claimed(f"bill-unpaid:{b.id}")
            if claim is not None and (claim.order_id or "").startswith("bk-"):
                # Held for a collector's visit: by a booking still open that names it, and still unpaid.
                booking = s.collection.booking(claim.order_id or "")
                assert booking is not None and booking.state in OPEN_BOOKINGS and b.id in booking.bill_ids, booking
                assert b.state is BillState.UNPAID, f"{b.id} is {b.state} while booked"
            elif claim is not None:
                order = s.billing.bill_order(claim.order_id or "")
                assert order is not None and order.state is OrderState.PENDING and b.state is BillState.UNPAID
        for unit in UNITS:  # and every open booking holds each of its bills
            for booking in s.collection.bookings_of_unit(unit):
                if booking.state in OPEN_BOOKINGS:
                    for bill_id in booking.bill_ids:
                        held = s.uow.claimed(f"bill-unpaid:{bill_id}")
                        assert held is not None and held.order_id == booking.id, f"{booking.id} lost {bill_id}"
        for run in s.billing.runs("c1"):  # drafted whole or in chunks, a run counts each of its drafts once
            if run.drafted_at is not None:
                drafted = [b for b in bills if b.run_id == run.id and b.replaces is None]
                assert (run.drafted_bills, run.total_fen) == (len(drafted), sum(b.amount_fen for b in drafted)), run

    @invariant()
    def i12_door(self) -> None:
        """A visit collected at the door was paid by its last order, which paid each of its bills; a collector's
        cash in hand is what they took in cash less what they handed over, never below zero; each cash taking is a
        paid cash order of theirs for that much."""
        s = self.s
        for unit in UNITS:
            for booking in s.collection.bookings_of_unit(unit):
                if booking.state in OPEN_BOOKINGS:  # an open booking holds its seat of its (maybe moved) slot
                    seat = s.uow.claimed(seat_claim(booking.community_id, booking.slot, booking.seat))
                    assert seat is not None and seat.order_id == booking.id, f"{booking.id} lost its seat"
                if booking.state is BookingState.COLLECTED:
                    order = s.billing.bill_order(booking.order_id or "")
                    assert order is not None and order.state is OrderState.PAID, booking
                    for bill in s.billing.bills(booking.bill_ids):
                        assert bill.order_id == order.id, f"{bill.id} of collected {booking.id} paid by {bill.order_id}"
        moves = s.collection.cash_moves(COLLECTOR.email, START - timedelta(days=1), s.clock.now() + timedelta(days=1))
        held = s.collection.cash_in_hand(COLLECTOR.email)
        assert held >= 0 and held == cash_in_hand(moves, COLLECTOR.email), (held, moves)
        for move in moves:
            if move.kind is CashMove.COLLECTED:
                order = s.billing.bill_order(move.order_id or "")
                assert order is not None and order.state is OrderState.PAID and order.channel is Channel.CASH
                assert (order.amount_fen, order.staff) == (move.fen, COLLECTOR.email), move

    @invariant()
    def i11_visits(self) -> None:
        """A visit is paid at most once (its paid amount is exactly its paid orders', never more than its fee as of
        the last payment), each paid visit order is one ledger line, a visit has at most one order waiting, and the
        count of cars inside is never negative: it is exactly the open visits (visitors: the open charged ones,
        never more than the visitor spaces)."""
        s = self.s
        lot = self._lot()
        visits = [v for v in (s.parking.visit(x) for x in self.visits_seen) if v is not None]
        orders = [o for o in (s.parking.visit_order(x) for x in self.visit_orders) if o is not None]
        booked = s.ledger.around("lot-1", START - timedelta(days=1), s.clock.now() + timedelta(days=1))
        lines = {e.id: e for e in booked if e.id.startswith("visit:")}
        assert set(lines) == {f"visit:{o.id}" for o in orders if o.state is OrderState.PAID}, lines
        for o in orders:
            if o.state is OrderState.PAID:
                assert lines[f"visit:{o.id}"].amount_fen == o.amount_fen
        rules = s.parking.setup("lot-1").rules
        for v in visits:
            paid = sum(o.visit_fen for o in orders if o.visit_id == v.id and o.state is OrderState.PAID)
            assert v.paid_fen == paid, f"{v.id} paid {v.paid_fen}, its paid orders {paid}"
            if v.paid_fen:
                assert v.entered_at is not None and v.paid_at is not None
                assert v.paid_fen <= visitor_fee(rules, v.entered_at, v.paid_at, lot.timezone), f"{v.id} overpaid"
            waiting = [o.id for o in orders if o.visit_id == v.id and o.state is OrderState.PENDING]
            claim = s.uow.claimed(f"visit-unpaid:{v.id}")
            assert waiting == ([claim.order_id] if claim else []), f"{v.id}: {waiting} waiting, claim {claim}"
        now = s.parking.occupancy("lot-1")
        open_ = [v for v in visits if v.open]
        assert now.inside >= 0 and now.visitors >= 0, now
        assert now.inside == len(open_), f"{now.inside} counted inside, {len(open_)} open visits"
        assert now.visitors == sum(v.charged for v in open_), now
        if not self.let_in_offline:  # a gate deciding alone lets visitors in without counting spaces
            assert now.visitors <= VISITOR_SPACES, now
