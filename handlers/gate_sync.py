"""Delta sync for a gate that was offline: the feed after its version, or a snapshot when it is far behind."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.card import CardState
from domain.entitlement import entitlements_of
from domain.errors import GateClockSkew, InvalidInput, LotNotFound, Unauthenticated
from domain.gate import Grant
from domain.gate_auth import gate_signature
from domain.ids import checked_id
from domain.lot import Lot
from handlers.ports import CardRepository, EntitlementFeed, Gate, GateRepository, LotRepository, ParkingRecords

security = logging.getLogger("parkpass.security")

REPLAY_WINDOW_S = 300
"""How far a gate's signed time may be from ours, either way (SigV4 allows 15 minutes; gates correct their
offset from the refusal's server_time, so a short window costs them one retry)."""
SNAPSHOT_WHEN_BEHIND = 1000
"""A gate further behind than this gets the whole current state instead of every change."""
MAX_PAGE = 500


@dataclass(frozen=True)
class SyncPage:
    lot_id: str
    version: int
    """The lot's feed version when this page was made."""
    epoch: str
    snapshot: bool
    """True: `events` is the whole state at `version`; replace the whitelist with it."""
    events: list[Grant]
    more: bool


def authenticated_gate(
    gate_id: str,
    timestamp: str,
    signature: str,
    method: str,
    path: str,
    gates: GateRepository,
    now: datetime,
    body: bytes = b"",
) -> Gate:
    def refused(why: str) -> Unauthenticated:
        security.warning("gate signature refused: gate=%r path=%r reason=%s", gate_id[:64], path[:120], why)
        return Unauthenticated("gate_auth")

    try:
        gate = gates.get(checked_id("gate_id", gate_id))
        age = abs(now.timestamp() - int(timestamp))
    except (InvalidInput, ValueError):
        raise refused("malformed id or time") from None
    if gate is None:
        raise refused("unknown gate")
    if not hmac.compare_digest(gate_signature(gate.secret, method, path, timestamp, body), signature):
        raise refused("bad signature")
    if age > REPLAY_WINDOW_S:  # only a gate that proved its secret learns it is skewed (and our time)
        security.warning("gate signature refused: gate=%r path=%r reason=clock skew %ds", gate.id, path[:120], age)
        raise GateClockSkew(int(now.timestamp()), REPLAY_WINDOW_S)
    return gate


def sync_page(
    gate: Gate,
    since: int,
    limit: int,
    feed: EntitlementFeed,
    lots: LotRepository,
    cards: CardRepository,
    at: datetime,
    epoch: str | None = None,
    parking: ParkingRecords | None = None,
) -> SyncPage:
    """`epoch`: the feed epoch the gate's `since` counts in (None: a gate that does not say). A gate of another
    epoch, or ahead of the feed, holds another feed's versions: it gets a snapshot."""
    if since < 0 or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("sync_page", most=MAX_PAGE)
    lot = lots.get(gate.lot_id)
    if lot is None:
        raise LotNotFound(gate.lot_id)
    current = lot.entitlement_version
    other_feed = (epoch is not None and epoch != lot.feed_epoch) or since > current
    if since == 0 or other_feed or current - since > SNAPSHOT_WHEN_BEHIND:
        state = _snapshot(lot, current, cards, at) + (_parking(lot, current, parking, at) if parking else [])
        return SyncPage(lot.id, current, lot.feed_epoch, True, state, False)
    events = feed.since(lot.id, since, limit + 1)
    return SyncPage(lot.id, current, lot.feed_epoch, False, events[:limit], len(events) > limit)


def _snapshot(lot: Lot, version: int, cards: CardRepository, at: datetime) -> list[Grant]:
    return [
        e.grant(version)
        for card in cards.list_for_lot(lot.id)
        if card.state is not CardState.CANCELLED
        for e in entitlements_of(card, lot, at)
    ]


def _parking(lot: Lot, version: int, parking: ParkingRecords, at: datetime) -> list[Grant]:
    """What else a gate keeps: exemptions and blacklistings in force or to come, and visits paid whose car may
    still leave."""
    from domain.parking import visit_paid_news

    today = lot.today(at)
    found = [p.news(lot.feed_epoch).grant(version) for p in parking.passes(lot.id)
             if not p.lifted and (p.until is None or p.until >= today)]  # fmt: skip
    leave = timedelta(minutes=parking.setup(lot.id).policy.leave_minutes)
    for visit in parking.open_visits(lot.id):
        if visit.paid_at is not None and visit.paid_at + leave >= at:
            found.append(visit_paid_news(visit, visit.paid_at + leave, lot.feed_epoch).grant(version))
    return found
