"""Bill runs: the office drafts a period's bills for chosen fee items, reviews them, publishes them (the prepaid
balance pays what it can), cancels or reissues one, waives a late fee. Every bill change is a plan committed by the
one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Any

from domain.admin import Permission, Staff
from domain.bill_order import cancel_bill, publish, reissue, waive_late_fee
from domain.bill_payment import paid_from_balance
from domain.bill_run import (
    RUN_CHUNK_UNITS,
    Bill,
    BillLine,
    BillRun,
    BillState,
    ChunkState,
    FeeItem,
    RunChunk,
    Unit,
    bill_id,
    draft_bills,
    drafted,
    run_chunks,
    short_id,
    with_chunks,
)
from domain.community import Community, needed_meters, run_inputs
from domain.errors import BalanceTooLow, BillChanged, BillNotFound, Conflict, InvalidInput, RunStillDrafting
from domain.ids import checked_id
from domain.plan import BillWrite, Plan
from handlers.ports import Billing, Clock, IdSource, UnitOfWork, WorkQueue
from handlers.property import community_for
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

BILLS_PER_COMMIT = 15
"""Bills drafted or published in one transaction (DynamoDB takes 100 items; a published bill writes itself, its
audit entry and its 4 reminders)."""


DRAFT_CHUNK, PUBLISH_CHUNK = "bill-run-draft", "bill-run-publish"
"""The work queue's messages of a run in chunks: one a chunk."""


