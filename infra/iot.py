"""Publish through AWS IoT Core's data plane (boto3 `iot-data`), for the cloud."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.ports import PublishFailed


class IotDataPublisher:
    def __init__(
        self,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        timeout_s: float | None = None,
    ) -> None:
        # A bounded publish (the fast path) tries once: the stream's fan-out is the retry.
        config = (
            Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 1})
            if timeout_s is not None
            else None
        )
        self._client = client or boto3.client("iot-data", endpoint_url=endpoint_url, region_name=region, config=config)

    def publish(self, topic: str, payload: bytes) -> None:
        try:
            self._client.publish(topic=topic, qos=1, payload=payload)
        except (BotoCoreError, ClientError) as e:
            raise PublishFailed(str(e)) from e
