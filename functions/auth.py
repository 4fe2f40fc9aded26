"""Who is asking: the owner named by a valid `Authorization: Bearer <token>`."""

from __future__ import annotations

from flask import request

from domain.errors import Unauthenticated
from handlers.ports import SessionTokens


def current_owner_id(tokens: SessionTokens) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("bearer_missing", login="/api/v1/auth/login")
    return tokens.verify_access(token.strip())
