"""Counts DynamoDB requests made through pynamodb, for cost budgets in tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from pynamodb.signals import pre_dynamodb_send


class DynamoRequestCounter:
    """Inside `with DynamoRequestCounter() as c:`, c.total and c.by_operation count requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_operation: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def _on_send(self, _sender: Any, operation_name: str, **_: Any) -> None:
        with self._lock:
            self.by_operation[operation_name] += 1

    def __enter__(self) -> DynamoRequestCounter:
        pre_dynamodb_send.connect(self._on_send, weak=False)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pre_dynamodb_send.disconnect(self._on_send)
