"""The admin function's imports of existing cards from CSV or XLSX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.admin import Permission
from domain.errors import InvalidInput
from functions.admin_office import Office, read_table, record
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from handlers.import_cards import COLUMNS, import_rows
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_import_routes", __name__)
    me, lot_of = office.me, office.lot_of

    @bp.post("/api/v1/lots/<lot_id>/imports/parse")
    def parse_import(lot_id: str) -> dict[str, Any]:
        lot_of(lot_id, Permission.MANAGE)
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("import_file_field")
        rows = read_table(upload.filename or "", upload.read(20_000_001))
        return {"columns": list(COLUMNS), "rows": rows}

    @bp.post("/api/v1/lots/<lot_id>/imports/rows")
    def import_slice(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.ImportBody)
        account = me()
        report = import_rows(account, lot_id, body.first_row, body.rows, s.cards, s.lots, s.uow, s.clock, s.sealer)
        summary = {
            "first_row": body.first_row,
            "rows": len(body.rows),
            "created": report.created,
            "existing": report.existing,
            "refused": len(report.errors),
        }
        record(s, account, f"lot:{lot_id}", "import_cards", None, summary)
        lang = request_lang()
        return {
            "created": report.created,
            "existing": report.existing,
            "errors": [{"row": n, "code": e.code, "message": e.text(lang)} for n, e in report.errors],
        }

    return bp
