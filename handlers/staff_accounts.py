"""A property company's administrators manage its office accounts: list, create, disable and enable,
reset a password, change a role and its lots. Every change is audited (`staff:<email>`), once per form.

An account of another company does not exist here (404); a lot manager or cashier may not manage
accounts (403). An administrator cannot disable or demote themselves: the company would be left with
no one to undo it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from domain.admin import Permission, Role, Staff
from domain.card_change import AuditEntry
from domain.credentials import check_password
from domain.errors import Conflict, InvalidInput, NotFound
from handlers.admin_lots import office_entry
from handlers.office_keys import FormKey, done_before, record_once
from handlers.ports import Audit, Clock, LoginTries, LotRepository, Passwords, StaffRepository, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.staff import create_staff, forget_login_tries, lot_for


def list_staff(account: Staff, staff: StaffRepository) -> list[Staff]:
    account.require(Permission.STAFF)
    return staff.list_for_tenant(account.tenant_id)


def add_staff(
    account: Staff,
    email: str,
    password: str,
    role: Role,
    lot_ids: set[str],
    key: FormKey | None,
    *,
    staff: StaffRepository,
    passwords: Passwords,
    lots: LotRepository,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> Staff:
    """A new account of the administrator's company. The same form sent again answers the account it made."""
    account.require(Permission.STAFF)
    for lot_id in lot_ids:
        lot_for(account, lot_id, lots)  # only lots of this property company
    wanted = email.strip().lower()
    if done_before(key, uow) is not None:
        return _colleague(account, wanted, staff)
    try:
        made = create_staff(wanted, password, account.tenant_id, role, lot_ids, staff, passwords)
    except Conflict:
        same = staff.get(wanted)
        if (
            same is None
            or (same.tenant_id, same.role, same.lot_ids) != (account.tenant_id, role, frozenset(lot_ids))
            or not passwords.matches(password, same.password_hash)
        ):
            raise
        return same  # the same account asked for twice at once: the other request made it
    _audit(account, made.email, "create_staff", None, None, shown(made), key, uow, audit, clock)
    return made


def set_disabled(
    account: Staff,
    email: str,
    disabled: bool,
    key: FormKey | None,
    *,
    staff: StaffRepository,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> Staff:
    """Disable an account (it cannot log in, and its sessions end) or enable it again."""
    if email.strip().lower() == account.email:
        raise InvalidInput("staff_self")
    action = "disable_staff" if disabled else "enable_staff"

    def switched(s: Staff) -> Staff:
        if s.disabled == disabled:
            return s  # so already (the same form, sent twice)
        # Disabling also ends its sessions, so enabling it again later does not bring old tokens back.
        return replace(s, disabled=disabled, session_epoch=s.session_epoch + 1 if disabled else s.session_epoch)

    return _change(account, email, switched, action, key, staff, uow, audit, clock)


def reset_password(
    account: Staff,
    email: str,
    password: str,
    key: FormKey | None,
    *,
    staff: StaffRepository,
    passwords: Passwords,
    tries: LoginTries,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> Staff:
    """Give an account a new password (its sessions end); the account's login tries from everywhere start again."""
    check_password(password, email)

    def new_password(s: Staff) -> Staff:
        if passwords.matches(password, s.password_hash):
            return s  # set already (the same form, sent twice)
        return replace(s, password_hash=passwords.hash(password), session_epoch=s.session_epoch + 1)  # signed out

    done = _change(account, email, new_password, "reset_password", key, staff, uow, audit, clock)
    forget_login_tries(done.email, tries)
    return done


def change_role(
    account: Staff,
    email: str,
    role: Role,
    lot_ids: set[str],
    key: FormKey | None,
    *,
    staff: StaffRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> Staff:
    """A new role and the lots it works at (a lot manager or cashier needs at least one)."""
    if email.strip().lower() == account.email:
        raise InvalidInput("staff_self")
    for lot_id in lot_ids:
        lot_for(account, lot_id, lots)
    if role is not Role.TENANT_ADMIN and not lot_ids:
        raise InvalidInput("staff_lots")
    lots_now = frozenset() if role is Role.TENANT_ADMIN else frozenset(lot_ids)
    return _change(
        account, email, lambda s: replace(s, role=role, lot_ids=lots_now), "change_role", key, staff, uow, audit, clock
    )


def shown(s: Staff) -> dict[str, Any]:
    """An account as its audit entries keep it: never its password."""
    return {"role": s.role.value, "lots": sorted(s.lot_ids), "disabled": s.disabled}


def _colleague(account: Staff, email: str, staff: StaffRepository) -> Staff:
    """An account of the same company; one of another company does not exist here."""
    found = staff.get(email.strip().lower())
    if found is None or found.tenant_id != account.tenant_id:
        raise NotFound("staff_not_found", email=email)
    account.require(Permission.STAFF)
    return found


def _change(
    account: Staff,
    email: str,
    change: Callable[[Staff], Staff],
    action: str,
    key: FormKey | None,
    staff: StaffRepository,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> Staff:
    """Change a colleague's account over the revision read (a concurrent change: read again), audited once."""
    for attempt in range(MAX_ATTEMPTS):
        before = _colleague(account, email, staff)
        if done_before(key, uow) is not None:
            return _colleague(account, email, staff)  # read again: the form may have saved since our read
        after = change(before)
        if after == before:
            return before  # nothing to change: asked twice
        if not staff.save(after, before):
            wait_before_retry(attempt)
            continue
        saved = replace(after, revision=before.revision + 1)
        _audit(account, before.email, action, None, shown(before), shown(saved), key, uow, audit, clock)
        return saved
    raise Conflict("kept_changing")


def _audit(
    account: Staff,
    email: str,
    action: str,
    reason: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    key: FormKey | None,
    uow: UnitOfWork,
    audit: Audit,
    clock: Clock,
) -> None:
    at = clock.now()
    actor = f"admin:{account.email}"
    entry = AuditEntry(f"staff:{email}", office_entry(at, action), at, actor, action, reason, before, after)
    record_once(key, entry, uow, audit)
