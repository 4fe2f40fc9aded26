"""The scheduled work fanned out, as on AWS: the reminder tick finds what is due and puts it on the work queue
(moto's SQS, over HTTP); a pool of consumers (Lambda's event source mapping, in-process) hands batches to the work
consumer function, which answers the messages to deliver again. Consumers die at random points; every reminder
still reaches WeChat's simulator exactly once."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from domain.reminder import Slot, buckets_of_hour
from functions import reminders, work
from handlers.scheduled_work import WorkReport, slot_of
from infra.work_queue import ConsumerKilled, LocalConsumers, SqsWorkQueue, create_local_queues, sqs_event
from tests.e2e.conftest import start_stack
from tests.scale import DyingStore, seed_due_reminders

AT = datetime.fromisoformat("2026-11-23T10:30:00+08:00")


def test_2000_due_reminders_are_each_sent_once_though_consumers_die_at_random(moto_server: str) -> None:
    stack = start_stack(moto_server, clock=AT, fan_out=False)
    expected = seed_due_reminders(2000, AT)
    rng = random.Random(23)
    # A queue as the deployed one, with times short enough for a test: a message comes back 8 s after its consumer
    # died, when the 4 s lease on what it held has run out (on AWS: 6 minutes and 5).
    url = create_local_queues(stack.sqs, "dying-work", visibility_s=8, max_receives=50)
    store = DyingStore(timedelta(seconds=4), rng, p=0.01)
    s = replace(stack.services, reminders=store, work_queue=SqsWorkQueue(url, stack.sqs))

    assert reminders.run(s) == 2000  # the tick only finds them and puts them on the queue

    report, died_at_start = WorkReport(), Counter[str]()

    def consumer(event: dict[str, Any]) -> dict[str, Any]:
        if rng.random() < 0.03:
            died_at_start["before the batch"] += 1
            raise ConsumerKilled("before the batch")
        return work.consume(s, event, None, report)

    pool = LocalConsumers(stack.sqs, url, consumer, size=4)
    pool.drain(timeout_s=300)

    sent = Counter(m["touser"] for m in stack.wechat.messages)
    assert sent == Counter(dict.fromkeys(expected, 1)), {k: n for k, n in sent.items() if n != 1}
    # Each counted once by the consumers (but those whose consumer died right after finishing them).
    assert len(report.sent) == len(set(report.sent)) == 2000 - store.deaths["after finishing"]
    # Consumers did die, at each point, and their work came back to others.
    assert set(store.deaths) == {"between items", "holding a claim", "after finishing"}, store.deaths
    assert pool.killed == sum(store.deaths.values()) + died_at_start["before the batch"] and pool.killed >= 20
    assert report.duplicates > 0  # a batch finished but not answered came again, and was found done
    # Nothing is left: each reminder is marked sent, the queue and its dead-letter queue are empty.
    states: Counter[str] = Counter()
    for bucket in buckets_of_hour(AT - timedelta(minutes=10)):
        states.update(store.states(bucket))
    assert states == Counter({"sent": 2000})
    dead = stack.sqs.get_queue_url(QueueName="dying-work-dead")["QueueUrl"]
    left = stack.sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages"])
    assert left["Attributes"]["ApproximateNumberOfMessages"] == "0"


def _queue(stack: Any, name: str, visibility_s: int = 1) -> tuple[str, SqsWorkQueue]:
    url = create_local_queues(stack.sqs, name, visibility_s=visibility_s, max_receives=50)
    return url, SqsWorkQueue(url, stack.sqs)


def _event_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return sqs_event(messages)


def test_a_batch_answers_only_the_messages_to_deliver_again(moto_server: str) -> None:
    stack = start_stack(moto_server, clock=AT, fan_out=False)
    seed_due_reminders(3, AT, prefix="b")
    url, queue = _queue(stack, "partial")
    s = replace(stack.services, work_queue=queue)
    assert reminders.run(s) == 3
    queue.send([{"kind": "a-kind-from-a-later-version"}])
    got = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 4
    held = next(m for m in got if "card-b1" in m["Body"])
    slot = reminders_of(held["Body"])
    assert s.reminders.claim(slot, stack.clock.now())  # another consumer has this one now
    report = WorkReport()
    answer = work.consume(s, _event_of(got), None, report)

    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    unknown = next(m for m in got if "later-version" in m["Body"])
    assert failed == {held["MessageId"], unknown["MessageId"]}
    assert sorted(report.sent) == sorted(f"card-b{i}#{slot.cycle.isoformat()}#5" for i in (0, 2))
    assert Counter(m["touser"] for m in stack.wechat.messages) == Counter(dict.fromkeys(("openid-b0", "openid-b2"), 1))


def test_a_consumer_near_the_end_of_its_time_leaves_every_item_untouched(moto_server: str) -> None:
    stack = start_stack(moto_server, clock=AT, fan_out=False)
    seed_due_reminders(2, AT, prefix="t")
    url, queue = _queue(stack, "late")
    s = replace(stack.services, work_queue=queue)
    reminders.run(s)
    got = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    class NearTheEnd:
        def get_remaining_time_in_millis(self) -> int:
            return work.TIME_TO_SPARE_MS - 1

    answer = work.consume(s, _event_of(got), NearTheEnd())
    assert {f["itemIdentifier"] for f in answer["batchItemFailures"]} == {m["MessageId"] for m in got}
    assert stack.wechat.messages == []
    assert all(not s.reminders.held(reminders_of(m["Body"]), stack.clock.now()) for m in got)


def test_when_wechat_says_slow_down_the_rest_of_the_batch_comes_back_and_each_is_sent_once(moto_server: str) -> None:
    stack = start_stack(moto_server, clock=AT, fan_out=False)
    expected = seed_due_reminders(40, AT, prefix="f")
    stack.wechat.rate_limit = 8  # messages a second; more are answered 45011
    url, queue = _queue(stack, "slow")
    s = replace(stack.services, work_queue=queue)
    assert reminders.run(s) == 40
    report = WorkReport()
    pool = LocalConsumers(stack.sqs, url, lambda event: work.consume(s, event, None, report), size=4)
    pool.drain(timeout_s=120)

    assert stack.wechat.refused_too_fast > 0 and report.retried > 0
    # Each once, and a refused one kept its owner's consent for the try that went through.
    assert Counter(m["touser"] for m in stack.wechat.messages) == Counter(dict.fromkeys(expected, 1))
    assert len(report.sent) == 40


def reminders_of(body: str) -> Slot:
    return slot_of(json.loads(body))
