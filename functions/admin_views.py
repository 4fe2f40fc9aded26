"""The admin function's JSON views: one place for how lots, packages, cards, orders, applications and invoices
are shown to the office."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.admin import Staff
from domain.application import Application
from domain.card import Card
from domain.card_claim import waits_for_owner
from domain.labels import actor_label, label, local_time, order_state_text
from domain.lot import Lot
from domain.messages import text
from domain.money import yuan_text
from domain.order import Order, OrderState, RefundState
from domain.package import Package
from functions.views import pause_json
from handlers.admin_lots import GateLag
from handlers.refund_order import refund_no


def lot_json(lot: Lot, lang: str = "zh") -> dict[str, Any]:
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
        "mode_label": label("renewal_mode", p.mode.value, lang),
        "approval_label": label("approval", c.approval.value, lang),
        "invoice_provider_label": label("invoice_provider", lot.invoice_provider.value, lang),
    }


def package_json(p: Package, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "unit": p.duration.unit.value,
        "count": p.duration.count,
        "price_fen": p.price_fen,
        "price_yuan": yuan_text(p.price_fen),
        "enabled": p.enabled,
        "enabled_label": label("on_sale", "yes" if p.enabled else "no", lang),
        "length_label": f"{p.duration.count} {label('unit', p.duration.unit.value, lang)}",
        "position": p.position,
    }


def staff_json(a: Staff, lang: str = "zh") -> dict[str, Any]:
    """An office account as its administrators see it: never its password."""
    return {
        "email": a.email,
        "role": a.role.value,
        "role_label": label("role", a.role.value, lang),
        "lots": sorted(a.lot_ids),
        "disabled": a.disabled,
        "state_label": label("staff_state", "disabled" if a.disabled else "active", lang),
    }


def gate_json(g: GateLag, lot: Lot, lang: str = "zh") -> dict[str, Any]:
    """A gate of the lot: the feed version it applied, how far behind the lot's it is, and when it said so."""
    state = "never" if g.version is None else ("behind" if g.lag else "current")
    when = datetime.fromisoformat(g.at) if g.at else None
    return {
        "gate_id": g.gate_id,
        "version": g.version,
        "lag": g.lag,
        "state": state,
        "state_label": label("gate_state", state, lang),
        "at": g.at,
        "at_local": local_time(when, lot.timezone, lang) if when and when.tzinfo else None,
    }


def card_json(c: Card, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": c.id,
        "lot_id": c.lot_id,
        "plates": list(c.plates),
        "holder": c.holder,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
        "state": c.state.value,
        "state_label": label("card_state", c.state.value, lang),
        "pauses": [pause_json(p) for p in c.pauses],
        "waiting_for_owner": waits_for_owner(c),
        "claim_phone_last4": c.claim.phone_last4 if c.claim is not None and waits_for_owner(c) else None,
    }


def with_state(view: dict[str, Any], state: str, lang: str) -> dict[str, Any]:
    """A card's view with the state it shows today (paused, expired) rather than the one stored."""
    return {**view, "state": state, "state_label": label("card_state", state, lang)}


def change_json(e: Any, zone: str, lang: str) -> dict[str, Any]:
    """One line of a card's history (an audit entry), with its words and time for people."""
    return {
        "at": e.at.isoformat(),
        "at_local": local_time(e.at, zone, lang),
        "actor": e.actor,
        "actor_label": actor_label(e.actor, lang),
        "action": e.action,
        "action_label": label("action", e.action, lang),
        "reason": e.reason,
        "before": e.before,
        "after": e.after,
    }


def order_json(o: Order, zone: str, lang: str = "zh") -> dict[str, Any]:
    return {
        "order_id": o.id,
        "card_id": o.card_id,
        "package": o.package.name,
        "amount_fen": o.amount_fen,
        "amount_yuan": yuan_text(o.amount_fen),
        "channel": o.channel.value,
        "channel_label": label("channel", o.channel.value, lang),
        "state": o.state.value,
        "state_label": order_state_text(o, lang),
        "created_at": o.created_at.isoformat(),
        "created_at_local": local_time(o.created_at, zone, lang),
        "paid_at": o.paid_at.isoformat() if o.paid_at else None,
        "paid_at_local": local_time(o.paid_at, zone, lang) if o.paid_at else None,
        "staff": o.staff,
        "new_valid_from": o.new_valid_from.isoformat() if o.new_valid_from else None,
        "new_valid_until": o.new_valid_until.isoformat() if o.new_valid_until else None,
        "refund_state": o.refund.value if o.refund else None,
        "refund_no": refund_no(o) if o.state is OrderState.REFUNDED else None,
        "refund_todo": label("refund_todo", o.refund.value, lang) if o.refund in REFUND_TROUBLE else None,
    }


REFUND_TROUBLE = (RefundState.ABNORMAL, RefundState.CLOSED)


def application_json(a: Application, zone: str, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": a.id,
        "lot_id": a.lot_id,
        "plates": list(a.plates),
        "package_id": a.package_id,
        "note": a.note,
        "state": a.state.value,
        "state_label": label("application_state", a.state.value, lang),
        "applied_at": a.applied_at.isoformat(),
        "applied_at_local": local_time(a.applied_at, zone, lang),
        "reason": a.reason,
        "card_id": a.card_id,
        "held_elsewhere": list(a.held_elsewhere),
        "review_label": text("plates_held_elsewhere", lang, {"plates": "、".join(a.held_elsewhere)})
        if a.held_elsewhere
        else None,
    }


def invoice_json(i: Any, zone: str, lang: str = "zh", *, tax_id: bool = True) -> dict[str, Any]:
    """`tax_id` False (a cashier's queue): the buyer's tax id is left out, its column too."""
    shown = {"tax_id": i.request.tax_id} if tax_id else {}
    return {
        "order_id": i.order_id,
        "type": i.request.type.value,
        "title": i.request.title,
        **shown,
        "amount_fen": i.amount_fen,
        "amount_yuan": yuan_text(i.amount_fen),
        "state": i.state.value,
        "state_label": label("invoice_state", i.state.value, lang),
        "requested_at": i.requested_at.isoformat(),
        "requested_at_local": local_time(i.requested_at, zone, lang),
        "number": i.number,
        "reason": i.reason,
    }
