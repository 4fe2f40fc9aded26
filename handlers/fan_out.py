"""Fan-out: every entitlement event goes to its lot's gates, signed, at least once, in version order.

Two paths publish. The guarantee is the entitlements table's stream: every
committed event comes once in it, in version order per lot; `fan_out_records`
publishes a batch of records one message per lot and names the records to
deliver again when a lot's publish fails (Lambda's partial batch response), so
nothing is left behind. The fast path is `TellGatesAtOnce`: a function whose
caller waits at the barrier (a payment, a resume) publishes its plan's events
itself right after the commit, bounded by a short timeout, failures only
logged. Gates drop the second copy by version.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence

from domain.gate import Grant
from domain.plan import Claim, Plan
from handlers.ports import Publisher, PublishFailed, Signer, StreamRecord, UnitOfWork

log = logging.getLogger("parkpass.fanout")

MAX_EVENTS_PER_MESSAGE = 100
"""About 40 KB of signed events: well under IoT Core's 128 KB message limit."""


def fan_out_records(records: Sequence[StreamRecord], publisher: Publisher, signer: Signer) -> list[str]:
    """Publish a batch of stream records, one message per lot (in version order); answer the sequence numbers
    to deliver again: the first record of each lot whose publish failed. Lambda restarts from the lowest of
    them, so a failed lot's events come again in order (and lots published meanwhile come again too: gates
    drop those by version)."""
    first: dict[str, str] = {}
    for record in records:
        if record.grant is not None:
            first.setdefault(record.grant.lot_id, record.sequence)
    failed = publish_by_lot([r.grant for r in records if r.grant is not None], publisher, signer)
    return [first[lot] for lot in failed]


def publish_by_lot(grants: Iterable[Grant], publisher: Publisher, signer: Signer) -> list[str]:
    """One message per lot (per hundred events), each lot's events in version order; answer the lots whose
    publish failed. A lot stops at its first failure, so its gates never see a later event before an earlier."""
    by_lot: dict[str, list[Grant]] = {}
    for grant in grants:
        by_lot.setdefault(grant.lot_id, []).append(grant)
    failed = []
    for lot_id, events in by_lot.items():
        events.sort(key=lambda g: g.version)
        try:
            for at in range(0, len(events), MAX_EVENTS_PER_MESSAGE):
                publisher.publish(topic_for(lot_id), message(events[at : at + MAX_EVENTS_PER_MESSAGE], signer))
        except PublishFailed as e:
            log.warning("publish to lot %s from v%d failed: %s", lot_id, events[0].version, e)
            failed.append(lot_id)
    return failed


class TellGatesAtOnce:
    """The fast path: a unit of work that, once a plan is committed, publishes the plan's gate events itself.

    The owner at the barrier then waits for one publish after the commit, not for
    the stream to be polled. The publisher is a short-timeout one; a failure is
    only logged: the stream's fan-out delivers the same events anyway.
    """

    def __init__(self, uow: UnitOfWork, publisher: Publisher, signer: Signer) -> None:
        self._uow, self._publisher, self._signer = uow, publisher, signer

    def commit(self, plan: Plan) -> None:
        self._uow.commit(plan)
        grants = plan.grants()
        if grants:
            try:
                publish_by_lot(grants, self._publisher, self._signer)
            except Exception:  # the commit stands whatever happens here; the stream delivers
                log.exception("telling the gates at once failed; the stream's fan-out will")

    def claimed(self, key: str) -> Claim | None:
        return self._uow.claimed(key)


def topic_for(lot_id: str) -> str:
    return f"parkpass/lots/{lot_id}/entitlements"


def message(events: Sequence[Grant], signer: Signer) -> bytes:
    """One event as its signed fields (what gates have always read); several as `{"lot_id", "events": [...]}`,
    each event signed on its own (the envelope is not: a gate verifies every event)."""
    signed = [signer.sign(e.fields()) for e in events]
    body = signed[0] if len(signed) == 1 else {"lot_id": events[0].lot_id, "events": signed}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
