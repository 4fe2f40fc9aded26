"""New identifiers: random, unguessable, and shaped like domain ids."""

from __future__ import annotations

import secrets


class RandomIds:
    def new_id(self, kind: str) -> str:
        return f"{kind}-{secrets.token_hex(10)}"
