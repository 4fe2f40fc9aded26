"""Lambda entry for fan-out: batches of the entitlements table's stream records (NEW_IMAGE).

Publishes straight from the records, one message per lot, and answers Lambda's
partial batch response: the records to deliver again start at the first record
of a lot whose publish failed (serverless.yml: ReportBatchItemFailures,
bisect on error, an on-failure queue). The local stack feeds it the same way
(infra/dynamodb/stream_source.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from functions.publishing import publisher_from_env, signer_from_env, stream_record
    from handlers.fan_out import fan_out_records
    from handlers.ports import Publisher, Signer

log = logging.getLogger("parkpass.fanout")


class PublishIncomplete(RuntimeError):
    """Raised for a mapping that cannot take a partial batch response: the whole batch comes again."""


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    answer = fan_out(event.get("Records", []), publisher_from_env(), signer_from_env())
    if answer["batchItemFailures"] and os.environ.get("PARKPASS_FANOUT_PARTIAL_BATCH") != "1":
        # Without ReportBatchItemFailures on the mapping (zappa's, say) the answer would be ignored and the
        # failed lots' records lost: failing the invocation makes Lambda deliver the batch again.
        raise PublishIncomplete(f"{len(answer['batchItemFailures'])} lot(s) not published")
    return answer


def fan_out(records: Iterable[dict[str, Any]], publisher: Publisher, signer: Signer) -> dict[str, list[dict[str, str]]]:
    again = fan_out_records([stream_record(r) for r in records], publisher, signer)
    if again:
        log.warning("fan-out: %d lot(s) not published, their records come again", len(again))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in again]}
