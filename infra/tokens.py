"""Our session tokens: signed (HMAC-SHA256 via itsdangerous), timestamped by the injected clock.

An access token lives 2 hours; a refresh token 30 days. They are signed with
different salts, so one can never be used as the other.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from domain.errors import TokenExpired, TokenInvalid
from handlers.ports import Clock, IssuedTokens

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

    def issue(self, owner_id: str) -> IssuedTokens:
        return IssuedTokens(
            access_token=self._access.dumps({"sub": owner_id}),
            expires_in=ACCESS_TTL_S,
            refresh_token=self._refresh.dumps({"sub": owner_id}),
            refresh_expires_in=REFRESH_TTL_S,
        )

    def verify_access(self, token: str) -> str:
        return _subject(self._access, token, ACCESS_TTL_S)

    def verify_refresh(self, token: str) -> str:
        return _subject(self._refresh, token, REFRESH_TTL_S)


def _subject(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> str:
    try:
        claims: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired as e:
        raise TokenExpired() from e
    except BadSignature as e:
        raise TokenInvalid() from e
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        raise TokenInvalid()
    return claims["sub"]
