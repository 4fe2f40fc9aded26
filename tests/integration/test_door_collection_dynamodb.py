"""The door tests (tests/unit/test_door_collection.py) over DynamoDB in moto: the same plans and conditions,
the races run against the real transactions."""

from __future__ import annotations

import pytest

from functions.bootstrap import dynamodb_services
from infra.settings import Settings
from tests.conftest import TEST_REGION, TEST_SECRETS
from tests.unit.test_door_collection import *  # noqa: F403  # the same tests, collected here over DynamoDB
from tests.unit.test_door_collection import Make


@pytest.fixture
def make(dynamodb: str) -> Make:
    settings = Settings("test", TEST_REGION, dynamodb, wechat_api_base="http://127.0.0.1:9/")
    return lambda clock: dynamodb_services(settings, TEST_SECRETS, clock)


__all__ = ["make"]
