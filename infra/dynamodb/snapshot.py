"""Keep the local store on disk: loaded on start, written soon after every change and on a clean stop.

The embedded DynamoDB lives in memory; this is what lets `parkpass dev
--data-dir` restart, even after a crash, without losing a renewal. Items are
kept in DynamoDB's own typed JSON (binary values base64-encoded), keyed by
table suffix so a changed prefix still loads. It reads whole tables, so it is
for the local stack only.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from infra.dynamodb.embedded import EmbeddedDynamoDB
from infra.dynamodb.emulator import local_client
from infra.dynamodb.tables import TABLES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("parkpass.snapshot")

FORMAT = "parkpass-snapshot/1"
FILE_NAME = "dynamodb.json"
SAVE_WITHIN_S = 2.0
"""A change is on disk at most this long after it happened: what a crash of `parkpass dev --data-dir` can lose."""
SETTLE_S = 0.5
"""How long a change waits for the requests that follow it (a payment is several), so that they share one save.
A save takes milliseconds (a tenth of a second for 5,000 cards), so a change is on disk well inside SAVE_WITHIN_S."""
_READS = ("Get", "BatchGet", "TransactGet", "Query", "Scan", "Describe", "List")
Tables = dict[str, list[dict[str, Any]]]


def save(data_dir: Path, endpoint: str, region: str) -> int:
    """Write every item of every table to `data_dir`; answer how many.

    It reads table by table over HTTP, so it is consistent only for a store that nothing writes to meanwhile;
    a running stack saves through KeptDynamoDB instead.
    """
    client = local_client(endpoint, region)
    tables: Tables = {}
    for suffix, name in _table_names().items():
        pages = client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
        tables[suffix] = [_encode(item) for page in pages for item in page["Items"]]
    return write(data_dir, tables)


def write(data_dir: Path, tables: Tables) -> int:
    """Replace the snapshot in `data_dir` with `tables`; answer how many items.

    The new snapshot is written whole to a file of its own and flushed to disk before it is renamed over the
    old one, so a crash at any moment (of the stack or of the machine) leaves one complete snapshot, the old
    or the new, never half of one.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FILE_NAME
    partial = data_dir / f".{FILE_NAME}.{uuid.uuid4().hex}.tmp"  # two writers never share one
    body = json.dumps({"format": FORMAT, "tables": tables}, ensure_ascii=False).encode("utf-8")
    try:
        with partial.open("wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _sync_folder(data_dir)
    return sum(len(items) for items in tables.values())


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a folder's entries are flushed apart from the files in it)."""
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows: a folder cannot be opened, and NTFS journals the rename
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(data_dir: Path, endpoint: str, region: str) -> int:
    """Put every item of the snapshot in `data_dir` back; answer how many (0 when there is none)."""
    source = data_dir / FILE_NAME
    if not source.exists():
        return 0
    snapshot = json.loads(source.read_text(encoding="utf-8"))
    if snapshot.get("format") != FORMAT:
        raise ValueError(f"{source} is not a {FORMAT} file")
    client = local_client(endpoint, region)
    names = _table_names()
    count = 0
    for suffix, items in snapshot["tables"].items():
        for item in items:
            client.put_item(TableName=names[suffix], Item=_decode(item))
            count += 1
    return count


class KeptDynamoDB(EmbeddedDynamoDB):
    """The embedded store, kept in `data_dir`: written at most SAVE_WITHIN_S after each change, and on stop.

    Every request passes one lock here (the store serves one at a time anyway), so between two requests the
    saver copies all tables as of one moment: a payment's transaction is in the file whole or not at all, never
    the paid order without its card. Only the copy holds the lock; encoding and writing the file keep no request
    waiting. Only writes mark the store changed, whoever sends them (the stack, or a CLI command in another
    process), so an idle stack writes nothing.
    """

    def __init__(self, data_dir: Path, region: str, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.data_dir, self._region = data_dir, region
        self._store: WSGIApplication | None = None
        self._one_at_a_time = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._saving = threading.Lock()
        self._saver: threading.Thread | None = None
        self.saves = 0
        """How many times the file was written."""

    def start(self) -> str:
        endpoint = super().start()
        assert self._server is not None
        self._store = self._server.app
        self._server.app = self._serve
        return endpoint

    def load(self) -> int:
        """Put the saved items back, then keep the file current; answer how many items came back."""
        loaded = load(self.data_dir, self.endpoint, self._region)
        # Only now: a snapshot that failed to load is never overwritten by what little the store holds.
        self._saver = threading.Thread(target=self._keep_saving, name="snapshot", daemon=True)
        self._saver.start()
        return loaded

    def save(self) -> int:
        """Write the store as it is now; answer how many items."""
        with self._saving:
            with self._one_at_a_time:
                self._changed.clear()  # a write from here on is in the next save
                tables = self._read_all()
            saved = write(self.data_dir, tables)
            self.saves += 1
            return saved

    def stop(self) -> None:
        try:
            if self._saver is not None:
                self._stopping.set()
                self._changed.set()
                self._saver.join()
                self._saver = None
                log.info("saved %d items to %s", self.save(), self.data_dir)
        finally:
            super().stop()

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self._store is not None
        with self._one_at_a_time:
            # Read the whole answer inside the lock: the work happens while it is produced.
            answer = list(self._store(environ, start_response))
            if _writes(environ):
                self._changed.set()
        return answer

    def _keep_saving(self) -> None:
        while True:
            self._changed.wait()
            if self._stopping.wait(SETTLE_S):
                return  # stop() saves once more itself
            started = time.monotonic()
            try:
                self.save()
            except Exception:
                log.exception("saving the store to %s failed; trying again", self.data_dir)
                self._changed.set()
                if self._stopping.wait(SAVE_WITHIN_S):
                    return
                continue
            took = time.monotonic() - started
            if took > SAVE_WITHIN_S - SETTLE_S:
                log.warning("saving the store took %.1f s: a crash may lose more than %.0f s", took, SAVE_WITHIN_S)

    def _read_all(self) -> Tables:
        # Not through a Scan: moto's serializer takes seconds for a few thousand items, with every request
        # waiting; a copy of its tables in this process takes a few tens of milliseconds.
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self._region]
        return {
            suffix: [
                {name: _typed(value) for name, value in item.attrs.items()} for item in _items(backend.get_table(table))
            ]
            for suffix, table in _table_names().items()
        }


def _items(table: Table) -> Iterator[Item]:
    """Every item of one of moto's tables, in no order (its `all_items` sorts them: most of the time taken)."""
    stored: Any  # an item, or with a range key the items under one hash key
    for stored in list(table.items.values()):
        yield from (list(stored.values()) if table.range_key_attr else [stored])


def _typed(value: DynamoType) -> dict[str, Any]:
    """A copy of one of moto's values in DynamoDB's typed JSON, binary values base64-encoded (as on the wire)."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {kind: {name: _typed(v) for name, v in inner.items()}}
    if kind == "L":
        return {kind: [_typed(v) for v in inner]}
    if kind == "B":
        return {kind: _base64(inner)}
    if kind == "BS":
        return {kind: [_base64(v) for v in inner]}
    if kind in ("SS", "NS"):
        return {kind: list(inner)}
    return {kind: inner}


def _base64(raw: bytes | str) -> str:
    """moto keeps a binary value as the base64 text it was sent as, or as bytes after some operations."""
    return base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw


def _table_names() -> dict[str, str]:
    """Each table's name by its suffix, as the models are bound now (the stack's prefix)."""
    return {model.suffix: model.Meta.table_name for model in TABLES}  # type: ignore[attr-defined]  # set by bind()


def _writes(environ: WSGIEnvironment) -> bool:
    """Whether a request may change the store: a DynamoDB request but a read (DynamoDB's and its streams'). The
    same server is the work queue's SQS, which the snapshot does not keep: its polls change nothing saved."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    service, _, operation = target.partition(".")
    if target and not service.startswith("DynamoDB"):
        return False
    return not (service.startswith("DynamoDB") and operation.startswith(_READS))


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
