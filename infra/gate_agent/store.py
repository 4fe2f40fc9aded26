"""The gate's whitelist on disk (SQLite), so a gate restarts offline and still decides.

Each grant is kept as its signed fields (JSON) under its key (a card's plate, or `<kind>:<plate>` for an
exemption, a blacklisting or a paid visit), so a new field in the feed needs no schema change here.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.gate import Grant, Whitelist


def default_db_path(gate_id: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Where a gate keeps its whitelist unless told: the user's data folder, never the working directory
    (a checkout would otherwise collect plate lists). $XDG_DATA_HOME/parkpass/gates, else
    ~/.local/share/parkpass/gates."""
    base = environ.get("XDG_DATA_HOME", "")
    data = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return data / "parkpass" / "gates" / f"{gate_id}.sqlite"


def read_whitelist(path: Path, lot_id: str) -> Whitelist:
    """A gate's whitelist file, opened read-only: an offline check changes no whitelist and makes none."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _load(db, lot_id)
    finally:
        db.close()


class WhitelistInUse(RuntimeError):
    """Another agent runs on this whitelist file."""


class WhitelistStore:
    """One agent per file: opening it takes an exclusive lock (`<file>.lock`) until `close`, so a second agent
    started on the same file is refused instead of both writing it and sharing one MQTT session."""

    def __init__(self, path: Path | str, lot_id: str) -> None:
        self._lot_id = lot_id
        self._lock = threading.Lock()
        self._held = open(f"{path}.lock", "a")  # noqa: SIM115  # held open for the store's life
        try:
            fcntl.flock(self._held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._held.close()
            raise WhitelistInUse(f"another gate agent runs on {path}: stop it, or give this one its own --db") from None
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS feed (lot_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS grants (plate TEXT PRIMARY KEY, fields TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS agent (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS unreported (n INTEGER PRIMARY KEY AUTOINCREMENT, report TEXT NOT NULL);
            """
        )
        if "epoch" not in _columns(self._db, "feed"):  # a file from before epochs: its feed's epoch is ""
            self._db.execute("ALTER TABLE feed ADD COLUMN epoch TEXT NOT NULL DEFAULT ''")
        self._db.execute("INSERT OR IGNORE INTO agent VALUES ('installation', ?)", (secrets.token_hex(4),))
        self.installation: str = self._db.execute("SELECT value FROM agent WHERE key = 'installation'").fetchone()[0]
        """Made once per file: the agent's MQTT client id is `gate-<gate>-<installation>`, so its persistent
        session survives restarts and no other agent (another file, `parkpass demo`) shares it."""

    def load(self) -> Whitelist:
        with self._lock:
            return _load(self._db, self._lot_id)

    def save(self, grant: Grant) -> None:
        """One applied grant and the new version, together."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO grants VALUES (?, ?)", (grant.key, _json(grant)))
            self._db.execute("INSERT OR REPLACE INTO feed VALUES (?, ?, ?)", (self._lot_id, grant.version, grant.epoch))
            self._db.execute("COMMIT")

    def save_entries(self, grants: list[Grant]) -> None:
        """Grants changed here (a passage), not from the feed: the feed version stays."""
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO grants VALUES (?, ?)", [(g.key, _json(g)) for g in grants])

    def replace_all(self, whitelist: Whitelist) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM grants")
            self._db.executemany(
                "INSERT INTO grants VALUES (?, ?)", [(g.key, _json(g)) for g in whitelist.entries.values()]
            )
            self._db.execute(
                "INSERT OR REPLACE INTO feed VALUES (?, ?, ?)", (self._lot_id, whitelist.version, whitelist.epoch)
            )
            self._db.execute("COMMIT")

    def keep_report(self, report: dict[str, Any]) -> int:
        """A passage not reported to the cloud yet, kept until it is (a gate restarted offline still has it)."""
        with self._lock:
            cursor = self._db.execute("INSERT INTO unreported (report) VALUES (?)", (json.dumps(report),))
            return int(cursor.lastrowid or 0)

    def reported(self, n: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM unreported WHERE n = ?", (n,))

    def unreported(self) -> list[tuple[int, dict[str, Any]]]:
        """Oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT n, report FROM unreported ORDER BY n").fetchall()
        return [(int(n), json.loads(report)) for n, report in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._held.close()  # releases the lock


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _load(db: sqlite3.Connection, lot_id: str) -> Whitelist:
    epoch = "epoch" if "epoch" in _columns(db, "feed") else "''"  # a read-only file from before epochs
    row = db.execute(f"SELECT version, {epoch} FROM feed WHERE lot_id = ?", (lot_id,)).fetchone()
    rows = db.execute("SELECT plate, fields FROM grants").fetchall()
    entries = {key: Grant.from_fields(json.loads(fields)) for key, fields in rows}
    return Whitelist(lot_id, row[0] if row else 0, entries, row[1] if row else "")


def _json(grant: Grant) -> str:
    return json.dumps(grant.fields(), ensure_ascii=False)
