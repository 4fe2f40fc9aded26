"""Staff accounts in DynamoDB, keyed by login email; a property company's accounts by the `by_tenant` index."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from domain.admin import Role, Staff
from infra.dynamodb.repositories import create_if_absent
from infra.dynamodb.tables import StaffItem


def _staff(i: StaffItem) -> Staff:
    return Staff(
        email=i.email,
        tenant_id=i.tenant_id,
        role=Role(i.role),
        lot_ids=frozenset(i.lot_ids or ()),
        password_hash=i.password_hash,
        disabled=bool(i.disabled),
        revision=int(i.revision or 0),
        session_epoch=int(i.session_epoch or 0),
    )


class DynamoStaffRepository:
    def get(self, email: str) -> Staff | None:
        try:
            return _staff(StaffItem.get(email, consistent_read=True))
        except StaffItem.DoesNotExist:
            return None

    def add(self, staff: Staff) -> bool:
        item = StaffItem(
            email=staff.email,
            tenant_id=staff.tenant_id,
            role=staff.role.value,
            lot_ids=set(staff.lot_ids) or None,
            password_hash=staff.password_hash,
            disabled=True if staff.disabled else None,
        )
        return create_if_absent(item, StaffItem.email.does_not_exist())

    def list_for_tenant(self, tenant_id: str) -> list[Staff]:
        return [_staff(i) for i in StaffItem.by_tenant.query(tenant_id)]

    def save(self, staff: Staff, was: Staff) -> bool:
        """Role, lots, password and the disabled flag, conditional on the account's revision still being
        the one read; the revision moves on."""
        revision = StaffItem.revision
        unchanged = (revision.does_not_exist() | (revision == 0)) if was.revision == 0 else revision == was.revision
        try:
            StaffItem(email=staff.email).update(
                actions=[
                    StaffItem.role.set(staff.role.value),
                    StaffItem.password_hash.set(staff.password_hash),
                    StaffItem.disabled.set(True) if staff.disabled else StaffItem.disabled.remove(),
                    StaffItem.lot_ids.set(set(staff.lot_ids)) if staff.lot_ids else StaffItem.lot_ids.remove(),
                    revision.set(was.revision + 1),
                    *([StaffItem.session_epoch.add(1)] if staff.session_epoch != was.session_epoch else []),
                ],
                condition=StaffItem.email.exists() & unchanged,
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def end_sessions(self, email: str) -> None:
        """ADD, not a set over a read: a concurrent save or logout never undoes it."""
        StaffItem(email=email).update(actions=[StaffItem.session_epoch.add(1)], condition=StaffItem.email.exists())
