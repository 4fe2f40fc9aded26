"""Talking to a DynamoDB emulator (moto, DynamoDB Local) rather than AWS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import botocore.session

LOCAL_CREDENTIALS = ("local", "local")
"""Any credentials do for an emulator; these keep a developer's real ones away from it."""


def is_emulator(endpoint: str | None) -> bool:
    """A loopback endpoint is an emulator; AWS never is."""
    return endpoint is not None and urlsplit(endpoint).hostname in ("127.0.0.1", "localhost", "::1")


def local_client(endpoint: str, region: str, service: str = "dynamodb") -> Any:
    """A plain botocore client of DynamoDB (or `dynamodbstreams`) for an emulator endpoint (snapshots, the
    local stream source, tests)."""
    return botocore.session.get_session().create_client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=LOCAL_CREDENTIALS[0],
        aws_secret_access_key=LOCAL_CREDENTIALS[1],
    )
