"""The admin function's door-to-door collection: a community's collection hours and buildings, the bookings of a
day in the order to walk them (a collector's, or all), assigning a booking to a collector."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Blueprint, request

from domain.errors import InvalidInput
from functions.admin_office import Office
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import collection
    from functions import admin_bodies as bodies
    from functions import collection_views
else:  # collection loads with the office's first request for it
    bodies = lazy_module("functions.admin_bodies")
    collection = lazy_module("domain.collection")
    collection_views = lazy_module("functions.collection_views")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_collection_routes", __name__)
    me = office.me

    def zone(community_id: str) -> str:
        community = s.billing.community(community_id)
        return community.timezone if community else "Asia/Shanghai"

    @bp.put("/api/v1/communities/<community_id>/collection-hours")
    def set_hours(community_id: str) -> dict[str, Any]:
        body = parse_body(bodies.CollectionHoursBody)
        try:
            hours = collection.CollectionHours(
                community_id,
                tuple(collection.Window(w.weekday, time.fromisoformat(w.from_), time.fromisoformat(w.until))
                      for w in body.windows),
                body.slot_minutes, body.visits_per_slot, body.change_until_hours,
                tuple(collection.Building(b.name, b.x_m, b.y_m) for b in body.buildings),
                (body.origin.latitude, body.origin.longitude) if body.origin else None,
            )  # fmt: skip
        except ValueError:
            raise InvalidInput("collection_hours") from None
        saved = s.collecting.set_hours(me(), hours)
        return {"community_id": saved.community_id, "windows": len(saved.windows), "buildings": len(saved.buildings)}

    @bp.get("/api/v1/communities/<community_id>/collection-bookings")
    def evening(community_id: str) -> dict[str, Any]:
        text = request.args.get("day")
        try:
            day = date.fromisoformat(text) if text else None
        except ValueError:
            raise InvalidInput("visit_day", value=text[:20]) from None
        found = s.collecting.evening(me(), community_id, day, request.args.get("collector") or None)
        lang, where = request_lang(), zone(community_id)
        shown = day or s.clock.now().astimezone(ZoneInfo(where)).date()  # the community's today when none was asked
        return {"day": shown.isoformat(),
                "bookings": [collection_views.booking_json(b, where, lang, "label") for b in found]}  # fmt: skip

    @bp.post("/api/v1/collection-bookings/<booking_id>/assign")
    def assign(booking_id: str) -> dict[str, Any]:
        body = parse_body(bodies.AssignBody)
        done = s.collecting.assign(me(), booking_id, body.collector)
        return collection_views.booking_json(done, zone(done.community_id), request_lang(), "label")

    @bp.post("/api/v1/collection-bookings/<booking_id>/cancel")
    def cancel(booking_id: str) -> dict[str, Any]:
        body = parse_body(bodies.ReasonBody)
        done = s.collecting.cancel_at_office(me(), booking_id, body.reason)
        return collection_views.booking_json(done, zone(done.community_id), request_lang(), "label")

    return bp
