from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from functions.bootstrap import Services, bind_dynamodb, dynamodb_services
from infra.dynamodb.embedded import EmbeddedDynamoDB
from infra.dynamodb.tables import create_tables
from infra.settings import Secrets, Settings
from tests.fakes import FixedClock

TEST_REGION = "cn-north-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's DynamoDB server on loopback, reached over HTTP exactly as AWS would be."""
    server = EmbeddedDynamoDB()
    endpoint = server.start()
    yield endpoint
    server.stop()


@pytest.fixture
def dynamodb(moto_server: str) -> str:
    """Empty tables for each test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    bind_dynamodb(Settings("test", TEST_REGION, moto_server))
    create_tables()
    return moto_server


TEST_SECRETS = Secrets(
    b"test-token-secret", bytes(range(32)), "wx-test-appid", "test-app-secret", receipt_signing_key=bytes(range(1, 33))
)


@pytest.fixture
def dynamo_services(dynamodb: str) -> Services:
    """The DynamoDB adapters on fresh tables; WeChat points nowhere (tests that need it start the simulator)."""
    settings = Settings(
        "test", TEST_REGION, dynamodb, wechat_api_base="http://127.0.0.1:9/", public_url="https://pay.example.com"
    )
    return dynamodb_services(settings, TEST_SECRETS, FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)))
