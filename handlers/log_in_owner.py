"""Log in with a wx.login() code: find or create the owner, answer our own tokens."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput, TokenInvalid
from domain.owner import Owner
from handlers.ports import IdSource, IssuedTokens, OwnerRepository, SessionTokens, WechatLogin


@dataclass(frozen=True)
class Login:
    owner: Owner
    tokens: IssuedTokens


def log_in_owner(
    code: str, wechat: WechatLogin, owners: OwnerRepository, tokens: SessionTokens, ids: IdSource
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
    return Login(owner, tokens.issue(owner.id))


def refresh_session(refresh_token: str, owners: OwnerRepository, tokens: SessionTokens) -> IssuedTokens:
    owner_id = tokens.verify_refresh(refresh_token)
    if owners.get(owner_id) is None:
        raise TokenInvalid("account_gone")
    return tokens.issue(owner_id)
