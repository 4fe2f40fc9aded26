"""How gates sign what they send (HTTP calls, passages, applied-version reports): one HMAC-SHA256 format
that both sides compute, the cloud's use cases and the reference gate agent alike."""

from __future__ import annotations

import hashlib
import hmac

REPORT_METHOD = "PUBLISH"
"""Stands where an HTTP method would in the signed message."""


def gate_signature(secret: str, method: str, path: str, timestamp: str, body: bytes = b"") -> str:
    """What a gate sends as X-Gate-Signature: HMAC-SHA256 over method, path (with query), timestamp
    and, when there is a body, its SHA-256."""
    message = f"{method.upper()}\n{path}\n{timestamp}"
    if body:
        message += "\n" + hashlib.sha256(body).hexdigest()
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def applied_topic(lot_id: str, gate_id: str) -> str:
    return f"parkpass/lots/{lot_id}/gates/{gate_id}/applied"


def report_signature(secret: str, lot_id: str, gate_id: str, version: int, timestamp: str) -> str:
    """What a gate puts in its report's `signature`."""
    return gate_signature(secret, REPORT_METHOD, applied_topic(lot_id, gate_id), timestamp, str(version).encode())
