"""Configuration from the environment, read once per container."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

DEFAULT_REGION = "cn-north-1"
WECHAT_API_BASE = "https://api.weixin.qq.com/"


class MissingSettings(RuntimeError):
    pass


@dataclass(frozen=True)
class Secrets:
    token_secret: bytes
    """Signs our session tokens."""
    data_key: bytes = field(repr=False)
    """AES-256 key for personal data at rest (phone numbers, session keys)."""
    wechat_appid: str
    wechat_secret: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    table_prefix: str = "parkpass"
    region: str = DEFAULT_REGION
    dynamodb_endpoint: str | None = None
    """None means the region's real DynamoDB endpoint."""
    local: bool = False
    """Local stack: mounts the simulators and the /sim routes. Never set on AWS."""
    wechat_api_base: str = WECHAT_API_BASE

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            table_prefix=os.environ.get("PARKPASS_TABLE_PREFIX", "parkpass"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            dynamodb_endpoint=os.environ.get("PARKPASS_DYNAMODB_ENDPOINT") or None,
            local=os.environ.get("PARKPASS_LOCAL", "") == "1",
            wechat_api_base=os.environ.get("PARKPASS_WECHAT_API_BASE", WECHAT_API_BASE),
        )


def secrets_from_env() -> Secrets:
    """The secrets, from the environment (on AWS, filled from SSM Parameter Store by the deployment)."""
    names = ("PARKPASS_TOKEN_SECRET", "PARKPASS_DATA_KEY", "PARKPASS_WECHAT_APPID", "PARKPASS_WECHAT_SECRET")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise MissingSettings("set " + ", ".join(missing))
    data_key = base64.b64decode(os.environ["PARKPASS_DATA_KEY"])
    if len(data_key) != 32:
        raise MissingSettings("PARKPASS_DATA_KEY must be 32 bytes, base64-encoded")
    return Secrets(
        token_secret=os.environ["PARKPASS_TOKEN_SECRET"].encode(),
        data_key=data_key,
        wechat_appid=os.environ["PARKPASS_WECHAT_APPID"],
        wechat_secret=os.environ["PARKPASS_WECHAT_SECRET"],
    )
