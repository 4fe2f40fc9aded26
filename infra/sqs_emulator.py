"""moto's SQS for the embedded stack, made to scale with the queue.

moto 5.2 checks each message it hands out against the queue's retention period by computing all the queue's
attributes, two of which count every message: receiving a batch from a queue of 20,000 cost seconds, and draining
it hours. This reads the one attribute the check needs. And whether a message is visible or delayed, asked of every
message on every receive, is answered from the time in milliseconds rather than through datetime conversions (a
third of a drain's time). Only the local stack and the tests use it.
"""

from __future__ import annotations

import time

from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend


def _within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
    queue = self.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]


def _visible(self: Message) -> bool:
    return time.time() * 1000 > self.visible_at


def _delayed(self: Message) -> bool:
    return time.time() * 1000 < self.delayed_until


def install() -> None:
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
    Message.visible = property(_visible)  # type: ignore[method-assign,assignment]
    Message.delayed = property(_delayed)  # type: ignore[method-assign,assignment]
