"""Parking at the barrier as JSON: a gate's answer, an owner's visit and visit order, the office's rows. Words
beside codes are Chinese by default (English on request); times also in the lot's zone."""

from __future__ import annotations

from typing import Any

from domain.labels import label, local_time
from domain.money import yuan_text
from domain.parking import Occupancy, ParkedVisit, ParkingPass, Spaces, Stay
from domain.visit_payment import VisitOrder
from handlers.passages import Answer
from handlers.visit_payments import VisitNow


def gate_answer(answer: Answer) -> dict[str, Any]:
    r = answer.record
    return {
        "allow": r.allow, "kind": r.kind.value, "display": r.display, "visit_id": r.visit_id, "fee_fen": r.fee_fen,
        "pay_url": answer.pay_path, "card_id": answer.card.id if answer.card else None,
        "inside": answer.card.inside if answer.card else None, "remind": answer.remind,
    }  # fmt: skip


def visit_now_json(now: VisitNow, zone: str, lang: str) -> dict[str, Any]:
    v = now.visit
    return {
        "visit_id": v.id, "lot_id": v.lot_id, "plate": v.plate,
        "entered_at": v.entered_at.isoformat() if v.entered_at else None,
        "entered_at_local": local_time(v.entered_at, zone, lang) if v.entered_at else None,
        "fee_fen": now.fee_fen, "paid_fen": v.paid_fen, "owed_fen": now.owed_fen, "due_fen": now.due_fen,
        "due_yuan": yuan_text(now.due_fen), "leave_by": now.leave_by.isoformat() if now.leave_by else None,
    }  # fmt: skip


def visit_order_json(o: VisitOrder, lang: str, payment: dict[str, str] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "order_id": o.id, "out_trade_no": o.id, "visit_id": o.visit_id, "lot_id": o.lot_id, "plate": o.plate,
        "amount_fen": o.amount_fen, "visit_fen": o.visit_fen, "owed_fen": o.owed_fen, "channel": o.channel.value,
        "state": o.state.value, "state_text": label("order_state", o.state.value, lang),
        "expires_at": o.expires_at.isoformat(), "paid_at": o.paid_at.isoformat() if o.paid_at else None,
    }  # fmt: skip
    if payment is not None:
        shown["payment"] = payment
    return shown


def pass_json(p: ParkingPass, zone: str, lang: str) -> dict[str, Any]:
    return {
        "plate": p.plate, "kind": p.kind.value, "kind_label": label("pass_kind", p.kind.value, lang),
        "reason": p.reason, "starts": p.starts.isoformat(), "until": p.until.isoformat() if p.until else None,
        "lifted": p.lifted, "guest_of_owner": p.owner_id is not None, "by": p.by,
        "at_local": local_time(p.at, zone, lang),
    }  # fmt: skip


def guest_json(p: ParkingPass) -> dict[str, Any]:
    return {"lot_id": p.lot_id, "plate": p.plate, "day": p.starts.isoformat()}


def visit_row(v: ParkedVisit, zone: str, lang: str) -> dict[str, Any]:
    return {
        "visit_id": v.id, "plate": v.plate, "kind": v.kind.value, "kind_label": label("visit_kind", v.kind.value, lang),
        "entered_at": v.entered_at.isoformat() if v.entered_at else None,
        "entered_at_local": local_time(v.entered_at, zone, lang) if v.entered_at else None,
        "left_at": v.left_at.isoformat() if v.left_at else None,
        "left_at_local": local_time(v.left_at, zone, lang) if v.left_at else None,
        "fee_fen": v.fee_fen, "paid_fen": v.paid_fen, "flag": v.flag.value if v.flag else None,
        "flag_label": label("visit_flag", v.flag.value, lang) if v.flag else None,
    }  # fmt: skip


def occupancy_json(o: Occupancy, spaces: Spaces, lang: str) -> dict[str, Any]:
    from domain.barrier import spaces_text

    free = o.visitor_spaces_free(spaces)
    return {
        "inside": o.inside, "visitors": o.visitors, "total": spaces.total, "visitor_spaces": spaces.visitor,
        "visitor_spaces_free": free, "display": spaces_text(free, lang) if free is not None else None,
    }  # fmt: skip


def owing_row(s: Stay) -> dict[str, Any]:
    return {"plate": s.plate, "owed_fen": s.owed_fen, "owed_yuan": yuan_text(s.owed_fen),
            "inside": s.visit_id is not None}  # fmt: skip


EMPTY_VISIT_ROW: dict[str, Any] = dict.fromkeys(
    ("visit_id", "plate", "kind", "entered_at", "left_at", "fee_fen", "paid_fen", "flag")
)
"""The columns of a day's visits, for the header of a day with none."""
