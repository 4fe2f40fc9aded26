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
from datetime import UTC, datetime
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from domain.gate import Grant
    from functions import observability
    from functions.publishing import metrics_from_env, publisher_from_env, signer_from_env, stream_record
    from handlers.fan_out import fan_out_records
    from handlers.ports import Metrics, Publisher, Signer

log = logging.getLogger("parkpass.fanout")


class PublishIncomplete(RuntimeError):
    """Raised for a mapping that cannot take a partial batch response: the whole batch comes again."""


@observability.invocation
def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    answer = fan_out(event.get("Records", []), publisher_from_env(), signer_from_env(), metrics_from_env())
    if answer["batchItemFailures"] and os.environ.get("PARKPASS_FANOUT_PARTIAL_BATCH") != "1":
        # Without ReportBatchItemFailures on the mapping (zappa's, say) the answer would be ignored and the
        # failed lots' records lost: failing the invocation makes Lambda deliver the batch again.
        raise PublishIncomplete(f"{len(answer['batchItemFailures'])} lot(s) not published")
    return answer


def fan_out(
    records: Iterable[dict[str, Any]],
    publisher: Publisher,
    signer: Signer,
    metrics: Metrics | None = None,
    now: datetime | None = None,
) -> dict[str, list[dict[str, str]]]:
    read = [stream_record(r) for r in records]
    again = fan_out_records(read, publisher, signer)
    if again:
        log.warning("fan-out: %d lot(s) not published, their records come again", len(again))
    failed_lots = {r.grant.lot_id for r in read if r.grant is not None and r.sequence in again}
    published = [r.grant for r in read if r.grant is not None and r.grant.lot_id not in failed_lots]
    _tell(published, metrics, now or datetime.now(UTC))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in again]}


def _tell(published: list[Grant], metrics: Metrics | None, now: datetime) -> None:
    """One line per lot published (its versions and the orders behind them: the thread from a payment to the
    gates) and the counts: events published, and how long after its commit the oldest went out."""
    by_lot: dict[str, list[Grant]] = {}
    for grant in published:
        by_lot.setdefault(grant.lot_id, []).append(grant)
    for lot_id, grants in by_lot.items():
        orders = sorted({g.order_id for g in grants if g.order_id})
        log.info(
            "published %d event(s) to lot %s", len(grants), lot_id,
            extra={"lot_id": lot_id, "versions": [g.version for g in grants], "order_ids": orders,
                   "order_id": orders[0] if len(orders) == 1 else None},
        )  # fmt: skip
    if metrics is None or not published:
        return
    metrics.count("FanoutPublished", len(published))
    committed = [t for t in (_instant(g.issued_at) for g in published) if t is not None]
    if committed:
        metrics.count("FanoutLag", max(0.0, (now - min(committed)).total_seconds() * 1000), unit="Milliseconds")


def _instant(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None
