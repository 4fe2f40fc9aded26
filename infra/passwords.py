"""Staff passwords: scrypt (memory-hard), a random salt each, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1


class ScryptPasswords:
    def hash(self, password: str) -> str:
        salt = os.urandom(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
        return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"

    def matches(self, password: str, stored: str) -> bool:
        try:
            kind, n, r, p, salt, digest = stored.split("$")
        except ValueError:
            return False
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
        return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
