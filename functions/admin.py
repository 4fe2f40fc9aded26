"""The property office's admin function: JSON routes under /admin/api/v1 and the web page at /admin/.

`app` is its WSGI entry (a Lambda of its own). Every route finds the signed-in
staff member first; a lot, card, order or application outside their scope
answers 404, a step their role does not allow 403.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, request, send_from_directory

from domain.admin import Permission, Role, Staff
from domain.application import Application
from domain.card import Card, CardState
from domain.card_change import AuditEntry
from domain.errors import (
    ApplicationNotFound,
    InvalidInput,
    LotNotFound,
    OrderNotFound,
    ReceiptNotFound,
    Unauthenticated,
)
from domain.lot import Approval, CardPolicy, InvoiceProvider, Lot, RenewalMode, RenewalPolicy
from domain.order import Channel, Order
from domain.package import Duration, DurationUnit, Package
from functions.bootstrap import Services, app_on_first_use, services_from_env
from functions.errors import json_app
from functions.http import parse_body
from functions.views import pause_json
from handlers.admin_cards import card_history, fix_card, office_card, office_refund, offline_payment, search_cards
from handlers.admin_lots import create_lot, lot_packages, my_lots, office_entry, save_package, update_lot
from handlers.applications import approve_application, reject_application
from handlers.card_changes import answer_pause
from handlers.card_jobs import cancel_card, restore_card
from handlers.import_cards import COLUMNS, import_rows
from handlers.invoices import enter_manual_invoice, reject_invoice
from handlers.reports import lot_report
from handlers.staff import create_staff, log_in_staff, lot_for, signed_in
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")  # pydantic loads with the first body (see functions/bodies.py)

PAGE = Path(__file__).parent / "admin_page"


def admin_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/admin")

    def me() -> Staff:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>; get one from POST /admin/api/v1/auth/login")
        return signed_in(token.strip(), s.staff_tokens, s.staff)

    def lot_of(lot_id: str, permission: Permission = Permission.VIEW) -> Lot:
        return lot_for(me(), lot_id, s.lots, permission)

    def application_of(application_id: str) -> tuple[Staff, Application]:
        account = me()
        found = s.applications.get(application_id)
        if found is None or not _reaches(account, found.lot_id, s):
            raise ApplicationNotFound(application_id)
        account.require(Permission.MANAGE)
        return account, found

    def order_of(order_id: str, permission: Permission = Permission.VIEW) -> tuple[Staff, Order]:
        account = me()
        found = s.orders.get(order_id)
        if found is None or not _reaches(account, found.lot_id, s):
            raise OrderNotFound(order_id)
        account.require(permission)
        return account, found

    @bp.get("/")
    def page() -> Response:
        return send_from_directory(PAGE, "index.html")

    @bp.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(PAGE, name)

    @bp.post("/api/v1/auth/login")
    def login() -> dict[str, Any]:
        body = parse_body(bodies.LoginBody)
        tokens = log_in_staff(body.email, body.password, s.staff, s.passwords, s.staff_tokens, s.clock)
        return {"token": tokens.access_token, "expires_in": tokens.expires_in}

    @bp.get("/api/v1/me")
    def who() -> dict[str, Any]:
        account = me()
        return {
            "email": account.email,
            "role": account.role.value,
            "tenant_id": account.tenant_id,
            "lots": [_lot_json(lot) for lot in my_lots(account, s.lots)],
        }

    @bp.post("/api/v1/staff")
    def new_staff() -> tuple[dict[str, Any], int]:
        account = me()
        account.require(Permission.STAFF)
        body = parse_body(bodies.StaffBody)
        for lot_id in body.lots:
            lot_for(account, lot_id, s.lots)  # only lots of this property company
        made = create_staff(
            body.email, body.password, account.tenant_id, Role(body.role), set(body.lots), s.staff, s.passwords
        )
        _record(
            s,
            account,
            f"staff:{made.email}",
            "create_staff",
            None,
            {"role": made.role.value, "lots": sorted(made.lot_ids)},
        )
        return {"email": made.email, "role": made.role.value, "lots": sorted(made.lot_ids)}, 201

    @bp.get("/api/v1/lots")
    def lots() -> Any:
        return _listed([_lot_json(lot) for lot in my_lots(me(), s.lots)], "lots")

    @bp.post("/api/v1/lots")
    def new_lot() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.NewLotBody)
        lot = _apply(Lot(id=body.id, name=body.name), body)
        return _lot_json(create_lot(me(), lot, s.lots, s.audit, s.clock)), 201

    @bp.get("/api/v1/lots/<lot_id>")
    def lot(lot_id: str) -> dict[str, Any]:
        return _lot_json(lot_of(lot_id))

    @bp.put("/api/v1/lots/<lot_id>")
    def edit_lot(lot_id: str) -> dict[str, Any]:
        account = me()
        body = parse_body(bodies.PolicyBody)
        current = lot_for(account, lot_id, s.lots, Permission.MANAGE)
        changed = _apply(current, body)
        changes = {
            f: getattr(changed, f)
            for f in (
                "name",
                "timezone",
                "quota",
                "policy",
                "cards",
                "reminder_offsets",
                "reminder_hour",
                "invoice_provider",
            )
        }
        return _lot_json(update_lot(account, lot_id, changes, body.reason, s.lots, s.audit, s.clock))

    @bp.get("/api/v1/lots/<lot_id>/packages")
    def packages(lot_id: str) -> Any:
        return _listed([_package_json(p) for p in lot_packages(me(), lot_id, s.packages, s.lots)], "packages")

    @bp.post("/api/v1/lots/<lot_id>/packages")
    def save(lot_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.PackageBody)
        package = Package(
            body.id,
            lot_id,
            body.name,
            Duration(DurationUnit(body.unit), body.count),
            body.price_fen,
            body.enabled,
            body.position,
        )
        return _package_json(save_package(me(), package, s.packages, s.lots, s.audit, s.clock)), 201

    @bp.get("/api/v1/lots/<lot_id>/applications")
    def applications(lot_id: str) -> Any:
        lot = lot_of(lot_id)
        queue = s.applications.queue(lot.id) + s.applications.waiting(lot.id)
        return _listed([_application_json(a) for a in queue], "applications")

    @bp.post("/api/v1/applications/<application_id>/approve")
    def approve(application_id: str) -> dict[str, Any]:
        account, found = application_of(application_id)
        actor = f"admin:{account.email}"
        done = approve_application(found.id, actor, s.lots, s.applications, s.uow, s.clock, s.notices)
        return _application_json(done)

    @bp.post("/api/v1/applications/<application_id>/reject")
    def reject(application_id: str) -> dict[str, Any]:
        account, found = application_of(application_id)
        reason = parse_body(bodies.ReasonBody).reason
        done = reject_application(
            found.id, f"admin:{account.email}", reason, s.lots, s.applications, s.uow, s.clock, s.notices
        )
        return _application_json(done)

    @bp.get("/api/v1/lots/<lot_id>/pauses")
    def pauses(lot_id: str) -> Any:
        lot = lot_of(lot_id)
        return _listed([_card_json(c) for c in s.card_queries.pauses_to_approve(lot.id)], "cards")

    @bp.post("/api/v1/cards/<card_id>/pauses/<pause_id>/<verdict>")
    def decide(card_id: str, pause_id: str, verdict: str) -> dict[str, Any]:
        account = me()
        office_card(account, card_id, s.cards, s.lots, Permission.MANAGE)
        if verdict not in ("approve", "reject"):
            raise InvalidInput("approve or reject")
        reason = parse_body(bodies.ReasonBody).reason if verdict == "reject" else None
        card = answer_pause(
            card_id,
            pause_id,
            verdict == "approve",
            f"admin:{account.email}",
            reason,
            s.cards,
            s.lots,
            s.uow,
            s.clock,
        )
        return _card_json(card)

    @bp.get("/api/v1/lots/<lot_id>/invoices")
    def invoices(lot_id: str) -> Any:
        lot = lot_of(lot_id)
        return _listed([_invoice_json(i) for i in s.invoices.requested(lot.id)], "invoices")

    @bp.post("/api/v1/orders/<order_id>/invoice/issue")
    def issue(order_id: str) -> dict[str, Any]:
        order_of(order_id, Permission.MANAGE)
        upload = request.files.get("pdf")
        number = request.form.get("number", "").strip()
        if upload is None or not number or len(number) > 32:
            raise InvalidInput("send the invoice number and its PDF (multipart fields number, issued_on, pdf)")
        pdf = upload.read(10_000_001)
        if not pdf.startswith(b"%PDF-") or len(pdf) > 10_000_000:
            raise InvalidInput("the file is not a PDF (or over 10 MB)")
        try:
            issued_on = date.fromisoformat(request.form.get("issued_on", ""))
        except ValueError:
            raise InvalidInput("issued_on is a date, YYYY-MM-DD") from None
        account, _ = order_of(order_id, Permission.MANAGE)
        done = enter_manual_invoice(order_id, number, issued_on, pdf, s.invoicing)
        _record(
            s, account, f"invoice:{order_id}", "issue_invoice", None, {"number": number, "issued_on": str(issued_on)}
        )
        return _invoice_json(done)

    @bp.post("/api/v1/orders/<order_id>/invoice/reject")
    def no_invoice(order_id: str) -> dict[str, Any]:
        account, _ = order_of(order_id, Permission.MANAGE)
        reason = parse_body(bodies.ReasonBody).reason
        done = reject_invoice(order_id, reason, s.invoicing)
        _record(s, account, f"invoice:{order_id}", "reject_invoice", reason, {"state": done.state.value})
        return _invoice_json(done)

    @bp.get("/api/v1/lots/<lot_id>/cards")
    def cards(lot_id: str) -> Any:
        found = search_cards(me(), lot_id, request.args.get("q", ""), s.cards, s.owners, s.lots, s.clock)
        rows = [{**_card_json(f.card), "state": f.state.value, "owner_phone": f.owner_phone} for f in found]
        return _listed(rows, "cards")

    @bp.get("/api/v1/cards/<card_id>")
    def card(card_id: str) -> dict[str, Any]:
        h = card_history(me(), card_id, s.cards, s.lots, s.orders, s.card_queries, s.gates)
        return {
            "card": {**_card_json(h.card), "state": h.card.state_on(h.lot.today(s.clock.now())).value},
            "lot_version": h.lot.entitlement_version,
            "orders": [_order_json(o) for o in h.orders],
            "changes": [
                {
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "reason": e.reason,
                    "before": e.before,
                    "after": e.after,
                }
                for e in h.changes
            ],
            "gates": [{"gate_id": g, "version": v, "at": at} for g, v, at in h.gates],
        }

    @bp.post("/api/v1/cards/<card_id>/fix")
    def fix(card_id: str) -> dict[str, Any]:
        body = parse_body(bodies.FixBody)
        account = me()
        card, _ = office_card(account, card_id, s.cards, s.lots, Permission.MANAGE)
        # `state` predates the cancel and restore routes: it is answered by them, with their rules.
        if body.state == "cancelled":
            card = cancel_card(card.id, f"admin:{account.email}", body.reason, s.card_life)
        elif body.state == "active" and card.state is CardState.CANCELLED:
            card = restore_card(card.id, f"admin:{account.email}", body.reason, s.card_life)
        elif body.state == "expired":
            raise InvalidInput("a card expires by its end date: set valid_until instead")
        if body.valid_until is not None or body.holder is not None:
            card = fix_card(
                account, card_id, body.valid_until, body.holder, body.reason, s.cards, s.lots, s.uow, s.clock
            )
        return _card_json(card)

    @bp.post("/api/v1/cards/<card_id>/cancel")
    def cancel(card_id: str) -> dict[str, Any]:
        account = me()
        office_card(account, card_id, s.cards, s.lots, Permission.MANAGE)
        reason = parse_body(bodies.ReasonBody).reason
        return _card_json(cancel_card(card_id, f"admin:{account.email}", reason, s.card_life))

    @bp.post("/api/v1/cards/<card_id>/restore")
    def restore(card_id: str) -> dict[str, Any]:
        account = me()
        office_card(account, card_id, s.cards, s.lots, Permission.MANAGE)
        reason = parse_body(bodies.ReasonBody).reason
        return _card_json(restore_card(card_id, f"admin:{account.email}", reason, s.card_life))

    @bp.post("/api/v1/cards/<card_id>/payments")
    def pay(card_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.PaymentBody)
        order = offline_payment(
            me(),
            card_id,
            body.package_id,
            Channel(body.channel),
            body.idempotency_key,
            cards=s.cards,
            lots=s.lots,
            packages=s.packages,
            orders=s.orders,
            uow=s.uow,
            signer=s.receipt_signer,
            ids=s.ids,
            clock=s.clock,
        )
        return {**_order_json(order), "receipt_url": f"/admin/api/v1/orders/{order.id}/receipt.pdf"}, 201

    @bp.get("/api/v1/orders/<order_id>/receipt.pdf")
    def receipt(order_id: str) -> Response:
        from infra.pdf import receipt_pdf

        order_of(order_id)
        signed = s.receipts.get(f"rcpt-{order_id}")
        if signed is None:
            raise ReceiptNotFound(order_id)
        url = f"{request.host_url.rstrip('/')}/api/v1/receipts/{signed.receipt.id}/verify"
        return Response(receipt_pdf(signed, url, s.seal_png), mimetype="application/pdf")

    @bp.post("/api/v1/orders/<order_id>/refund")
    def refund(order_id: str) -> dict[str, Any]:
        account, order = order_of(order_id, Permission.MANAGE)
        parse_body(bodies.ReasonBody)
        done = office_refund(
            account,
            order_id,
            orders=s.orders,
            cards=s.cards,
            lots=s.lots,
            provider=s.provider(order.channel),
            uow=s.uow,
            invoicing=s.invoicing,
            clock=s.clock,
        )
        return _order_json(done)

    @bp.get("/api/v1/lots/<lot_id>/reports/<period>")
    def report(lot_id: str, period: str) -> Any:
        r = lot_report(me(), lot_id, period, s.ledger, s.cards, s.reminders, s.gates, s.lots, s.clock)
        if request.args.get("format") == "csv":
            rows = [{"day": d, "revenue_fen": f} for d, f in sorted(r.by_day.items())]
            rows += [{"day": f"channel:{c}", "revenue_fen": f} for c, f in sorted(r.by_channel.items())]
            rows += [{"day": f"package:{p}", "revenue_fen": f} for p, f in sorted(r.by_package.items())]
            return _csv(rows, f"report-{lot_id}-{period}.csv")
        return {
            "lot_id": r.lot.id,
            "first_day": r.first_day.isoformat(),
            "last_day": r.last_day.isoformat(),
            "revenue_fen": r.revenue_fen,
            "by_channel": r.by_channel,
            "by_package": r.by_package,
            "by_day": r.by_day,
            "payments": r.payments,
            "refunds": r.refunds,
            "online_share": r.online_share,
            "new_cards": r.new_cards,
            "cards": r.cards,
            "reminders": r.reminders,
            "lagging_gates": [{"gate_id": g, "version": v, "at": at} for g, v, at in r.lagging_gates],
            "lot_version": r.lot.entitlement_version,
        }

    @bp.post("/api/v1/lots/<lot_id>/imports/parse")
    def parse_import(lot_id: str) -> dict[str, Any]:
        lot_of(lot_id, Permission.MANAGE)
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("send the file as multipart field `file` (CSV or XLSX)")
        rows = _read_table(upload.filename or "", upload.read(20_000_001))
        return {"columns": list(COLUMNS), "rows": rows}

    @bp.post("/api/v1/lots/<lot_id>/imports/rows")
    def import_slice(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.ImportBody)
        account = me()
        report = import_rows(account, lot_id, body.first_row, body.rows, s.cards, s.lots, s.uow, s.clock)
        summary = {
            "first_row": body.first_row,
            "rows": len(body.rows),
            "created": report.created,
            "existing": report.existing,
            "refused": len(report.errors),
        }
        _record(s, account, f"lot:{lot_id}", "import_cards", None, summary)
        return {
            "created": report.created,
            "existing": report.existing,
            "errors": [{"row": n, "message": m} for n, m in report.errors],
        }

    return bp


def _record(s: Services, account: Staff, subject: str, action: str, reason: str | None, after: dict[str, Any]) -> None:
    at = s.clock.now()
    s.audit.record(
        AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, None, after)
    )


def _reaches(account: Staff, lot_id: str, s: Services) -> bool:
    try:
        lot_for(account, lot_id, s.lots)
    except LotNotFound:
        return False
    return True


def _apply(lot: Lot, b: bodies.PolicyBody) -> Lot:
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


def _read_table(name: str, data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file, keyed by the header row."""
    if len(data) > 20_000_000:
        raise InvalidInput("the file is over 20 MB")
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        values = [
            ["" if v is None else (v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)) for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]  # type: ignore[union-attr]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput("the CSV is neither UTF-8 nor GB18030")
        values = list(csv.reader(io.StringIO(text)))
    if not values:
        raise InvalidInput("the file is empty")
    header = [h.strip().lower() for h in values[0]]
    if "plates" not in header or "valid_until" not in header:
        raise InvalidInput(f"the first row names the columns: {', '.join(COLUMNS)}")
    return [{h: (row[i] if i < len(row) else "") for i, h in enumerate(header)} for row in values[1:] if any(row)]


