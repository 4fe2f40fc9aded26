"""The lots' gate feeds in DynamoDB: what is still to publish, and what came after a version."""

from __future__ import annotations

from datetime import date

from domain.gate import Grant
from infra.dynamodb.orders import UNPUBLISHED
from infra.dynamodb.tables import EntitlementItem


class DynamoEntitlementFeed:
    def unpublished(self, limit: int) -> list[Grant]:
        return [_event(i) for i in EntitlementItem.unpublished.query(UNPUBLISHED, limit=limit)]

    def mark_published(self, event: Grant, at: str) -> None:
        EntitlementItem(lot_id=event.lot_id, version=event.version).update(
            actions=[EntitlementItem.pending.remove(), EntitlementItem.published_at.set(at)],
            condition=EntitlementItem.version.exists(),
        )

    def since(self, lot_id: str, version: int, limit: int) -> list[Grant]:
        query = EntitlementItem.query(lot_id, EntitlementItem.version > version, limit=limit, consistent_read=True)
        return [_event(i) for i in query]


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
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
