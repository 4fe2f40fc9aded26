"""Fan-out's ordering and retry, and the gate sync's authentication and paging, over fakes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import GateClockSkew, InvalidInput, Unauthenticated
from domain.gate import Grant
from domain.gate_auth import gate_signature
from domain.lot import Lot
from handlers.fan_out import publish_pending
from handlers.gate_sync import authenticated_gate, sync_page
from handlers.ports import Gate, PublishFailed
from infra.gate_messages import MessageSigner, verified_grant
from tests.builders import a_card
from tests.fakes import FakeCards, FakeFeed, FakeGates, FakeLots
from tests.memory import MemoryDB

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def event(version: int, lot_id: str = "demo-lot") -> Grant:
    return Grant(
        lot_id, version, f"粤B1000{version % 10}", "card-1", date(2026, 11, 4), date(2026, 12, 3), "active", "t"
    )


class FlakyPublisher:
    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.fail_at = fail_at

    def publish(self, topic: str, payload: bytes) -> None:
        if self.fail_at is not None and len(self.sent) == self.fail_at:
            raise PublishFailed("broker down")
        self.sent.append((topic, payload))


def test_fan_out_publishes_signed_messages_in_order_and_stops_at_a_failure() -> None:
    feed, signer = FakeFeed(), MessageSigner(os.urandom(32))
    feed.events = [event(v) for v in (1, 2, 3)]
    flaky = FlakyPublisher(fail_at=1)
    assert publish_pending(feed, flaky, signer, "now") == 1
    assert feed.unpublished(10) == [event(2), event(3)]  # kept for the retry, in order

    healthy = FlakyPublisher()
    assert publish_pending(feed, healthy, signer, "now") == 2
    assert [topic for topic, _ in healthy.sent] == ["parkpass/lots/demo-lot/entitlements"] * 2
    versions = [verified_grant(p, signer.public_key(), "demo-lot").version for _, p in healthy.sent]
    assert versions == [2, 3]
    assert feed.unpublished(10) == []


def _gates() -> FakeGates:
    gates = FakeGates()
    gates.add(Gate("gate-1", "demo-lot", "s3cret"))
    return gates


def _signed(path: str, at: datetime, secret: str = "s3cret") -> tuple[str, str]:
    stamp = str(int(at.timestamp()))
    return stamp, gate_signature(secret, "GET", path, stamp)


def test_a_gate_is_known_by_its_hmac_within_five_minutes(caplog: pytest.LogCaptureFixture) -> None:
    gates, path = _gates(), "/api/v1/gates/entitlements?since=3"
    stamp, sig = _signed(path, NOW)
    assert (
        authenticated_gate("gate-1", stamp, sig, "GET", path, gates, NOW + timedelta(seconds=299)).lot_id == "demo-lot"
    )
    refusals = [
        ("gate-1", stamp, sig, NOW + timedelta(seconds=301)),  # replayed too late
        ("gate-1", *_signed(path, NOW, secret="guess"), NOW),
        ("gate-1", stamp, _signed(path + "0", NOW)[1], NOW),  # signed another query
        ("gate-2", stamp, sig, NOW),
        ("../x", stamp, sig, NOW),
        ("gate-1", "yesterday", sig, NOW),
    ]
    with caplog.at_level("WARNING", logger="parkpass.security"):
        for gate_id, stamp_, sig_, now in refusals:
            with pytest.raises(Unauthenticated):
                authenticated_gate(gate_id, stamp_, sig_, "GET", path, gates, now)
    logged = [r.getMessage() for r in caplog.records if r.name == "parkpass.security"]
    assert len(logged) == len(refusals) and "reason=bad signature" in logged[1]  # each refusal, and why
    assert not any(sig in m for m in logged)  # never the signature itself


def test_sync_pages_through_the_feed_and_snapshots_from_zero() -> None:
    db = MemoryDB()
    feed, lots, cards = FakeFeed(db), FakeLots(db), FakeCards(db)
    lots.add(Lot(id="demo-lot", name="D", entitlement_version=5))
    card = a_card(date(2026, 12, 3), lot_id="demo-lot", plates=("粤B12345", "粤B54321"))
    db.cards[card.id] = card  # as the five events below left it
    feed.events = [event(v) for v in range(1, 6)]
    gate = Gate("gate-1", "demo-lot", "s")

    page = sync_page(gate, 2, 2, feed, lots, cards, NOW)
    assert ([e.version for e in page.events], page.more, page.snapshot) == ([3, 4], True, False)
    page = sync_page(gate, 4, 2, feed, lots, cards, NOW)
    assert ([e.version for e in page.events], page.more) == ([5], False)

    snapshot = sync_page(gate, 0, 100, feed, lots, cards, NOW)
    assert snapshot.snapshot and snapshot.version == 5
    assert sorted((e.plate, e.version) for e in snapshot.events) == [("粤B12345", 5), ("粤B54321", 5)]
    with pytest.raises(InvalidInput):
        sync_page(gate, -1, 10, feed, lots, cards, NOW)
    with pytest.raises(InvalidInput):
        sync_page(gate, 0, 501, feed, lots, cards, NOW)


def test_a_skewed_gate_that_signed_right_learns_the_server_time_and_a_wrong_signature_does_not() -> None:
    gates, path = _gates(), "/api/v1/gates/entitlements?since=3"
    stamp, sig = _signed(path, NOW - timedelta(minutes=20))  # the gate's clock is 20 minutes slow
    with pytest.raises(GateClockSkew) as refused:
        authenticated_gate("gate-1", stamp, sig, "GET", path, gates, NOW)
    assert refused.value.server_time == int(NOW.timestamp()) and refused.value.code == "gate_clock_skew"
    assert "300 秒" in refused.value.text("zh") and "server_time" in refused.value.message
    stamp, wrong = _signed(path, NOW - timedelta(minutes=20), secret="guess")
    with pytest.raises(Unauthenticated) as other:
        authenticated_gate("gate-1", stamp, wrong, "GET", path, gates, NOW)
    assert not isinstance(other.value, GateClockSkew) and other.value.key == "gate_auth"


def test_a_gate_of_another_feed_epoch_or_ahead_of_the_feed_gets_a_snapshot() -> None:
    db = MemoryDB()
    feed, lots, cards = FakeFeed(db), FakeLots(db), FakeCards(db)
    lots.add(Lot(id="demo-lot", name="D", entitlement_version=5, feed_epoch="new"))
    card = a_card(date(2026, 12, 3), lot_id="demo-lot")
    db.cards[card.id] = card
    feed.events = [event(v) for v in range(1, 6)]
    gate = Gate("gate-1", "demo-lot", "s")

    same = sync_page(gate, 3, 10, feed, lots, cards, NOW, "new")
    assert (same.snapshot, same.epoch, [e.version for e in same.events]) == (False, "new", [4, 5])
    assert not sync_page(gate, 3, 10, feed, lots, cards, NOW).snapshot  # a gate that does not say its epoch
    for since, epoch in ((3, "old"), (3, ""), (10, "new"), (10, None)):  # another feed, or one behind the gate
        page = sync_page(gate, since, 10, feed, lots, cards, NOW, epoch)
        assert (page.snapshot, page.version, page.epoch) == (True, 5, "new"), (since, epoch)
        assert {e.epoch for e in page.events} == {"new"}
