"""Identifier shapes. An id that cannot exist is refused before any lookup."""

from __future__ import annotations

import re

from domain.errors import InvalidId

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


BILL_ORDER_PREFIX = "bo-"
"""A bill order's id (its out_trade_no) starts so: a payment notification, a receipt and an invoice know it by
that, with nothing more to read."""


def is_bill_order(order_id: str) -> bool:
    return order_id.startswith(BILL_ORDER_PREFIX)


VISIT_ORDER_PREFIX = "vo-"
"""A visit order's id (its out_trade_no) starts so."""


def is_visit_order(order_id: str) -> bool:
    return order_id.startswith(VISIT_ORDER_PREFIX)


def ledger_lot(community_id: str) -> str:
    """Where a community's money sits in the ledger (its `lot_id`): never one of the lots' own ids."""
    return f"community:{community_id}"


def checked_id(kind: str, value: str) -> str:
    """Return `value` if it has the shape of an id, else raise InvalidId naming `kind`."""
    if not _ID.fullmatch(value):
        raise InvalidId("invalid_id", kind=kind)
    return value
