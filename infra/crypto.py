"""Field encryption at rest: AES-256-GCM from `cryptography`.

Each value is bound to its record and field (associated data), so a
ciphertext copied onto another owner or into another field fails to decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


class FieldCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode()


class PersonalData:
    """Personal data the office hands over (a card holder's phone): sealed at rest, found by a keyed fingerprint.

    The fingerprint key is derived from the data key, so a fingerprint matches only inside this deployment
    and cannot be reversed by trying every phone number without the key.
    """

    def __init__(self, cipher: FieldCipher, data_key: bytes) -> None:
        self._cipher = cipher
        self._key = hmac.new(data_key, b"parkpass fingerprints v1", hashlib.sha256).digest()

    def seal(self, text: str, context: str) -> bytes:
        return self._cipher.encrypt(text, context)

    def fingerprint(self, text: str, purpose: str) -> str:
        return hmac.new(self._key, f"{purpose}\x00{text}".encode(), hashlib.sha256).hexdigest()[:40]
