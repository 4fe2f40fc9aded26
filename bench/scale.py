"""`make bench`, scale section: draining many due reminders through the work queue with 1, 4 and 16 consumers.

Each run seeds its own `n` due reminders (tests/scale.py), lets the reminder tick find them and put them on the
local work queue (moto's SQS), and times the consumers (Lambda's event source mapping, in-process) until the queue
is empty, with the WeChat simulator answering each message after `latency_ms`. Counted: DynamoDB requests per
reminder (the request counter), messages WeChat received per reminder (exactly one each, or the run fails), and, in
the run with `dying` set, consumers killed mid-batch. A run that does not drain within `cap_s` is reported with
its measured rate and the time it would take at that rate, marked as projected.

`python -m bench.scale [n] [consumers...]`, e.g. `python -m bench.scale 2000 16 4`.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from functions import reminders, work
from functions.dev_stack import DevStack, DevStackOptions
from handlers.scheduled_work import WorkReport
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.work_queue import ConsumerKilled, LocalConsumers, SqsWorkQueue, create_local_queues
from tests.scale import DyingStore, seed_due_reminders

AT = datetime.fromisoformat("2026-11-23T10:30:00+08:00")
LINES: list[str] = []
"""The scale section of bench/results.md."""


@dataclass
class Drained:
    consumers: int
    n: int
    seconds: float
    projected: bool
    requests_per_reminder: float
    killed: int
    sent_twice: int
    lost: int

    @property
    def rate(self) -> float:
        return self.n / self.seconds


def drain_run(stack: DevStack, n: int, consumers: int, run: int, dying: bool, cap_s: float) -> Drained:
    expected = seed_due_reminders(n, AT, prefix=f"r{run}-")
    url = create_local_queues(stack.sqs, f"bench-work-{run}", visibility_s=8, max_receives=50)
    rng = random.Random(run)
    store = DyingStore(timedelta(seconds=4), rng, p=0.002 if dying else 0.0)
    s = replace(stack.services, reminders=store, work_queue=SqsWorkQueue(url, stack.sqs))
    assert reminders.run(s) >= n  # and what a capped run before left on its queue
    report = WorkReport()

    def consumer(event: dict[str, Any]) -> dict[str, Any]:
        if dying and rng.random() < 0.01:
            raise ConsumerKilled("before the batch")
        return work.consume(s, event, None, report)

    pool = LocalConsumers(stack.sqs, url, consumer, size=consumers)
    sent_before = len(stack.wechat.messages)
    projected = False
    with DynamoRequestCounter() as counter:
        started = time.perf_counter()
        try:
            pool.drain(timeout_s=cap_s)
        except TimeoutError:
            projected = True
        took = time.perf_counter() - started
    received = Counter(m["touser"] for m in stack.wechat.messages[sent_before:])
    done = sum(1 for openid in expected if received[openid])
    twice = sum(1 for openid in expected if received[openid] > 1)
    if projected:
        took = took * n / max(done, 1)
        lost = 0  # not drained: what is left is still on the queue
    else:
        lost = n - done
    return Drained(consumers, n, took, projected, counter.total / max(done, 1), pool.killed, twice, lost)


def bench_scale(n: int = 20_000, consumers: tuple[int, ...] = (16, 4, 1), latency_ms: int = 100,
                cap_s: float = 1200.0) -> None:  # fmt: skip
    options = DevStackOptions(port=0, clock=AT, sweep_every_s=None, fan_out=False, wechat_latency_ms=latency_ms)
    stack = DevStack(options).start()
    runs: list[Drained] = []
    try:
        for run, size in enumerate(consumers):
            result = drain_run(stack, n, size, run, dying=run == 0, cap_s=cap_s)
            runs.append(result)
            print(
                f"{n} reminders, {size} consumers: {'projected ' if result.projected else ''}{result.seconds:.0f} s "
                f"({result.rate:.1f}/s), {result.requests_per_reminder:.2f} DynamoDB requests a reminder, "
                f"{result.killed} consumers killed, {result.sent_twice} sent twice, {result.lost} lost"
            )
    finally:
        stack.stop()
    slowest = max(runs, key=lambda r: r.seconds)
    LINES.extend([
        "",
        f"## Scale: {n:,} due reminders through the work queue, WeChat simulated at {latency_ms} ms a message",
        "",
        "| consumers | drain time s | reminders/s | speed-up vs slowest | DynamoDB requests a reminder | consumers "
        "killed mid-batch | sent twice | lost |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {r.consumers} | {r.seconds:.0f}{' (projected)' if r.projected else ''} | {r.rate:.1f} | "
            f"{slowest.seconds / r.seconds:.1f}x | {r.requests_per_reminder:.2f} | {r.killed} | {r.sent_twice} | "
            f"{r.lost} |"
            for r in runs
        ),
        "",
        f"Projected: the run did not drain within {cap_s:.0f} s; its time is the measured rate applied to all {n:,}.",
        "The embedded emulator (moto: DynamoDB and SQS in one Python process, one request at a time) bounds the "
        "consumers' rate on this machine; WeChat's latency bounds it below that (docs/scale.md).",
    ])  # fmt: skip


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    sizes = tuple(int(a) for a in sys.argv[2:]) or (16, 4, 1)
    bench_scale(count, sizes)
    print("\n".join(LINES))
