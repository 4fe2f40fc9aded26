"""The office signs in: email and password, tries slowed per account, address and company; and who is asking."""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
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
from domain.login_limits import (
    ACCOUNT,
    ACCOUNT_ADDRESS,
    ADDRESS,
    COMPANY,
    Limit,
    Tries,
    Turn,
    Wait,
    give_back,
    known,
    remember,
    take_turn,
)
from domain.lot import Lot
from handlers.ports import Clock, IssuedTokens, LoginTries, LotRepository, Passwords, SessionTokens, StaffRepository
from handlers.rate_limit import caller_key
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
    parallel tries check no more than the limits allow; a try that must wait changes no count. An unknown
    email is counted and answered exactly as a known one; every refusal is on the security log."""
    now = clock.now()
    login = email.strip().lower()
    who, address = _hashed(login), caller_key(caller)
    account = staff.get(login)
    keys = LoginKeys(
        pair=f"login:{who}:from:{address}",
        address=f"login-from:{address}",
        account=f"login:{who}",
        company=f"login-company:{_hashed(login.rpartition('@')[2])}",
        known=f"login-ok:{who}:{address}",
    )
    stored = tries.get_many(keys.all())
    limits = [(ACCOUNT_ADDRESS, keys.pair), (ADDRESS, keys.address)]
    if not known(stored.get(keys.known), now):
        limits += [(ACCOUNT, keys.account), (COMPANY, keys.company)]  # ceilings against many addresses
    _take_turns(limits, stored, tries, now, caller, who)
    if account is None:
        passwords.matches(password, DUMMY_HASH)  # as slow as a real check
        _refused(caller, who, "unknown account")
        raise LoginFailed()
    if not passwords.matches(password, account.password_hash):
        _refused(caller, who, "wrong password")
        raise LoginFailed()
    if account.disabled:  # said only to whoever knows the password
        raise Unauthenticated("account_disabled")
    tries.forget(keys.pair)
    for limit, key in limits[1:]:  # a success is not held against anyone; others' tries stay counted
        _give_back(limit, key, tries, now)
    tries.take(keys.known, remember(stored.get(keys.known), now))  # as read first: a lost race changes nothing
    return tokens.issue(account.email, epoch=account.session_epoch)


@dataclass(frozen=True)
class LoginKeys:
    pair: str
    address: str
    account: str
    company: str
    known: str

    def all(self) -> list[str]:
        return [self.pair, self.address, self.account, self.company, self.known]


def forget_login_tries(email: str, tries: LoginTries) -> None:
    """A new password set by an administrator: the account's tries from everywhere start again (those from
    one address still wait out their turn)."""
    tries.forget(f"login:{_hashed(email)}")


def _take_turns(
    limits: list[tuple[Limit, str]], stored: dict[str, Tries], tries: LoginTries, now: datetime, caller: str, who: str
) -> None:
    """Decide every limit on what was read first, so a try that must wait writes nothing; then take each turn
    over the tries read (a concurrent try: read that key again and decide again)."""
    turns = [(limit, key, take_turn(limit, stored.get(key), now)) for limit, key in limits]
    _refuse_if_waiting([(limit, turn) for limit, _, turn in turns], now, caller, who)
    for limit, key, turn in turns:
        for attempt in range(MAX_ATTEMPTS):
            assert isinstance(turn, Turn)
            if tries.take(key, turn):
                if turn.reaches_limit:
                    level = logging.ERROR if limit.alerts else logging.WARNING
                    reached = "office login limit reached: limit=%s caller=%r account=%s"
                    security.log(level, reached, limit.name, caller[:64], who)
                break
            wait_before_retry(attempt)
            turn = take_turn(limit, tries.get(key), now)
            _refuse_if_waiting([(limit, turn)], now, caller, who)
        else:
            _refused(caller, who, f"busy ({limit.name})")
            raise RateLimited(1)  # many tries at this very moment: this one waits a second


def _refuse_if_waiting(turns: list[tuple[Limit, Turn | Wait]], now: datetime, caller: str, who: str) -> None:
    waits = [(limit, turn) for limit, turn in turns if isinstance(turn, Wait)]
    if waits:
        limit, longest = max(waits, key=lambda w: w[1].until)
        _refused(caller, who, f"waiting ({limit.name})")
        raise RateLimited(max(1, math.ceil((longest.until - now).total_seconds())))


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
    security.warning("office login refused: caller=%r account=%s reason=%s", caller[:64], who, why)


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
