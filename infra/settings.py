"""Configuration from the environment, read once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_REGION = "cn-north-1"


@dataclass(frozen=True)
class Settings:
    table_prefix: str = "parkpass"
    region: str = DEFAULT_REGION
    dynamodb_endpoint: str | None = None
    """None means the region's real DynamoDB endpoint."""
    local: bool = False
    """Local stack: mounts the simulators and the /sim routes. Never set on AWS."""

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            table_prefix=os.environ.get("PARKPASS_TABLE_PREFIX", "parkpass"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            dynamodb_endpoint=os.environ.get("PARKPASS_DYNAMODB_ENDPOINT") or None,
            local=os.environ.get("PARKPASS_LOCAL", "") == "1",
        )
