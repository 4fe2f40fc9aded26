"""The office's side of parking at the barrier: the visitor fee rule (a price history), the spaces, the barrier's
policy, exempt and blacklisted plates (each an explicit act with a reason, audited and sent to the gates like a
card), a count of the cars inside, and what the passages add up to (occupancy by hour, visits, revenue, arrears).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from domain.admin import Permission, Staff
from domain.barrier import BarrierPolicy
from domain.card import Card
from domain.card_change import AuditEntry
from domain.errors import Conflict, InvalidInput, PassNotFound, RecordedAlready, StaleLot, StaleVisit
from domain.lot import Lot
from domain.parking import Occupancy, ParkedVisit, ParkingPass, ParkingSetup, PassKind, Spaces, Stay, counted, pass_plan
from domain.parking_report import DayReport, report
from domain.plan import once
from domain.plate import normalise_plate
from domain.visitor_fee import VisitorFeeRule
from handlers.office_keys import FormKey
from handlers.ports import Audit, CardRepository, Clock, LotRepository, ParkingRecords, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.staff import lot_for


@dataclass(frozen=True)
class Arrears:
    """Parking arrears (apart from property fees): plates that left visits unpaid, and cars inside on an expired
    card."""

    owing: list[Stay]
    expired_inside: list[tuple[ParkedVisit, Card]]


@dataclass(frozen=True)
class ParkingOffice:
    parking: ParkingRecords
    lots: LotRepository
    cards: CardRepository
    uow: UnitOfWork
    clock: Clock
    audit: Audit

    def set_visitor_fee(self, account: Staff, lot_id: str, rule: VisitorFeeRule) -> list[VisitorFeeRule]:
        """A rule from a new day adds to the price history; a day already priced is replaced (never a past one)."""
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        today = lot.today(self.clock.now())
        if rule.starts < today:
            raise InvalidInput("visitor_fee_past")
        before = self.parking.setup(lot.id)
        if any(r.starts == rule.starts and r.starts <= today for r in before.rules):
            raise InvalidInput("visitor_fee_in_force")  # cars inside were priced by it: a new rule comes tomorrow
        setup = before.with_rule(rule)
        self._save(account, setup, "visitor_fee_set", {"from": rule.starts.isoformat(), "price_fen": rule.price_fen,
                                                         "period_minutes": rule.period_minutes})  # fmt: skip
        return list(setup.rules)

    def set_spaces(self, account: Staff, lot_id: str, spaces: Spaces) -> Spaces:
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        total, visitor = spaces.total, spaces.visitor
        if (
            (total is not None and total < 0)
            or (visitor is not None and visitor < 0)
            or (total is not None and visitor is not None and visitor > total)
        ):
            raise InvalidInput("spaces_counts")
        self._save(account, replace(self.parking.setup(lot.id), spaces=spaces), "spaces_set",
                   {"total": spaces.total, "visitor": spaces.visitor})  # fmt: skip
        return spaces

    def set_policy(self, account: Staff, lot_id: str, policy: BarrierPolicy, guests_per_month: int | None) -> None:
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        setup = replace(self.parking.setup(lot.id), policy=policy)
        if guests_per_month is not None:
            setup = replace(setup, guests_per_month=guests_per_month)
        self._save(account, setup, "barrier_policy_set",
                   {"expired_card": policy.expired_card.value, "unpaid_visit": policy.unpaid_visit.value,
                    "leave_minutes": policy.leave_minutes, "guests_per_month": setup.guests_per_month})  # fmt: skip

    def add_pass(self, account: Staff, lot_id: str, plate: str, kind: PassKind, reason: str, until: date | None,
                 key: FormKey | None) -> ParkingPass:  # fmt: skip
        """Exempt a plate (through `until`) or blacklist it: with a reason, audited, sent to the gates."""
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        today = lot.today(self.clock.now())
        if until is not None and until < today:
            raise InvalidInput("pass_until")
        made = ParkingPass(lot.id, normalise_plate(plate), kind, reason.strip(), today, until,
                           f"admin:{account.email}", self.clock.now())  # fmt: skip
        return self._commit(lot, made, f"{kind.value}_added", key)

    def lift_pass(self, account: Staff, lot_id: str, plate: str, kind: PassKind, reason: str,
                  key: FormKey | None) -> ParkingPass:  # fmt: skip
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        seen = normalise_plate(plate)
        found = next((p for p in self.parking.passes_of(lot.id, seen) if p.kind is kind), None)
        if found is None or found.lifted:
            raise PassNotFound(seen)
        lifted = replace(found, lifted=True, reason=reason.strip(), by=f"admin:{account.email}", at=self.clock.now())
        return self._commit(lot, lifted, f"{kind.value}_lifted", key)

    def count(self, account: Staff, lot_id: str, inside: int, visitors: int, reason: str,
              key: FormKey | None) -> Occupancy:  # fmt: skip
        """The office counted the cars: the live count starts again from it."""
        lot = lot_for(account, lot_id, self.lots, Permission.MANAGE)
        if inside < 0 or not 0 <= visitors <= inside or not reason.strip():
            raise InvalidInput("spaces_counts")
        for attempt in range(MAX_ATTEMPTS):
            now = self.parking.occupancy(lot.id)
            plan = counted(now, inside, visitors, f"admin:{account.email}", reason.strip(), self.clock.now())
            if key is not None:
                plan = plan + once(key.claim())
            try:
                self.uow.commit(plan)
            except RecordedAlready:
                return self.parking.occupancy(lot.id)
            except StaleVisit:
                wait_before_retry(attempt)
                continue
            return Occupancy(lot.id, inside, visitors)
        raise Conflict("kept_changing")

    def occupancy(self, account: Staff, lot_id: str) -> tuple[Lot, Occupancy, Spaces]:
        lot = lot_for(account, lot_id, self.lots)
        return lot, self.parking.occupancy(lot.id), self.parking.setup(lot.id).spaces

    def passes(self, account: Staff, lot_id: str) -> list[ParkingPass]:
        lot = lot_for(account, lot_id, self.lots)
        return self.parking.passes(lot.id)

    def day(self, account: Staff, lot_id: str, day: date) -> tuple[Lot, DayReport]:
        """The visits that began on `day`, the cars inside by hour, visitor revenue and the average stay."""
        lot = lot_for(account, lot_id, self.lots)
        visits = self.parking.visits_on(lot.id, day)
        # Cars that came earlier and were still inside when the day began: yesterday's, and any still inside now.
        before = self.parking.visits_on(lot.id, day - timedelta(days=1)) + self.parking.open_visits(lot.id)
        earlier = [v for v in before if v.left_at is None or _local(v.left_at, lot) >= day]
        return lot, report(lot.timezone, day, visits, earlier, self.clock.now())

    def arrears(self, account: Staff, lot_id: str) -> Arrears:
        lot = lot_for(account, lot_id, self.lots)
        today = lot.today(self.clock.now())
        expired = []
        for visit in self.parking.open_visits(lot.id):
            card = self.cards.card_for_plate(lot.id, visit.plate)
            if card is not None and card.valid_until is not None and card.valid_until < today:
                expired.append((visit, card))
        return Arrears(self.parking.owing(lot.id), expired)

    def _save(self, account: Staff, setup: ParkingSetup, action: str, after: dict[str, object]) -> None:
        """The lot's parking setup saved, and who changed what in its audit (a price, spaces, the policy); saving
        what is there already changes nothing and is not audited."""
        if setup == self.parking.setup(setup.lot_id):
            return
        self.parking.save_setup(setup)
        at = self.clock.now()
        what = hashlib.sha256(json.dumps(after, sort_keys=True).encode()).hexdigest()[:8]
        self.audit.record(AuditEntry(f"parking:{setup.lot_id}", f"{at.isoformat()}#{action}#{what}", at,
                                     f"admin:{account.email}", action, None, None, after))  # fmt: skip

    def _commit(self, lot: Lot, made: ParkingPass, action: str, key: FormKey | None) -> ParkingPass:
        for attempt in range(MAX_ATTEMPTS):
            fresh = self.lots.get(lot.id) or lot
            plan = pass_plan(made, fresh.entitlement_version, fresh.feed_epoch, action)
            if key is not None:
                plan = plan + once(key.claim())
            try:
                self.uow.commit(plan)
            except RecordedAlready:
                return next((p for p in self.parking.passes_of(lot.id, made.plate) if p.kind is made.kind), made)
            except StaleLot:
                wait_before_retry(attempt)
                continue
            return made
        raise Conflict("kept_changing")


def _local(at: datetime, lot: Lot) -> date:
    return lot.today(at)
