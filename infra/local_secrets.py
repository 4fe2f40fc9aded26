"""Secrets of the local stack: made on first run, kept beside the data so a restart can still decrypt it."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from infra.settings import Secrets

FILE_NAME = "secrets.json"
SIM_APPID = "wx00000000parkpass"


def local_secrets(data_dir: Path | None) -> Secrets:
    """Load `data_dir/secrets.json`, or make new secrets (and write them there when there is a data dir)."""
    path = data_dir / FILE_NAME if data_dir is not None else None
    if path is not None and path.exists():
        raw = json.loads(path.read_text())
        return Secrets(
            token_secret=base64.b64decode(raw["token_secret"]),
            data_key=base64.b64decode(raw["data_key"]),
            wechat_appid=raw["wechat_appid"],
            wechat_secret=raw["wechat_secret"],
        )
    made = Secrets(secrets.token_bytes(32), secrets.token_bytes(32), SIM_APPID, secrets.token_hex(16))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = {
            "token_secret": base64.b64encode(made.token_secret).decode(),
            "data_key": base64.b64encode(made.data_key).decode(),
            "wechat_appid": made.wechat_appid,
            "wechat_secret": made.wechat_secret,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(raw, f)
    return made
