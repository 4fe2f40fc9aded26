"""What gate controllers call: the public key to verify messages, and delta sync after being offline."""

from __future__ import annotations

import base64
import hashlib
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from domain.errors import GateClockSkew, InvalidInput
from functions.bootstrap import Services
from functions.errors import error_with_details
from functions.http import parse_body, request_lang
from handlers.gate_sync import authenticated_gate, sync_page
from handlers.ports import Gate
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import parking, visits
    from functions import bodies, parking_views
else:  # parking loads with the first passage, not with every cold start (a gate's sync never pays for it)
    bodies = lazy_module("functions.bodies")
    parking = lazy_module("domain.parking")
    parking_views = lazy_module("functions.parking_views")
    visits = lazy_module("domain.visits")


def signed_gate(s: Services) -> Gate:
    """The gate whose X-Gate-* headers sign this request (method, path, time and any body)."""
    h = request.headers
    return authenticated_gate(
        h.get("X-Gate-Id", ""),
        h.get("X-Gate-Timestamp", ""),
        h.get("X-Gate-Signature", ""),
        request.method,
        request.full_path.rstrip("?"),
        s.gates,
        s.clock.now(),
        request.get_data(),
    )


def gate_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("gates", __name__, url_prefix="/api/v1/gates")

    @bp.errorhandler(GateClockSkew)
    def skewed(e: GateClockSkew) -> tuple[Response, int]:
        """The server's time in the answer (`details.server_time`, Unix seconds, and `Date`): the gate
        corrects its offset and signs again."""
        response, status = error_with_details(e, server_time=e.server_time)
        response.headers["Date"] = formatdate(e.server_time, usegmt=True)
        return response, status

    @bp.get("/public-key")
    def public_key() -> dict[str, Any]:
        if s.signer is None:
            raise InvalidInput("no_gate_signing")
        return {"algorithm": "Ed25519", "public_key": base64.b64encode(s.signer.public_key()).decode()}

    @bp.get("/entitlements")
    def entitlements() -> dict[str, Any]:
        gate = signed_gate(s)
        try:
            since, limit = int(request.args.get("since", "0")), int(request.args.get("limit", "200"))
        except ValueError:
            raise InvalidInput("since_limit_numbers") from None
        epoch = request.args.get("epoch")  # absent: a gate from before epochs
        page = sync_page(gate, since, limit, s.feed, s.lots, s.cards, s.clock.now(), epoch, s.parking)
        # What it has (after a snapshot: the snapshot's version, not a `since` of an earlier feed): the office sees
        # gates lag.
        held = page.version if page.snapshot else since
        s.gates.record_sync(gate.id, held, s.clock.now().isoformat())
        if s.signer is None:
            raise InvalidInput("no_gate_signing")
        return {
            "lot_id": page.lot_id,
            "version": page.version,
            "epoch": page.epoch,
            "snapshot": page.snapshot,
            "more": page.more,
            "events": [s.signer.sign(e.fields()) for e in page.events],
        }

    @bp.get("/spaces")
    def spaces() -> dict[str, Any]:
        """What the entrance's display shows between cars: 余位 N, or 满位 (visitors' spaces)."""
        gate = signed_gate(s)
        setup = s.parking.setup(gate.lot_id)
        now = s.parking.occupancy(gate.lot_id)
        return {"lot_id": gate.lot_id, **parking_views.occupancy_json(now, setup.spaces, request_lang())}

    @bp.post("/passages")
    def passage() -> dict[str, Any]:
        """A car at the barrier: open or not, and what the gate's display says, in one request."""
        gate = signed_gate(s)
        body = parse_body(bodies.PassageBody)
        event_id = body.event_id or reported_id(body.plate, body.direction, body.at.isoformat())
        seen = parking.Reported(gate.id, event_id, body.plate, visits.Direction(body.direction), body.at, body.opened,
                                body.photo)  # fmt: skip
        return parking_views.gate_answer(s.barrier.passage(gate, seen, request_lang()))

    return bp


def reported_id(plate: str, direction: str, at: str) -> str:
    """The event id of a report from a gate that sends none: the same report again is the same event."""
    return "r" + hashlib.sha256(f"{plate}|{direction}|{at}".encode()).hexdigest()[:32]
