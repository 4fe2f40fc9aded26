"""Property fees as the mini-program and the office read them: amounts in fen, areas and readings as decimal
strings, words in Chinese (English on request)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.bill_order import BillOrder
from domain.bill_payment import Arrears, Collection, Payable
from domain.bill_run import Bill, BillRun, BillState, ChunkState, FeeItem, RunChunk, Unit, run_state
from domain.community import Community, Meter, Reading, Vacancy
from domain.ids import is_bill_order
from domain.labels import bill_line_text, label
from domain.money import yuan_text


def area_text(hundredths: int) -> str:
    return f"{Decimal(hundredths) / 100:.2f}"


def community_json(c: Community) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "lot_ids": list(c.lot_ids), "timezone": c.timezone}


def unit_json(u: Unit, lang: str, balance_fen: int | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": u.id, "community_id": u.community_id, "building": u.building, "number": u.number,
        "area": area_text(u.area_hundredths), "state": u.state.value, "state_text": label("unit_state", u.state, lang),
    }  # fmt: skip
    if balance_fen is not None:
        shown["balance_fen"] = balance_fen
    return shown


def fee_item_json(f: FeeItem, lang: str) -> dict[str, Any]:
    late = f.late_fee
    return {
        "id": f.id, "community_id": f.community_id, "name": f.name, "kind": f.kind.value,
        "kind_text": label("fee_kind", f.kind, lang), "meter": f.meter or None,
        "prices": [{"from": p.starts.isoformat(), "price_fen": p.price_fen} for p in f.prices],
        "bands": [{"up_to": None if b.up_to is None else str(b.up_to), "price_fen": b.price_fen} for b in f.bands],
        "later_bands": [
            {"from": d.isoformat(), "bands": [{"up_to": None if b.up_to is None else str(b.up_to),
                                              "price_fen": b.price_fen} for b in bands]}
            for d, bands in f.later_bands
        ],
        "cycle_months": f.cycle_months, "due_day": f.due_day,
        "late_fee": None if late is None else {"daily_rate": str(late.daily_rate), "grace_days": late.grace_days,
                                               "cap": str(late.cap)},
        "vacancy_rate": None if f.vacancy_rate is None else str(f.vacancy_rate),
        "category": f.group.value, "category_text": label("fee_category", f.group, lang),
    }  # fmt: skip


def meter_json(m: Meter) -> dict[str, Any]:
    shared = None
    if m.unit_id is None:
        shared = {"split": m.split.value if m.split else "equal", "unit_ids": list(m.unit_ids),
                  "sub_meter_ids": list(m.sub_meter_ids)}  # fmt: skip
    return {"id": m.id, "community_id": m.community_id, "kind": m.kind, "unit_id": m.unit_id, "shared": shared,
            "digits": m.digits}  # fmt: skip


def reading_json(r: Reading) -> dict[str, Any]:
    return {"meter_id": r.meter_id, "date": r.day.isoformat(), "reading": str(r.reading), "kind": r.kind.value,
            "use": str(r.use), "old_final": None if r.old_final is None else str(r.old_final)}  # fmt: skip


def vacancy_json(v: Vacancy) -> dict[str, Any]:
    return {"id": v.id, "unit_id": v.unit_id, "from": v.first.isoformat(), "until": v.last.isoformat(),
            "reason": v.reason, "state": v.state.value}  # fmt: skip


def bill_json(b: Bill, lang: str, price: Payable | None = None, unit: Unit | None = None,
              item: FeeItem | None = None) -> dict[str, Any]:  # fmt: skip
    """A bill; `price` (an unpaid bill as paid today) adds its late fee of today as its own line citing the rule."""
    lines = [{"kind": x.kind, "text": bill_line_text(x.kind, x.text, lang), "amount_fen": x.amount_fen}
             for x in b.lines]  # fmt: skip
    late = b.late_fee_fen if b.state is not BillState.UNPAID else (price.late_fee_fen if price else 0)
    if price is not None and price.late_fee_fen:
        lines.append({"kind": "late_fee", "text": price.late_fee_text(lang), "amount_fen": price.late_fee_fen})
    elif b.state is not BillState.UNPAID and b.late_fee_fen:
        lines.append({"kind": "late_fee", "text": label("bill_line", "late_fee", lang), "amount_fen": b.late_fee_fen})
    return {
        "id": b.id,
        "unit_id": b.unit_id,
        "unit": None if unit is None else {"id": unit.id, "building": unit.building, "number": unit.number},
        "fee_item_id": b.fee_item_id,
        "fee_item": item.name if item else b.fee_item_id,
        "period": b.period,
        "lines": lines,
        "amount_fen": b.amount_fen,
        "late_fee_fen": late,
        "payable_fen": b.amount_fen + late if b.state is BillState.UNPAID else 0,
        "paid_fen": b.paid_fen,
        "due_date": b.due_date.isoformat(),
        "state": b.state.value,
        "state_text": label("bill_state", b.state, lang),
        "replaces": b.replaces,
        "run_id": b.run_id,
        "order_id": b.order_id if b.order_id and is_bill_order(b.order_id) else None,
        "late_fee_waived": b.waived is not None,
        "paid_at": b.paid_at.isoformat() if b.paid_at else None,
    }


def run_json(run: BillRun, bills: list[Bill], lang: str, chunks: Sequence[RunChunk] = ()) -> dict[str, Any]:
    """A run and its bills; a run in chunks with each chunk's progress, its bills only those reissued since (a chunk's
    own are read a chunk at a time) and its total the chunks' once every one is drafted."""
    total = sum(b.amount_fen for b in bills if b.state is not BillState.CANCELLED)  # a reissued bill replaces it
    if run.chunks:
        total = run.total_fen
    state = run_state(run)
    return {
        "id": run.id, "community_id": run.community_id, "period": run.period,
        "fee_item_ids": list(run.fee_item_ids), "total_fen": total,
        "total_yuan": yuan_text(total),
        "published": run.published_at is not None,
        "state": state.value, "state_label": label("run_state", state, lang),
        "drafted_bills": run.drafted_bills if run.chunks else len(bills),
        "chunks": [chunk_json(c, lang) for c in chunks],
        "chunks_drafted": sum(c.state is not ChunkState.PENDING for c in chunks),
        "chunks_published": sum(c.state is ChunkState.PUBLISHED for c in chunks),
        "bills": [bill_json(b, lang) for b in bills],
    }  # fmt: skip


