from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from functions.dev_stack import DevStack, DevStackOptions
from tests.e2e.api_client import ApiClient

DEMO_DAY = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
"""The day the payment and gate tests live on: the demo card ends Dec 3, ten days later."""

_stacks = itertools.count()


def start_stack(
    moto_server: str, *, clock: datetime | None = None, mqtt_url: str | None = None,
    fan_out: bool = True,
    gates_at_once: bool = True,
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
        table_prefix=f"e2e{next(_stacks)}",
        clock=clock,
        sweep_every_s=None,
        mqtt_url=mqtt_url,
        fan_out=fan_out,
        gates_at_once=gates_at_once,
    )
    return DevStack(options).start()


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
