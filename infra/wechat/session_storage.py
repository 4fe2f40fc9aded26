"""wechatpy's session storage on DynamoDB: one access token for every Lambda container.

WeChat allows a limited number of token fetches a day and invalidates the
previous token on each fetch, so containers must share one instead of each
fetching its own.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from wechatpy.session import SessionStorage

from handlers.ports import Clock
from infra.dynamodb.tables import CacheItem

KEEP_AT_MOST = timedelta(minutes=5)
"""A container keeps what it read this long at most (never past the value's own expiry): wechatpy asks for the
token before every call, and a tick sending thousands of messages should not read it from DynamoDB each time. A
token fetched anew elsewhere is seen within this; a call refused with a stale one is retried by wechatpy after a
fresh fetch."""


class DynamoSessionStorage(SessionStorage):  # type: ignore[misc]
    def __init__(self, clock: Clock, prefix: str = "wechatpy") -> None:
        self._clock = clock
        self._prefix = prefix
        self._kept: dict[str, tuple[Any, datetime]] = {}

    def get(self, key: str, default: Any = None) -> Any:
        now = self._clock.now()
        kept = self._kept.get(key)
        if kept is not None and now < kept[1]:
            return kept[0]
        try:
            item = CacheItem.get(self._key(key), consistent_read=True)
        except CacheItem.DoesNotExist:
            return default
        # DynamoDB deletes expired items lazily (and the emulator never), so check the time ourselves.
        if item.expires_at is not None and item.expires_at <= now:
            return default
        value = json.loads(item.value)
        self._keep(key, value, item.expires_at)
        return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = self._clock.now() + timedelta(seconds=ttl) if ttl else None
        CacheItem(key=self._key(key), value=json.dumps(value), expires_at=expires).save()
        self._keep(key, value, expires)

    def delete(self, key: str) -> None:
        self._kept.pop(key, None)
        CacheItem(key=self._key(key)).delete()

    def _keep(self, key: str, value: Any, expires: datetime | None) -> None:
        until = self._clock.now() + KEEP_AT_MOST
        self._kept[key] = (value, min(until, expires) if expires is not None else until)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"
