from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.dev_stack import DevStack, DevStackOptions
from tests.e2e.api_client import ApiClient


@pytest.fixture
def local_stack() -> Iterator[DevStack]:
    """The whole local stack in this process, on free loopback ports, with demo data."""
    stack = DevStack(DevStackOptions(port=0)).start()
    yield stack
    stack.stop()


@pytest.fixture
def api(local_stack: DevStack) -> ApiClient:
    return ApiClient(local_stack.api_url)
