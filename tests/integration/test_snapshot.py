"""`--data-dir`: the in-memory store written to disk and read back, item for item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from functions.bootstrap import Services
from handlers.seed_demo import seed_demo
from infra.dynamodb import snapshot
from infra.dynamodb.emulator import local_client
from infra.dynamodb.tables import TABLES, create_tables
from tests.conftest import TEST_REGION


def _client(endpoint: str) -> Any:
    return local_client(endpoint, TEST_REGION)


def _everything(endpoint: str) -> dict[str, list[dict[str, Any]]]:
    client = _client(endpoint)
    return {m.suffix: sorted(client.scan(TableName=m.Meta.table_name)["Items"], key=repr) for m in TABLES}


def test_snapshot_round_trips_every_item_including_binary_values(
    dynamodb: str, dynamo_services: Services, tmp_path: Path
) -> None:
    s = dynamo_services
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    _client(dynamodb).put_item(
        TableName="test-owners",
        Item={
            "owner_id": {"S": "owner-x"},
            "openid": {"S": "o-x"},
            "blob": {"B": b"\x00\xffcipher"},
            "nested": {"M": {"list": {"L": [{"B": b"\x01"}, {"S": "粤B12345"}]}, "set": {"BS": [b"\x02"]}}},
        },
    )
    before = _everything(dynamodb)

    count = sum(len(items) for items in before.values())
    assert count > 7  # the demo (lot, packages, owner, card, claims) and the binary-valued owner
    assert snapshot.save(tmp_path, dynamodb, TEST_REGION) == count
    requests.post(f"{dynamodb}/moto-api/reset", timeout=10).raise_for_status()
    create_tables()
    assert _everything(dynamodb) == {m.suffix: [] for m in TABLES}

    assert snapshot.load(tmp_path, dynamodb, TEST_REGION) == count
    assert _everything(dynamodb) == before


def test_loading_with_no_snapshot_yet_loads_nothing(dynamodb: str, tmp_path: Path) -> None:
    assert snapshot.load(tmp_path / "new", dynamodb, TEST_REGION) == 0


def test_a_foreign_file_is_refused(dynamodb: str, tmp_path: Path) -> None:
    (tmp_path / snapshot.FILE_NAME).write_text('{"tables": {}}')
    with pytest.raises(ValueError, match="parkpass-snapshot"):
        snapshot.load(tmp_path, dynamodb, TEST_REGION)
