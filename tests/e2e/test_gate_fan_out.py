"""Gates hear about renewals over a real MQTT connection, and catch up by delta sync."""

from __future__ import annotations

import base64
import queue
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion

from domain.gate import Grant
from domain.gate_auth import gate_signature
from functions.dev_stack import DevStack
from infra.gate_messages import BadMessage, verified_grant, verified_grants
from infra.mqtt.broker import EmbeddedBroker, free_port
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.conftest import DEMO_DAY, start_stack

TOPIC = "parkpass/lots/demo-lot/entitlements"


class Listener:
    """A bare MQTT 3.1.1 subscriber, as a gate controller would be."""

    def __init__(self, url: str) -> None:
        self.messages: queue.Queue[bytes] = queue.Queue()
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"gate-{time.monotonic_ns()}", protocol=mqtt.MQTTv311
        )
        self.client.on_message = lambda c, u, m: self.messages.put(m.payload)
        subscribed = queue.Queue[bool]()
        self.client.on_subscribe = lambda *a: subscribed.put(True)
        self.client.connect(host, int(port))
        self.client.loop_start()
        self.client.subscribe(TOPIC, qos=1)
        subscribed.get(timeout=5)

    def next(self, timeout: float = 10) -> bytes:
        return self.messages.get(timeout=timeout)

    def versions(self, key: bytes, until: int, timeout: float = 10) -> list[int]:
        """The versions heard, in the order heard (a batch message is several), until `until` has come; a
        version heard again (both paths publish) is left out, as a gate drops it."""
        heard: list[int] = []
        deadline = time.monotonic() + timeout
        while until not in heard:
            for grant in verified_grants(self.next(max(0.01, deadline - time.monotonic())), key, "demo-lot"):
                if grant.version not in heard:
                    heard.append(grant.version)
        return heard

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def public_key(api: ApiClient) -> bytes:
    return base64.b64decode(api.get("/api/v1/gates/public-key").json()["public_key"])


def renew_and_pay(api: ApiClient, stack: DevStack, key: str) -> dict[str, Any]:
    token = api.post("/api/v1/auth/login", json={"code": f"sim:demo-owner:{key}"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    made = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": key},
        headers=owner,
    ).json()
    stack.wechatpay.deliver = False
    assert stack.wechatpay.pay(made["order_id"])
    headers, body = stack.wechatpay.notification(made["order_id"])
    r = requests.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers, timeout=10)
    assert r.status_code == 204
    return made  # type: ignore[no-any-return]


def test_a_paid_renewal_reaches_a_subscribed_gate_signed_and_verifiable(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    listener = Listener(stack.mqtt_url)
    try:
        renew_and_pay(api, stack, "gate-news-01")
        grants: list[Grant] = []
        while not grants:  # the demo card's own event (v1) may come first
            grants = [g for g in verified_grants(listener.next(), public_key(api), "demo-lot") if g.version == 2]
    finally:
        listener.close()
    grant = grants[0]
    assert (grant.plate, grant.valid_until.isoformat() if grant.valid_until else None) == ("粤B12345", "2027-01-03")
    with pytest.raises(BadMessage):
        verified_grant(b'{"lot_id": "demo-lot", "version": 2}', public_key(api), "demo-lot")


@pytest.mark.parametrize(
    ("fan_out", "gates_at_once"),
    [(False, True), (True, False)],
    ids=["the fast path alone: nothing reads the stream", "the stream alone: no fast path"],
)
def test_each_path_alone_brings_a_payment_to_the_gates(moto_server: str, fan_out: bool, gates_at_once: bool) -> None:
    stack = start_stack(moto_server, clock=DEMO_DAY, fan_out=fan_out, gates_at_once=gates_at_once)
    api = ApiClient(stack.api_url)
    listener = Listener(stack.mqtt_url)
    try:
        renew_and_pay(api, stack, "one-path")
        assert listener.versions(public_key(api), until=2)[-1] == 2
    finally:
        listener.close()
        stack.stop()


def test_while_the_broker_is_down_nothing_is_lost_and_it_publishes_when_back(moto_server: str) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port)
    broker.start()
    stack = start_stack(moto_server, clock=DEMO_DAY, mqtt_url=broker.url)
    api = ApiClient(stack.api_url)
    key = public_key(api)
    try:
        listener = Listener(broker.url)
        renew_and_pay(api, stack, "broker-up")  # v2: both publishers are connected now
        assert listener.versions(key, until=2)[-1] == 2
        listener.close()
        broker.stop()
        for n in range(3):
            renew_and_pay(api, stack, f"broker-down-{n}")  # the fast path fails (logged), the stream keeps them
        time.sleep(1.5)

        broker = EmbeddedBroker(port=port)
        broker.start()
        listener = Listener(broker.url)
        try:
            heard = listener.versions(key, until=5, timeout=30)
        finally:
            listener.close()
        assert heard[heard.index(3) :] == [3, 4, 5]  # in order, none lost (v2 may come again: dropped)
        card = stack.services.cards.get("card-demo")
        assert card is not None and card.valid_until is not None and card.valid_until.isoformat() == "2027-04-03"
    finally:
        stack.stop()
        broker.stop()


def _sync(
    api: ApiClient, stack: DevStack, since: int, *, secret: str | None = None, gate_id: str = "demo-gate"
) -> requests.Response:
    path = f"/api/v1/gates/entitlements?since={since}&limit=2"
    stamp = str(int(stack.clock.now().timestamp()))
    assert stack.demo_gate is not None
    signature = gate_signature(secret or stack.demo_gate.secret, "GET", path, stamp)
    return api.get(path, headers={"X-Gate-Id": gate_id, "X-Gate-Timestamp": stamp, "X-Gate-Signature": signature})


def test_a_gate_catches_up_by_delta_sync_with_its_own_credentials(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    for n in range(3):
        renew_and_pay(api, stack, f"sync-{n:03d}")
    key = public_key(api)

    first = _sync(api, stack, 0).json()
    assert first["snapshot"] and first["version"] == 4  # 1: the demo card issued, then three renewals
    snapshot: list[Grant] = [verified_grant(e, key, "demo-lot") for e in first["events"]]
    assert [(g.plate, str(g.valid_until)) for g in snapshot] == [("粤B12345", "2027-03-03")]

    page = _sync(api, stack, 2).json()
    assert (page["snapshot"], page["more"], [e["version"] for e in page["events"]]) == (False, False, [3, 4])
    assert all(verified_grant(e, key, "demo-lot") for e in page["events"])

    r = _sync(api, stack, 1, secret="not-the-secret")
    assert r.status_code == 401 and json_error(r)["code"] == "unauthenticated"
    r = _sync(api, stack, 1, gate_id="no-such-gate")
    assert r.status_code == 401
