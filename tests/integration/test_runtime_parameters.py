"""Functions read their secrets from SSM Parameter Store at run time (moto's SSM over HTTP), by the names their
environment gives, keep them five minutes, and pick a rotated value up after that."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from domain.errors import TokenInvalid
from functions.bootstrap import Services, services_from_env
from handlers.seed_demo import seed_demo
from infra import parameters
from infra.dynamodb.emulator import LOCAL_CREDENTIALS
from infra.parameters import MAX_AGE_S, ParameterEnvironment, fetch_from_ssm
from infra.settings import MissingSettings, secrets_from_env
from tests.conftest import TEST_REGION

ROOT = Path(__file__).resolve().parents[2]

SECRETS = {
    "token-secret": "t" * 32,
    "data-key": base64.b64encode(bytes(range(32))).decode(),
    "wechat-appid": "wx-from-ssm",
    "wechat-secret": "wechat-secret-from-ssm",
    "gate-signing-key": base64.b64encode(bytes(range(1, 33))).decode(),
}
SETTING = {
    "token-secret": "PARKPASS_TOKEN_SECRET",
    "data-key": "PARKPASS_DATA_KEY",
    "wechat-appid": "PARKPASS_WECHAT_APPID",
    "wechat-secret": "PARKPASS_WECHAT_SECRET",
    "gate-signing-key": "PARKPASS_GATE_SIGNING_KEY",
    "invoice-api": "PARKPASS_INVOICE_API",
}
"""As serverless.yml names them; invoice-api is optional and left absent here."""


def _named(stage: str) -> dict[str, str]:
    return {f"{setting}_PARAM": f"/parkpass/{stage}/{name}" for name, setting in SETTING.items()}


@pytest.fixture
def ssm(dynamodb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    """moto's SSM on the stack's emulator, the test's parameters stored as SecureStrings under a stage of its own."""
    stage = f"t{os.urandom(3).hex()}"
    for name, value in {
        "AWS_ENDPOINT_URL_SSM": dynamodb,
        "AWS_REGION": TEST_REGION,
        "AWS_DEFAULT_REGION": TEST_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS[1])
    client = boto3.client("ssm", region_name=TEST_REGION, endpoint_url=dynamodb)
    for name, value in SECRETS.items():
        client.put_parameter(Name=f"/parkpass/{stage}/{name}", Value=value, Type="SecureString")
    parameters._ssm.cache_clear()  # the provider's client is made once per process: make it for this endpoint
    yield stage, client
    parameters._ssm.cache_clear()


PROBE = """
import json, os, sys
import functions.api
from infra.settings import secrets_from_env
r = functions.api.app.test_client().get("/api/v1/lots/demo-lot/packages")
secrets = secrets_from_env()
copied = [k for k, v in os.environ.items() if v in sys.argv[1:]]
print(json.dumps({"status": r.status_code, "appid": secrets.wechat_appid, "gate_key": len(secrets.gate_signing_key),
                  "copied_into_environ": copied}))
"""


def test_the_api_starts_from_parameter_names_alone_and_keeps_the_values_out_of_its_environment(
    ssm: tuple[str, object], dynamo_services: Services, dynamodb: str
) -> None:
    stage, _ = ssm
    s = dynamo_services
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PARKPASS_")},
        **_named(stage),
        "PARKPASS_DYNAMODB_ENDPOINT": dynamodb,
        "PARKPASS_TABLE_PREFIX": "test",
    }
    assert not set(SECRETS.values()) & set(env.values())  # what Lambda's configuration would show
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *SECRETS.values()], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer == {"status": 200, "appid": "wx-from-ssm", "gate_key": 32, "copied_into_environ": []}


def test_a_missing_parameter_is_named_in_the_error(ssm: tuple[str, object]) -> None:
    stage, client = ssm
    client.delete_parameter(Name=f"/parkpass/{stage}/wechat-secret")  # type: ignore[attr-defined]
    env = ParameterEnvironment(_named(stage))
    with pytest.raises(MissingSettings, match=f"PARKPASS_WECHAT_SECRET \\(SSM parameter /parkpass/{stage}/"):
        secrets_from_env(env.current(), env.unreadable)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_values_are_kept_five_minutes_then_read_again_in_one_request(ssm: tuple[str, object]) -> None:
    stage, client = ssm
    reads: list[list[str]] = []

    def counted(names: list[str]) -> tuple[dict[str, str], list[str]]:
        reads.append(names)
        return fetch_from_ssm(names)

    clock = Monotonic()
    env = ParameterEnvironment(_named(stage), fetch=counted, monotonic=clock)
    assert env.current()["PARKPASS_WECHAT_SECRET"] == "wechat-secret-from-ssm"
    assert "PARKPASS_INVOICE_API" not in env.current()  # optional, absent: not set, and not asked for again
    client.put_parameter(  # type: ignore[attr-defined]
        Name=f"/parkpass/{stage}/wechat-secret", Value="rotated", Type="SecureString", Overwrite=True
    )
    clock.now += MAX_AGE_S - 1
    assert env.current()["PARKPASS_WECHAT_SECRET"] == "wechat-secret-from-ssm"
    assert len(reads) == 1 and len(reads[0]) == len(SETTING)
    clock.now += 1
    assert env.current()["PARKPASS_WECHAT_SECRET"] == "rotated"
    assert len(reads) == 2


def test_a_warm_container_rewires_itself_after_a_rotation(
    ssm: tuple[str, object], dynamodb: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage, client = ssm
    clock = Monotonic()
    wiring = {**_named(stage), "PARKPASS_DYNAMODB_ENDPOINT": dynamodb, "PARKPASS_TABLE_PREFIX": "test"}
    monkeypatch.setattr(parameters, "_process", ParameterEnvironment(wiring, monotonic=clock))
    services_from_env.cache_clear()
    try:
        before = services_from_env()
        session = before.tokens.issue("owner-1").access_token
        assert services_from_env() is before
        client.put_parameter(  # type: ignore[attr-defined]
            Name=f"/parkpass/{stage}/token-secret", Value="n" * 32, Type="SecureString", Overwrite=True
        )
        clock.now += MAX_AGE_S
        after = services_from_env()
        assert after is not before
        with pytest.raises(TokenInvalid):  # signed with the old secret: refused by the new one
            after.tokens.verify_access(session)
        assert after.tokens.verify_access(after.tokens.issue("owner-1").access_token) == "owner-1"
    finally:
        services_from_env.cache_clear()
