"""The signed entitlement message, as published to gates and answered by delta sync.

Ed25519 over the canonical JSON (sorted keys, no spaces, UTF-8) of every field
but `sig`. Gates are configured with the public key and drop anything that does
not verify, or that names another lot.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.gate import Grant


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class MessageSigner:
    def __init__(self, private_key: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)

    def public_key(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "sig": base64.b64encode(self._key.sign(canonical(fields))).decode()}


class BadMessage(ValueError):
    pass


def verified_grants(message: bytes, public_key: bytes, lot_id: str) -> list[Grant]:
    """The grants of a message: one signed event, or `{"lot_id", "events": [signed events]}` (the fan-out's
    batch of one lot); BadMessage if any of them does not verify or names another lot."""
    try:
        body = json.loads(message)
    except ValueError as e:
        raise BadMessage("unsigned or badly signed") from e
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        if not body["events"]:
            raise BadMessage("an empty batch")
        return [verified_grant(event, public_key, lot_id) for event in body["events"]]
    return [verified_grant(body, public_key, lot_id)]


def verified_grant(message: bytes | dict[str, Any], public_key: bytes, lot_id: str) -> Grant:
    """The grant in a message that verifies and is for `lot_id`; BadMessage otherwise."""
    try:
        fields = json.loads(message) if isinstance(message, bytes) else dict(message)
        signature = base64.b64decode(fields.pop("sig"))
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, canonical(fields))
    except (ValueError, KeyError, TypeError, InvalidSignature) as e:
        raise BadMessage("unsigned or badly signed") from e
    if fields.get("lot_id") != lot_id:
        raise BadMessage("for another lot")
    try:
        return Grant.from_fields(fields)
    except (KeyError, ValueError, TypeError) as e:
        raise BadMessage("malformed fields") from e
