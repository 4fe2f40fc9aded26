"""The admin function's reports, with CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.labels import label
from functions.admin_office import Office, csv_answer
from functions.bootstrap import Services
from functions.http import request_lang
from handlers.reports import lot_report
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_report_routes", __name__)
    me = office.me

    @bp.get("/api/v1/lots/<lot_id>/reports/<period>")
    def report(lot_id: str, period: str) -> Any:
        r = lot_report(me(), lot_id, period, s.ledger, s.cards, s.reminders, s.gates, s.lots, s.clock)
        if request.args.get("format") == "csv":
            lang = request_lang()
            rows = [{"day": d, "revenue_fen": f} for d, f in sorted(r.by_day.items())]
            if lang == "en":
                rows += [{"day": f"channel:{c}", "revenue_fen": f} for c, f in sorted(r.by_channel.items())]
                rows += [{"day": f"package:{p}", "revenue_fen": f} for p, f in sorted(r.by_package.items())]
            else:
                by_channel = sorted(r.by_channel.items())
                rows += [{"day": f"渠道：{label('channel', c)}", "revenue_fen": f} for c, f in by_channel]
                rows += [{"day": f"套餐：{p}", "revenue_fen": f} for p, f in sorted(r.by_package.items())]
            return csv_answer(rows, f"report-{lot_id}-{period}.csv", lang)
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

    return bp
