from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from functions.bootstrap import Services, bind_dynamodb, dynamodb_services
from infra.dynamodb.embedded import EmbeddedDynamoDB
from infra.dynamodb.tables import create_tables
from infra.settings import Settings

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


@pytest.fixture
def dynamo_services(dynamodb: str) -> Services:
    from datetime import UTC, datetime

    from tests.fakes import FixedClock

    return dynamodb_services(FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)))
