"""Clocks: the real one, and a settable one so local demos can travel in time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimClock:
    """Runs at real speed from wherever it was last set.

    It keeps running (rather than standing still) so that timeouts and
    schedules inside the local stack still fire after a jump.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        if start is not None:
            self.set(start)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("the clock needs a time zone offset, e.g. 2026-12-05T10:00:00+08:00")
        with self._lock:
            self._offset = instant - datetime.now(UTC)
