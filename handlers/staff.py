"""The office signs in: email and password, a lock after repeated failures, a signed token; and who is asking."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace

from domain.admin import LOCKOUT, MAX_FAILED_LOGINS, Permission, Role, Staff
from domain.errors import AccountLocked, Conflict, InvalidInput, LoginFailed, LotNotFound, TokenInvalid, Unauthenticated
from domain.ids import checked_id
from domain.lot import Lot
from handlers.ports import Clock, IssuedTokens, LotRepository, Passwords, SessionTokens, StaffRepository

MIN_PASSWORD = 10


def log_in_staff(
    email: str, password: str, staff: StaffRepository, passwords: Passwords, tokens: SessionTokens, clock: Clock
) -> IssuedTokens:
    """Every password check is counted first, in one conditional write, so parallel attempts check at most
    MAX_FAILED_LOGINS passwords before the lock; every refusal is on the security log."""
    now = clock.now()
    login = email.strip().lower()
    account = staff.get(login)
    if account is None:
        passwords.matches(password, DUMMY_HASH)  # as slow as a real check: no account probing
        _refused(login, "unknown account")
        raise LoginFailed()
    attempt = staff.take_login_attempt(account.email, now, MAX_FAILED_LOGINS)
    if attempt is None:
        passwords.matches(password, DUMMY_HASH)
        _refused(login, "locked")
        raise AccountLocked()
    if not passwords.matches(password, account.password_hash):
        if attempt >= MAX_FAILED_LOGINS:
            staff.record_login(replace(account, failed_logins=0, locked_until=now + LOCKOUT))
            _refused(login, "wrong password: locked")
        else:
            _refused(login, "wrong password")
        raise LoginFailed()
    if account.disabled:  # said only to whoever knows the password
        raise Unauthenticated("account_disabled")
    staff.record_login(replace(account, failed_logins=0, locked_until=None))
    return tokens.issue(account.email)


DUMMY_HASH = "scrypt$16384$8$1$AAAA$AAAA"
security = logging.getLogger("parkpass.security")


def _refused(login: str, why: str) -> None:
    """The account named by a hash (the log holds no email), and why."""
    security.warning("office login refused: account=%s reason=%s", hashlib.sha256(login.encode()).hexdigest()[:12], why)


def create_staff(
    email: str,
    password: str,
    tenant_id: str,
    role: Role,
    lot_ids: set[str],
    staff: StaffRepository,
    passwords: Passwords,
) -> Staff:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password_short", least=MIN_PASSWORD)
    account = Staff(
        email.strip().lower(),
        checked_id("tenant_id", tenant_id),
        role,
        frozenset(checked_id("lot_id", lot) for lot in lot_ids),
        passwords.hash(password),
    )
    if role is not Role.TENANT_ADMIN and not account.lot_ids:
        raise InvalidInput("staff_lots")
    if not staff.add(account):
        raise Conflict("staff_exists", email=account.email)
    return account


def signed_in(token: str, tokens: SessionTokens, staff: StaffRepository) -> Staff:
    account = staff.get(tokens.verify_access(token))
    if account is None:
        raise TokenInvalid("account_gone")
    if account.disabled:  # its tokens stop working the moment it is disabled
        raise TokenInvalid("account_disabled")
    return account


def lot_for(account: Staff, lot_id: str, lots: LotRepository, permission: Permission = Permission.VIEW) -> Lot:
    """The lot, if the account reaches it (else it does not exist for them) and may do `permission` there."""
    lot = lots.get(checked_id("lot_id", lot_id))
    if lot is None or not account.reaches(lot):
        raise LotNotFound(lot_id)
    account.require(permission)
    return lot
