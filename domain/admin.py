"""The property office's people: who may do what, at which lots.

A property company (tenant) owns lots. A `tenant_admin` reaches all its lots
and manages staff; a `lot_manager` runs its own lots (settings, packages,
approvals, fixes, refunds, imports, reports); a `cashier` looks cards up and
takes cash at its lots. A lot outside someone's scope does not exist for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import Forbidden, InvalidInput
from domain.lot import Lot

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


class Role(StrEnum):
    TENANT_ADMIN = "tenant_admin"
    LOT_MANAGER = "lot_manager"
    CASHIER = "cashier"


class Permission(StrEnum):
    VIEW = "view"
    """Look cards, orders and receipts up."""
    CASH = "cash"
    """Take an offline payment."""
    MANAGE = "manage"
    """Lot settings, packages, approvals, fixes, refunds, imports, reports."""
    CREATE_LOTS = "create_lots"
    STAFF = "staff"


GRANTS = {
    Role.TENANT_ADMIN: frozenset(Permission),
    Role.LOT_MANAGER: frozenset({Permission.VIEW, Permission.CASH, Permission.MANAGE}),
    Role.CASHIER: frozenset({Permission.VIEW, Permission.CASH}),
}


@dataclass(frozen=True)
class Staff:
    email: str
    """Also the login; one account per email."""
    tenant_id: str
    role: Role
    lot_ids: frozenset[str]
    """The lots of a manager or cashier; a tenant admin reaches every lot of the tenant."""
    password_hash: str
    failed_logins: int = 0
    locked_until: datetime | None = None
    disabled: bool = False
    """A disabled account cannot log in, and its tokens stop working at once (every request reads it)."""
    revision: int = 0
    """Moves with each change of role, lots, password or `disabled`: a change is saved only over the one read."""

    def __post_init__(self) -> None:
        if not _EMAIL.fullmatch(self.email) or self.email != self.email.lower():
            raise InvalidInput("staff_email")

    def reaches(self, lot: Lot) -> bool:
        return lot.tenant_id == self.tenant_id and (self.role is Role.TENANT_ADMIN or lot.id in self.lot_ids)

    def require(self, permission: Permission) -> None:
        if permission not in GRANTS[self.role]:
            raise Forbidden("forbidden", role=self.role.value)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until



