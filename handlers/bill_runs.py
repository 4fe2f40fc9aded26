"""Bill runs: the office drafts a period's bills for chosen fee items, reviews them, publishes them (the prepaid
balance pays what it can), cancels or reissues one, waives a late fee. Every bill change is a plan committed by the
one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import groupby

from domain.admin import Permission, Staff
from domain.bill_order import cancel_bill, publish, reissue, waive_late_fee
from domain.bill_payment import paid_from_balance
from domain.bill_run import Bill, BillLine, BillRun, BillState, draft_bills, short_id
from domain.community import Community, run_inputs
from domain.errors import BalanceTooLow, BillChanged, BillNotFound, Conflict, InvalidInput
from domain.ids import checked_id
from domain.plan import BillWrite, Plan
from handlers.ports import Billing, Clock, IdSource, UnitOfWork
from handlers.property import community_for
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

BILLS_PER_COMMIT = 15
"""Bills drafted or published in one transaction (DynamoDB takes 100 items; a published bill writes itself, its
audit entry and its 4 reminders)."""


def checked_period(period: str) -> str:
    year, _, month = period.partition("-")
    if not (len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit() and 1 <= int(month) <= 12):
        raise InvalidInput("period")
    return period


@dataclass(frozen=True)
class BillRuns:
    billing: Billing
    uow: UnitOfWork
    ids: IdSource
    clock: Clock

    def run(
        self, account: Staff, community_id: str, period: str, fee_item_ids: Sequence[str]
    ) -> tuple[BillRun, list[Bill]]:
        """Draft the period's bills of the fee items: one per (fee item, unit, period) however often it runs (a
        second run drafts none of those the first made)."""
        community = community_for(account, community_id, self.billing, Permission.MANAGE)
        period = checked_period(period)
        items = []
        for item_id in dict.fromkeys(fee_item_ids):
            found = self.billing.fee_item(checked_id("fee_item_id", item_id))
            if found is None or found[0].community_id != community.id:
                raise BillNotFound("fee_item", item_id)
            items.append(found[0])
        if not items:
            raise InvalidInput("run_items")
        units = self.billing.units(community.id)
        meters = self.billing.meters(community.id)
        readings = {m.id: self.billing.readings(m.id) for m in meters}
        vacancies = self.billing.vacancies(community.id)
        run_id = self.ids.new_id("run")
        made: list[Bill] = []
        for attempt in range(MAX_ATTEMPTS):
            existing = {b.id for b in self.billing.bills_of_community(community.id, period)}
            drafts = []
            for item in items:
                inputs = run_inputs(item, period, units, meters, readings, vacancies)
                drafts += [replace(b, run_id=run_id) for b in draft_bills(period, [item], units, existing, inputs)]
            # Saved first, so drafts written by a run that then dies are still the run's to review and publish.
            self.billing.save_run(BillRun(run_id, community.id, period, tuple(i.id for i in items),
                                          tuple(b.id for b in made + drafts), 0, self.clock.now()))  # fmt: skip
            try:
                for start in range(0, len(drafts), BILLS_PER_COMMIT):
                    chunk = drafts[start : start + BILLS_PER_COMMIT]
                    self.uow.commit(Plan(bills=tuple(BillWrite(b) for b in chunk)))
                    made += chunk
            except BillChanged:  # another run drafted some of these meanwhile: draft what is still missing
                wait_before_retry(attempt)
                continue
            break
        else:
            raise Conflict("kept_changing")
        run = BillRun(run_id, community.id, period, tuple(i.id for i in items), tuple(b.id for b in made),
                      sum(b.amount_fen for b in made), self.clock.now())  # fmt: skip
        self.billing.save_run(run)
        return run, made

    def run_of(self, account: Staff, run_id: str) -> tuple[BillRun, list[Bill]]:
        run = self.billing.run(checked_id("run_id", run_id))
        if run is None:
            raise BillNotFound("bill_run", run_id)
        community_for(account, run.community_id, self.billing, Permission.VIEW)
        return run, self.billing.bills(run.bill_ids)

    def publish(self, account: Staff, run_id: str) -> tuple[BillRun, list[Bill]]:
        """The run's drafts become due, unit by unit; each unit's prepaid balance pays whole bills, oldest due first,
        never below zero (a payment meanwhile: read again). Publishing twice publishes once."""
        run, _ = self.run_of(account, run_id)
        account.require(Permission.MANAGE)
        community = community_for(account, run.community_id, self.billing, Permission.MANAGE)
        now = self.clock.now()
        for attempt in range(MAX_ATTEMPTS):
            drafts = [b for b in self.billing.bills(run.bill_ids) if b.state is BillState.DRAFT]
            try:
                for unit_id, of_unit in groupby(sorted(drafts, key=lambda b: b.unit_id), key=lambda b: b.unit_id):
                    self._publish_unit(community, unit_id, list(of_unit), f"admin:{account.email}")
            except (BillChanged, BalanceTooLow):
                wait_before_retry(attempt)
                continue
            break
        else:
            raise Conflict("kept_changing")
        published = replace(run, published_at=run.published_at or now)
        self.billing.save_run(published)
        return published, self.billing.bills(run.bill_ids)

    def _publish_unit(self, community: Community, unit_id: str, drafts: list[Bill], actor: str) -> None:
        balance = self.billing.balance(unit_id)
        owed = [b for b in self.billing.bills_of_unit(unit_id) if b.state is BillState.UNPAID]
        due = [replace(b, state=BillState.UNPAID) for b in drafts]
        paid, _ = paid_from_balance(balance, owed + due) if balance > 0 else ([], balance)
        draft_ids = {b.id for b in drafts}
        # Older unpaid bills come first: the balance pays this run's drafts only once those are paid.
        paid_now = [b for b in paid if b in draft_ids] if all(b.id in paid for b in owed) else []
        for start in range(0, len(drafts), BILLS_PER_COMMIT):
            chunk = drafts[start : start + BILLS_PER_COMMIT]
            ids = {b.id for b in chunk}
            from_balance = [b for b in paid_now if b in ids]
            self.uow.commit(publish(chunk, balance, unit_id, self.clock.now(), actor, from_balance, community.timezone))
            balance -= sum(b.amount_fen for b in chunk if b.id in paid_now)

    def cancel(
        self, account: Staff, bill_id: str, reason: str, reissue_lines: Sequence[BillLine] | None
    ) -> tuple[Bill, Bill | None]:
        """A draft or unpaid bill is cancelled with a reason; `reissue_lines` set: a new bill replaces it (a draft,
        linked to it, to be reviewed and published with its run)."""
        bill = self._bill(account, bill_id, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        if bill.state is BillState.CANCELLED:
            return bill, None  # cancelled already (the same form sent again)
        plan = cancel_bill(bill, reason.strip(), self.clock.now(), f"admin:{account.email}")
        reissued = None
        if reissue_lines is not None:
            amount = sum(line.amount_fen for line in reissue_lines)
            reissued = reissue(bill, tuple(reissue_lines), amount, short_id(f"{bill.id}-r{self.ids.new_id('x')[-6:]}"))
            plan += Plan(bills=(BillWrite(reissued),))
        self.uow.commit(plan)
        if reissued is not None and bill.run_id:
            run = self.billing.run(bill.run_id)
            if run is not None:
                self.billing.save_run(replace(run, bill_ids=(*run.bill_ids, reissued.id), published_at=None))
        return replace(bill, state=BillState.CANCELLED, note=reason.strip()), reissued

    def waive(self, account: Staff, bill_id: str, reason: str) -> Bill:
        bill = self._bill(account, bill_id, Permission.MANAGE)
        if not reason.strip():
            raise InvalidInput("reason_for_audit")
        if bill.waived is not None:
            return bill
        self.uow.commit(waive_late_fee(bill, reason.strip(), self.clock.now(), f"admin:{account.email}"))
        return replace(bill, waived=reason.strip())

    def _bill(self, account: Staff, bill_id: str, permission: Permission) -> Bill:
        bill = self.billing.bill(checked_id("bill_id", bill_id))
        if bill is None:
            raise BillNotFound("bill", bill_id)
        community_for(account, bill.community_id, self.billing, permission)
        return bill
