"""The property office's people: who may do what, at which lots.

A property company (tenant) owns lots. A `tenant_admin` reaches all its lots
and manages staff; a `lot_manager` runs its own lots (settings, packages,
approvals, fixes, refunds, imports, reports); a `cashier` looks cards up and
takes cash at its lots. A lot outside someone's scope does not exist for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import Forbidden, InvalidInput
from domain.lot import Lot

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


class Role(StrEnum):
    TENANT_ADMIN = "tenant_admin"
    LOT_MANAGER = "lot_manager"
    CASHIER = "cashier"
    COLLECTOR = "collector"
    """Visits homes (上门收费): their own evening's route, cash and QR codes at the door, nothing else."""


class Permission(StrEnum):
    VIEW = "view"
    """Look cards, orders and receipts up."""
    CASH = "cash"
    """Take an offline payment."""
    MANAGE = "manage"
    """Lot settings, packages, approvals, fixes, refunds, imports, reports."""
    CREATE_LOTS = "create_lots"
    STAFF = "staff"
    COLLECT = "collect"
    """Work the door-to-door visits given to oneself."""


GRANTS = {
    Role.TENANT_ADMIN: frozenset(Permission),
    Role.LOT_MANAGER: frozenset({Permission.VIEW, Permission.CASH, Permission.MANAGE}),
    Role.CASHIER: frozenset({Permission.VIEW, Permission.CASH}),
    Role.COLLECTOR: frozenset({Permission.COLLECT}),
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
    disabled: bool = False
    """A disabled account cannot log in, and its tokens stop working at once (every request reads it)."""
    revision: int = 0
    """Moves with each change of role, lots, password or `disabled`: a change is saved only over the one read."""
    session_epoch: int = 0
    """Tokens carry the epoch they were issued under; a logout, a new password or disabling moves it on, which
    ends every session of the account at no extra read (every office request reads the account anyway)."""

    def __post_init__(self) -> None:
        if not _EMAIL.fullmatch(self.email) or self.email != self.email.lower():
            raise InvalidInput("staff_email")

    def reaches(self, lot: Lot) -> bool:
        return lot.tenant_id == self.tenant_id and (self.role is Role.TENANT_ADMIN or lot.id in self.lot_ids)

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden("forbidden", role=self.role.value)

    def sees_tax_ids(self) -> bool:
        """Buyers' tax ids (税号) are for whoever issues invoices: issuing and refusing one needs MANAGE (lot
        managers, tenant admins). A cashier sees the invoice queue without them."""
        return Permission.MANAGE in GRANTS[self.role]
