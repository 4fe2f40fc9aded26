"""Which DynamoDB a store command uses: the endpoint named, else a running local stack's, else AWS's.

`parkpass dev` serves GET /sim/info, which says where its DynamoDB is; so
`parkpass fanout-status` and the others find `make dev`'s store with no options.
A command asking for another table prefix (an AWS stage: parkpass-prod) is not
sent to the local stack.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

MAKE_DEV_API = "http://127.0.0.1:8000"
"""Where `make dev` serves."""
PROBE_TIMEOUT_S = 2.0


def default_api(environ: Mapping[str, str] = os.environ) -> str:
    """The local stack's API: PARKPASS_API (for a stack on another --port), else make dev's."""
    return environ.get("PARKPASS_API") or MAKE_DEV_API


@dataclass(frozen=True)
class LocalStack:
    api: str
    dynamodb_endpoint: str
    region: str
    table_prefix: str


@dataclass(frozen=True)
class StoreChoice:
    endpoint: str | None
    """None: AWS DynamoDB in `region`."""
    region: str
    table_prefix: str
    found: LocalStack | None
    """The local stack the store was taken from, if it was."""


def local_stack(api: str, timeout_s: float = PROBE_TIMEOUT_S) -> LocalStack | None:
    """The local stack answering at `api`, or None when nothing (or something else) answers there."""
    url = f"{api.rstrip('/')}/sim/info"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever http_proxy says
    try:
        with no_proxy.open(url, timeout=timeout_s) as answer:
            info = json.load(answer)
        return LocalStack(api, str(info["dynamodb_endpoint"]), str(info["region"]), str(info["table_prefix"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def choose_store(
    endpoint: str | None,
    region: str | None,
    table_prefix: str | None,
    api: str | None,
    *,
    default_region: str,
    default_prefix: str,
    environ: Mapping[str, str] = os.environ,
) -> StoreChoice:
    """Options first, then the environment (PARKPASS_DYNAMODB_ENDPOINT, PARKPASS_TABLE_PREFIX, AWS_REGION);
    with no endpoint, the local stack at `api` (None: look for none)."""
    endpoint = endpoint or environ.get("PARKPASS_DYNAMODB_ENDPOINT") or None
    prefix = table_prefix or environ.get("PARKPASS_TABLE_PREFIX") or None
    region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or default_region
    if endpoint is None and api is not None:
        found = local_stack(api)
        if found is not None and prefix in (None, found.table_prefix):
            return StoreChoice(found.dynamodb_endpoint, found.region, found.table_prefix, found)
    return StoreChoice(endpoint, region, prefix or default_prefix, None)