def chunk_json(c: RunChunk, lang: str) -> dict[str, Any]:
    return {"number": c.number, "first_unit": c.first_unit, "last_unit": c.last_unit, "units": len(c.unit_ids),
            "state": c.state.value, "state_label": label("chunk_state", c.state, lang),
            "bill_count": len(c.bill_ids),
            "total_fen": c.total_fen}  # fmt: skip


def run_line(run: BillRun, lang: str) -> dict[str, Any]:
    state = run_state(run)
    # A run in chunks: the chunks' drafts once counted, and the bills reissued into it since.
    bills = (run.drafted_bills if run.drafted_at else 0) + len(run.bill_ids) if run.chunks else len(run.bill_ids)
    return {"id": run.id, "period": run.period, "fee_item_ids": list(run.fee_item_ids), "bills": bills,
            "total_fen": run.total_fen, "published": run.published_at is not None, "state": state.value,
            "state_label": label("run_state", state, lang), "created_at": run.created_at.isoformat()}  # fmt: skip


def bill_order_json(o: BillOrder, lang: str, payment: dict[str, str] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "order_id": o.id, "out_trade_no": o.id, "amount_fen": o.amount_fen, "channel": o.channel.value,
        "channel_text": label("channel", o.channel, lang), "state": o.state.value,
        "state_text": label("order_state", o.state, lang), "bill_ids": list(o.bill_ids),
        "prepay_unit_id": o.prepay_unit, "credited_unit_id": o.credited,
        "expires_at": o.expires_at.isoformat(), "paid_at": o.paid_at.isoformat() if o.paid_at else None,
    }  # fmt: skip
    if payment is not None:
        shown["payment"] = payment
    return shown


def arrears_row(a: Arrears, unit: Unit | None) -> dict[str, Any]:
    return {
        "unit_id": a.unit_id, "building": unit.building if unit else "", "unit_number": unit.number if unit else "",
        "owners": list(unit.owners) if unit else [], "bill_ids": list(a.bill_ids), "principal_fen": a.principal_fen,
        "late_fee_fen": a.late_fee_fen, "owed_fen": a.principal_fen + a.late_fee_fen, "days_overdue": a.days_overdue,
    }  # fmt: skip


def collection_row(c: Collection, item: FeeItem | None) -> dict[str, Any]:
    rate = (Decimal(c.rate.numerator) / Decimal(c.rate.denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    return {"fee_item_id": c.fee_item_id, "name": item.name if item else c.fee_item_id, "billed_fen": c.billed_fen,
            "paid_fen": c.paid_fen, "rate": str(rate), "rate_label": f"{rate * 100:.2f}%"}  # fmt: skip


def office_view(view: dict[str, Any]) -> dict[str, Any]:
    """A view as the office API names it: words beside codes are `*_label` there (`*_text` in the mini-program's)."""
    shown: dict[str, Any] = {}
    for key, value in view.items():
        if isinstance(value, dict):
            value = office_view(value)
        elif isinstance(value, list):
            value = [office_view(v) if isinstance(v, dict) else v for v in value]
        shown[key.removesuffix("_text") + "_label" if key.endswith("_text") else key] = value
    return shown
