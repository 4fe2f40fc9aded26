"""The admin function's parking at the barrier: the visitor fee rule (a price history), spaces, the barrier's
policy, exempt and blacklisted plates, an office count of the cars inside, occupancy, the visits of a day (and CSV),
parking arrears (apart from property fees)."""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from domain.calendar import written_day
from domain.errors import InvalidInput
from functions.admin_forms import key_of
from functions.admin_office import Office, csv_answer
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import barrier, parking, visitor_fee
    from functions import admin_bodies as bodies
    from functions import parking_views
else:  # parking loads with the office's first request for it, not with every cold start of the function
    bodies = lazy_module("functions.admin_bodies")
    barrier = lazy_module("domain.barrier")
    parking = lazy_module("domain.parking")
    visitor_fee = lazy_module("domain.visitor_fee")
    parking_views = lazy_module("functions.parking_views")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_parking_routes", __name__)
    me = office.me

    @bp.put("/api/v1/lots/<lot_id>/visitor-fee")
    def set_visitor_fee(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.VisitorFeeBody)
        try:
            night = (
                None
                if body.night is None
                else visitor_fee.NightPrice(
                    time.fromisoformat(body.night.from_), time.fromisoformat(body.night.until), body.night.price_fen
                )
            )
            rule = visitor_fee.VisitorFeeRule(
                body.from_, body.free_minutes, body.period_minutes, body.price_fen, body.cap_fen_per_24h, night
            )
        except ValueError:
            raise InvalidInput("visitor_fee_night") from None  # the one rule pydantic leaves to the domain
        rules = s.parking_office.set_visitor_fee(me(), lot_id, rule)
        return {"lot_id": lot_id, "rules": [_rule_json(r) for r in rules]}

    @bp.get("/api/v1/lots/<lot_id>/parking")
    def parking_setup(lot_id: str) -> dict[str, Any]:
        """The lot's parking setup: price history, spaces and the barrier's policy."""
        lot = office.lot_of(lot_id)
        setup = s.parking.setup(lot_id)
        p = setup.policy
        return {
            "lot_id": lot_id,
            "today": lot.today(s.clock.now()).isoformat(),
            "rules": [_rule_json(r) for r in setup.rules],
            "spaces": {"total": setup.spaces.total, "visitor": setup.spaces.visitor},
            "policy": {"expired_card": p.expired_card.value, "unpaid_visit": p.unpaid_visit.value,
                       "property_arrears": "remind", "leave_minutes": p.leave_minutes},
            "guests_per_month": setup.guests_per_month,
        }  # fmt: skip

    @bp.put("/api/v1/lots/<lot_id>/spaces")
    def set_spaces(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.SpacesBody)
        spaces = s.parking_office.set_spaces(me(), lot_id, parking.Spaces(body.total, body.visitor))
        return {"lot_id": lot_id, "total": spaces.total, "visitor": spaces.visitor}

    @bp.put("/api/v1/lots/<lot_id>/barrier-policy")
    def set_barrier_policy(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.BarrierPolicyBody)
        policy = barrier.BarrierPolicy(barrier.ExpiredCard(body.expired_card), barrier.UnpaidVisit(body.unpaid_visit),
                                       body.leave_minutes)  # fmt: skip
        s.parking_office.set_policy(me(), lot_id, policy, body.guests_per_month)
        return parking_setup(lot_id)

    @bp.get("/api/v1/lots/<lot_id>/exemptions")
    def passes(lot_id: str) -> dict[str, Any]:
        zone, lang = office.zone(lot_id), request_lang()
        found = s.parking_office.passes(me(), lot_id)
        return {"passes": [parking_views.pass_json(p, zone, lang) for p in found]}

    @bp.post("/api/v1/lots/<lot_id>/exemptions")
    def exempt(lot_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.PassBody)
        account = me()
        made = s.parking_office.add_pass(account, lot_id, body.plate, parking.PassKind.EXEMPT, body.reason, body.until,
                                         key_of(account, body.idempotency_key))  # fmt: skip
        return parking_views.pass_json(made, office.zone(lot_id), request_lang()), 201

    @bp.post("/api/v1/lots/<lot_id>/blacklist")
    def blacklist(lot_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.BlacklistBody)
        account = me()
        made = s.parking_office.add_pass(account, lot_id, body.plate, parking.PassKind.BLACKLISTED, body.reason, None,
                                         key_of(account, body.idempotency_key))  # fmt: skip
        return parking_views.pass_json(made, office.zone(lot_id), request_lang()), 201

    @bp.post("/api/v1/lots/<lot_id>/exemptions/<plate>/lift")
    def lift_exemption(lot_id: str, plate: str) -> dict[str, Any]:
        return lift(lot_id, plate, parking.PassKind.EXEMPT)

    @bp.post("/api/v1/lots/<lot_id>/blacklist/<plate>/lift")
    def lift_blacklisting(lot_id: str, plate: str) -> dict[str, Any]:
        return lift(lot_id, plate, parking.PassKind.BLACKLISTED)

    def lift(lot_id: str, plate: str, kind: Any) -> dict[str, Any]:
        body = parse_body(bodies.LiftBody)
        account = me()
        lifted = s.parking_office.lift_pass(account, lot_id, plate, kind, body.reason,
                                            key_of(account, body.idempotency_key))  # fmt: skip
        return parking_views.pass_json(lifted, office.zone(lot_id), request_lang())

    @bp.get("/api/v1/lots/<lot_id>/occupancy")
    def occupancy(lot_id: str) -> dict[str, Any]:
        lot, now, spaces = s.parking_office.occupancy(me(), lot_id)
        day = _day(lot.today(s.clock.now()))
        _, report = s.parking_office.day(me(), lot_id, day)
        return {
            "lot_id": lot.id,
            **parking_views.occupancy_json(now, spaces, request_lang()),
            "day": day.isoformat(),
            "by_hour": report.by_hour,
            "visits": len(report.visits),
            "visitor_revenue_fen": report.visitor_revenue_fen,
            "average_stay_minutes": report.average_stay_minutes,
        }

    @bp.post("/api/v1/lots/<lot_id>/occupancy/counts")
    def count(lot_id: str) -> dict[str, Any]:
        body = parse_body(bodies.CountBody)
        account = me()
        now = s.parking_office.count(account, lot_id, body.inside, body.visitors, body.reason,
                                     key_of(account, body.idempotency_key))  # fmt: skip
        return {"lot_id": lot_id, "inside": now.inside, "visitors": now.visitors}

    @bp.get("/api/v1/lots/<lot_id>/visits")
    def visits(lot_id: str) -> dict[str, Any] | Response:
        lot = office.lot_of(lot_id)
        day = _day(lot.today(s.clock.now()))
        lot, report = s.parking_office.day(me(), lot_id, day)
        lang = request_lang()
        rows = [parking_views.visit_row(v, lot.timezone, lang) for v in report.visits]
        if request.args.get("format") == "csv":
            return csv_answer(rows, f"visits-{lot.id}-{day.isoformat()}.csv", lang, parking_views.EMPTY_VISIT_ROW)
        return {"lot_id": lot.id, "day": day.isoformat(), "visits": rows, "by_hour": report.by_hour,
                "visitor_revenue_fen": report.visitor_revenue_fen,
                "average_stay_minutes": report.average_stay_minutes}  # fmt: skip

    @bp.get("/api/v1/lots/<lot_id>/parking-arrears")
    def parking_arrears(lot_id: str) -> dict[str, Any]:
        found = s.parking_office.arrears(me(), lot_id)
        zone, lang = office.zone(lot_id), request_lang()
        return {
            "unpaid_visits": [parking_views.owing_row(stay) for stay in found.owing],
            "expired_cards_inside": [
                {**parking_views.visit_row(v, zone, lang), "card_id": card.id,
                 "valid_until": card.valid_until.isoformat() if card.valid_until else None}
                for v, card in found.expired_inside
            ],
        }  # fmt: skip

    return bp


def _day(today: date) -> date:
    """`?day=` as written (2026-12-01, 2026/12/1), else the lot's today."""
    text = request.args.get("day")
    if not text:
        return today
    try:
        return written_day(text)
    except ValueError:
        raise InvalidInput("visit_day", value=text[:20]) from None


def _rule_json(r: Any) -> dict[str, Any]:
    night = r.night
    return {
        "from": r.starts.isoformat(), "free_minutes": r.free_minutes, "period_minutes": r.period_minutes,
        "price_fen": r.price_fen, "cap_fen_per_24h": r.cap_fen_per_24h,
        "night": None if night is None else {"from": night.starts.strftime("%H:%M"),
                                             "until": night.ends.strftime("%H:%M"), "price_fen": night.price_fen},
    }  # fmt: skip
