"""Visits in the mini-program: what the car at the exit owes now, paying it (the order shape of a renewal), and an
owner's guest plates. Parking modules load with the first request for them, not with every cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.errors import InvalidInput
from domain.order import Channel
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies, parking_views
else:
    bodies = lazy_module("functions.bodies")
    parking_views = lazy_module("functions.parking_views")


def visit_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("visits", __name__, url_prefix="/api/v1")

    @bp.get("/lots/<lot_id>/visits/current")
    def current_visit(lot_id: str) -> dict[str, Any]:
        """Anyone at the exit may ask (the plate is on the car): no owner is needed to pay for a visitor."""
        current_owner_id(s.tokens)
        plate = request.args.get("plate")
        if not plate:
            raise InvalidInput("parking_plate")
        now = s.visit_payments.current(lot_id, plate)
        lot = s.lots.get(now.visit.lot_id)
        return parking_views.visit_now_json(now, lot.timezone if lot else "Asia/Shanghai", request_lang())

    @bp.post("/visits/<visit_id>/payments")
    def pay_visit(visit_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.VisitPaymentBody)
        channel = Channel(body.channel)
        made = s.visit_payments.order(owner_id, visit_id, channel, body.idempotency_key, s.provider(channel),
                                      s.provider)  # fmt: skip
        return parking_views.visit_order_json(made.order, request_lang(), made.payment), 201

    @bp.get("/visit-orders/<order_id>")
    def visit_order(order_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        return parking_views.visit_order_json(s.visit_payments.my_order(owner_id, order_id), request_lang())

    @bp.post("/me/guests")
    def register_guest() -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.GuestBody)
        guest = s.visit_payments.register_guest(owner_id, body.lot_id, body.plate, body.day)
        return parking_views.guest_json(guest), 201

    return bp
