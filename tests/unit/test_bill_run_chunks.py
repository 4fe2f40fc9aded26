"""A bill run in chunks, in memory: a community of more units than a chunk is drafted and published chunk by chunk
(by the work consumers on AWS; here by the test, in any order, twice, at once). Each bill is one per (fee item, unit,
period), the shared meter is split over every unit as in a whole run, and the run's totals count once."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from domain.bill_run import BillState, ChunkState, RunState, UnitState, run_state
from domain.errors import RunStillDrafting
from functions.bootstrap import Services
from handlers import bill_runs
from handlers.bill_runs import DRAFT_CHUNK, PUBLISH_CHUNK
from tests.fakes import fake_services, memory_of
from tests.unit.test_property_bills import BOSS, NOW, community


class Queue:
    """The work queue as the consumers see it: what was sent, to be done by the test."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, messages: list[dict[str, Any]]) -> None:
        self.sent += messages


def billed() -> Services:
    s = fake_services(NOW)
    community(s)
    return s


def at_once(*calls: Any) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_run_in_chunks_drafts_exactly_what_a_whole_run_drafts() -> None:
    whole = billed()
    in_chunks = replace(billed(), run_chunk_units=1)  # 3 units: 3 chunks, drafted in turn (no queue)
    run, made = whole.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    chunked, _ = in_chunks.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])

    assert run.chunks == 0 and chunked.chunks == 3
    drafted = in_chunks.billing.bills_of_community("c1", "2027-01")
    # u3 has no meter of its own: its bill is its share of the master meter, split over all three units.
    assert {(b.id, b.amount_fen) for b in drafted} == {(b.id, b.amount_fen) for b in made}
    assert {b.run_id for b in drafted} == {chunked.id}
    assert chunked.total_fen == run.total_fen and chunked.drafted_bills == len(made) == 6
    assert run_state(chunked) is RunState.DRAFTED
    parts = in_chunks.billing.run_chunks(chunked.id, 3)
    assert [(c.first_unit, c.state) for c in parts] == [(f"1栋 10{n}", ChunkState.DRAFTED) for n in (1, 2, 3)]
    assert sum(c.total_fen for c in parts) == run.total_fen


def test_each_chunk_drafted_twice_and_at_once_drafts_each_bill_once_and_counts_the_total_once() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=2, work_queue=queue)
    run, made = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    assert made == [] and run_state(run) is RunState.DRAFTING and run.chunks == 2
    assert [(m["kind"], m["chunk"]) for m in queue.sent] == [(DRAFT_CHUNK, 0), (DRAFT_CHUNK, 1)]
    assert s.billing.bills_of_community("c1") == []  # nothing drafted before a consumer takes a chunk

    runs = s.bill_runs
    assert sorted(at_once(*(lambda: runs.draft_chunk(run.id, 1),) * 3)) == [False, False, True]
    half = s.billing.run(run.id)
    assert half is not None and run_state(half) is RunState.DRAFTING and half.total_fen == 0
    assert runs.draft_chunk(run.id, 0) and not runs.draft_chunk(run.id, 0)

    bills = s.billing.bills_of_community("c1", "2027-01")
    assert len(bills) == len({(b.fee_item_id, b.unit_id) for b in bills}) == 6
    done = s.billing.run(run.id)
    assert done is not None and run_state(done) is RunState.DRAFTED
    assert done.total_fen == sum(b.amount_fen for b in bills) and done.drafted_bills == 6


def test_a_run_still_drafting_is_not_published_and_the_office_is_told_how_far_it_got() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=1, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.draft_chunk(run.id, 2)
    with pytest.raises(RunStillDrafting) as refused:
        s.bill_runs.publish(BOSS, run.id)
    assert refused.value.text("zh") == "账单还在生成中（已完成 1/3 部分），全部生成后才能发布"
    assert "1 of 3 parts done" in refused.value.text("en")
    assert all(b.state is BillState.DRAFT for b in s.billing.bills_of_community("c1"))


