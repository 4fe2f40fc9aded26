"""Save the local store to a file on shutdown and load it on start.

The embedded DynamoDB lives in memory; this is what lets `parkpass dev
--data-dir` restart without losing a renewal. Items are kept in DynamoDB's own
typed JSON (binary values base64-encoded), keyed by table suffix so a changed
prefix still loads. It reads whole tables, so it is for the local stack only.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from infra.dynamodb.emulator import local_client
from infra.dynamodb.tables import TABLES

FORMAT = "parkpass-snapshot/1"
FILE_NAME = "dynamodb.json"


def save(data_dir: Path, endpoint: str, region: str) -> int:
    """Write every item of every table to `data_dir`; answer how many. Atomic (write, then rename)."""
    client = local_client(endpoint, region)
    tables: dict[str, list[dict[str, Any]]] = {}
    for model in TABLES:
        pages = client.get_paginator("scan").paginate(TableName=model.Meta.table_name, ConsistentRead=True)
        tables[model.suffix] = [_encode(item) for page in pages for item in page["Items"]]
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FILE_NAME
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps({"format": FORMAT, "tables": tables}, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, target)
    return sum(len(items) for items in tables.values())


def load(data_dir: Path, endpoint: str, region: str) -> int:
    """Put every item of the snapshot in `data_dir` back; answer how many (0 when there is none)."""
    source = data_dir / FILE_NAME
    if not source.exists():
        return 0
    snapshot = json.loads(source.read_text(encoding="utf-8"))
    if snapshot.get("format") != FORMAT:
        raise ValueError(f"{source} is not a {FORMAT} file")
    client = local_client(endpoint, region)
    names = {model.suffix: model.Meta.table_name for model in TABLES}
    count = 0
    for suffix, items in snapshot["tables"].items():
        for item in items:
            client.put_item(TableName=names[suffix], Item=_decode(item))
            count += 1
    return count


def _encode(value: Any) -> Any:
    return _walk(value, lambda raw: base64.b64encode(raw).decode("ascii"))


def _decode(value: Any) -> Any:
    return _walk(value, base64.b64decode)


def _walk(value: dict[str, Any], convert: Any) -> dict[str, Any]:
    """Apply `convert` to the binary leaves of an item in DynamoDB typed JSON."""
    out: dict[str, Any] = {}
    for name, typed in value.items():
        ((kind, inner),) = typed.items()
        if kind == "B":
            inner = convert(inner)
        elif kind == "BS":
            inner = [convert(x) for x in inner]
        elif kind == "M":
            inner = _walk(inner, convert)
        elif kind == "L":
            inner = [_walk({"v": x}, convert)["v"] for x in inner]
        out[name] = {kind: inner}
    return out