def _listed(rows: list[dict[str, Any]], key: str) -> Any:
    if request.args.get("format") == "csv":
        return _csv(rows, f"{key}.csv")
    return {key: rows}


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row))
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
    text = "" if value is None else (" / ".join(value) if isinstance(value, list) else str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formulas from data into a spreadsheet


def _lot_json(lot: Lot) -> dict[str, Any]:
    p, c = lot.policy, lot.cards
    return {
        "id": lot.id,
        "name": lot.name,
        "timezone": lot.timezone,
        "quota": lot.quota,
        "held": lot.held,
        "mode": p.mode.value,
        "max_until": p.max_until.isoformat() if p.max_until else None,
        "max_months_ahead": p.max_months_ahead,
        "online_renewal": p.online_renewal,
        "reminder_offsets": list(lot.reminder_offsets),
        "reminder_hour": lot.reminder_hour,
        "invoice_provider": lot.invoice_provider.value,
        "entitlement_version": lot.entitlement_version,
        **{k: (v.value if hasattr(v, "value") else v) for k, v in vars(c).items()},
    }


def _package_json(p: Package) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "unit": p.duration.unit.value,
        "count": p.duration.count,
        "price_fen": p.price_fen,
        "enabled": p.enabled,
        "position": p.position,
    }


def _card_json(c: Card) -> dict[str, Any]:
    return {
        "id": c.id,
        "lot_id": c.lot_id,
        "plates": list(c.plates),
        "holder": c.holder,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
        "state": c.state.value,
        "pauses": [pause_json(p) for p in c.pauses],
    }