def test_publishing_in_chunks_publishes_each_bill_once_and_the_run_with_its_last_chunk() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=2, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    for n in (0, 1):
        s.bill_runs.draft_chunk(run.id, n)
    queue.sent.clear()

    asked, shown = s.bill_runs.publish(BOSS, run.id)
    assert run_state(asked) is RunState.PUBLISHING and shown == []
    assert [(m["kind"], m["chunk"], m["actor"]) for m in queue.sent] == [
        (PUBLISH_CHUNK, 0, "admin:boss@t1.cn"), (PUBLISH_CHUNK, 1, "admin:boss@t1.cn")]  # fmt: skip
    s.bill_runs.publish(BOSS, run.id)  # pressed again: the same chunks asked for again, harmless
    runs = s.bill_runs
    assert sorted(at_once(*(lambda: runs.publish_chunk(run.id, 0, "admin:boss@t1.cn"),) * 3)) == [False, False, True]
    middle = s.billing.run(run.id)
    assert middle is not None and middle.published_at is None
    assert runs.publish_chunk(run.id, 1, "admin:boss@t1.cn") and not runs.publish_chunk(run.id, 1, "x")

    bills = s.billing.bills_of_community("c1", "2027-01")
    assert {b.state for b in bills} == {BillState.UNPAID} and len(bills) == 6
    done = s.billing.run(run.id)
    assert done is not None and run_state(done) is RunState.PUBLISHED
    # Each bill published once, by whoever asked: one audit entry each.
    published = [e for e in memory_of(s).audit.values() if e.action == "publish"]
    assert len(published) == 6 and {e.actor for e in published} == {"admin:boss@t1.cn"}


def test_a_bill_reissued_into_a_run_in_chunks_is_published_with_it() -> None:
    s = replace(billed(), run_chunk_units=2)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    first = next(b for b in s.billing.bills_of_community("c1") if b.unit_id == "u2")
    _, reissued = s.bill_runs.cancel(BOSS, first.id, "面积有误", [replace(first.lines[0], amount_fen=20_000)])
    assert reissued is not None
    again = s.billing.run(run.id)
    assert again is not None and again.bill_ids == (reissued.id,) and run_state(again) is RunState.DRAFTED

    published, shown = s.bill_runs.publish(BOSS, run.id)
    assert run_state(published) is RunState.PUBLISHED and [b.id for b in shown] == [reissued.id]
    states = {b.id: b.state for b in s.billing.bills_of_community("c1")}
    assert states[reissued.id] is BillState.UNPAID and states[first.id] is BillState.CANCELLED
    assert sum(v is BillState.UNPAID for v in states.values()) == 3


class DiesAfter:
    """A consumer killed after its first `n` commits (the unit of work's own)."""

    def __init__(self, uow: Any, n: int) -> None:
        self.uow, self.left = uow, n

    def commit(self, plan: Any) -> None:
        if self.left == 0:
            raise TimeoutError("killed mid-chunk")
        self.left -= 1
        self.uow.commit(plan)


def test_a_chunk_whose_consumer_died_halfway_is_finished_by_the_next_without_a_second_bill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=2, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    monkeypatch.setattr(bill_runs, "BILLS_PER_COMMIT", 2)  # chunk 0: 4 bills in two transactions
    with pytest.raises(TimeoutError):
        replace(s, uow=DiesAfter(s.uow, 1)).bill_runs.draft_chunk(run.id, 0)
    assert len(s.billing.bills_of_community("c1")) == 2
    assert s.bill_runs.draft_chunk(run.id, 0) and s.bill_runs.draft_chunk(run.id, 1)

    bills = s.billing.bills_of_community("c1")
    done = s.billing.run(run.id)
    assert len(bills) == len({b.id for b in bills}) == 6 and done is not None and done.drafted_bills == 6
    assert done.total_fen == sum(b.amount_fen for b in bills)
    first, second = s.billing.run_chunks(run.id, 2)
    assert first.total_fen == sum(b.amount_fen for b in bills if b.unit_id in ("u1", "u2"))
    assert second.total_fen == sum(b.amount_fen for b in bills if b.unit_id == "u3")


class DiesOnce:
    """Billing whose first write of the run's header fails (its consumer died after writing its chunk)."""

    def __init__(self, billing: Any) -> None:
        self.billing, self.died = billing, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.billing, name)

    def change_run(self, run_id: str, change: Any) -> Any:
        if not self.died:
            self.died = True
            raise TimeoutError("killed between its chunk and the run")
        return self.billing.change_run(run_id, change)


