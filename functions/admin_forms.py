"""The office page's forms: the idempotency key each sends, made when the form opened."""

from __future__ import annotations

from typing import Any

from flask import request

from domain.admin import Staff
from domain.card_change import AuditEntry
from domain.errors import InvalidInput
from functions.bootstrap import Services
from handlers.admin_lots import office_entry
from handlers.office_keys import FormKey, form_key, record_once


def key_of(account: Staff, key: str | None) -> FormKey | None:
    """The form's key, per account; None when the client sent none (older clients: no dedupe)."""
    return form_key(f"admin:{account.email}", key)


def optional_key() -> str | None:
    """The `idempotency_key` of a request whose body is optional (an approval says nothing else)."""
    if not request.get_data():
        return None
    from functions import admin_bodies
    from functions.http import parse_body

    return parse_body(admin_bodies.KeyBody).idempotency_key


def form_field_key() -> str | None:
    """The `idempotency_key` field of a multipart form (an invoice's PDF upload)."""
    key = request.form.get("idempotency_key")
    if key is not None and not 8 <= len(key) <= 64:
        raise InvalidInput("idempotency_key")
    return key


def record_form(
    s: Services,
    account: Staff,
    subject: str,
    action: str,
    reason: str | None,
    after: dict[str, Any],
    key: FormKey | None,
) -> None:
    """An office write's audit entry, written once per form (with its key in the same transaction)."""
    at = s.clock.now()
    entry = AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, None, after)
    record_once(key, entry, s.uow, s.audit)
