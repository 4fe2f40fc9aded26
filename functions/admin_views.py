"""The admin function's JSON views: one place for how lots, packages, cards, orders, applications and invoices
are shown to the office."""

from __future__ import annotations

from typing import Any

from domain.application import Application
from domain.card import Card
from domain.lot import Lot
from domain.order import Order
from domain.package import Package
from functions.views import pause_json


def lot_json(lot: Lot) -> dict[str, Any]:
    p, c = lot.policy, lot.cards
    return {
        "id": lot.id,
        "name": lot.name,
        "timezone": lot.timezone,
        "quota": lot.quota,
        "held": lot.held,
        "mode": p.mode.value,
        "max_until": p.max_until.isoformat() if p.max_until else None,
        "max_months_ahead": p.max_months_ahead,
        "online_renewal": p.online_renewal,
        "reminder_offsets": list(lot.reminder_offsets),
        "reminder_hour": lot.reminder_hour,
        "invoice_provider": lot.invoice_provider.value,
        "entitlement_version": lot.entitlement_version,
        **{k: (v.value if hasattr(v, "value") else v) for k, v in vars(c).items()},
    }


def package_json(p: Package) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "unit": p.duration.unit.value,
        "count": p.duration.count,
        "price_fen": p.price_fen,
        "enabled": p.enabled,
        "position": p.position,
    }


def card_json(c: Card) -> dict[str, Any]:
    return {
        "id": c.id,
        "lot_id": c.lot_id,
        "plates": list(c.plates),
        "holder": c.holder,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
        "state": c.state.value,
        "pauses": [pause_json(p) for p in c.pauses],
    }


def order_json(o: Order) -> dict[str, Any]:
    return {
        "order_id": o.id,
        "card_id": o.card_id,
        "package": o.package.name,
        "amount_fen": o.amount_fen,
        "channel": o.channel.value,
        "state": o.state.value,
        "created_at": o.created_at.isoformat(),
        "paid_at": o.paid_at.isoformat() if o.paid_at else None,
        "staff": o.staff,
        "new_valid_from": o.new_valid_from.isoformat() if o.new_valid_from else None,
        "new_valid_until": o.new_valid_until.isoformat() if o.new_valid_until else None,
    }


def application_json(a: Application) -> dict[str, Any]:
    return {
        "id": a.id,
        "lot_id": a.lot_id,
        "plates": list(a.plates),
        "package_id": a.package_id,
        "note": a.note,
        "state": a.state.value,
        "applied_at": a.applied_at.isoformat(),
        "reason": a.reason,
        "card_id": a.card_id,
    }


def invoice_json(i: Any) -> dict[str, Any]:
    return {
        "order_id": i.order_id,
        "type": i.request.type.value,
        "title": i.request.title,
        "tax_id": i.request.tax_id,
        "amount_fen": i.amount_fen,
        "state": i.state.value,
        "requested_at": i.requested_at.isoformat(),
        "number": i.number,
        "reason": i.reason,
    }
