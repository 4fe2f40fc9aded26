"""Log in with a wx.login() code: find or create the owner, start a session, answer our own tokens; refresh
them (each refresh token works once) and log out."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from domain.errors import InvalidInput, RefreshTokenReused, SessionEnded
from domain.owner import Owner
from domain.session import Ending, Session, Verdict, refresh_verdict
from handlers.ports import (
    Clock,
    IdSource,
    IssuedTokens,
    OwnerRepository,
    SessionStore,
    SessionTokens,
    WechatLogin,
)

security = logging.getLogger("parkpass.security")


@dataclass(frozen=True)
class Login:
    owner: Owner
    tokens: IssuedTokens


def log_in_owner(
    code: str,
    wechat: WechatLogin,
    owners: OwnerRepository,
    tokens: SessionTokens,
    ids: IdSource,
    sessions: SessionStore,
    clock: Clock,
) -> Login:
    if not code.strip():
        raise InvalidInput("login_code_empty")
    session = wechat.code_to_session(code)
    owner = owners.find_by_wechat(session.openid, session.unionid)
    if owner is None:
        new = Owner(ids.new_id("owner"), session.openid, session.unionid)
        # A concurrent first login of the same person may win the identity claim; then use theirs.
        owner = new if owners.add(new) else owners.find_by_wechat(session.openid, session.unionid)
        if owner is None:
            raise RuntimeError("owner identity claimed but not found")
    owners.store_session_key(owner.id, session.session_key)
    started = Session(ids.new_id("session"), owner.id)
    issued = tokens.issue(owner.id, session=started.id, generation=started.generation)
    sessions.start(started, clock.now() + timedelta(seconds=issued.refresh_expires_in))
    return Login(owner, issued)


def refresh_session(refresh_token: str, sessions: SessionStore, tokens: SessionTokens, clock: Clock) -> IssuedTokens:
    """One key read and one conditional write. Of two refreshes with the same token at once, one moves the
    session on; the other finds it moved and is treated as a reuse (the session ends)."""
    claims = tokens.verify_refresh(refresh_token)
    session = sessions.get(claims.session)
    verdict = refresh_verdict(session, claims.subject, claims.generation)
    if verdict is Verdict.ENDED or session is None:
        raise SessionEnded()
    next_tokens = tokens.issue(claims.subject, session=session.id, generation=session.generation + 1)
    until = clock.now() + timedelta(seconds=next_tokens.refresh_expires_in)
    if verdict is Verdict.REUSED or not sessions.rotate(session, until):
        sessions.end(session.id, Ending.REUSE)
        why = "retired token" if verdict is Verdict.REUSED else "raced a refresh with the same token"
        security.warning(
            "refresh token reused: owner=%s session=%s generation=%d reason=%s; session ended",
            _hashed(claims.subject),
            _hashed(session.id),
            claims.generation,
            why,
        )
        raise RefreshTokenReused()
    return next_tokens


def log_out_owner(refresh_token: str, sessions: SessionStore, tokens: SessionTokens) -> None:
    """End the session the refresh token belongs to (any of its generations; again: no change). No read: the
    token's signature proves whose session it is."""
    claims = tokens.verify_refresh(refresh_token)
    sessions.end(claims.session, Ending.LOGOUT)


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]
