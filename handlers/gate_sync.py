"""Delta sync for a gate that was offline: the feed after its version, or a snapshot when it is far behind."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.errors import InvalidInput, LotNotFound, Unauthenticated
from domain.gate import Grant
from domain.ids import checked_id
from handlers.fan_out import EntitlementFeed
from handlers.ports import CardRepository, LotRepository

REPLAY_WINDOW_S = 300
SNAPSHOT_WHEN_BEHIND = 1000
"""A gate further behind than this gets the whole current state instead of every change."""
MAX_PAGE = 500


@dataclass(frozen=True)
class Gate:
    id: str
    lot_id: str
    secret: str


class GateRepository(Protocol):
    def get(self, gate_id: str) -> Gate | None: ...

    def add(self, gate: Gate) -> bool: ...


@dataclass(frozen=True)
class SyncPage:
    lot_id: str
    version: int
    """The lot's feed version when this page was made."""
    snapshot: bool
    """True: `events` is the whole state at `version`; replace the whitelist with it."""
    events: list[Grant]
    more: bool


def gate_signature(secret: str, method: str, path: str, timestamp: str) -> str:
    """What a gate sends as X-Gate-Signature: HMAC-SHA256 over method, path (with query) and timestamp."""
    message = f"{method.upper()}\n{path}\n{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authenticated_gate(
    gate_id: str, timestamp: str, signature: str, method: str, path: str, gates: GateRepository, now: datetime
) -> Gate:
    refused = Unauthenticated("gate authentication failed: X-Gate-Id, X-Gate-Timestamp, X-Gate-Signature")
    try:
        gate = gates.get(checked_id("gate_id", gate_id))
        age = abs(now.timestamp() - int(timestamp))
    except (InvalidInput, ValueError):
        raise refused from None
    if gate is None or age > REPLAY_WINDOW_S:
        raise refused
    if not hmac.compare_digest(gate_signature(gate.secret, method, path, timestamp), signature):
        raise refused
    return gate


def sync_page(
    gate: Gate, since: int, limit: int, feed: EntitlementFeed, lots: LotRepository, cards: CardRepository
) -> SyncPage:
    if since < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"since must be 0 or more and limit 1..{MAX_PAGE}")
    lot = lots.get(gate.lot_id)
    if lot is None:
        raise LotNotFound(gate.lot_id)
    current = lot.entitlement_version
    if since == 0 or current - since > SNAPSHOT_WHEN_BEHIND:
        return SyncPage(lot.id, current, True, _snapshot(lot.id, current, cards), False)
    events = feed.since(lot.id, since, limit + 1)
    return SyncPage(lot.id, current, False, events[:limit], len(events) > limit)


def _snapshot(lot_id: str, version: int, cards: CardRepository) -> list[Grant]:
    return [
        Grant(lot_id, version, plate, c.id, c.valid_from, c.valid_until, c.state.value, "")
        for c in cards.list_for_lot(lot_id)
        for plate in c.plates
    ]