def chunk_message(kind: str, run_id: str, number: int, actor: str) -> dict[str, Any]:
    return {"kind": kind, "run_id": run_id, "chunk": number, "actor": actor}


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
    queue: WorkQueue | None = None
    """Where a big run's chunks go to be drafted and published by the work consumers; None: in this request."""
    chunk_units: int = RUN_CHUNK_UNITS

    def run(
        self, account: Staff, community_id: str, period: str, fee_item_ids: Sequence[str]
    ) -> tuple[BillRun, list[Bill]]:
        """Draft the period's bills of the fee items: one per (fee item, unit, period) however often it runs (a
        second run drafts none of those the first made). A community of more than `chunk_units` billable units is
        drafted in chunks by the work consumers: the run answers at once, its progress in `run_of`."""
        community = community_for(account, community_id, self.billing, Permission.MANAGE)
        period = checked_period(period)
        items = self._items(community, fee_item_ids)
        units = self.billing.units(community.id)
        run_id, now = self.ids.new_id("run"), self.clock.now()
        chunks = run_chunks(run_id, units, self.chunk_units)
        if len(chunks) > 1:
            # The run and its chunks first: a chunk's consumer finds them whatever the queue does.
            self.billing.save_run(BillRun(run_id, community.id, period, tuple(i.id for i in items), (), 0, now,
                                          chunks=len(chunks)))  # fmt: skip
            self.billing.add_run_chunks(chunks)
            self._hand_out(DRAFT_CHUNK, run_id, chunks, "")
            return self._run(run_id), []

        def saved_first(drafts: list[Bill]) -> None:
            # Before they are written: drafts written by a run that then dies are still the run's to review.
            self.billing.save_run(BillRun(run_id, community.id, period, tuple(i.id for i in items),
                                          tuple(b.id for b in drafts), 0, now, drafted_bills=len(drafts),
                                          drafted_at=now))  # fmt: skip

        made = self._draft(run_id, community, period, items, units, {u.id for u in units}, saved_first)
        run = BillRun(run_id, community.id, period, tuple(i.id for i in items), tuple(b.id for b in made),
                      sum(b.amount_fen for b in made), now, drafted_bills=len(made), drafted_at=now)  # fmt: skip
        self.billing.save_run(run)
        return run, made

    def draft_chunk(self, run_id: str, number: int) -> bool:
        """A chunk's bills drafted, once however often it is asked; the run totalled once its last chunk is drafted.
        False: the chunk was drafted already."""
        run, chunk = self._chunk(run_id, number)
        if chunk.state is not ChunkState.PENDING:
            self._total(run_id)  # its consumer may have died before totalling the run: the message came again
            return False
        community = self.billing.community(run.community_id)
        items = [found[0] for found in map(self.billing.fee_item, run.fee_item_ids) if found is not None]
        if community is None:
            raise BillNotFound("community", run.community_id)
        # Every unit: a shared meter's cost is split over all that share it, not just this chunk's.
        units = self.billing.units(community.id)
        self._draft(run_id, community, run.period, items, units, set(chunk.unit_ids))
        made = self.billing.bills(bill_id(i.id, u, run.period) for i in items for u in chunk.unit_ids)
        done = self.billing.finish_run_chunk(drafted(chunk, made), ChunkState.PENDING)
        # False: another consumer drafted it meanwhile (the same bills: one per fee item, unit, period).
        self._total(run_id)
        return done

    def _draft(self, run_id: str, community: Community, period: str, items: Sequence[FeeItem],
               units: Sequence[Unit], drafting: set[str],
               before: Callable[[list[Bill]], None] | None = None) -> list[Bill]:  # fmt: skip
        """Draft the bills of `drafting`'s units not drafted yet, 15 to a transaction; answer those drafted here."""
        meters = needed_meters(self.billing.meters(community.id), drafting)
        readings = {m.id: self.billing.readings(m.id) for m in meters}
        vacancies = self.billing.vacancies(community.id)
        ours = [u for u in units if u.id in drafting]
        made: list[Bill] = []
        for attempt in range(MAX_ATTEMPTS):
            existing = {b.id for b in self.billing.bills(bill_id(i.id, u.id, period) for i in items for u in ours)}
            drafts = []
            for item in items:
                inputs = run_inputs(item, period, units, meters, readings, vacancies)
                drafts += [replace(b, run_id=run_id) for b in draft_bills(period, [item], ours, existing, inputs)]
            if before is not None:
                before(made + drafts)
            try:
                for start in range(0, len(drafts), BILLS_PER_COMMIT):
                    chunk = drafts[start : start + BILLS_PER_COMMIT]
                    self.uow.commit(Plan(bills=tuple(BillWrite(b) for b in chunk)))
                    made += chunk
            except BillChanged:  # another run drafted some of these meanwhile: draft what is still missing
                wait_before_retry(attempt)
                continue
            return made
        raise Conflict("kept_changing")

    def _total(self, run_id: str) -> None:
        """Count and total the run once every chunk is drafted. Each consumer looks after its own chunk's write (read
        consistently), so the last of two finishing at once sees both; two writing it write the same."""
        run = self._run(run_id)
        chunks = self.billing.run_chunks(run_id, run.chunks)
        self.billing.change_run(run_id, lambda r: with_chunks(r, chunks, self.clock.now()))

    def run_of(self, account: Staff, run_id: str) -> tuple[BillRun, list[Bill]]:
        """The run and its bills; a run in chunks answers only the bills reissued since (its chunks' bills are read
        a chunk at a time: `chunk_of`)."""
        run = self.billing.run(checked_id("run_id", run_id))
        if run is None:
            raise BillNotFound("bill_run", run_id)
        community_for(account, run.community_id, self.billing, Permission.VIEW)
        return run, self.billing.bills(run.bill_ids)

    def progress(self, account: Staff, run_id: str) -> tuple[BillRun, list[RunChunk]]:
        run, _ = self.run_of(account, run_id)
        return run, self.billing.run_chunks(run.id, run.chunks)

    def chunk_of(self, account: Staff, run_id: str, number: int) -> tuple[RunChunk, list[Bill]]:
        _, chunks = self.progress(account, run_id)
        found = next((c for c in chunks if c.number == number), None)
        if found is None:
            raise BillNotFound("bill_run", f"{run_id}#{number}")
        return found, self.billing.bills(found.bill_ids)

    def publish(self, account: Staff, run_id: str) -> tuple[BillRun, list[Bill]]:
        """The run's drafts become due, unit by unit; each unit's prepaid balance pays whole bills, oldest due first,
        never below zero (a payment meanwhile: read again). Publishing twice publishes once. A run in chunks is
        published chunk by chunk by the work consumers, and only once every chunk is drafted."""
        run, _ = self.run_of(account, run_id)
        community = community_for(account, run.community_id, self.billing, Permission.MANAGE)
        actor = f"admin:{account.email}"
        chunks = self.billing.run_chunks(run.id, run.chunks)
        if run.drafted_at is None:
            self._total(run.id)  # every chunk drafted, but the last one's consumer died before totalling the run
            run = self._run(run.id)
        if run.drafted_at is None:
            raise RunStillDrafting(run.id, sum(c.state is not ChunkState.PENDING for c in chunks), run.chunks)
        self._publish_bills(community, run.bill_ids, actor)  # a run's own, or those reissued since
        waiting = [c for c in chunks if c.state is ChunkState.DRAFTED]
        if waiting:
            now = self.clock.now()
            self.billing.change_run(run.id, lambda r: replace(r, publishing_at=r.publishing_at or now))
            self._hand_out(PUBLISH_CHUNK, run.id, waiting, actor)
        self._published(run.id)
        return self.run_of(account, run_id)

    def resume(self, account: Staff, run_id: str) -> tuple[BillRun, list[Bill]]:
        """Ask again for what a run in chunks has not finished: its pending chunks drafted and, once it is being
        published, its drafted chunks published (a message lost: the office's request died before it sent them, or
        they went to the dead-letter queue). Done chunks are left alone; a chunk asked for twice is done once."""
        run, _ = self.run_of(account, run_id)
        account.require(Permission.MANAGE)
        chunks = self.billing.run_chunks(run.id, run.chunks)
        if run.drafted_at is None:
            self._total(run.id)
            self._hand_out(DRAFT_CHUNK, run.id, [c for c in chunks if c.state is ChunkState.PENDING], "")
        elif run.publishing_at is not None and run.published_at is None:
            self._published(run.id)
            waiting = [c for c in chunks if c.state is ChunkState.DRAFTED]
            self._hand_out(PUBLISH_CHUNK, run.id, waiting, f"admin:{account.email}")
        return self.run_of(account, run_id)

    def publish_chunk(self, run_id: str, number: int, actor: str) -> bool:
        """A drafted chunk's bills published, once; the run marked published with its last chunk."""
        run, chunk = self._chunk(run_id, number)
        if chunk.state is not ChunkState.DRAFTED:
            if chunk.state is ChunkState.PUBLISHED:
                self._published(run_id)  # its consumer may have died before marking the run: the message came again
            return False
        community = self.billing.community(run.community_id)
        if community is None:
            raise BillNotFound("community", run.community_id)
        self._publish_bills(community, chunk.bill_ids, actor)
        done = self.billing.finish_run_chunk(replace(chunk, state=ChunkState.PUBLISHED), ChunkState.DRAFTED)
        self._published(run_id)
        return done

    def _published(self, run_id: str) -> None:
        """The run published once its last chunk is (consumers each look after their own chunk's write, as in
        `_total`), and its own bills: none of them a draft."""
        run = self._run(run_id)
        if any(c.state is not ChunkState.PUBLISHED for c in self.billing.run_chunks(run_id, run.chunks)):
            return
        if any(b.state is BillState.DRAFT for b in self.billing.bills(run.bill_ids)):
            return  # one reissued meanwhile: published when the office publishes again
        now = self.clock.now()
        # A bill reissued into the run since it was read: published only when the office publishes it.
        self.billing.change_run(
            run_id, lambda r: r if r.published_at or r.bill_ids != run.bill_ids else replace(r, published_at=now)
        )

    def _publish_bills(self, community: Community, bill_ids: Sequence[str], actor: str) -> None:
        for attempt in range(MAX_ATTEMPTS):
            drafts = [b for b in self.billing.bills(bill_ids) if b.state is BillState.DRAFT]
            try:
                for unit_id, of_unit in groupby(sorted(drafts, key=lambda b: b.unit_id), key=lambda b: b.unit_id):
                    self._publish_unit(community, unit_id, list(of_unit), actor)
            except (BillChanged, BalanceTooLow):
                wait_before_retry(attempt)
                continue
            return
        raise Conflict("kept_changing")

    def _hand_out(self, kind: str, run_id: str, chunks: Sequence[RunChunk], actor: str) -> None:
        if not chunks:
            return
        if self.queue is None:  # no work queue (zappa, the in-memory tests): each chunk here, in turn
            for c in chunks:
                (self.draft_chunk(run_id, c.number) if kind == DRAFT_CHUNK
                 else self.publish_chunk(run_id, c.number, actor))  # fmt: skip
            return
        self.queue.send([chunk_message(kind, run_id, c.number, actor) for c in chunks])

    def _items(self, community: Community, fee_item_ids: Sequence[str]) -> list[FeeItem]:
        items = []
        for item_id in dict.fromkeys(fee_item_ids):
            found = self.billing.fee_item(checked_id("fee_item_id", item_id))
            if found is None or found[0].community_id != community.id:
                raise BillNotFound("fee_item", item_id)
            items.append(found[0])
        if not items:
            raise InvalidInput("run_items")
        return items

    def _run(self, run_id: str) -> BillRun:
        run = self.billing.run(run_id)
        if run is None:
            raise BillNotFound("bill_run", run_id)
        return run

    def _chunk(self, run_id: str, number: int) -> tuple[BillRun, RunChunk]:
        run = self._run(run_id)
        chunk = next((c for c in self.billing.run_chunks(run_id, run.chunks) if c.number == number), None)
        if chunk is None:
            raise BillNotFound("bill_run", f"{run_id}#{number}")
        return run, chunk

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
            new = reissued.id
            self.billing.change_run(bill.run_id, lambda r: replace(r, bill_ids=(*r.bill_ids, new), published_at=None,
                                                                   publishing_at=None))  # fmt: skip
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
