"""Staff accounts in DynamoDB, keyed by login email."""

from __future__ import annotations

from datetime import datetime

from domain.admin import Role, Staff
from infra.dynamodb.repositories import create_if_absent
from infra.dynamodb.tables import StaffItem


class DynamoStaffRepository:
    def get(self, email: str) -> Staff | None:
        try:
            i = StaffItem.get(email, consistent_read=True)
        except StaffItem.DoesNotExist:
            return None
        return Staff(
            email=i.email,
            tenant_id=i.tenant_id,
            role=Role(i.role),
            lot_ids=frozenset(i.lot_ids or ()),
            password_hash=i.password_hash,
            failed_logins=int(i.failed_logins or 0),
            locked_until=datetime.fromisoformat(i.locked_until) if i.locked_until else None,
        )

    def add(self, staff: Staff) -> bool:
        item = StaffItem(
            email=staff.email,
            tenant_id=staff.tenant_id,
            role=staff.role.value,
            lot_ids=set(staff.lot_ids) or None,
            password_hash=staff.password_hash,
        )
        return create_if_absent(item, StaffItem.email.does_not_exist())

    def record_login(self, staff: Staff) -> None:
        """The failure count and lock after a login attempt."""
        StaffItem(email=staff.email).update(
            actions=[
                StaffItem.failed_logins.set(staff.failed_logins),
                StaffItem.locked_until.set(staff.locked_until.isoformat())
                if staff.locked_until
                else StaffItem.locked_until.remove(),
            ],
            condition=StaffItem.email.exists(),
        )
