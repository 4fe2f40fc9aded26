"""Property-based hostile input: schemathesis generates requests from miniprogram-api/openapi.yaml and sends them
to the local stack as a logged-in owner. No request may cause a 5xx, and every answer must fit the spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import start_stack

SPEC = Path(__file__).resolve().parents[2] / "miniprogram-api" / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def fuzzed(moto_server: str) -> Iterator[tuple[DevStack, dict[str, str]]]:
    """One stack for the whole run, with an owner who has a phone, a vehicle and the demo card's look-alike."""
    stack = start_stack(moto_server)
    api = ApiClient(stack.api_url)
    token = api.post("/api/v1/auth/login", json={"code": "sim:fuzz-owner"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    api.post("/api/v1/me/vehicles", json={"plate": "粤B54321"}, headers=owner)
    yield stack, owner
    stack.stop()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_request_breaks_the_api(case: schemathesis.Case, fuzzed: tuple[DevStack, dict[str, str]]) -> None:
    stack, owner = fuzzed
    case.call_and_validate(
        base_url=stack.api_url,
        headers=owner,
        checks=[not_a_server_error, response_schema_conformance],
        timeout=20,
    )
