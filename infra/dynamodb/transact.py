"""A DynamoDB transaction whose items carry names, so a cancelled one says which condition failed.

DynamoDB answers a cancellation with one reason per item in the order sent, and
pynamodb sends condition checks, then deletes, then puts, then updates; this
keeps that bookkeeping in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from infra.dynamodb.tables import transaction_connection

_ORDER = ("check", "delete", "put", "update")


def conflicted(error: TransactWriteError) -> bool:
    """DynamoDB cancelled the transaction because another one touched the same items: try again."""
    reasons = error.cancellation_reasons or []
    return error.cause_response_code == "TransactionCanceledException" and any(
        reason is not None and reason.code == "TransactionConflict" for reason in reasons
    )


def failed_items(error: TransactWriteError) -> set[int]:
    """Indexes of the transaction's items whose condition failed (puts keep their call order)."""
    if error.cause_response_code != "TransactionCanceledException":
        return set()
    reasons = error.cancellation_reasons or []
    return {i for i, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"}


class ConditionsFailed(Exception):
    def __init__(self, names: set[str]) -> None:
        super().__init__(", ".join(sorted(names)))
        self.names = names


class Conflicted(Exception):
    """Another transaction touched the same items at the same moment: read again and retry."""


class NamedWrite:
    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {kind: [] for kind in _ORDER}

    def check(self, name: str, model: type[Model], key: Any, condition: Condition) -> None:
        self._ops["check"].append((name, lambda tx: tx.condition_check(model, key, condition=condition)))

    def delete(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._ops["delete"].append((name, lambda tx: tx.delete(item, condition=condition)))

    def put(self, name: str, item: Model, condition: Condition | None = None) -> None:
        self._ops["put"].append((name, lambda tx: tx.save(item, condition=condition)))

    def update(self, name: str, item: Model, actions: list[Action], condition: Condition | None = None) -> None:
        self._ops["update"].append((name, lambda tx: tx.update(item, actions=actions, condition=condition)))

    def commit(self) -> None:
        """All or nothing; ConditionsFailed names the items whose condition failed."""
        names = [name for kind in _ORDER for name, _ in self._ops[kind]]
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                for kind in _ORDER:
                    for _, op in self._ops[kind]:
                        op(tx)
        except TransactWriteError as e:
            failed = failed_items(e)
            if failed:
                raise ConditionsFailed({names[i] for i in failed}) from e
            if conflicted(e):
                raise Conflicted() from e
            raise
