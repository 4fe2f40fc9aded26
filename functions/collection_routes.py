"""Door-to-door collection in the mini-program: the open slots of a community's day, booking a visit for one of the
owner's units (with the bills to pay at the door), the owner's bookings, cancelling one. Loaded with the first
request for them."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.errors import InvalidInput
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies, collection_views
else:
    bodies = lazy_module("functions.bodies")
    collection_views = lazy_module("functions.collection_views")


def collection_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("collection", __name__, url_prefix="/api/v1")

    def zone(community_id: str) -> str:
        community = s.billing.community(community_id)
        return community.timezone if community else "Asia/Shanghai"

    @bp.get("/communities/<community_id>/collection-slots")
    def slots(community_id: str) -> dict[str, Any]:
        current_owner_id(s.tokens)
        try:
            day = date.fromisoformat(request.args.get("day", ""))
        except ValueError:
            raise InvalidInput("visit_day", value=request.args.get("day", "")[:20]) from None
        return {"slots": [collection_views.slot_json(x) for x in s.collecting.slots(community_id, day)]}

    @bp.post("/units/<unit_id>/collection-bookings")
    def book(unit_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.BookingBody)
        made = s.collecting.book(owner_id, unit_id, body.slot, body.bill_ids, body.notes, body.idempotency_key)
        return collection_views.booking_json(made, zone(made.community_id), request_lang()), 201

    @bp.get("/me/collection-bookings")
    def mine() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        lang = request_lang()
        found = s.collecting.my_bookings(owner_id)
        return {"bookings": [collection_views.booking_json(b, zone(b.community_id), lang) for b in found]}

    @bp.post("/collection-bookings/<booking_id>/cancel")
    def cancel(booking_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        done = s.collecting.cancel(owner_id, booking_id)
        return collection_views.booking_json(done, zone(done.community_id), request_lang())

    @bp.post("/collection-bookings/<booking_id>/change")
    def change(booking_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.BookingChangeBody)
        done = s.collecting.change(owner_id, booking_id, body.slot, body.notes)
        return collection_views.booking_json(done, zone(done.community_id), request_lang())

    return bp
