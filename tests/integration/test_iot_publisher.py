"""The cloud publisher: boto3 `iot-data` publish, against moto's server over HTTP."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from handlers.ports import PublishFailed
from infra.dynamodb.emulator import LOCAL_CREDENTIALS
from infra.iot import IotDataPublisher
from infra.mqtt.broker import free_port
from tests.conftest import TEST_REGION


def test_iot_data_publish_goes_out_at_qos_1(moto_server: str) -> None:
    client = boto3.client(
        "iot-data",
        endpoint_url=moto_server,
        region_name=TEST_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS[0],
        aws_secret_access_key=LOCAL_CREDENTIALS[1],
    )
    calls: list[dict[str, object]] = []
    client.meta.events.register("before-call.iot-data.Publish", lambda params, **_: calls.append(params))
    IotDataPublisher(client=client).publish("parkpass/lots/demo-lot/entitlements", b'{"version":1}')
    assert calls and calls[0]["query_string"] == {"qos": 1}


def test_an_unreachable_iot_endpoint_is_a_failed_publish() -> None:
    client = boto3.client(
        "iot-data",
        endpoint_url="http://127.0.0.1:9",
        region_name=TEST_REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(PublishFailed):
        IotDataPublisher(client=client).publish("parkpass/lots/demo-lot/entitlements", b"{}")


def test_the_fast_paths_publisher_tries_once_and_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function whose caller waits tells the gates with one try (the stream's fan-out is the retry)."""
    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):  # as a Lambda role gives
        monkeypatch.setenv(name, value)
    publisher = IotDataPublisher(endpoint_url=f"http://127.0.0.1:{free_port()}", region=TEST_REGION, timeout_s=0.5)
    sends: list[object] = []
    publisher._client.meta.events.register("before-send.iot-data.Publish", lambda **kw: sends.append(kw))
    with pytest.raises(PublishFailed):
        publisher.publish("parkpass/lots/demo-lot/entitlements", b"{}")
    assert len(sends) == 1
