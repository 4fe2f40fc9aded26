"""Wiring of the gates' news: the publishers (the fan-out's, and the fast path's with a short timeout), the
signer, and the stream's records as the fan-out reads them.

Light on imports: the fan-out Lambda loads this and little else.
"""

from __future__ import annotations

import functools
import os
import uuid

from handlers.ports import Metrics, Publisher, Signer
from infra.dynamodb.feed import stream_record

__all__ = ["FAST_PATH_TIMEOUT_S", "publisher_from_env", "signer_from_env", "stream_record", "unique_client_id"]

FAST_PATH_TIMEOUT_S = 1.0
"""How long a function whose caller waits may spend telling the gates itself; the stream delivers anyway."""


@functools.cache
def publisher_from_env(role: str = "fanout", timeout_s: float | None = None) -> Publisher:
    """Gates' messages go to any MQTT broker (PARKPASS_MQTT_URL), else to IoT Core's data plane.

    `role` names the MQTT client (with a random part: two processes never take each other's session over);
    `timeout_s` bounds a publish (connect and acknowledgement); None: the publishers' own defaults."""
    mqtt_url = os.environ.get("PARKPASS_MQTT_URL")
    if mqtt_url:
        from infra.mqtt.publisher import MqttPublisher

        return MqttPublisher(mqtt_url, client_id=unique_client_id(role), timeout_s=timeout_s)
    from infra.iot import IotDataPublisher

    return IotDataPublisher(endpoint_url=os.environ.get("PARKPASS_IOT_DATA_ENDPOINT") or None, timeout_s=timeout_s)


@functools.cache
def signer_from_env() -> Signer:
    from infra.gate_messages import MessageSigner
    from infra.settings import secrets_from_env

    key = secrets_from_env().gate_signing_key
    if key is None:
        raise RuntimeError("set PARKPASS_GATE_SIGNING_KEY: gates accept signed messages only")
    return MessageSigner(key)


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
