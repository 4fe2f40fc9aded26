"""Fan-out: every entitlement event goes to its lot's gates, signed, at least once, in version order.

An event stays marked unpublished until the broker has acknowledged it, so a
failed publish is retried by the next run and nothing is lost; gates drop
duplicates by version.
"""

from __future__ import annotations

import json
import logging

from domain.gate import Grant
from handlers.ports import EntitlementFeed, Publisher, PublishFailed, Signer

log = logging.getLogger("parkpass.fanout")


def publish_pending(feed: EntitlementFeed, publisher: Publisher, signer: Signer, now: str, limit: int = 200) -> int:
    """Publish what is waiting; stop at the first failure so order is kept. Answers how many went out."""
    sent = 0
    for event in feed.unpublished(limit):
        try:
            publisher.publish(topic_for(event.lot_id), message(event, signer))
        except PublishFailed as e:
            log.warning("publish of %s v%d failed, will retry: %s", event.lot_id, event.version, e)
            break
        feed.mark_published(event, now)
        sent += 1
    return sent


def topic_for(lot_id: str) -> str:
    return f"parkpass/lots/{lot_id}/entitlements"


def message(event: Grant, signer: Signer) -> bytes:
    return json.dumps(signer.sign(event.fields()), ensure_ascii=False, separators=(",", ":")).encode()