def _order_json(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.id,
        "card_id": o.card_id,
        "package": o.package.name,
        "amount_fen": o.amount_fen,
        "channel": o.channel.value,
        "state": o.state.value,
        "created_at": o.created_at.isoformat(),
        "paid_at": o.paid_at.isoformat() if o.paid_at else None,
        "staff": o.staff,
        "new_valid_from": o.new_valid_from.isoformat() if o.new_valid_from else None,
        "new_valid_until": o.new_valid_until.isoformat() if o.new_valid_until else None,
    }


def _application_json(a: Application) -> dict[str, Any]:
    return {
        "id": a.id,
        "lot_id": a.lot_id,
        "plates": list(a.plates),
        "package_id": a.package_id,
        "note": a.note,
        "state": a.state.value,
        "applied_at": a.applied_at.isoformat(),
        "reason": a.reason,
        "card_id": a.card_id,
    }


def _invoice_json(i: Any) -> dict[str, Any]:
    return {
        "order_id": i.order_id,
        "type": i.request.type.value,
        "title": i.request.title,
        "tax_id": i.request.tax_id,
        "amount_fen": i.amount_fen,
        "state": i.state.value,
        "requested_at": i.requested_at.isoformat(),
        "number": i.number,
        "reason": i.reason,
    }


def with_admin(api: WSGIApplication, admin: WSGIApplication) -> WSGIApplication:
    """One server for both (the local stack): /admin goes to the admin function, the rest to the API."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = admin if environ.get("PATH_INFO", "").startswith("/admin") else api
        return target(environ, start_response)

    return app


def create_admin_app(services: Services) -> Flask:
    app = json_app("parkpass-admin", 21_000_000)  # imports of up to 20 MB
    app.register_blueprint(admin_blueprint(services))
    return app


__getattr__ = app_on_first_use(lambda: create_admin_app(services_from_env()))
