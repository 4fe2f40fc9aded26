"""The admin function's queues: applications, pauses to approve, invoices to issue."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.admin import Permission
from domain.errors import InvalidInput
from functions.admin_forms import form_field_key, key_of, optional_key, record_form
from functions.admin_office import Office, listed
from functions.admin_views import application_json, card_json, invoice_json
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from handlers.admin_cards import office_card
from handlers.applications import approve_application, reject_application
from handlers.card_changes import answer_pause
from handlers.invoices import enter_manual_invoice, reject_invoice
from handlers.office_keys import done_before
from handlers.staff import lot_for
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_queue_routes", __name__)
    me, lot_of, application_of, order_of = office.me, office.lot_of, office.application_of, office.order_of

    @bp.get("/api/v1/lots/<lot_id>/applications")
    def applications(lot_id: str) -> Any:
        lot = lot_of(lot_id)
        queue = s.applications.queue(lot.id) + s.applications.waiting(lot.id)
        lang = request_lang()
        return listed([application_json(a, lot.timezone, lang) for a in queue], "applications")

    @bp.post("/api/v1/applications/<application_id>/approve")
    def approve(application_id: str) -> dict[str, Any]:
        account, found = application_of(application_id)
        key_of(account, optional_key())  # checked; approving an approved application changes nothing anyway
        actor = f"admin:{account.email}"
        done = approve_application(found.id, actor, s.lots, s.applications, s.uow, s.clock, s.notices)
        return application_json(done, office.zone(done.lot_id), request_lang())

    @bp.post("/api/v1/applications/<application_id>/reject")
    def reject(application_id: str) -> dict[str, Any]:
        account, found = application_of(application_id)
        reason = parse_body(bodies.ReasonBody).reason
        done = reject_application(
            found.id, f"admin:{account.email}", reason, s.lots, s.applications, s.uow, s.clock, s.notices
        )
        return application_json(done, office.zone(done.lot_id), request_lang())

    @bp.get("/api/v1/lots/<lot_id>/pauses")
    def pauses(lot_id: str) -> Any:
        lot = lot_of(lot_id)
        lang = request_lang()
        return listed([card_json(c, lang) for c in s.card_queries.pauses_to_approve(lot.id)], "cards")

    @bp.post("/api/v1/cards/<card_id>/pauses/<pause_id>/<verdict>")
    def decide(card_id: str, pause_id: str, verdict: str) -> dict[str, Any]:
        account = me()
        office_card(account, card_id, s.cards, s.lots, Permission.MANAGE)
        if verdict not in ("approve", "reject"):
            raise InvalidInput("approve_or_reject")
        reason, key = None, None
        if verdict == "reject":
            b = parse_body(bodies.ReasonBody)
            reason, key = b.reason, key_of(account, b.idempotency_key)
        else:
            key = key_of(account, optional_key())
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
            key,
        )
        return card_json(card, request_lang())

    @bp.get("/api/v1/lots/<lot_id>/invoices")
    def invoices(lot_id: str) -> Any:
        account = me()
        lot = lot_for(account, lot_id, s.lots)
        lang, tax = request_lang(), account.sees_tax_ids()  # a cashier's queue: no buyer's tax id
        queue = s.invoices.requested(lot.id)
        return listed([invoice_json(i, lot.timezone, lang, tax_id=tax) for i in queue], "invoices")

    @bp.post("/api/v1/orders/<order_id>/invoice/issue")
    def issue(order_id: str) -> dict[str, Any]:
        account, _ = order_of(order_id, Permission.MANAGE)
        key = key_of(account, form_field_key())
        if done_before(key, s.uow) is not None and (issued := s.invoices.get(order_id)) is not None:
            return invoice_json(issued, office.zone(issued.lot_id), request_lang())  # the same form again
        upload = request.files.get("pdf")
        number = request.form.get("number", "").strip()
        if upload is None or not number or len(number) > 32:
            raise InvalidInput("manual_invoice_fields")
        pdf = upload.read(10_000_001)
        if not pdf.startswith(b"%PDF-") or len(pdf) > 10_000_000:
            raise InvalidInput("invoice_pdf", mb=10)
        try:
            issued_on = date.fromisoformat(request.form.get("issued_on", ""))
        except ValueError:
            raise InvalidInput("issued_on_date") from None
        done = enter_manual_invoice(order_id, number, issued_on, pdf, s.invoicing)
        after = {"number": number, "issued_on": str(issued_on)}
        record_form(s, account, f"invoice:{order_id}", "issue_invoice", None, after, key)
        return invoice_json(done, office.zone(done.lot_id), request_lang())

    @bp.post("/api/v1/orders/<order_id>/invoice/reject")
    def no_invoice(order_id: str) -> dict[str, Any]:
        account, _ = order_of(order_id, Permission.MANAGE)
        b = parse_body(bodies.ReasonBody)
        key = key_of(account, b.idempotency_key)
        done = reject_invoice(order_id, b.reason, s.invoicing)
        record_form(s, account, f"invoice:{order_id}", "reject_invoice", b.reason, {"state": done.state.value}, key)
        return invoice_json(done, office.zone(done.lot_id), request_lang())

    return bp
