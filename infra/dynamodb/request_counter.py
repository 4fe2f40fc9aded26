"""Counts DynamoDB requests made through pynamodb, for cost budgets in tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from pynamodb.signals import pre_dynamodb_send


class DynamoRequestCounter:
    """Inside `with DynamoRequestCounter() as c:`, c.total and c.by_operation count requests.

    Requests from threads named in `exclude_threads` (background workers such
    as the local stack's fan-out poll) are not counted.
    """

    def __init__(self, exclude_threads: frozenset[str] = frozenset()) -> None:
        self._lock = threading.Lock()
        self._exclude = exclude_threads
        self.by_operation: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def _on_send(self, _sender: Any, operation_name: str, **_: Any) -> None:
        if threading.current_thread().name in self._exclude:
            return
        with self._lock:
            self.by_operation[operation_name] += 1

    def __enter__(self) -> DynamoRequestCounter:
        pre_dynamodb_send.connect(self._on_send, weak=False)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pre_dynamodb_send.disconnect(self._on_send)
