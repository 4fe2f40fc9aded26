"""The office signs in: email and password, tries slowed per account, address and company; and who is asking."""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import datetime

from domain.admin import Permission, Role, Staff
from domain.credentials import check_password, new_account_email
from domain.errors import (
    EmailUnavailable,
    InvalidInput,
    LoginFailed,
    LotNotFound,
    RateLimited,
    SessionEnded,
    TokenInvalid,
    Unauthenticated,
)
from domain.ids import checked_id
from domain.login_limits import ACCOUNT, ACCOUNT_ADDRESS, ADDRESS, TENANT, Limit, Wait, give_back, take_turn
from domain.lot import Lot
from handlers.ports import Clock, IssuedTokens, LoginTries, LotRepository, Passwords, SessionTokens, StaffRepository
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


def log_in_staff(
    email: str,
    password: str,
    caller: str,
    staff: StaffRepository,
    passwords: Passwords,
    tokens: SessionTokens,
    tries: LoginTries,
    clock: Clock,
) -> IssuedTokens:
    """Every try takes its turn under each limit (domain/login_limits) before the password is checked, so
    parallel tries check no more than the limits allow; an unknown email is counted and answered exactly as
    a known one; every refusal is on the security log."""
    now = clock.now()
    login = email.strip().lower()
    who = _hashed(login)
    account = staff.get(login)
    company = f"tenant:{account.tenant_id}" if account is not None else f"nobody:{who}"  # the same work either way
    counted = {
        ACCOUNT_ADDRESS: f"login:{who}:from:{caller[:64]}",
        ADDRESS: f"login-from:{caller[:64]}",
        ACCOUNT: f"login:{who}",
        TENANT: f"login-{company}",
    }
    for limit, key in counted.items():
        _take_turn(limit, key, tries, now, caller, who)
    if account is None:
        passwords.matches(password, DUMMY_HASH)  # as slow as a real check
        _refused(caller, who, "unknown account")
        raise LoginFailed()
    if not passwords.matches(password, account.password_hash):
        _refused(caller, who, "wrong password")
        raise LoginFailed()
    if account.disabled:  # said only to whoever knows the password
        raise Unauthenticated("account_disabled")
    for limit in (ACCOUNT_ADDRESS, ACCOUNT):
        tries.forget(counted[limit])
    for limit in (ADDRESS, TENANT):
        _give_back(limit, counted[limit], tries, now)
    return tokens.issue(account.email, epoch=account.session_epoch)


def forget_login_tries(email: str, tries: LoginTries) -> None:
    """A new password set by an administrator: the account's tries from everywhere start again (those from
    one address still wait out their turn)."""
    tries.forget(f"login:{_hashed(email)}")


def _take_turn(limit: Limit, key: str, tries: LoginTries, now: datetime, caller: str, who: str) -> None:
    for attempt in range(MAX_ATTEMPTS):
        turn = take_turn(limit, tries.get(key), now)
        if isinstance(turn, Wait):
            _refused(caller, who, f"waiting ({limit.name})")
            raise RateLimited(max(1, math.ceil((turn.until - now).total_seconds())))
        if tries.take(key, turn):
            if turn.reaches_limit:
                level = logging.ERROR if limit.alerts else logging.WARNING
                reached = "office login limit reached: limit=%s caller=%s account=%s"
                security.log(level, reached, limit.name, caller[:64], who)
            return
        wait_before_retry(attempt)
    _refused(caller, who, f"busy ({limit.name})")
    raise RateLimited(1)  # many tries at this very moment: this one waits a second


def _give_back(limit: Limit, key: str, tries: LoginTries, now: datetime) -> None:
    for _ in range(3):  # best effort: a lost race leaves one try counted, which forgetting ends anyway
        turn = give_back(limit, tries.get(key), now)
        if turn is None or tries.take(key, turn):
            return


DUMMY_HASH = "scrypt$16384$8$1$AAAA$AAAA"
security = logging.getLogger("parkpass.security")


def _hashed(login: str) -> str:
    return hashlib.sha256(login.encode()).hexdigest()[:16]


def _refused(caller: str, who: str, why: str) -> None:
    """The account named by a hash (the log holds no email), and why."""
    security.warning("office login refused: caller=%s account=%s reason=%s", caller[:64], who, why)


def create_staff(
    email: str,
    password: str,
    tenant_id: str,
    role: Role,
    lot_ids: set[str],
    staff: StaffRepository,
    passwords: Passwords,
) -> Staff:
    """A new office account: a plain email address and a password the rules allow (domain.credentials). A login
    taken already answers `staff_email_unavailable`, the same whichever property company holds it."""
    login = new_account_email(email)
    check_password(password, login)
    account = Staff(
        login,
        checked_id("tenant_id", tenant_id),
        role,
        frozenset(checked_id("lot_id", lot) for lot in lot_ids),
        passwords.hash(password),
    )
    if role is not Role.TENANT_ADMIN and not account.lot_ids:
        raise InvalidInput("staff_lots")
    if not staff.add(account):
        raise EmailUnavailable()
    return account


def signed_in(token: str, tokens: SessionTokens, staff: StaffRepository) -> Staff:
    claims = tokens.access_claims(token)
    account = staff.get(claims.subject)
    if account is None:
        raise TokenInvalid("account_gone")
    if account.disabled:  # its tokens stop working the moment it is disabled
        raise TokenInvalid("account_disabled")
    if claims.epoch != account.session_epoch:  # signed out since, or a new password: read anyway, so free
        raise SessionEnded()
    return account


def log_out_staff(account: Staff, staff: StaffRepository) -> None:
    """End every session of the signed-in account (the office's tokens carry the account's session epoch)."""
    staff.end_sessions(account.email)


def lot_for(account: Staff, lot_id: str, lots: LotRepository, permission: Permission = Permission.VIEW) -> Lot:
    """The lot, if the account reaches it (else it does not exist for them) and may do `permission` there."""
    lot = lots.get(checked_id("lot_id", lot_id))
    if lot is None or not account.reaches(lot):
        raise LotNotFound(lot_id)
    account.require(permission)
    return lot