def test_a_consumer_killed_after_its_chunk_but_before_the_run_leaves_the_run_to_the_message_s_next_delivery() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=2, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.draft_chunk(run.id, 0)
    with pytest.raises(TimeoutError):
        replace(s, billing=DiesOnce(s.billing)).bill_runs.draft_chunk(run.id, 1)  # the last chunk, drafted
    stuck = s.billing.run(run.id)
    assert stuck is not None and run_state(stuck) is RunState.DRAFTING
    assert not s.bill_runs.draft_chunk(run.id, 1)  # SQS delivers it again: nothing drafted twice, the run totalled
    totalled = s.billing.run(run.id)
    assert totalled is not None and run_state(totalled) is RunState.DRAFTED and totalled.drafted_bills == 3

    s.bill_runs.publish(BOSS, run.id)
    s.bill_runs.publish_chunk(run.id, 0, "admin:boss@t1.cn")
    with pytest.raises(TimeoutError):
        replace(s, billing=DiesOnce(s.billing)).bill_runs.publish_chunk(run.id, 1, "admin:boss@t1.cn")
    assert not s.bill_runs.publish_chunk(run.id, 1, "admin:boss@t1.cn")
    published = s.billing.run(run.id)
    assert published is not None and run_state(published) is RunState.PUBLISHED


def test_a_run_whose_messages_were_lost_is_resumed_by_the_office_and_done_once() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=1, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    s.bill_runs.draft_chunk(run.id, 0)
    queue.sent.clear()  # the other two chunks' messages went to the dead-letter queue

    s.bill_runs.resume(BOSS, run.id)
    assert [(m["kind"], m["chunk"]) for m in queue.sent] == [(DRAFT_CHUNK, 1), (DRAFT_CHUNK, 2)]
    for m in queue.sent:
        s.bill_runs.draft_chunk(run.id, m["chunk"])
    queue.sent.clear()
    s.bill_runs.publish(BOSS, run.id)
    s.bill_runs.publish_chunk(run.id, 2, "admin:boss@t1.cn")
    queue.sent.clear()
    s.bill_runs.resume(BOSS, run.id)
    assert [(m["kind"], m["chunk"]) for m in queue.sent] == [(PUBLISH_CHUNK, 0), (PUBLISH_CHUNK, 1)]
    for m in queue.sent:
        s.bill_runs.publish_chunk(run.id, m["chunk"], m["actor"])
    done = s.billing.run(run.id)
    assert done is not None and run_state(done) is RunState.PUBLISHED
    assert {b.state for b in s.billing.bills_of_community("c1")} == {BillState.UNPAID}


def test_a_whole_run_whose_request_died_midway_is_still_the_office_s_to_publish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = billed()
    monkeypatch.setattr(bill_runs, "BILLS_PER_COMMIT", 2)
    with pytest.raises(TimeoutError):
        replace(s, uow=DiesAfter(s.uow, 1)).bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    [run] = s.billing.runs("c1")
    assert run_state(run) is RunState.DRAFTED
    s.bill_runs.publish(BOSS, run.id)
    assert [b.state for b in s.billing.bills_of_community("c1")] == [BillState.UNPAID] * 2


def test_a_community_of_more_units_than_a_chunk_but_few_to_bill_is_billed_whole() -> None:
    s = replace(billed(), run_chunk_units=1, work_queue=Queue())
    for unit in ("u2", "u3"):  # handed over to nobody yet: no bills
        held = s.billing.unit(unit)
        assert held is not None
        s.billing.records[f"unit#{unit}"] = replace(held, state=UnitState.UNDELIVERED)  # type: ignore[attr-defined]
    run, made = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    assert run.chunks == 0 and run_state(run) is RunState.DRAFTED and [b.unit_id for b in made] == ["u1"]


class ReissuedMeanwhile:
    """Billing where a bill is reissued into the run just before the run is marked published."""

    def __init__(self, billing: Any) -> None:
        self.billing = billing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.billing, name)

    def change_run(self, run_id: str, change: Any) -> Any:
        self.billing.change_run(run_id, lambda r: replace(r, bill_ids=(*r.bill_ids, "reissued"), published_at=None))
        return self.billing.change_run(run_id, change)


def test_a_bill_reissued_while_the_last_chunk_is_published_keeps_the_run_to_publish_again() -> None:
    queue = Queue()
    s = replace(billed(), run_chunk_units=2, work_queue=queue)
    run, _ = s.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    for n in (0, 1):
        s.bill_runs.draft_chunk(run.id, n)
    s.bill_runs.publish(BOSS, run.id)
    s.bill_runs.publish_chunk(run.id, 0, "admin:boss@t1.cn")
    replace(s, billing=ReissuedMeanwhile(s.billing)).bill_runs.publish_chunk(run.id, 1, "admin:boss@t1.cn")
    after = s.billing.run(run.id)
    assert after is not None and after.published_at is None and after.bill_ids == ("reissued",)
