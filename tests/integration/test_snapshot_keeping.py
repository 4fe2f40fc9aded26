"""`--data-dir` while the stack runs: each change on disk within seconds, whole transactions only, nothing when idle."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

from functions.bootstrap import Services
from handlers.seed_demo import seed_demo
from infra.dynamodb import snapshot
from infra.dynamodb.emulator import local_client
from infra.dynamodb.snapshot import KeptDynamoDB
from tests.conftest import TEST_REGION


@pytest.fixture
def kept(dynamodb: str, tmp_path: Path) -> Iterator[KeptDynamoDB]:
    """A kept store on the tables `dynamodb` made (moto keeps one store per process, whichever server asks)."""
    store = KeptDynamoDB(tmp_path, TEST_REGION)
    store.start()
    yield store
    store.stop()


def _client(store: KeptDynamoDB) -> Any:
    return local_client(store.endpoint, TEST_REGION)


def _on_disk(folder: Path) -> dict[str, list[dict[str, Any]]]:
    path = folder / snapshot.FILE_NAME
    return json.loads(path.read_text(encoding="utf-8"))["tables"] if path.exists() else {}


def _lot(lot_id: str) -> dict[str, Any]:
    return {"lot_id": {"S": lot_id}, "name": {"S": "演示停车场"}}


def test_a_write_is_on_disk_within_two_seconds_without_a_stop(kept: KeptDynamoDB, tmp_path: Path) -> None:
    assert kept.load() == 0
    written = time.monotonic()
    _client(kept).put_item(TableName="test-lots", Item=_lot("lot-a"))
    while _lot("lot-a") not in _on_disk(tmp_path).get("lots", []):
        assert time.monotonic() - written < snapshot.SAVE_WITHIN_S, "not on disk in time"
        time.sleep(0.02)


def test_an_idle_store_and_one_only_read_are_not_written_again(kept: KeptDynamoDB, tmp_path: Path) -> None:
    kept.load()
    client = _client(kept)
    client.put_item(TableName="test-lots", Item=_lot("lot-a"))
    deadline = time.monotonic() + snapshot.SAVE_WITHIN_S
    while kept.saves == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    from infra.work_queue import create_local_queues, sqs_client

    sqs = sqs_client("cn-north-1", kept.endpoint)  # the same server is the work queue's SQS: its polls save nothing
    queue = create_local_queues(sqs, "kept-work", 30, 10)
    for _ in range(10):
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
        client.get_item(TableName="test-lots", Key={"lot_id": {"S": "lot-a"}})
        client.scan(TableName="test-cards")
        client.query(TableName="test-lots", KeyConditionExpression="lot_id = :l", ExpressionAttributeValues={
            ":l": {"S": "lot-a"}
        })  # fmt: skip
    time.sleep(snapshot.SETTLE_S + 0.5)
    assert kept.saves == 1


def test_a_transaction_is_saved_whole_or_not_at_all(
    kept: KeptDynamoDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paid order without its extended card, say: a crash must not leave half a transaction behind."""
    put_item = DynamoDBBackend.put_item

    def slowly(backend: DynamoDBBackend, table_name: str, item: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if table_name == "test-sessions":
            time.sleep(0.01)  # a transaction's second item lands a while after its first
        return put_item(backend, table_name, item, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", slowly)
    kept.load()
    client = _client(kept)
    stop = threading.Event()

    def commit_one_after_another() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "test-lots", "Item": _lot(f"lot-{n}")}},
                    {"Put": {"TableName": "test-sessions", "Item": {"session_id": {"S": f"session-{n}"}}}},
                ]
            )

    writer = threading.Thread(target=commit_one_after_another)
    writer.start()
    try:
        seen = []
        for _ in range(20):
            kept.save()
            tables = _on_disk(tmp_path)
            lots = {item["lot_id"]["S"].removeprefix("lot-") for item in tables["lots"]}
            sessions = {item["session_id"]["S"].removeprefix("session-") for item in tables["sessions"]}
            assert lots == sessions
            seen.append(len(lots))
            time.sleep(0.005)
    finally:
        stop.set()
        writer.join()
    assert seen[-1] > seen[0]  # the saves did run while transactions committed


def test_the_kept_file_holds_what_a_save_over_http_writes_binary_values_and_all(
    kept: KeptDynamoDB, dynamo_services: Services, tmp_path: Path
) -> None:
    s = dynamo_services
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)  # tables with and without a range key
    _client(kept).put_item(
        TableName="test-owners",
        Item={
            "owner_id": {"S": "owner-x"},
            "blob": {"B": b"\x00\xffcipher"},
            "nested": {"M": {"list": {"L": [{"B": b"\x01"}, {"S": "粤B12345"}]}, "set": {"BS": [b"\x02"]}}},
            "plates": {"SS": ["粤B12345", "粤B54321"]},
            "paused": {"BOOL": False},
            "note": {"NULL": True},
        },
    )
    kept.save()
    snapshot.save(tmp_path / "http", kept.endpoint, TEST_REGION)
    by_kept, by_http = _on_disk(tmp_path), _on_disk(tmp_path / "http")
    assert sum(map(len, by_kept.values())) > 7
    assert {t: sorted(items, key=repr) for t, items in by_kept.items()} == {
        t: sorted(items, key=repr) for t, items in by_http.items()
    }


def test_a_stop_saves_what_changed_last(dynamodb: str, tmp_path: Path) -> None:
    store = KeptDynamoDB(tmp_path, TEST_REGION)
    store.start()
    store.load()
    _client(store).put_item(TableName="test-lots", Item=_lot("lot-last"))
    store.stop()  # at once: the saver is still waiting for the write's followers
    assert _lot("lot-last") in _on_disk(tmp_path)["lots"]


def test_a_snapshot_that_does_not_load_is_never_written_over(dynamodb: str, tmp_path: Path) -> None:
    foreign = '{"tables": {}}'
    (tmp_path / snapshot.FILE_NAME).write_text(foreign)
    store = KeptDynamoDB(tmp_path, TEST_REGION)
    store.start()
    try:
        with pytest.raises(ValueError, match="parkpass-snapshot"):
            store.load()
        _client(store).put_item(TableName="test-lots", Item=_lot("lot-a"))
        time.sleep(snapshot.SETTLE_S + 0.3)
    finally:
        store.stop()
    assert (tmp_path / snapshot.FILE_NAME).read_text() == foreign
