"""wechatpy's session storage on DynamoDB: one access token for every Lambda container.

WeChat allows a limited number of token fetches a day and invalidates the
previous token on each fetch, so containers must share one instead of each
fetching its own.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from wechatpy.session import SessionStorage

from handlers.ports import Clock
from infra.dynamodb.tables import CacheItem


class DynamoSessionStorage(SessionStorage):  # type: ignore[misc]
    def __init__(self, clock: Clock, prefix: str = "wechatpy") -> None:
        self._clock = clock
        self._prefix = prefix

    def get(self, key: str, default: Any = None) -> Any:
        try:
            item = CacheItem.get(self._key(key), consistent_read=True)
        except CacheItem.DoesNotExist:
            return default
        # DynamoDB deletes expired items lazily (and the emulator never), so check the time ourselves.
        if item.expires_at is not None and item.expires_at <= self._clock.now():
            return default
        return json.loads(item.value)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = self._clock.now() + timedelta(seconds=ttl) if ttl else None
        CacheItem(key=self._key(key), value=json.dumps(value), expires_at=expires).save()

    def delete(self, key: str) -> None:
        CacheItem(key=self._key(key)).delete()

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"
