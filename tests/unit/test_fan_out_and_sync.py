"""Fan-out's ordering and retry from stream records, and the gate sync's authentication and paging, over fakes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import GateClockSkew, InvalidInput, Unauthenticated
from domain.gate import Grant
from domain.gate_auth import gate_signature
from domain.lot import Lot
from functions.bootstrap import Services
from handlers.fan_out import StreamRecord, TellGatesAtOnce, fan_out_records, message
from handlers.gate_sync import authenticated_gate, sync_page
from handlers.issue_card import issue_card
from handlers.ports import Gate, PublishFailed
from infra.gate_messages import MessageSigner, verified_grant, verified_grants
from tests.builders import a_card
from tests.contract import check_schema
from tests.fakes import FakeCards, FakeFeed, FakeGates, FakeLots, fake_services
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


class LotDown(FlakyPublisher):
    """Refuses one lot's topic until told otherwise."""

    def __init__(self, lot_id: str) -> None:
        super().__init__()
        self.down = f"parkpass/lots/{lot_id}/entitlements"

    def publish(self, topic: str, payload: bytes) -> None:
        if topic == self.down:
            raise PublishFailed("broker refused")
        self.sent.append((topic, payload))


def records(*grants: Grant, first: int = 100) -> list[StreamRecord]:
    return [StreamRecord(str(first + i), g) for i, g in enumerate(grants)]


def versions_sent(publisher: FlakyPublisher, signer: MessageSigner, lot_id: str) -> list[list[int]]:
    """Each message to the lot, as the versions in it (a gate's reading of it)."""
    topic = f"parkpass/lots/{lot_id}/entitlements"
    return [
        [g.version for g in verified_grants(p, signer.public_key(), lot_id)] for t, p in publisher.sent if t == topic
    ]


def test_stream_records_go_out_as_one_message_per_lot_in_version_order() -> None:
    signer, publisher = MessageSigner(os.urandom(32)), FlakyPublisher()
    batch = records(event(1, "lot-a"), event(1, "lot-b"), event(2, "lot-a"), event(3, "lot-a"), event(2, "lot-b"))
    assert fan_out_records(batch, publisher, signer) == []
    assert versions_sent(publisher, signer, "lot-a") == [[1, 2, 3]]
    assert versions_sent(publisher, signer, "lot-b") == [[1, 2]]


def test_a_lot_whose_publish_fails_names_its_first_record_and_its_redelivery_leaves_nothing_behind() -> None:
    signer, publisher = MessageSigner(os.urandom(32)), LotDown("lot-b")
    batch = records(event(1, "lot-a"), event(1, "lot-b"), event(2, "lot-a"), event(2, "lot-b"))
    again = fan_out_records(batch, publisher, signer)
    assert again == ["101"]  # lot-b's first record: Lambda delivers again from there
    assert versions_sent(publisher, signer, "lot-a") == [[1, 2]]  # the other lot's gates did not wait

    publisher.down = "nothing"
    redelivered = [r for r in batch if int(r.sequence) >= min(int(a) for a in again)]
    assert fan_out_records(redelivered, publisher, signer) == []
    assert versions_sent(publisher, signer, "lot-b") == [[1, 2]]
    assert versions_sent(publisher, signer, "lot-a") == [[1, 2], [2]]  # v2 again: gates drop it by version


def test_records_without_an_event_are_passed_over_and_a_single_event_is_sent_as_gates_always_read_it() -> None:
    signer, publisher = MessageSigner(os.urandom(32)), FlakyPublisher()
    assert fan_out_records([StreamRecord("7", None), *records(event(4))], publisher, signer) == []
    [(_, payload)] = publisher.sent
    assert verified_grant(payload, signer.public_key(), "demo-lot").version == 4  # no envelope for one


def test_a_large_batch_of_one_lot_is_split_under_the_brokers_message_limit() -> None:
    signer, publisher = MessageSigner(os.urandom(32)), FlakyPublisher()
    assert fan_out_records(records(*(event(v) for v in range(1, 251))), publisher, signer) == []
    sent = versions_sent(publisher, signer, "demo-lot")
    assert [len(m) for m in sent] == [100, 100, 50] and [v for m in sent for v in m] == list(range(1, 251))
    assert max(len(p) for _, p in publisher.sent) < 128 * 1024


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


def told_at_once(publisher: FlakyPublisher) -> tuple[Services, MessageSigner]:
    s, signer = fake_services(NOW), MessageSigner(os.urandom(32))
    s.lots.add(Lot("lot-1", "Test Lot", quota=5))
    return replace(s, uow=TellGatesAtOnce(s.uow, publisher, signer)), signer


def test_the_fast_path_tells_the_gates_what_a_commit_changed_right_after_it() -> None:
    publisher = FlakyPublisher()
    s, signer = told_at_once(publisher)
    two_plates = a_card(date(2026, 12, 31), plates=("粤B11111", "粤B22222"))
    assert issue_card(two_plates, "system", "t", s.lots, s.uow, s.clock)
    assert versions_sent(publisher, signer, "lot-1") == [[1, 2]]  # both plates, one message, the versions stored
    assert [g.version for g in s.feed.since("lot-1", 0, 10)] == [1, 2]


def test_the_fast_path_failing_leaves_the_commit_standing_and_a_refused_commit_tells_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = FlakyPublisher(fail_at=0)
    s, _ = told_at_once(publisher)
    assert issue_card(a_card(date(2026, 12, 31)), "system", "t", s.lots, s.uow, s.clock)
    assert s.cards.get("card-1") is not None and publisher.sent == []
    assert "publish to lot lot-1 from v1 failed" in caplog.text  # logged; the stream's fan-out delivers it

    publisher.fail_at = None
    assert not issue_card(a_card(date(2026, 12, 31)), "system", "t", s.lots, s.uow, s.clock)  # exists: no commit
    assert publisher.sent == []


def test_what_goes_on_mqtt_is_what_the_gate_contract_says() -> None:
    signer = MessageSigner(os.urandom(32))
    check_schema("GateMessage", json.loads(message([event(1)], signer)))
    check_schema("GateBatch", json.loads(message([event(1), event(2)], signer)))
