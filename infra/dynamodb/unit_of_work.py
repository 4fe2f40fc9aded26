"""The one commit path in DynamoDB: any plan as one TransactWriteItems, each item named by what it guards.

This module decides nothing: every condition it writes is one the plan declared,
and a failed one raises the error the plan attached to it.
"""

from __future__ import annotations

from dataclasses import replace

from pynamodb.expressions.condition import Condition

from domain.errors import (
    ApplicationClosed,
    BalanceTooLow,
    BillChanged,
    BookingChanged,
    Conflict,
    CustodyChanged,
    DomainError,
    OrderSettled,
    StaleCard,
    StaleLot,
    StaleVisit,
)
from domain.order import RefundState
from domain.plan import Claim, Holder, Plan
from infra.dynamodb.applications import application_item, application_update
from infra.dynamodb.audit import audit_item
from infra.dynamodb.feed import entitlement_item
from infra.dynamodb.orders import ledger_item, order_item, order_update, receipt_item
from infra.dynamodb.reminders import slot_actions, slot_item
from infra.dynamodb.repositories import card_actions, card_item
from infra.dynamodb.tables import (
    ApplicationItem,
    AuditItem,
    CardItem,
    ClaimItem,
    EntitlementItem,
    LedgerItem,
    LotItem,
    OrderItem,
    ReceiptItem,
)
from infra.dynamodb.transact import ConditionsFailed, Conflicted, NamedWrite


