"""What every admin route needs: the signed-in account, scope checks by thing, lists and CSV, audit entries."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import Response, request

from domain.admin import Permission, Staff
from domain.application import Application
from domain.card_change import AuditEntry
from domain.errors import ApplicationNotFound, InvalidInput, LotNotFound, OrderNotFound, Unauthenticated
from domain.labels import label
from domain.lot import DEFAULT_TIMEZONE, Approval, CardPolicy, InvoiceProvider, Lot, RenewalMode, RenewalPolicy
from domain.money import yuan_text
from domain.order import Order
from functions.bootstrap import Services
from functions.http import request_lang
from handlers.admin_lots import office_entry
from handlers.import_cards import column_of
from handlers.staff import lot_for, signed_in

if TYPE_CHECKING:
    from functions import admin_bodies as bodies


class Office:
    """The account behind a request and what it reaches: outside its scope a thing does not exist (404)."""

    def __init__(self, s: Services) -> None:
        self.s = s

    def me(self) -> Staff:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("bearer_missing", login="/admin/api/v1/auth/login")
        return signed_in(token.strip(), self.s.staff_tokens, self.s.staff)

    def lot_of(self, lot_id: str, permission: Permission = Permission.VIEW) -> Lot:
        return lot_for(self.me(), lot_id, self.s.lots, permission)

    def zone(self, lot_id: str) -> str:
        """The lot's time zone, for showing times as its clock shows them."""
        lot = self.s.lots.get(lot_id)
        return lot.timezone if lot else DEFAULT_TIMEZONE

    def application_of(self, application_id: str) -> tuple[Staff, Application]:
        account = self.me()
        found = self.s.applications.get(application_id)
        if found is None or not reaches(account, found.lot_id, self.s):
            raise ApplicationNotFound(application_id)
        account.require(Permission.MANAGE)
        return account, found

    def order_of(self, order_id: str, permission: Permission = Permission.VIEW) -> tuple[Staff, Order]:
        account = self.me()
        found = self.s.orders.get(order_id)
        if found is None or not reaches(account, found.lot_id, self.s):
            raise OrderNotFound(order_id)
        account.require(permission)
        return account, found


def record(s: Services, account: Staff, subject: str, action: str, reason: str | None, after: dict[str, Any]) -> None:
    at = s.clock.now()
    s.audit.record(
        AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, None, after)
    )


def reaches(account: Staff, lot_id: str, s: Services) -> bool:
    try:
        lot_for(account, lot_id, s.lots)
    except LotNotFound:
        return False
    return True


def with_settings(lot: Lot, b: bodies.PolicyBody) -> Lot:
    """The lot with the body's settings; what the body leaves out stays."""
    p = lot.policy
    policy = RenewalPolicy(
        mode=RenewalMode(b.mode) if b.mode else p.mode,
        max_until=None if b.clear_max_until else (b.max_until or p.max_until),
        max_months_ahead=None if b.clear_max_months_ahead else (b.max_months_ahead or p.max_months_ahead),
        online_renewal=p.online_renewal if b.online_renewal is None else b.online_renewal,
    )
    card_fields = {k: getattr(b, k) for k in vars(lot.cards) if getattr(b, k, None) is not None}
    if "approval" in card_fields:
        card_fields["approval"] = Approval(card_fields["approval"])
    return replace(
        lot,
        name=b.name or lot.name,
        timezone=b.timezone or lot.timezone,
        quota=lot.quota if b.quota is None else b.quota,
        policy=policy,
        cards=CardPolicy(**{**vars(lot.cards), **card_fields}),
        reminder_offsets=tuple(b.reminder_offsets) if b.reminder_offsets else lot.reminder_offsets,
        reminder_hour=lot.reminder_hour if b.reminder_hour is None else b.reminder_hour,
        invoice_provider=InvoiceProvider(b.invoice_provider) if b.invoice_provider else lot.invoice_provider,
    )


