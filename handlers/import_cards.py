"""Importing a lot's existing cards (from paper or an old system): every row checked, errors by row number,
the good rows imported once however often the file is run.

A row's card id is derived from the lot, its first plate and its dates, so a
second run finds the cards of the first and creates nothing twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from domain.admin import Permission, Staff
from domain.calendar import written_day
from domain.card import Card, CardState, ClaimTicket
from domain.card_change import card_plan
from domain.card_claim import office_owner
from domain.errors import CardExists, Conflict, DomainError, InvalidInput, LotNotFound, PlateTaken, StaleCard, StaleLot
from domain.lot import Lot
from domain.phone import normalised_phone
from domain.plan import Plan
from domain.plate import normalise_plate
from handlers.ports import CardRepository, Clock, LotRepository, Sealer, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry
from handlers.staff import lot_for

COLUMNS = ("plates", "valid_from", "valid_until", "holder", "phone")
"""`plates` may hold several, separated by `/`; `holder` is a name and `phone` the holder's phone (both optional:
an owner whose WeChat phone matches claims the card; without one the office prints a claim code)."""
COLUMN_NAMES = {
    "plates": ("plates", "plate", "车牌", "车牌号", "车牌号码"),
    "valid_from": ("valid_from", "开始日期", "起始日期", "生效日期"),
    "valid_until": ("valid_until", "结束日期", "有效期至", "到期日期", "截止日期"),
    "holder": ("holder", "name", "姓名", "车主", "车主姓名"),
    "phone": ("phone", "mobile", "手机", "手机号", "手机号码", "电话"),
}
"""The names offices give the columns (an old system's export, a spreadsheet typed by hand)."""
MAX_ROWS_PER_CALL = 1000
MAX_TRANSACTION_ITEMS = 100
"""What one transaction may hold (DynamoDB's TransactWriteItems limit)."""


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    errors: list[tuple[int, DomainError]] = field(default_factory=list)
    """(row number in the file, what is wrong): the edge says it in the reader's language."""


def column_of(header: str) -> str | None:
    """The column a header names ("车牌号" -> "plates"), or None for a column the import does not read."""
    name = header.strip().lstrip("\ufeff").lower()
    return next((column for column, names in COLUMN_NAMES.items() if name in names), None)


def import_rows(
    account: Staff,
    lot_id: str,
    first_row: int,
    rows: list[dict[str, str]],
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
    sealer: Sealer,
) -> ImportReport:
    """Import a slice of a file whose first row here is row `first_row` of the file (for the error report).

    The cards exist already at the property, so they take places even past the lot's
    quota: an explicit override, audited on each card. Each batch commits its cards,
    plate claims, places, gate events and audit entries in one transaction.
    """
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    if len(rows) > MAX_ROWS_PER_CALL:
        raise InvalidInput("import_batch", most=MAX_ROWS_PER_CALL)
    report = ImportReport()
    parsed: dict[str, tuple[int, Card]] = {}
    for n, given in enumerate(rows, start=first_row):
        row = {column_of(k) or k: v for k, v in given.items()}
        try:
            card = _card(lot.id, row, sealer)
        except DomainError as e:
            report.errors.append((n, e))
            continue
        if card.id in parsed:
            report.existing += 1  # the same row twice in one file
        else:
            parsed[card.id] = (n, card)
    existing = cards.get_many(set(parsed))
    report.existing += len(existing)
    todo = [parsed[i] for i in parsed if i not in existing]
    actor = f"admin:{account.email}"
    while todo:
        batch, todo = _batch(todo, lot, clock, actor)
        report.created += _commit(batch, report, lots, lot.id, uow, clock, actor)
    report.errors.sort(key=lambda error: error[0])
    return report


Rows = list[tuple[int, Card]]


def _batch(todo: Rows, lot: Lot, clock: Clock, actor: str) -> tuple[Rows, Rows]:
    """As many rows as one transaction holds (sized by the lot's settings; its counters are read when it
    commits); a row with a plate of a row already in it waits for the next batch (where its plate is taken:
    the row is refused by number)."""
    plan, plates, full = Plan(), set[str](), False
    batch: Rows = []
    rest: Rows = []
    for n, card in todo:
        if full or plates & set(card.plates):
            rest.append((n, card))
            continue
        more = plan + _plan(card, lot, clock, actor)
        if more.size > MAX_TRANSACTION_ITEMS and batch:
            full = True
            rest.append((n, card))
            continue
        plan, plates = more, plates | set(card.plates)
        batch.append((n, card))
    return batch, rest


def _commit(
    batch: Rows, report: ImportReport, lots: LotRepository, lot_id: str, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
    """Commit the batch; a row whose plate is taken (or a card imported meanwhile) leaves it and the rest go again."""
    for attempt in range(MAX_ATTEMPTS + len(batch)):
        if not batch:
            return 0
        lot = _lot(lots, lot_id)
        plan = Plan()
        for _, card in batch:
            plan = plan + _plan(card, lot, clock, actor)
        try:
            uow.commit(plan)
        except PlateTaken as e:
            n = next(n for n, c in batch if e.plate in c.plates)
            report.errors.append((n, e))
            batch = [(m, c) for m, c in batch if m != n]
        except CardExists as e:
            report.existing += 1
            batch = [(m, c) for m, c in batch if c.id != e.card_id]
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
        else:
            return len(batch)
    raise Conflict("import_kept_changing")


def _plan(card: Card, lot: Lot, clock: Clock, actor: str) -> Plan:
    return card_plan(None, card, lot, clock.now(), actor, "import", "导入现有月卡", override_quota=True)


def _lot(lots: LotRepository, lot_id: str) -> Lot:
    lot = lots.get(lot_id)
    if lot is None:
        raise LotNotFound(lot_id)
    return lot


def _card(lot_id: str, row: dict[str, str], sealer: Sealer) -> Card:
    plates = tuple(dict.fromkeys(normalise_plate(p) for p in (row.get("plates") or "").split("/") if p.strip()))
    if not plates:
        raise InvalidInput("import_no_plate")
    until = _day(row, "valid_until")
    start = _day(row, "valid_from") if (row.get("valid_from") or "").strip() else None
    if until is None:
        raise InvalidInput("import_no_end")
    starts = start or until
    if starts > until:
        raise InvalidInput("period_reversed")
    # The same row run again is the same card; another row with the same plate is another card (refused: taken).
    card_id = "imp-" + hashlib.sha256(f"{lot_id}|{plates[0]}|{starts}|{until}".encode()).hexdigest()[:20]
    holder = (row.get("holder") or "").strip()[:50] or None
    ticket = _ticket(row, card_id, sealer)
    owner = office_owner(lot_id)
    return Card(card_id, lot_id, owner, plates, starts, until, CardState.ACTIVE, holder=holder, claim=ticket)


def _ticket(row: dict[str, str], card_id: str, sealer: Sealer) -> ClaimTicket:
    """What the card's owner will claim it by: the phone the office knew, sealed and fingerprinted (or nothing
    yet: the office prints a claim code)."""
    text = (row.get("phone") or "").strip()
    if not text:
        return ClaimTicket()
    phone = normalised_phone(text)
    return ClaimTicket(
        phone_key=sealer.fingerprint(phone, "phone"),
        phone_sealed=sealer.seal(phone, f"{card_id}:phone"),
        phone_last4=phone[-4:],
    )


def _day(row: dict[str, str], column: str) -> date | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return written_day(text)
    except ValueError:
        if column == "valid_from":
            raise InvalidInput("import_valid_from", found=text[:20]) from None
        raise InvalidInput("import_valid_until", found=text[:20]) from None
