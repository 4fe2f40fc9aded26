"""Wiring of the gates' news: the publishers (the fan-out's, and the fast path's with a short timeout), the
signer, and the stream's records as the fan-out reads them.

Light on imports: the fan-out Lambda loads this and little else.
"""

from __future__ import annotations

import base64
import functools
import os
import uuid

from handlers.ports import Metrics, Publisher, Signer
from infra.dynamodb.feed import stream_record
from infra.parameters import runtime_environ

__all__ = ["FAST_PATH_TIMEOUT_S", "publisher_from_env", "signer_from_env", "stream_record", "unique_client_id"]

FAST_PATH_TIMEOUT_S = 1.0
"""How long a function whose caller waits may spend telling the gates itself; the stream delivers anyway."""


@functools.cache
def publisher_from_env(role: str = "fanout", timeout_s: float | None = None) -> Publisher:
    """Gates' messages go to any MQTT broker (PARKPASS_MQTT_URL), else to IoT Core's data plane.

    `role` names the MQTT client (with a random part: two processes never take each other's session over);
    `timeout_s` bounds a publish (connect and acknowledgement); None: the publishers' own defaults."""
    env = runtime_environ()
    mqtt_url = env.get("PARKPASS_MQTT_URL")
    if mqtt_url:
        from infra.mqtt.publisher import MqttPublisher

        return MqttPublisher(mqtt_url, client_id=unique_client_id(role), timeout_s=timeout_s)
    from infra.iot import IotDataPublisher

    return IotDataPublisher(endpoint_url=env.get("PARKPASS_IOT_DATA_ENDPOINT") or None, timeout_s=timeout_s)


def signer_from_env() -> Signer:
    """The gates' signer for the current key (a rotated key's parameter is read within five minutes)."""
    key = runtime_environ().get("PARKPASS_GATE_SIGNING_KEY")
    if not key:
        raise RuntimeError("set PARKPASS_GATE_SIGNING_KEY: gates accept signed messages only")
    return _signer(key)


@functools.lru_cache(maxsize=1)
def _signer(key: str) -> Signer:
    from infra.gate_messages import MessageSigner

    return MessageSigner(base64.b64decode(key))


def unique_client_id(role: str) -> str:
    return f"parkpass-{role}-{uuid.uuid4().hex[:12]}"


def tells_gates_at_once() -> bool:
    """PARKPASS_GATES_AT_ONCE=1: this function publishes its commits' gate events itself (serverless.yml sets it
    for the functions an owner or the office waits on)."""
    return os.environ.get("PARKPASS_GATES_AT_ONCE") == "1"


def metrics_from_env() -> Metrics:
    """The fan-out's counts: EMF lines in its log (the fan-out builds no Services)."""
    from infra.metrics import EmfMetrics

    return EmfMetrics()
