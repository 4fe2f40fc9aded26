"""Lambda's event source mapping for a DynamoDB stream, on the local stack.

Reads the table's stream through the DynamoDB Streams API (the embedded
emulator's, or DynamoDB Local's) and hands each batch of records to the
handler as Lambda would (`{"Records": [...]}`); a partial batch response
(`batchItemFailures`) makes it read again from the lowest sequence number
named, after a pause, like Lambda's retry. It reads shortly after it is woken
(the local stack wakes it after every commit with gate events), `lag_s` later
as Lambda polls a shard about four times a second, and at least every `idle_s`
otherwise, like Lambda's polling of a shard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from infra.dynamodb.emulator import is_emulator, local_client

log = logging.getLogger("parkpass.stream")

Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
RETRY_MOST_S = 8.0


class StreamMissing(RuntimeError):
    pass


def _client(endpoint: str, region: str, service: str) -> Any:
    """An emulator's client with throwaway credentials; anything else (AWS itself) with the caller's own."""
    if is_emulator(endpoint):
        return local_client(endpoint, region, service)
    return botocore.session.get_session().create_client(service, region_name=region, endpoint_url=endpoint)


@dataclass
class _Shard:
    id: str
    iterator: str | None


class LocalStreamSource:
    def __init__(
        self,
        endpoint: str,
        region: str,
        table_name: str,
        handler: Handler,
        batch_size: int = 100,
        idle_s: float = 1.0,
        retry_s: float = 1.0,
        lag_s: float = 0.25,
        thread_name: str = "fanout",
    ) -> None:
        self._dynamodb = _client(endpoint, region, "dynamodb")
        self._streams = _client(endpoint, region, "dynamodbstreams")
        self._emulator = is_emulator(endpoint)
        self._table, self._handler = table_name, handler
        self._batch, self._idle_s, self._retry_s, self._lag_s = batch_size, idle_s, retry_s, lag_s
        self._thread_name = thread_name
        self._arn = ""
        self._shards: dict[str, _Shard] = {}
        self._reading = threading.Lock()
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0
        """Records handed to the handler and not asked for again."""

    def start(self) -> LocalStreamSource:
        """Read in a thread from where `open` put us (opened now if it was not)."""
        if not self._arn:
            self.open()
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def open(self) -> None:
        """Start reading at the stream's current end (what the table held before, such as a loaded snapshot, is
        not news); records come when `drain` is called, or from `start` on."""
        table = self._dynamodb.describe_table(TableName=self._table)["Table"]
        if not table.get("StreamSpecification", {}).get("StreamEnabled"):
            if not self._emulator:  # someone's real table: say what it needs, change nothing
                raise StreamMissing(f"{self._table} has no stream: enable one (NEW_IMAGE) or deploy serverless.yml")
            # An emulator's table made before the stream was.
            spec = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            table = self._dynamodb.update_table(TableName=self._table, StreamSpecification=spec)["TableDescription"]
        self._arn = table["LatestStreamArn"]
        self._shards = {shard: _Shard(shard, self._iterator(shard, "LATEST")) for shard in self._open_shards()}

    def wake(self) -> None:
        """Something was committed: read now rather than at the next poll."""
        self._woken.set()

    def drain(self) -> bool:
        """Read and hand over what is there now, in this thread; False when the handler asked for records again
        (they are read again by the next call)."""
        with self._reading:
            ok = True
            for shard in list(self._shards.values()):
                while shard.iterator is not None:
                    got = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._batch)
                    records = got.get("Records", [])
                    if not records:
                        shard.iterator = got.get("NextShardIterator")
                        break
                    again = self._handed(records)
                    if again is not None:
                        shard.iterator = self._iterator(shard.id, "AT_SEQUENCE_NUMBER", again)
                        ok = False
                        break
                    shard.iterator = got.get("NextShardIterator")
                if shard.iterator is None:  # the shard closed (DynamoDB Local rolls them): go on with its children
                    del self._shards[shard.id]
                    for child in self._open_shards():
                        self._shards.setdefault(child, _Shard(child, self._iterator(child, "TRIM_HORIZON")))
            return ok

    def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(5)

    def _handed(self, records: list[dict[str, Any]]) -> str | None:
        """Give the batch to the handler; the lowest sequence number to read again from, or None."""
        answer = self._handler({"Records": records}) or {}
        failures = [str(f["itemIdentifier"]) for f in answer.get("batchItemFailures", [])]
        if not failures:
            self.delivered += len(records)
            return None
        lowest = min(failures, key=int)
        self.delivered += sum(1 for r in records if int(r["dynamodb"]["SequenceNumber"]) < int(lowest))
        return lowest

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            if self._woken.wait(self._idle_s):
                # Lambda reads a shard a few times a second, never at the commit's instant: neither does this
                # (and the request that committed finishes its own work first).
                self._stopping.wait(self._lag_s)
            self._woken.clear()
            if self._stopping.is_set():
                return
            try:
                if self.drain():
                    failures = 0
                else:
                    # The retry, sooner at first, then at most every RETRY_MOST_S (a broker that is away for
                    # long is not asked, nor logged about, every second).
                    failures += 1
                    self._stopping.wait(min(self._retry_s * 2 ** (failures - 1), RETRY_MOST_S))
                    self._woken.set()
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in (
                    "ExpiredIteratorException",
                    "TrimmedDataAccessException",
                ):
                    log.exception("reading the stream failed; trying again")
                    self._stopping.wait(self._retry_s)
                    continue
                # Iterators live 15 minutes (a laptop that slept): read on from now; gates fetch what was
                # missed at their next sync.
                log.warning("the stream's place was lost (%s); reading on from now", e.response["Error"]["Code"])
                with self._reading:
                    self.open()
            except Exception:
                log.exception("reading the stream failed; trying again")
                self._stopping.wait(self._retry_s)

    def _open_shards(self) -> list[str]:
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        return [s["ShardId"] for s in shards if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})]

    def _iterator(self, shard: str, kind: str, sequence: str | None = None) -> str:
        extra = {"SequenceNumber": sequence} if sequence is not None else {}
        answer = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard, ShardIteratorType=kind, **extra)
        return str(answer["ShardIterator"])
