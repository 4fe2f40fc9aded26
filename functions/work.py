"""Lambda entry for the work consumer (SQS event source, ReportBatchItemFailures): does each due item the scheduled
functions found, and names the messages to deliver again (another consumer holds the item, WeChat asked us to slow
down, or this invocation is running out of time). Locally `infra.work_queue.LocalConsumers` calls `consume`."""

from __future__ import annotations

import json
import logging
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from domain.lot import Lot
    from functions import observability
    from functions.bootstrap import Services, services_from_env
    from functions.reminders import counted
    from handlers.bill_runs import DRAFT_CHUNK, PUBLISH_CHUNK
    from handlers.reminders import Outcome
    from handlers.scheduled_work import WorkReport, key_of

log = logging.getLogger("parkpass.work")

TIME_TO_SPARE_MS = 10_000
"""Leave an item untouched when less than this is left of the invocation: a consumer killed by its timeout between
WeChat's answer and the finish write would send that reminder again."""
CHUNK_TIME_MS = 45_000
"""A bill run's chunk (200 units) takes up to about 20 s to publish: one an invocation, started with at least this
left; the batch's other chunks go back on the queue as new messages (failed, each would count a receive towards the
dead-letter queue and wait out the visibility timeout)."""
CHUNKS = (DRAFT_CHUNK, PUBLISH_CHUNK)


class Later(RuntimeError):
    """This message comes back after the queue's visibility timeout (the back-off)."""


def consume(
    s: Services, event: dict[str, Any], context: Any = None, report: WorkReport | None = None
) -> dict[str, Any]:
    work = s.scheduled_work
    lots: dict[str, Lot] = {}  # a batch's reminders share their lots: each is read once
    slowed, chunk_taken = False, False
    done = report if report is not None else WorkReport()

    def do(record: SQSRecord) -> None:
        nonlocal slowed, chunk_taken
        message = json.loads(record.body)
        if message.get("kind") in CHUNKS:  # writes only: WeChat's slowing down is not for them
            if chunk_taken or (context is not None and context.get_remaining_time_in_millis() < CHUNK_TIME_MS):
                if s.work_queue is None:
                    raise Later("no time for another chunk")
                s.work_queue.send([message])
                done.requeued()
                return
            chunk_taken = True
        elif slowed:
            raise Later("WeChat asked us to slow down")
        elif context is not None and context.get_remaining_time_in_millis() < TIME_TO_SPARE_MS:
            raise Later("out of time")
        try:
            outcome = work.do(message, s.clock.now(), lots)
        except Exception:
            log.exception("work item %s failed; its message comes again", record.message_id)
            raise
        done.count(key_of(message), outcome)
        if not outcome.settled:
            slowed = slowed or outcome is Outcome.SLOWED
            raise Later(outcome.value)

    # A batch failed whole is answered like a partial one: every message named, none retried by Lambda as a whole.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=do, processor=processor, context=context))


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    s = services_from_env()
    report = WorkReport()
    answer = consume(s, event, context, report)
    counted(report, s.metrics)
    counts = {"sent": len(report.sent), "skipped": len(report.skipped), "failed": len(report.failed),
              "worked": len(report.worked), "later": report.retried, "duplicates": report.duplicates}  # fmt: skip
    log.info("work: %s", counts, extra=counts)
    return answer
