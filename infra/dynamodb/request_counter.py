"""Counts DynamoDB requests made through pynamodb, and the items they read and write, for cost budgets; and
notes which IAM action each needed on which table or index, for the least-privilege check of each function."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from pynamodb.signals import pre_dynamodb_send

from infra.dynamodb.tables import transaction_connection

_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


class DynamoRequestCounter:
    """Inside `with DynamoRequestCounter() as c:`, c.total and c.by_operation count requests, and
    c.items_read and c.items_written the items they touched, and c.accesses the (IAM action, table,
    index or "") each request needed.

    Items read are the items DynamoDB looked at: a GetItem's item if found, a
    query's scanned items (before any filter, as billed), each item of a batch
    or transaction read, and each condition check of a write transaction.
    Items written count a write tried, whether or not its condition held (a
    failed conditional write is billed as well).

    Requests from threads named in `exclude_threads` (background workers such
    as the local stack's fan-out poll) are not counted.
    """

    def __init__(self, exclude_threads: frozenset[str] = frozenset()) -> None:
        self._lock = threading.Lock()
        self._exclude = exclude_threads
        self.by_operation: Counter[str] = Counter()
        self.items_read = 0
        self.items_written = 0
        self.accesses: set[tuple[str, str, str]] = set()
        self._events: Any = None

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def _counted(self) -> bool:
        return threading.current_thread().name not in self._exclude

    def _on_send(self, _sender: Any, operation_name: str, **_: Any) -> None:
        if self._counted():
            with self._lock:
                self.by_operation[operation_name] += 1

    def _on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["parkpass_params"] = params  # the same call's after-call sees the request too
        if self._counted():
            with self._lock:
                self.accesses.update(_accesses(model.name, params))

    def _on_answer(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self._counted():
            return
        read, written = _items(model.name, context.get("parkpass_params") or {}, parsed)
        with self._lock:
            self.items_read += read
            self.items_written += written

    def __enter__(self) -> DynamoRequestCounter:
        pre_dynamodb_send.connect(self._on_send, weak=False)
        self._events = transaction_connection().client.meta.events  # the one client every table shares
        self._events.register("before-parameter-build.dynamodb", self._on_params, unique_id="parkpass-count-params")
        self._events.register("after-call.dynamodb", self._on_answer, unique_id="parkpass-count-answer")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pre_dynamodb_send.disconnect(self._on_send)
        self._events.unregister("before-parameter-build.dynamodb", unique_id="parkpass-count-params")
        self._events.unregister("after-call.dynamodb", unique_id="parkpass-count-answer")


def _items(operation: str, request: dict[str, Any], answer: dict[str, Any]) -> tuple[int, int]:
    """(items read, items written) by one call."""
    if operation in _WRITES:
        return 0, 1
    if operation == "GetItem":
        return int("Item" in answer), 0
    if operation in ("Query", "Scan"):
        return int(answer.get("ScannedCount", 0)), 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in answer.get("Responses", {}).values()), 0
    if operation == "TransactGetItems":
        return sum(1 for r in answer.get("Responses", []) if "Item" in r), 0
    if operation == "TransactWriteItems":
        actions = request.get("TransactItems", [])
        checks = sum(1 for a in actions if "ConditionCheck" in a)
        return checks, len(actions) - checks
    if operation == "BatchWriteItem":
        return 0, sum(len(items) for items in request.get("RequestItems", {}).values())
    return 0, 0


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _accesses(operation: str, request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What IAM must allow for one call: a transaction needs each item's own action, a batch its batch action."""
    if operation == "TransactWriteItems":
        return [
            (f"dynamodb:{_TRANSACT_ACTIONS[kind]}", detail["TableName"], "")
            for action in request.get("TransactItems", [])
            for kind, detail in action.items()
        ]
    if operation == "TransactGetItems":
        return [("dynamodb:GetItem", a["Get"]["TableName"], "") for a in request.get("TransactItems", [])]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table, "") for table in request.get("RequestItems", {})]
    return [(f"dynamodb:{operation}", request.get("TableName", ""), request.get("IndexName", ""))]
