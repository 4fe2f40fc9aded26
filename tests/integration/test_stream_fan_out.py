"""The fan-out fed from the entitlements table's stream (moto's DynamoDB Streams over HTTP), the way Lambda's
event source mapping feeds it: records in version order per lot, one message per lot, and a failed lot's
records delivered again until they are out."""

from __future__ import annotations

import base64
import os
import queue
from collections.abc import Iterator
from datetime import date
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from domain.gate import Grant
from domain.lot import Lot
from functions import fanout
from functions.bootstrap import Services, services_from_env
from functions.fanout import fan_out
from functions.publishing import publisher_from_env
from handlers.fan_out import TellGatesAtOnce
from handlers.issue_card import issue_card
from handlers.ports import PublishFailed
from infra.dynamodb.feed import entitlement_item
from infra.dynamodb.stream_source import LocalStreamSource
from infra.dynamodb.tables import EntitlementItem
from infra.gate_messages import MessageSigner, verified_grants
from infra.mqtt.broker import EmbeddedBroker, free_port
from tests.builders import a_card
from tests.conftest import TEST_REGION


class Broker:
    """Records what is published; refuses the lots it is told are down."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.down: set[str] = set()

    def publish(self, topic: str, payload: bytes) -> None:
        if topic.split("/")[2] in self.down:
            raise PublishFailed("refused")
        self.sent.append((topic, payload))

    def versions(self, lot_id: str, signer: MessageSigner) -> list[int]:
        return [
            g.version
            for topic, payload in self.sent
            if topic == f"parkpass/lots/{lot_id}/entitlements"
            for g in verified_grants(payload, signer.public_key(), lot_id)
        ]


def test_stream_records_reach_each_lots_gates_in_order_and_a_failed_lot_comes_again_until_it_is_out(
    dynamodb: str, dynamo_services: Services
) -> None:
    s, signer, broker = dynamo_services, MessageSigner(os.urandom(32)), Broker()
    for lot in ("lot-a", "lot-b"):
        s.lots.add(Lot(lot, lot, quota=10))
    source = LocalStreamSource(
        dynamodb, TEST_REGION, EntitlementItem.Meta.table_name, lambda e: fan_out(e["Records"], broker, signer)
    )
    source.open()
    for n, lot in enumerate(["lot-a", "lot-b", "lot-a", "lot-b", "lot-a"]):
        card = a_card(date(2026, 12, 31), lot_id=lot, card_id=f"card-{n}", plates=(f"粤B0000{n}",))
        assert issue_card(card, "system", "test", s.lots, s.uow, s.clock)

    broker.down = {"lot-b"}
    assert source.drain() is False  # lot-b's records are named for delivery again
    assert broker.versions("lot-a", signer) == [1, 2, 3]
    assert broker.versions("lot-b", signer) == []
    assert source.drain() is False  # still down: still not lost

    broker.down = set()
    assert source.drain() is True
    assert broker.versions("lot-b", signer) == [1, 2]
    assert sorted(set(broker.versions("lot-a", signer))) == [1, 2, 3]  # lot-a again after lot-b's first: dropped

    sent = len(broker.sent)
    assert source.drain() is True and len(broker.sent) == sent  # nothing left behind, nothing sent twice more
    assert issue_card(a_card(date(2026, 12, 31), lot_id="lot-b", card_id="card-9", plates=("粤B00009",)),
                      "system", "test", s.lots, s.uow, s.clock)  # fmt: skip
    assert source.drain() is True
    assert broker.versions("lot-b", signer) == [1, 2, 3]


def _record(sequence: str, grant: Grant) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": sequence, "NewImage": entitlement_item(grant).serialize()},
    }


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fan-out Lambda's environment, its broker out of reach."""
    monkeypatch.setenv("PARKPASS_GATE_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    secrets = {"PARKPASS_TOKEN_SECRET": "t", "PARKPASS_WECHAT_APPID": "wx-test", "PARKPASS_WECHAT_SECRET": "s"}
    for name, value in {**secrets, "PARKPASS_DATA_KEY": base64.b64encode(bytes(32)).decode()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PARKPASS_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    publisher_from_env.cache_clear()
    yield
    publisher_from_env.cache_clear()


def test_the_lambda_answers_a_partial_batch_where_its_mapping_reads_one_and_fails_the_batch_elsewhere(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = Grant("lot-a", 7, "粤B00007", "card-7", date(2026, 12, 1), date(2026, 12, 31), "active", "t")
    event = {"Records": [{"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "41"}}, _record("42", grant)]}
    with pytest.raises(fanout.PublishIncomplete):  # zappa's mapping, say: the whole batch must come again
        fanout.handler(event, None)
    monkeypatch.setenv("PARKPASS_FANOUT_PARTIAL_BATCH", "1")  # serverless.yml's: ReportBatchItemFailures
    assert fanout.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "42"}]}


def test_a_function_an_owner_waits_on_tells_the_gates_itself_once_the_environment_says_so(
    lambda_env: None, monkeypatch: pytest.MonkeyPatch, dynamodb: str
) -> None:
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    heard: queue.Queue[bytes] = queue.Queue()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gate-test", protocol=mqtt.MQTTv311)
    listener.on_message = lambda c, u, m: heard.put(m.payload)
    try:
        host, port = broker.url.removeprefix("mqtt://").split(":")
        listener.connect(host, int(port))
        listener.loop_start()
        listener.subscribe("parkpass/lots/lot-a/entitlements", qos=1)
        for name, value in {"PARKPASS_DYNAMODB_ENDPOINT": dynamodb, "PARKPASS_TABLE_PREFIX": "test",
                            "AWS_REGION": TEST_REGION, "PARKPASS_MQTT_URL": broker.url}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        services_from_env.cache_clear()  # built once per container: each wiring here is another container
        assert not isinstance(services_from_env().uow, TellGatesAtOnce)  # the scheduled functions: the stream
        monkeypatch.setenv("PARKPASS_GATES_AT_ONCE", "1")  # serverless.yml's for api, notify and admin
        services_from_env.cache_clear()
        s = services_from_env()
        assert isinstance(s.uow, TellGatesAtOnce)
        s.lots.add(Lot("lot-a", "lot-a", quota=10))
        assert issue_card(a_card(date(2026, 12, 31), lot_id="lot-a"), "system", "test", s.lots, s.uow, s.clock)
        assert s.signer is not None
        [grant] = verified_grants(heard.get(timeout=10), s.signer.public_key(), "lot-a")
        assert (grant.version, grant.card_id) == (1, "card-1")
    finally:
        services_from_env.cache_clear()
        listener.loop_stop()
        listener.disconnect()
        broker.stop()
