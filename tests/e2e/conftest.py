from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from functions.dev_stack import DevStack, DevStackOptions
from tests.e2e.api_client import ApiClient

_stacks = itertools.count()


@pytest.fixture
def local_stack(moto_server: str) -> Iterator[DevStack]:
    """The whole local stack in this process, on a free port, with demo data, on tables of its own.

    moto keeps one in-memory store per process, so each stack gets its own
    table prefix rather than its own server.
    """
    stack = DevStack(
        DevStackOptions(port=0, dynamodb_endpoint=moto_server, table_prefix=f"e2e{next(_stacks)}", sweep_every_s=None)
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def api(local_stack: DevStack) -> ApiClient:
    return ApiClient(local_stack.api_url)
