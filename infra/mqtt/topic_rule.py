"""The local stack's stand-in for an IoT Core topic rule: subscribe to a topic filter on the broker and hand
each message to a function as the rule would (the JSON payload's fields plus fields taken from the topic)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger("parkpass.mqtt")

TOPIC_RULE_CLIENT = "parkpass-topic-rule"


class LocalTopicRule:
    def __init__(
        self,
        url: str,
        topic_filter: str,
        from_topic: dict[str, int],
        action: Callable[[dict[str, Any]], object],
        client_id: str = TOPIC_RULE_CLIENT,
    ) -> None:
        """`from_topic` names topic levels to add to the event, numbered from 1 like IoT SQL's topic(n)."""
        parts = urlsplit(url)
        self._broker = (parts.hostname or "127.0.0.1", parts.port or 1883)
        self._filter, self._from_topic, self._action = topic_filter, from_topic, action
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self._client.on_connect = lambda client, *_: client.subscribe(self._filter, qos=1)
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    def start(self) -> LocalTopicRule:
        self._client.connect_async(*self._broker, keepalive=30)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            event = json.loads(message.payload)
        except ValueError:
            log.warning("a message on %s is not JSON; dropped, as the rule would", message.topic)
            return
        if not isinstance(event, dict):
            return
        levels = message.topic.split("/")
        event.update({name: levels[n - 1] for name, n in self._from_topic.items() if n <= len(levels)})
        try:
            self._action(event)
        except Exception:
            log.exception("the topic rule's action failed")  # IoT Core would log it to its error action too
