"""The gate's whitelist on disk (SQLite), so a gate restarts offline and still decides."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date
from pathlib import Path

from domain.gate import Grant, Whitelist


class WhitelistStore:
    def __init__(self, path: Path | str, lot_id: str) -> None:
        self._lot_id = lot_id
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS feed (lot_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS entries (
                plate TEXT PRIMARY KEY, card_id TEXT NOT NULL, valid_from TEXT, valid_until TEXT,
                state TEXT NOT NULL, version INTEGER NOT NULL
            );
            """
        )

    def load(self) -> Whitelist:
        with self._lock:
            row = self._db.execute("SELECT version FROM feed WHERE lot_id = ?", (self._lot_id,)).fetchone()
            rows = self._db.execute(
                "SELECT plate, card_id, valid_from, valid_until, state, version FROM entries"
            ).fetchall()
        entries = {r[0]: Grant(self._lot_id, r[5], r[0], r[1], _d(r[2]), _d(r[3]), r[4]) for r in rows}
        return Whitelist(self._lot_id, row[0] if row else 0, entries)

    def save(self, grant: Grant) -> None:
        """One applied grant and the new version, together."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (grant.plate, grant.card_id, _s(grant.valid_from), _s(grant.valid_until), grant.state, grant.version),
            )
            self._db.execute("INSERT OR REPLACE INTO feed VALUES (?, ?)", (self._lot_id, grant.version))
            self._db.execute("COMMIT")

    def replace_all(self, whitelist: Whitelist) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM entries")
            self._db.executemany(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (g.plate, g.card_id, _s(g.valid_from), _s(g.valid_until), g.state, g.version)
                    for g in whitelist.entries.values()
                ],
            )
            self._db.execute("INSERT OR REPLACE INTO feed VALUES (?, ?)", (self._lot_id, whitelist.version))
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _s(day: date | None) -> str | None:
    return day.isoformat() if day else None
