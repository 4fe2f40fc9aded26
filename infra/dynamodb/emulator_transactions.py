"""TransactWriteItems for the embedded emulator: DynamoDB's semantics without copying whole tables.

moto 5.2 backs up a transaction by deep-copying each touched table once per
item in it, so a transaction's cost grows with everything stored: a 5,000-card
import in batches of 100 items took minutes and a payment on a large lot slowed
with the lot. DynamoDB checks every condition against the state before the
transaction and then writes all items or none; this does the same, backing up
only the items it writes. The embedded server serves one request at a time
(embedded.py), so nothing interleaves with it. Only the local stack and the tests
use it; AWS runs the real thing.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

FAILED = "The conditional request failed"


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    planned: list[tuple[str, dict[str, Any], str, dict[str, Any], Any]] = []
    errors: list[tuple[str | None, str | None, Any]] = []
    seen: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException()
        op_type, op = next(iter(entry.items()))
        table_name = op["TableName"]
        key = _key(self, table_name, op) if op_type == "Put" else op["Key"]
        marker = (table_name, str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(table_name, key)
        errors.append(_check(op, current))
        planned.append((op_type, op, table_name, key, current))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    backup = [(table_name, key, copy.deepcopy(current)) for _, _, table_name, key, current in planned]
    # Updates first: an update expression moto refuses fails before any Put has reached a table's stream (a
    # rollback cannot take back a stream record: the fan-out would publish an event never committed).
    planned.sort(key=lambda p: p[0] != "Update")
    try:
        for op_type, op, table_name, key, current in planned:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                if current is None and self.get_table(table_name).stream_shard is None:
                    # moto validates an update of a missing item twice (against nothing, then against the key it
                    # made): the key first, then one validation. A failure still undoes it (the backup is None).
                    # Not on a table with a stream: its readers would see the bare key inserted.
                    self.put_item(table_name, dict(key))
                self.update_item(table_name, key, op["UpdateExpression"], names, values)
    except Exception:
        for table_name, key, item in backup:
            self.delete_item(table_name, key)
            if item is not None:
                self.put_item(table_name, item.to_json()["Attributes"])
        raise


def _key(backend: DynamoDBBackend, table_name: str, op: dict[str, Any]) -> dict[str, Any]:
    table = backend.get_table(table_name)
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(op: dict[str, Any], current: Any) -> tuple[str | None, str | None, Any]:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    expr = get_filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
    if expr.expr(current):
        return (None, None, None)
    wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
    return ("ConditionalCheckFailed", FAILED, current.to_json()["Attributes"] if current and wants_old else None)


class _RecentIterators(dict[str, Any]):
    """moto keeps every shard iterator it hands out (one per GetRecords, even of nothing) for the life of the
    process; DynamoDB's expire after 15 minutes. The last few thousand are plenty for the local stream reader."""

    KEEP = 4096

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.KEEP:
            del self[next(iter(self))]


def _streams_init(self: DynamoDBStreamsBackend, region_name: str, account_id: str) -> None:
    _moto_streams_init(self, region_name, account_id)
    self.shard_iterators = _RecentIterators()


_moto_streams_init = DynamoDBStreamsBackend.__init__


def install() -> None:
    """Serve TransactWriteItems this way in this process, parse each update expression once, and forget old
    shard iterators (idempotent)."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBStreamsBackend.__init__ = _streams_init  # type: ignore[method-assign]
    if not hasattr(UpdateExpressionParser.make, "cache_info"):
        # moto parses an update expression on every update (a tenth of a payment's transaction); the validator
        # deep-copies the tree before it touches it, so one parse per expression text serves them all.
        UpdateExpressionParser.make = functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make)  # type: ignore[method-assign]
