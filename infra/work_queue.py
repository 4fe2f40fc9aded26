"""The work queue on SQS: scheduled functions put due work on it; on AWS Lambda's event source mapping hands it to
the consumer function in batches, locally `LocalConsumers` does (the same handler, the same partial batch answer)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("parkpass.work")

SEND_BATCH = 10
"""SQS takes at most 10 messages per SendMessageBatch."""
SENDERS = 8


class EnqueueFailed(RuntimeError):
    pass


class SqsWorkQueue:
    def __init__(self, url: str, client: Any, senders: int = SENDERS) -> None:
        self._url, self._sqs, self._senders = url, client, senders

    def send(self, messages: list[dict[str, Any]]) -> None:
        batches = [messages[start : start + SEND_BATCH] for start in range(0, len(messages), SEND_BATCH)]
        if len(batches) <= 1:
            for batch in batches:
                self._send_batch(batch)
            return
        # The morning's 150,000 in one tick is 15,000 batches: sent one after the other they would take most of
        # the tick's 5 minutes.
        with ThreadPoolExecutor(min(self._senders, len(batches)), thread_name_prefix="enqueue") as pool:
            for sent in [pool.submit(self._send_batch, batch) for batch in batches]:
                sent.result()

    def _send_batch(self, batch: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(n), "MessageBody": json.dumps(m, separators=(",", ":"))} for n, m in enumerate(batch)]
        for _ in range(3):  # SQS names the entries it did not take; send those again
            failed = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
            if not failed:
                return
            again = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in again]
        raise EnqueueFailed(f"{len(entries)} messages not taken by the work queue")


def sqs_client(region: str, endpoint: str | None) -> Any:
    import boto3

    from infra.dynamodb.emulator import LOCAL_CREDENTIALS

    key_id, key = LOCAL_CREDENTIALS if endpoint else (None, None)  # an emulator takes any keys
    return boto3.client(
        "sqs", region_name=region, endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=key
    )


def create_local_queues(client: Any, name: str, visibility_s: int, max_receives: int) -> str:
    """The work queue and its dead-letter queue, as serverless.yml declares them; answers the work queue's URL."""
    dead = client.create_queue(QueueName=f"{name}-dead")["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(max_receives)})
    attributes = {"VisibilityTimeout": str(visibility_s), "RedrivePolicy": redrive}
    return str(client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


class ConsumerKilled(BaseException):
    """Stands in for a consumer dying mid-batch (a crash, a timeout): nothing it did is answered, as on Lambda."""


DRAIN_POLL_S = 0.05
POLLS_AT_MOST_OVER = 20_000
"""`drain` asks the queue how much is left every 50 ms, less often the more is left (each ask counts every message
in the emulator): about every second at 20,000."""
BatchHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class LocalConsumers:
    """Lambda's SQS event source mapping, in-process: up to `size` consumers at once, each receiving a batch,
    handing it to the consumer function as an SQS event, and deleting the messages it did not name as failed.
    A batch whose consumer died is deleted by nobody: its messages come again after the visibility timeout."""

    sqs: Any
    url: str
    handler: BatchHandler
    size: int = 4
    batch: int = 10
    idle_s: float = 0.05
    killed: int = 0
    batches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def drain(self, settle_s: float = 0.0, timeout_s: float = 600.0) -> None:
        """Consume until the queue holds nothing, visible or in flight (a message given back for later is waited
        for); `settle_s`: how long it must stay empty, for work that comes back after a visibility timeout."""
        stop = threading.Event()
        workers = [
            threading.Thread(target=self._consume, args=(stop,), name=f"work-{n + 1}", daemon=True)
            for n in range(self.size)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + timeout_s
        empty_since: float | None = None
        try:
            while time.monotonic() < deadline:
                left = self._left()
                if left == 0:
                    empty_since = empty_since or time.monotonic()
                    if time.monotonic() - empty_since >= settle_s:
                        return
                else:
                    empty_since = None
                time.sleep(min(DRAIN_POLL_S + left / POLLS_AT_MOST_OVER, 1.0))
            raise TimeoutError(f"the work queue did not drain in {timeout_s:.0f} s")
        finally:
            stop.set()
            for worker in workers:
                worker.join(30)

    def _left(self) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        return sum(int(found[n]) for n in names)

    def _consume(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._one_batch(stop)
            except Exception:  # the emulator refused a receive or a delete: as the event source, try again
                log.exception("the local event source failed a receive or delete")
                stop.wait(self.idle_s)

    def _one_batch(self, stop: threading.Event) -> None:
        got = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=self.batch,
            WaitTimeSeconds=0,
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        ).get("Messages", [])
        if not got:
            stop.wait(self.idle_s)
            return
        try:
            answer = self.handler(sqs_event(got))
        except ConsumerKilled:
            with self._lock:
                self.killed += 1
            return  # the next receive is a new instance, as Lambda starts one
        except Exception:
            log.exception("a work batch failed whole; its messages come again")
            return
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
        with self._lock:
            self.batches += 1


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The SQS event Lambda hands a consumer."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:local:000000000000:work",
                "awsRegion": "local",
            }
            for m in messages
        ]
    }
