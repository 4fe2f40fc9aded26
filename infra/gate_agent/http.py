"""The gate agent's tiny local endpoint, for the barrier's controller:

GET /check?plate=粤B12345[&at=2026-12-05] -> allow or deny, and why;
POST /passages {"plate": "粤B12345", "direction": "in"|"out"} once the barrier let the car through;
POST /decide {"plate": "粤B12345", "direction": "in"|"out"} -> the cloud's answer for a car at the barrier (open or
not, the display text, a visitor's fee and payment link), or the gate's own when the cloud is out of reach;
GET /health -> lot, epoch, version applied, last sync, seconds behind, MQTT connected (200 ok, 503 stale or refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from werkzeug.wrappers import Request, Response

from domain.errors import InvalidPlate
from domain.gate import Decision
from domain.plate import normalise_plate


def decision_json(plate: str, decision: Decision) -> dict[str, Any]:
    return {
        "plate": plate,
        "allow": decision.allow,
        "reason": decision.reason.value if decision.reason else None,
        "valid_until": decision.valid_until.isoformat() if decision.valid_until else None,
        "days_left": decision.days_left,
        "warning": decision.warning,
    }


def check_app(
    check: Callable[[str, date], Decision],
    today: Callable[[], date],
    passage: Callable[[str, bool], None] | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
    decide: Callable[[str, bool], dict[str, Any]] | None = None,
) -> Callable[..., Iterable[bytes]]:
    @Request.application  # type: ignore[arg-type]
    def app(request: Request) -> Response:
        if request.path == "/health" and health is not None:
            answer = health()
            return _json(answer, 200 if answer["status"] == "ok" else 503)
        posted = {"/passages": passage, "/decide": decide}.get(request.path)
        if request.method == "POST" and posted is not None:
            body = request.get_json(silent=True) or {}
            try:
                plate = normalise_plate(str(body.get("plate", "")))
            except InvalidPlate as e:
                return _json({"error": {"code": "invalid_request", "message": str(e)}}, 400)
            if body.get("direction") not in ("in", "out"):
                return _json({"error": {"code": "invalid_request", "message": "direction is in or out"}}, 400)
            if request.path == "/decide" and decide is not None:
                return _json({"plate": plate, **decide(plate, body["direction"] == "in")}, 200)
            assert passage is not None
            passage(plate, body["direction"] == "in")
            return _json({"plate": plate, "direction": body["direction"]}, 202)
        if request.path != "/check":
            return _json({"error": {"code": "not_found", "message": "GET /check?plate=...&at=YYYY-MM-DD"}}, 404)
        try:
            plate = normalise_plate(request.args.get("plate", ""))
            at = date.fromisoformat(request.args["at"]) if "at" in request.args else today()
        except (InvalidPlate, ValueError) as e:
            return _json({"error": {"code": "invalid_request", "message": str(e)}}, 400)
        return _json(decision_json(plate, check(plate, at)), 200)

    return app  # type: ignore[no-any-return]


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")
