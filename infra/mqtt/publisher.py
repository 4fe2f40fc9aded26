"""Publish to any MQTT broker at QoS 1 with paho-mqtt; a publish counts only once the broker acknowledged it."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from handlers.ports import PublishFailed

ACK_TIMEOUT_S = 5.0


class MqttPublisher:
    def __init__(self, url: str, client_id: str, timeout_s: float | None = None) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 1883
        # MQTT 3.1.1: the embedded broker (amqtt) speaks only that, and IoT Core accepts it.
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if parts.username:
            self._client.username_pw_set(parts.username, parts.password)
        if parts.scheme in ("mqtts", "ssl"):
            self._client.tls_set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._lock = threading.Lock()
        self._started = False
        self._timeout_s = ACK_TIMEOUT_S if timeout_s is None else timeout_s

    def publish(self, topic: str, payload: bytes) -> None:
        with self._lock:
            if not self._started:
                try:
                    self._client.connect(self._host, self._port, keepalive=30)
                    self._connected_within(self._timeout_s)
                except OSError as e:
                    raise PublishFailed(f"broker unreachable: {e}") from e
        if not self._client.is_connected():
            raise PublishFailed("not connected to the broker")
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as e:
            raise PublishFailed(str(e)) from e
        if not info.is_published():
            raise PublishFailed("no acknowledgement from the broker")

    def _connected_within(self, seconds: float) -> None:
        """Run the network loop until the broker accepted us (a first publish right after `connect` would
        otherwise find the client not yet connected)."""
        self._client.loop_start()
        self._started = True
        deadline = time.monotonic() + seconds
        while not self._client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        with self._lock:
            if self._started:
                self._client.loop_stop()
                self._client.disconnect()
                self._started = False
