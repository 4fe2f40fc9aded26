"""Our session tokens: signed (HMAC-SHA256 via itsdangerous), timestamped by the injected clock.

An access token lives 2 hours and is checked by its signature alone (no read); a refresh token 30 days, and
names its session and generation (the session store decides whether it may still refresh). They are signed
with different salts, so one can never be used as the other. Changing the secret ends every session at once.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from domain.errors import TokenExpired, TokenInvalid
from handlers.ports import AccessClaims, Clock, IssuedTokens, RefreshClaims

ACCESS_TTL_S = 2 * 60 * 60
REFRESH_TTL_S = 30 * 24 * 60 * 60


class SignedTokens:
    def __init__(self, secret: bytes, clock: Clock) -> None:
        class ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        def serializer(salt: str) -> URLSafeTimedSerializer:
            return URLSafeTimedSerializer(secret, salt=salt, signer=ClockSigner)

        self._access = serializer("parkpass.access")
        self._refresh = serializer("parkpass.refresh")

    def issue(self, subject: str, *, session: str | None = None, generation: int = 0, epoch: int = 0) -> IssuedTokens:
        access: dict[str, Any] = {"sub": subject, "ep": epoch} if epoch else {"sub": subject}
        refresh = self._refresh.dumps({"sub": subject, "sid": session, "gen": generation}) if session else ""
        return IssuedTokens(
            access_token=self._access.dumps(access),
            expires_in=ACCESS_TTL_S,
            refresh_token=refresh,
            refresh_expires_in=REFRESH_TTL_S if session else 0,
        )

    def verify_access(self, token: str) -> str:
        return self.access_claims(token).subject

    def access_claims(self, token: str) -> AccessClaims:
        claims = _claims(self._access, token, ACCESS_TTL_S)
        epoch = claims.get("ep", 0)
        if not isinstance(epoch, int):
            raise TokenInvalid()
        return AccessClaims(claims["sub"], epoch)

    def verify_refresh(self, token: str) -> RefreshClaims:
        claims = _claims(self._refresh, token, REFRESH_TTL_S)
        session, generation = claims.get("sid"), claims.get("gen")
        if not isinstance(session, str) or not isinstance(generation, int):
            raise TokenInvalid()  # issued before sessions: the owner logs in again (silently, with wx.login)
        return RefreshClaims(claims["sub"], session, generation)


def _claims(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> dict[str, Any]:
    try:
        claims: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired as e:
        raise TokenExpired() from e
    except BadSignature as e:
        raise TokenInvalid() from e
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        raise TokenInvalid()
    return claims
