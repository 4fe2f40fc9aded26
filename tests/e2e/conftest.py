from __future__ import annotations

import io
import itertools
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from functions import observability
from functions.dev_stack import DevStack, DevStackOptions
from tests.e2e.api_client import ApiClient

DEMO_DAY = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
"""The day the payment and gate tests live on: the demo card ends Dec 3, ten days later."""

_stacks = itertools.count()
_started: list[DevStack] = []
"""The stacks started by the running test: their secrets must not reach a log line."""

LEAKS = {
    "phone": re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])"),
    "token": re.compile(r"eyJ[\w-]{8,}\.[\w-]+"),
    "bearer": re.compile(r"Bearer\s+\S"),
    "private key": re.compile(r"-----BEGIN"),
}
IDS = {"correlation_id", "function_request_id", "function_arn", "xray_trace_id", "timestamp"}
"""Random or time-made values: a run of digits in them is no phone number."""


@pytest.fixture(autouse=True)
def json_log_lines() -> Iterator[io.StringIO]:
    """Every parkpass JSON line of the test, checked afterwards for a phone number, a token, a key or a secret of
    the stacks it started."""
    lines = io.StringIO()
    observability.json_logs(lines)
    yield lines
    observability.json_logs(sys.stdout)
    secrets = [
        secret
        for stack in _started
        for secret in (stack.wechat.secret, *stack.wechat.session_keys, stack.wechatpay.apiv3_key)
        if secret
    ]
    _started.clear()
    assert leaks_in(lines.getvalue(), secrets) == [], "a log line holds what no log may hold"


def leaks_in(json_lines: str, secrets: list[str]) -> list[str]:
    leaks = []
    for text in json_lines.splitlines():
        line = {k: v for k, v in json.loads(text).items() if k not in IDS}
        shown = json.dumps(line, ensure_ascii=False)
        leaks += [f"{kind}: {shown[:300]}" for kind, pattern in LEAKS.items() if pattern.search(shown)]
        leaks += [f"secret: {shown[:300]}" for secret in secrets if secret in shown]
    return leaks


def start_stack(
    moto_server: str, *, clock: datetime | None = None, mqtt_url: str | None = None,
    fan_out: bool = True,
    gates_at_once: bool = True,
    run_chunk_units: int | None = None,
    sweep_every_s: float | None = None,
) -> DevStack:
    """The whole local stack in this process, on a free port, with demo data, on tables of its own.

    moto keeps one in-memory store per process, so each stack gets its own table
    prefix rather than its own server. The store is emptied first, so the run's
    memory does not grow with every stack it starts. The scheduled sweep is off: tests run it
    themselves, so it never races them.
    """
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    options = DevStackOptions(
        port=0,
        dynamodb_endpoint=moto_server,
        sqs_endpoint=moto_server,  # moto's server is SQS too
        table_prefix=f"e2e{next(_stacks)}",
        clock=clock,
        sweep_every_s=sweep_every_s,
        mqtt_url=mqtt_url,
        fan_out=fan_out,
        gates_at_once=gates_at_once,
        run_chunk_units=run_chunk_units,
    )
    stack = DevStack(options).start()
    _started.append(stack)
    return stack


@pytest.fixture
def local_stack(moto_server: str) -> Iterator[DevStack]:
    """A local stack whose clock starts at the real time."""
    stack = start_stack(moto_server)
    yield stack
    stack.stop()


@pytest.fixture
def stack(moto_server: str) -> Iterator[DevStack]:
    """A local stack whose clock starts on DEMO_DAY, so dates in assertions are fixed."""
    stack = start_stack(moto_server, clock=DEMO_DAY)
    yield stack
    stack.stop()


@pytest.fixture
def api(local_stack: DevStack) -> ApiClient:
    return ApiClient(local_stack.api_url)
