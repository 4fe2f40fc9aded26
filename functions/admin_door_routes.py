"""The admin function's door-to-door collection at the door: the collector's route, cash and QR codes with the
owner's signature and the check-in, a visit nobody answered; the cashier's handover; the day's report per collector
(+CSV); the office opening a payment's evidence."""

from __future__ import annotations

import base64
import binascii
import io
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request

from domain.errors import InvalidInput
from domain.lot import DEFAULT_TIMEZONE
from functions.admin_office import Office, csv_answer
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import collection
    from domain import order as orders
    from functions import admin_bodies as bodies
    from functions import door_views
else:  # loads with the first request for it
    bodies = lazy_module("functions.admin_bodies")
    collection = lazy_module("domain.collection")
    orders = lazy_module("domain.order")
    door_views = lazy_module("functions.door_views")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_door_routes", __name__)
    me = office.me

    def zone(community_id: str) -> str:
        community = s.billing.community(community_id)
        return community.timezone if community else "Asia/Shanghai"

    def day_asked() -> date | None:
        text = request.args.get("day")
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            raise InvalidInput("visit_day", value=text[:20]) from None

    def check_in(body: Any) -> collection.CheckIn:
        return collection.CheckIn(body.latitude, body.longitude, body.accuracy_m, body.at)

    def png(text: str) -> bytes:
        """The owner's signature: a PNG that decodes, of a screen's size, with some ink on it."""
        from PIL import Image, UnidentifiedImageError  # Pillow comes with reportlab; loaded for a door's payment only

        try:
            image = base64.b64decode(text, validate=True)
            with Image.open(io.BytesIO(image)) as drawn:
                if drawn.format != "PNG" or not (20 <= drawn.width <= 4000 and 20 <= drawn.height <= 4000):
                    raise InvalidInput("door_signature")
                darkest, _ = drawn.convert("L").getextrema()
        except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
            raise InvalidInput("door_signature") from None
        if darkest > 128:  # a blank canvas: nobody signed
            raise InvalidInput("door_signature")
        return image

    # --- the collector
    @bp.get("/api/v1/collect/route")
    def route() -> dict[str, Any]:
        lang, day = request_lang(), day_asked()
        stops = s.doorstep.route(me(), day)
        return {"day": (day or s.clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()).isoformat(),
                "stops": [door_views.stop_json(x, lang) for x in stops],
                "in_hand_fen": s.doorstep.cash_in_hand(me())}  # fmt: skip

    @bp.get("/api/v1/collect/visits/<booking_id>")
    def visit(booking_id: str) -> dict[str, Any]:
        return door_views.stop_json(s.doorstep.visit(me(), booking_id), request_lang())

    @bp.post("/api/v1/collect/visits/<booking_id>/cash")
    def cash(booking_id: str) -> dict[str, Any]:
        body = parse_body(bodies.DoorCashBody)
        order = s.doorstep.take_cash(me(), booking_id, body.amount_fen, check_in(body.check_in),
                                     png(body.signature_png), body.idempotency_key)  # fmt: skip
        return door_views.order_json(order, request_lang())

    @bp.post("/api/v1/collect/visits/<booking_id>/qr")
    def qr(booking_id: str) -> dict[str, Any]:
        body = parse_body(bodies.DoorQrBody)
        shown = s.doorstep.show_qr(me(), booking_id, orders.Channel(body.channel), check_in(body.check_in),
                                   png(body.signature_png), body.idempotency_key)  # fmt: skip
        answer = door_views.order_json(shown.order, request_lang())
        answer.update(code=shown.code, qr_svg=door_views.qr_svg(shown.code) if shown.code else None)
        return answer

    @bp.get("/api/v1/collect/orders/<order_id>")
    def door_order(order_id: str) -> dict[str, Any]:
        return door_views.order_json(s.doorstep.door_order(me(), order_id), request_lang())

    @bp.post("/api/v1/collect/visits/<booking_id>/not-home")
    def not_home(booking_id: str) -> dict[str, Any]:
        body = parse_body(bodies.NotHomeBody)
        done = s.doorstep.not_home(me(), booking_id, body.reason, check_in(body.check_in) if body.check_in else None)
        return {"booking_id": done.id, "state": done.state.value, "outcome": done.outcome}

    # --- the office
    @bp.post("/api/v1/collection-handovers")
    def handover() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.HandoverBody)
        done = s.doorstep.hand_over(me(), body.collector, body.counted_fen, body.idempotency_key, body.expected_fen)
        return door_views.handover_json(done, "Asia/Shanghai", request_lang()), 201

    @bp.get("/api/v1/collectors/<path:collector>/cash")
    def in_hand(collector: str) -> dict[str, Any]:
        return {"collector": collector.lower(), "in_hand_fen": s.doorstep.cash_in_hand(me(), collector)}

    @bp.get("/api/v1/communities/<community_id>/collection-report")
    def report(community_id: str) -> Response | dict[str, Any]:
        lang, asked = request_lang(), day_asked()
        days = s.doorstep.day_report(me(), community_id, asked)
        if request.args.get("format") == "csv":
            rows = [door_views.collector_day_row(d, lang) for d in days]
            return csv_answer(rows, f"collection-{community_id}.csv", lang, door_views.EMPTY_DAY_ROW)
        shown = asked or s.clock.now().astimezone(ZoneInfo(zone(community_id))).date()
        return {"day": shown.isoformat(), "collectors": [door_views.collector_day_json(d, lang) for d in days]}

    @bp.get("/api/v1/collection-evidence/<order_id>")
    def evidence(order_id: str) -> dict[str, Any]:
        order, image = s.doorstep.evidence(me(), order_id)
        assert order.evidence is not None
        shown = door_views.evidence_json(order.evidence, zone(order.community_id), request_lang())
        shown.update(order_id=order.id, signature_png=base64.b64encode(image).decode() if image else None)
        return shown

    return bp
