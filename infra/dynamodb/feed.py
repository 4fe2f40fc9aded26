"""The lots' gate feeds in DynamoDB: the item of an event, what came after a version, and the event a stream
record carries."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from domain.gate import CARD, Grant
from handlers.ports import StreamRecord
from infra.dynamodb.repositories import iso_day
from infra.dynamodb.tables import EntitlementItem

log = logging.getLogger("parkpass.fanout")


class DynamoEntitlementFeed:
    def since(self, lot_id: str, version: int, limit: int) -> list[Grant]:
        query = EntitlementItem.query(lot_id, EntitlementItem.version > version, limit=limit, consistent_read=True)
        return [_event(i) for i in query]


def entitlement_item(grant: Grant) -> EntitlementItem:
    return EntitlementItem(
        lot_id=grant.lot_id,
        version=grant.version,
        plate=grant.plate,
        card_id=grant.card_id,
        valid_from=iso_day(grant.valid_from),
        valid_until=iso_day(grant.valid_until),
        state=grant.state,
        issued_at=grant.issued_at,
        paused_from=iso_day(grant.paused_from),
        paused_until=iso_day(grant.paused_until),
        grace_until=iso_day(grant.grace_until),
        inside=grant.inside,
        epoch=grant.epoch or None,
        order_id=grant.order_id,
        kind=grant.kind if grant.kind != CARD else None,
        leave_by=grant.leave_by,
    )


def stream_record(record: dict[str, Any]) -> StreamRecord:
    """A record of the table's stream (as Lambda and GetRecords give it) with the event in its NewImage."""
    change = record.get("dynamodb", {})
    sequence = str(change.get("SequenceNumber", ""))
    if record.get("eventName") != "INSERT" or "NewImage" not in change:
        return StreamRecord(sequence, None)  # events are only ever inserted: nothing else is news
    try:
        return StreamRecord(sequence, _event(EntitlementItem.from_raw_data(change["NewImage"])))
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        # Delivering it again would not mend it: say so and go on (gates' sync still serves what the table holds).
        log.error("stream record %s is no entitlement event (%s); passed over", sequence, type(e).__name__)
        return StreamRecord(sequence, None)


def _event(item: EntitlementItem) -> Grant:
    return Grant(
        lot_id=item.lot_id,
        version=int(item.version),
        plate=item.plate,
        card_id=item.card_id,
        valid_from=_day(item.valid_from),
        valid_until=_day(item.valid_until),
        state=item.state,
        issued_at=item.issued_at,
        paused_from=_day(item.paused_from),
        paused_until=_day(item.paused_until),
        grace_until=_day(item.grace_until),
        inside=item.inside,
        epoch=item.epoch or "",
        order_id=item.order_id,
        kind=item.kind or CARD,
        leave_by=item.leave_by,
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
