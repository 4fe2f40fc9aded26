"""The collector's day and the door's payments as JSON: a stop of the route (its unit, what it owes, its slot by
the community's clock), a door order, a handover, a collector's day report; the QR code drawn as SVG."""

from __future__ import annotations

import io
from typing import Any

from domain.bill_order import BillOrder
from domain.collection import Booking
from domain.door import CashEntry, Evidence
from domain.labels import label, local_time
from domain.money import yuan_text
from domain.receipt import receipt_id_for
from handlers.door_collection import CollectorDay, Stop

NOT_VISITED = {"zh": "未上门", "en": "not visited yet"}


def stop_json(s: Stop, lang: str) -> dict[str, Any]:
    b, unit, zone = s.booking, s.unit, s.community.timezone
    return {
        "booking_id": b.id, "community_id": b.community_id, "community": s.community.name, "unit_id": b.unit_id,
        "building": unit.building if unit else "", "number": unit.number if unit else "",
        "slot": b.slot.isoformat(), "slot_local": local_time(b.slot, zone, lang), "notes": b.notes,
        "state": b.state.value, "state_label": label("booking_state", b.state.value, lang),
        "order_id": b.order_id, "due_fen": s.due_fen, "due_yuan": yuan_text(s.due_fen),
        "items": [{"bill_id": p.bill_id, "name": name, "fen": p.total_fen, "late_fee_fen": p.late_fee_fen}
                  for p, name in zip(s.dues, s.names, strict=True)],
    }  # fmt: skip


def order_json(o: BillOrder, lang: str) -> dict[str, Any]:
    return {
        "order_id": o.id, "booking_id": o.booking_id, "state": o.state.value,
        "state_label": label("order_state", o.state.value, lang), "channel": o.channel.value,
        "amount_fen": o.amount_fen, "amount_yuan": yuan_text(o.amount_fen), "items": list(o.labels),
        "receipt_id": receipt_id_for(o.id) if o.paid_at else None,
    }  # fmt: skip


def evidence_json(e: Evidence, zone: str, lang: str) -> dict[str, Any]:
    c = e.check_in
    return {
        "collector": e.collector, "signature_sha256": e.signature_sha256, "latitude": c.latitude,
        "longitude": c.longitude, "accuracy_m": c.accuracy_m, "checked_in_at": c.at.isoformat(),
        "checked_in_local": local_time(c.at, zone, lang), "away_m": e.away_m, "far": e.far,
    }  # fmt: skip


def handover_json(e: CashEntry, zone: str, lang: str) -> dict[str, Any]:
    return {
        "id": e.id, "collector": e.collector, "cashier": e.cashier, "expected_fen": e.fen,
        "counted_fen": e.counted_fen, "difference_fen": e.difference_fen, "at": e.at.isoformat(),
        "at_local": local_time(e.at, zone, lang),
    }  # fmt: skip


def collector_day_json(d: CollectorDay, lang: str) -> dict[str, Any]:
    return {
        "collector": d.collector, "visits": d.visits, "collected": d.collected, "cash_fen": d.cash_fen,
        "qr_fen": d.qr_fen, "unpaid": [_unpaid(b, why, lang) for b, why in d.unpaid],
        "paid": [{"booking_id": b.id, "unit_id": b.unit_id, "order_id": o.id, "channel": o.channel.value,
                  "channel_label": label("channel", o.channel.value, lang), "amount_fen": o.amount_fen,
                  "receipt_id": receipt_id_for(o.id)} for b, o in d.paid],
        "handed_over_fen": d.handed_over_fen, "counted_fen": d.counted_fen, "difference_fen": d.difference_fen,
        "in_hand_fen": d.in_hand_fen,
    }  # fmt: skip


def collector_day_row(d: CollectorDay, lang: str) -> dict[str, Any]:
    """A line of the CSV: the unpaid visits and their reasons in one cell."""
    row = collector_day_json(d, lang)
    row["unpaid"] = [f"{u['booking_id']} {u['reason']}" for u in row["unpaid"]]
    del row["paid"]  # the sheet counts them (visits, collected, cash, QR)
    return row


EMPTY_DAY_ROW: dict[str, Any] = dict.fromkeys(
    ("collector", "visits", "collected", "cash_fen", "qr_fen", "unpaid", "handed_over_fen", "counted_fen",
     "difference_fen", "in_hand_fen")
)  # fmt: skip


def _unpaid(b: Booking, why: str, lang: str) -> dict[str, Any]:
    reason = why or (label("booking_state", b.state.value, lang) if b.outcome else NOT_VISITED[lang])
    return {"booking_id": b.id, "unit_id": b.unit_id, "state": b.state.value, "reason": reason}


def qr_svg(text: str) -> str:
    """The QR code the owner scans, drawn on the collector's screen (reportlab: no image library on the phone)."""
    from reportlab.graphics import renderSVG
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    size = 240
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    out = io.StringIO()
    renderSVG.drawToFile(drawing, out)
    return out.getvalue()