class DynamoUnitOfWork:
    def commit(self, plan: Plan) -> None:
        """All of the plan or nothing. A failed condition raises its error (the first in the plan's order);
        a transaction that collided with another raises StaleLot/StaleCard, so the caller reads again."""
        w, errors = NamedWrite(), _Errors()
        parking = plan.passages or plan.stays or plan.visits or plan.occupancy or plan.passes or plan.visit_orders
        if parking:
            # Parking at the barrier loads with the first plan that has some, not with every function's cold start.
            from infra.dynamodb import parking as p
        for passage in plan.passages:
            w.put(errors.add(f"passage {passage.record.id}", passage.error), *p.passage_write(passage.record))
        for vo in plan.visit_orders:
            w.put(
                errors.add(f"visit order {vo.order.id}", OrderSettled(vo.order.id)),
                *p.visit_order_write(vo.order, vo.was),
            )
        for o in plan.orders:
            name = errors.add(f"order {o.order.id}", o.error or OrderSettled(o.order.id))
            if o.was:
                item, actions = order_update(o.order)
                condition = OrderItem.state.is_in(*(s.value for s in o.was))
                if o.refund_was is not None:
                    condition &= _refund_in(o.refund_was)
                w.update(name, item, actions, condition)
            else:
                w.put(name, order_item(o.order), OrderItem.order_id.does_not_exist())
        for a in plan.applications:
            name = errors.add(f"application {a.application.id}", a.error or ApplicationClosed("application_decided"))
            if a.was:
                item, actions = application_update(a.application)
                w.update(name, item, actions, ApplicationItem.state.is_in(*(s.value for s in a.was)))
            else:
                w.put(name, application_item(a.application), ApplicationItem.application_id.does_not_exist())
        if plan.bill_orders or plan.bills or plan.balances or plan.bill_reminders:
            # Property fees load with the first plan that has some, not with every function's cold start.
            from infra.dynamodb.billing import balance_update, bill_order_write, bill_reminder_update, bill_write
        for bo in plan.bill_orders:
            name = errors.add(f"bill order {bo.order.id}", OrderSettled(bo.order.id))
            w.put(name, *bill_order_write(bo.order, bo.was))
        for b in plan.bills:
            name = errors.add(f"bill {b.bill.id}", b.error or BillChanged(b.bill.id))
            w.put(name, *bill_write(b.bill, b.was))
        for line in plan.ledger:
            name = errors.add(f"ledger {line.id}", OrderSettled(line.order_id))
            w.put(name, ledger_item(line), LedgerItem.entry_id.does_not_exist())
        if plan.signed is not None:
            name = errors.add("receipt", OrderSettled(plan.signed.receipt.order_id))
            w.put(name, receipt_item(plan.signed), ReceiptItem.receipt_id.does_not_exist())
        for absent in plan.absent:
            name = errors.add(f"absent {absent.key}", absent.error)
            w.check(name, ClaimItem, absent.key, ClaimItem.claim.does_not_exist())
        for release in plan.releases:
            name = errors.add(f"release {release.key}", release.error)
            w.delete(name, ClaimItem(claim=release.key), ClaimItem.claim.does_not_exist() | _held(release.holder))
        for take in plan.takes:
            name = errors.add(f"take {take.claim.key}", take.error)
            free = ClaimItem.claim.does_not_exist()
            w.put(name, _claim_item(take.claim), free | _held(take.unless) if take.unless else free)
        for c in plan.cards:
            name = errors.add(f"card {c.card.id}", c.failure)
            if c.expected_version is None:
                w.put(name, card_item(replace(c.card, version=0)), CardItem.card_id.does_not_exist())
            else:
                item = card_item(c.card)
                item.version = c.expected_version  # pynamodb adds the version's condition
                w.update(name, item, [*card_actions(c.card), CardItem.plates.set(list(c.card.plates))])
        for unchanged in plan.unchanged:
            name = errors.add(f"unchanged {unchanged.card_id}", StaleCard(unchanged.card_id))
            w.check(name, CardItem, unchanged.card_id, CardItem.version == unchanged.version)
        if plan.lot is not None:
            self._lot(w, errors, plan)
        for move in plan.balances:
            name = errors.add(f"balance {move.unit_id}", move.error or BalanceTooLow(move.unit_id))
            w.update(name, *balance_update(move.unit_id, move.fen))
        if plan.bookings or plan.cash or plan.custody or plan.signatures:
            from infra.dynamodb.collection import booking_write, cash_write, custody_update, signature_write
        for bw in plan.bookings:
            w.put(
                errors.add(f"booking {bw.booking.id}", BookingChanged(bw.booking.id)),
                *booking_write(bw.booking, bw.was),
            )
        for cw in plan.cash:
            name = errors.add(f"cash {cw.entry.id}", OrderSettled(cw.entry.order_id or cw.entry.id))
            w.put(name, *cash_write(cw.entry))
        for cm in plan.custody:
            name = errors.add(f"custody {cm.collector}", cm.error or CustodyChanged(cm.collector))
            w.update(name, *custody_update(cm.collector, cm.fen))
        for sig in plan.signatures:
            name = errors.add(f"signature {sig.order_id}", OrderSettled(sig.order_id))
            w.put(name, *signature_write(sig.order_id, sig.image))
        if parking:
            for sw in plan.stays:
                w.put(
                    errors.add(f"stay {sw.stay.plate}", StaleVisit(sw.stay.lot_id)),
                    *p.stay_write(sw.stay, sw.expected_version),
                )
            for vw in plan.visits:
                w.put(
                    errors.add(f"visit {vw.visit.id}", StaleVisit(vw.visit.lot_id)),
                    *p.visit_write(vw.visit, vw.expected_version),
                )
            if plan.occupancy is not None:
                w.update(
                    errors.add("occupancy", StaleVisit(plan.occupancy.lot_id)), *p.occupancy_update(plan.occupancy)
                )
            for pw in plan.passes:
                w.put(f"pass {pw.found.kind.value} {pw.found.plate}", p.pass_write(pw.found))
        for reminder in plan.bill_reminders:
            w.update(f"bill reminder {reminder.key}", *bill_reminder_update(reminder))
        for slot in plan.reminders:
            w.update(f"reminder {slot.key}", slot_item(slot), slot_actions(slot))
        for slot in plan.dropped_reminders:
            w.delete(f"drop reminder {slot.key}", slot_item(slot))
        for entry in plan.audit:
            name = errors.add(f"audit {entry.subject} {entry.entry}", Conflict("recorded_already"))
            w.put(name, audit_item(entry), AuditItem.entry.does_not_exist())
        try:
            w.commit()
        except ConditionsFailed as e:
            raise errors.first(e.names) from e
        except Conflicted as e:
            if plan.lot is not None:
                raise StaleLot(plan.lot.lot_id) from e
            if plan.bills and not plan.cards:
                raise BillChanged(plan.bills[0].bill.id) from e
            if parking and not plan.cards:
                lot_id = (plan.occupancy.lot_id if plan.occupancy else None) or next(
                    (s.stay.lot_id for s in plan.stays), "?"
                )
                raise StaleVisit(lot_id) from e
            if plan.bookings and not plan.cards:
                raise BookingChanged(plan.bookings[0].booking.id) from e
            if plan.custody and not plan.cards:
                raise CustodyChanged(plan.custody[0].collector) from e
            raise StaleCard(plan.cards[0].card.id if plan.cards else "?") from e

    def claimed(self, key: str) -> Claim | None:
        try:
            i = ClaimItem.get(key, consistent_read=True)
        except ClaimItem.DoesNotExist:
            return None
        return Claim(i.claim, i.owner_id, i.card_id, i.application_id, i.order_id)

    def _lot(self, w: NamedWrite, errors: _Errors, plan: Plan) -> None:
        lot = plan.lot
        assert lot is not None
        actions = []
        condition: Condition = LotItem.lot_id.exists()
        if lot.feed_at is not None:
            actions.append(LotItem.entitlement_version.set(lot.feed_at + len(plan.events)))
            at = LotItem.entitlement_version == lot.feed_at
            condition &= at | LotItem.entitlement_version.does_not_exist() if lot.feed_at == 0 else at
        if lot.held_at is not None:
            counted = LotItem.held == lot.held_at
            condition &= counted | LotItem.held.does_not_exist() if lot.held_at == 0 else counted
        if lot.held:
            actions.append(LotItem.held.add(lot.held))
            if lot.held > 0 and lot.within_quota:
                condition &= LotItem.quota.does_not_exist() | (LotItem.held < LotItem.quota)
        if plan.signed is not None and lot.receipt_at is not None:
            r = plan.signed.receipt
            actions += [LotItem.receipt_seq.set(r.seq), LotItem.receipt_hash.set(r.hash)]
            head = LotItem.receipt_seq == lot.receipt_at
            condition &= head | LotItem.receipt_seq.does_not_exist() if lot.receipt_at == 0 else head
        if not actions:
            w.check(errors.add("lot", plan.lot_error()), LotItem, lot.lot_id, condition)
            return
        w.update(errors.add("lot", plan.lot_error()), LotItem(lot_id=lot.lot_id), actions, condition)
        for grant in plan.grants():
            name = errors.add(f"event {grant.version}", StaleLot(lot.lot_id))
            w.put(name, entitlement_item(grant), EntitlementItem.version.does_not_exist())


class _Errors:
    """The plan's conditions by name, in the order they rank when several fail."""

    def __init__(self) -> None:
        self._by_name: dict[str, DomainError] = {}

    def add(self, name: str, error: DomainError) -> str:
        self._by_name[name] = error
        return name

    def first(self, failed: set[str]) -> DomainError:
        return next(error for name, error in self._by_name.items() if name in failed)


def _held(holder: Holder) -> Condition:
    return getattr(ClaimItem, holder.field) == holder.value


def _claim_item(claim: Claim) -> ClaimItem:
    return ClaimItem(
        claim=claim.key,
        owner_id=claim.owner_id,
        card_id=claim.card_id,
        application_id=claim.application_id,
        order_id=claim.order_id,
    )


def _refund_in(states: tuple[RefundState | None, ...]) -> Condition:
    known = [s.value for s in states if s is not None]
    condition: Condition | None = OrderItem.refund_state.is_in(*known) if known else None
    if None in states:
        absent = OrderItem.refund_state.does_not_exist()
        condition = absent if condition is None else condition | absent
    assert condition is not None
    return condition
