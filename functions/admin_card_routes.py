"""The admin function's cards: search, history, fixes, cancel and restore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from functions.admin_forms import key_of
from functions.admin_office import Office, listed
from functions.admin_views import card_json, change_json, gate_json, order_json, with_state
from functions.bootstrap import Services
from functions.claim_page import claim_link
from functions.http import parse_body, request_lang
from handlers.admin_cards import card_history, office_cancel, office_fix, office_restore, search_cards
from handlers.admin_lots import gate_lag
from handlers.claim_cards import print_claim_code
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_card_routes", __name__)
    me = office.me

    @bp.get("/api/v1/lots/<lot_id>/cards")
    def cards(lot_id: str) -> Any:
        found = search_cards(me(), lot_id, request.args.get("q", ""), s.cards, s.owners, s.lots, s.clock)
        lang = request_lang()
        rows = [
            {**with_state(card_json(f.card, lang), f.state.value, lang), "owner_phone": f.owner_phone} for f in found
        ]
        return listed(rows, "cards")

    @bp.get("/api/v1/cards/<card_id>")
    def card(card_id: str) -> dict[str, Any]:
        h = card_history(me(), card_id, s.cards, s.lots, s.orders, s.card_queries, s.gates)
        lang, zone = request_lang(), h.lot.timezone
        return {
            "card": with_state(card_json(h.card, lang), h.card.state_on(h.lot.today(s.clock.now())).value, lang),
            "lot_version": h.lot.entitlement_version,
            "orders": [order_json(o, zone, lang) for o in h.orders],
            "changes": [change_json(e, zone, lang) for e in h.changes],
            "gates": [gate_json(gate_lag(h.lot, g, v, at), h.lot, lang) for g, v, at in h.gates],
        }

    @bp.post("/api/v1/cards/<card_id>/fix")
    def fix(card_id: str) -> dict[str, Any]:
        b = parse_body(bodies.FixBody)
        account = me()
        key = key_of(account, b.idempotency_key)
        return card_json(office_fix(account, card_id, b.valid_until, b.holder, b.state, b.reason, s.card_life, key))

    @bp.post("/api/v1/cards/<card_id>/cancel")
    def cancel(card_id: str) -> dict[str, Any]:
        b, account = parse_body(bodies.ReasonBody), me()
        return card_json(office_cancel(account, card_id, b.reason, s.card_life, key_of(account, b.idempotency_key)))

    @bp.post("/api/v1/cards/<card_id>/claim-slip")
    def claim_slip(card_id: str) -> Response:
        from infra.pdf import claim_slip_pdf

        key = parse_body(bodies.IdempotentBody).idempotency_key
        slip = print_claim_code(me(), card_id, key, s.claiming)
        link = claim_link(s.public_url, slip.code)
        pdf = claim_slip_pdf(slip.lot.name, slip.card.plates, slip.card.holder, slip.code, link)
        return Response(pdf, mimetype="application/pdf", headers={"Cache-Control": "no-store"})

    @bp.post("/api/v1/cards/<card_id>/restore")
    def restore(card_id: str) -> dict[str, Any]:
        b, account = parse_body(bodies.ReasonBody), me()
        return card_json(office_restore(account, card_id, b.reason, s.card_life, key_of(account, b.idempotency_key)))

    return bp