def read_table(
    name: str,
    data: bytes,
    column: Callable[[str], str | None] = column_of,
    required: tuple[str, ...] = ("plates", "valid_until"),
) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file, keyed by the header row (`column`
    names each header's column; the file must have the `required` ones)."""
    if len(data) > 20_000_000:
        raise InvalidInput("file_too_big", mb=20)
    if name.lower().endswith(".xlsx"):
        values = _xlsx_rows(data)
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput("csv_encoding")
        values = list(itertools.islice(csv.reader(io.StringIO(text)), MAX_IMPORT_ROWS + 2))
    if len(values) > MAX_IMPORT_ROWS + 1:
        raise InvalidInput("import_too_many_rows", most=MAX_IMPORT_ROWS)
    if not values:
        raise InvalidInput("file_empty")
    header = [column(h) for h in values[0]]
    if any(c not in header for c in required):
        raise InvalidInput("import_header")
    return [
        {h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h}
        for row in values[1:]
        if any(cell.strip() for cell in row)
    ]


MAX_IMPORT_ROWS = 20_000
"""Cards in one file: more than any car park has; a file with more is a mistake or an attack."""
MAX_XLSX_UNPACKED = 100_000_000
"""An XLSX is a zip: what it unpacks to is limited, not only what was uploaded."""


def _xlsx_rows(data: bytes) -> list[list[str]]:
    """A spreadsheet's first sheet, read without trusting it: its unpacked size is checked before parsing,
    its XML is parsed by defusedxml (openpyxl uses it when installed: no entity expansion), and reading
    stops at the row limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            unpacked = sum(entry.file_size for entry in packed.infolist())
    except zipfile.BadZipFile:
        raise InvalidInput("xlsx_broken") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise InvalidInput("file_too_big", mb=MAX_XLSX_UNPACKED // 1_000_000)
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = itertools.islice(sheet.iter_rows(values_only=True), MAX_IMPORT_ROWS + 2)  # type: ignore[union-attr]
        values = [[_xlsx_text(v) for v in row] for row in rows]
    except (KeyError, ValueError, zipfile.BadZipFile):
        raise InvalidInput("xlsx_broken") from None
    if len(values) > MAX_IMPORT_ROWS + 1:
        raise InvalidInput("import_too_many_rows", most=MAX_IMPORT_ROWS)
    return values


def _xlsx_text(value: object) -> str:
    """A spreadsheet cell as the import reads it: a date cell as its day, a number typed as a phone as digits."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def listed(rows: list[dict[str, Any]], key: str) -> Any:
    if request.args.get("format") == "csv":
        return csv_answer(rows, f"{key}.csv", request_lang())
    return {key: rows}


def for_people(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """A view's row as a spreadsheet shows it: in Chinese, its columns named, codes as their words (the
    `x_label` beside `x`), times as the lot's clock shows them (`x_local`), fen as 元; in English, as today
    (the codes and ISO times, the words left out)."""
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith(("_label", "_local", "_yuan")):
            continue
        if lang == "en":
            shown[key] = "; ".join(_pause_text(p, lang) for p in value) if key == "pauses" else value
            continue
        if key == "pauses" and isinstance(value, list):
            value = "；".join(_pause_text(p, lang) for p in value)
        elif key.endswith("_fen") and isinstance(value, int):
            value = yuan_text(value)
        elif isinstance(value, bool):
            value = "是" if value else "否"
        shown[label("column", key, lang)] = row.get(f"{key}_label", row.get(f"{key}_local", value))
    return shown


def _pause_text(p: dict[str, Any], lang: str) -> str:
    if lang == "en":
        return f"{p['from']}..{p['until']} ({p['state']})"
    return f"{p['from']} 至 {p['until']}（{label('pause_state', p['state'], lang)}）"


def csv_answer(rows: list[dict[str, Any]], name: str, lang: str, empty: dict[str, Any] | None = None) -> Response:
    """`empty`: a row of the right shape, for the header of a sheet with no rows."""
    out = io.StringIO()
    columns = list(for_people(empty, lang)) if empty is not None and not rows else []
    rows = [for_people(row, lang) for row in rows]
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    # A BOM, so Excel on a Chinese Windows opens it as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: Any) -> str:
    text = "" if value is None else (" / ".join(str(v) for v in value) if isinstance(value, list) else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formulas from data into a spreadsheet
