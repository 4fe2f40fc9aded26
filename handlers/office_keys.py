"""One opened office form, one action: the idempotency key the page makes when a form opens.

A double click, a retry after a lost answer, or the same request twice at once
must do the action once. Changes of a card take the form's key in the change's
own plan (`domain.plan.once`), so the key and the change commit together; the
office's settings (lots, packages, staff) take it with their audit entry, so the
entry is written once. Before acting, a use case asks whether the key was taken:
then the action happened, and it answers what is there now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.card_change import AuditEntry
from domain.errors import InvalidInput, RecordedAlready
from domain.order import order_key_claim
from domain.plan import Claim, Plan, form_claim, once
from handlers.ports import Audit, UnitOfWork

_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class FormKey:
    actor: str
    """Who sent the form (`admin:<email>`): keys are per account."""
    key: str

    @property
    def name(self) -> str:
        return form_claim(self.actor, self.key)

    def claim(
        self, *, card_id: str | None = None, order_id: str | None = None, application_id: str | None = None
    ) -> Claim:
        return Claim(self.name, card_id=card_id, order_id=order_id, application_id=application_id)


def form_key(actor: str, key: str | None) -> FormKey | None:
    """The form's key as sent (8-64 letters, digits, - or _), or None when the client sent none."""
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidInput("idempotency_key")
    return FormKey(actor, key)


def done_before(key: FormKey | None, uow: UnitOfWork) -> Claim | None:
    """The claim of an action done under this form's key already (None: not done, or no key)."""
    return uow.claimed(key.name) if key is not None else None


def record_once(key: FormKey | None, entry: AuditEntry, uow: UnitOfWork, audit: Audit) -> bool:
    """Audit an office change; with a form's key, the entry and the key in one transaction, so a repeated
    form is audited once. False: the key was taken already (nothing written)."""
    if key is None:
        audit.record(entry)
        return True
    try:
        uow.commit(once(key.claim()) + Plan(audit=(entry,)))
    except RecordedAlready:
        return False
    return True


def order_of_key(who: str, key: str, uow: UnitOfWork) -> str | None:
    """The id of the order an idempotency key made (`who`: `owner:<id>` or `admin:<email>`), None if none."""
    claim = uow.claimed(order_key_claim(who, key))
    return claim.order_id if claim is not None else None
