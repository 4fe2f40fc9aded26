"""Importing a lot's existing cards (from paper or an old system): every row checked, errors by row number,
the good rows imported once however often the file is run.

A row's card id is derived from the lot, its first plate and its dates, so a
second run finds the cards of the first and creates nothing twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from domain.admin import Permission, Staff
from domain.card import Card, CardState
from domain.errors import InvalidInput, PlateTaken
from domain.plate import normalise_plate
from handlers.ports import CardRepository, LotRepository
from handlers.staff import lot_for

COLUMNS = ("plates", "valid_from", "valid_until", "holder")
"""`plates` may hold several, separated by `/`; dates are YYYY-MM-DD; `holder` is a name (optional)."""
MAX_ROWS_PER_CALL = 1000


class HeldPlaces(Protocol):
    def add_held(self, lot_id: str, count: int) -> None:
        """Imported cards take places: raise the lot's count (no quota check: they exist already)."""
        ...


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(row number in the file, what is wrong)."""


def import_rows(
    account: Staff,
    lot_id: str,
    first_row: int,
    rows: list[dict[str, str]],
    cards: CardRepository,
    lots: LotRepository,
    places: HeldPlaces,
) -> ImportReport:
    """Import a slice of a file whose first row here is row `first_row` of the file (for the error report)."""
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    if len(rows) > MAX_ROWS_PER_CALL:
        raise InvalidInput(f"send at most {MAX_ROWS_PER_CALL} rows at a time")
    report = ImportReport()
    for n, row in enumerate(rows, start=first_row):
        try:
            card = _card(lot.id, row)
        except (InvalidInput, ValueError, KeyError) as e:
            report.errors.append((n, _say(e)))
            continue
        try:
            if cards.import_card(card):
                report.created += 1
            else:
                report.existing += 1
        except PlateTaken as e:
            report.errors.append((n, e.message))
    if report.created:
        places.add_held(lot.id, report.created)
    return report


def _card(lot_id: str, row: dict[str, str]) -> Card:
    plates = tuple(dict.fromkeys(normalise_plate(p) for p in (row.get("plates") or "").split("/") if p.strip()))
    if not plates:
        raise InvalidInput("no plate")
    until = _day(row, "valid_until")
    start = _day(row, "valid_from") if (row.get("valid_from") or "").strip() else None
    if until is None:
        raise InvalidInput("valid_until is missing")
    starts = start or until
    if starts > until:
        raise InvalidInput("valid_from is after valid_until")
    # The same row run again is the same card; another row with the same plate is another card (refused: taken).
    card_id = "imp-" + hashlib.sha256(f"{lot_id}|{plates[0]}|{starts}|{until}".encode()).hexdigest()[:20]
    holder = (row.get("holder") or "").strip()[:50] or None
    return Card(card_id, lot_id, f"office-{lot_id}"[:64], plates, starts, until, CardState.ACTIVE, holder=holder)


def _day(row: dict[str, str], column: str) -> date | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{column} {text[:20]!r} is not a date (YYYY-MM-DD)") from None


def _say(e: Exception) -> str:
    return getattr(e, "message", None) or str(e)
