"""The admin function's reports, with CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.labels import label, local_time
from domain.reconciliation import Difference, Reconciliation
from functions.admin_office import Office, csv_answer
from functions.bootstrap import Services
from functions.http import request_lang
from handlers.reconcile import lot_reconciliations
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

    @bp.get("/api/v1/lots/<lot_id>/reconciliations")
    def reconciliations(lot_id: str) -> Any:
        lang = request_lang()
        lot = s.lots.get(lot_id)
        zone = lot.timezone if lot is not None else "Asia/Shanghai"
        days = lot_reconciliations(me(), lot_id, s.reconciliations, s.lots, s.clock)
        return {"days": [_day(r, zone, lang) for r in days]}

    return bp


def _day(r: Reconciliation, zone: str, lang: str) -> dict[str, Any]:
    return {
        "channel": r.channel.value,
        "channel_label": label("channel", r.channel.value, lang),
        "day": r.day.isoformat(),
        "checked_at": local_time(r.checked_at, zone, lang),
        "provider_lines": r.provider_lines,
        "ledger_lines": r.ledger_lines,
        "differences": [
            {
                "kind": d.kind.value,
                "kind_label": label("difference", d.kind.value, lang),
                "order_id": d.order_id,
                "ours_fen": d.ours_fen,
                "theirs_fen": d.theirs_fen,
                "repaired": d.repaired,
                "note": label("reconcile_note", d.note, lang) if d.note else "",
                "what_to_do": _what_to_do(d, lang),
            }
            for d in r.differences
        ],
    }


def _what_to_do(d: Difference, lang: str) -> str:
    if d.note in ("refund_abnormal", "refund_closed"):  # the refund's own advice: what happened is known
        return label("refund_todo", d.note.removeprefix("refund_"), lang)
    return label("difference_todo", "repaired" if d.repaired else d.kind.value, lang)
