"""How domain objects look in JSON. Money stays integer fen; yuan text is for display only."""

from __future__ import annotations

from typing import Any

from domain.card import Pause
from domain.invoice import InvoiceState
from domain.labels import label, order_state_text
from domain.lot import Lot
from domain.messages import text
from domain.money import yuan_text
from domain.order import Order, OrderState
from domain.owner import Owner
from domain.package import Package
from domain.phone import masked_phone
from handlers.applications import ApplicationView
from handlers.list_lot_packages import PriceList
from handlers.my_cards import CardView
from handlers.my_orders import OrderLine
from handlers.ports import IssuedTokens
from handlers.renewals import PackageOffer


def lot_json(lot: Lot) -> dict[str, Any]:
    return {"id": lot.id, "name": lot.name, "timezone": lot.timezone}


def package_json(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "duration": {"unit": package.duration.unit.value, "count": package.duration.count},
        "price_fen": package.price_fen,
        "price_yuan": yuan_text(package.price_fen),
    }


def price_list_json(price_list: PriceList) -> dict[str, Any]:
    return {"lot": lot_json(price_list.lot), "packages": [package_json(p) for p in price_list.packages]}


def owner_json(owner: Owner) -> dict[str, Any]:
    """Never the openid, the session_key or the whole phone number."""
    return {
        "id": owner.id,
        "phone": masked_phone(owner.phone) if owner.phone else None,
        "vehicles": sorted(owner.vehicles),
    }


def tokens_json(tokens: IssuedTokens) -> dict[str, Any]:
    return {
        "token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
        "refresh_expires_in": tokens.refresh_expires_in,
    }


def card_json(view: CardView) -> dict[str, Any]:
    card = view.card
    return {
        "id": card.id,
        "lot": {"id": view.lot.id, "name": view.lot.name},
        "plates": list(card.plates),
        "valid_from": card.valid_from.isoformat() if card.valid_from else None,
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "state": view.state.value,
        "days_left": view.days_left,
        "pause": pause_json(view.pause) if view.pause else None,
        "pay_by": card.pay_by.isoformat() if card.pay_by else None,
    }


def pause_json(pause: Pause) -> dict[str, Any]:
    return {
        "id": pause.id,
        "from": pause.starts.isoformat(),
        "until": pause.until.isoformat(),
        "days": pause.days,
        "state": pause.state.value,
        "open_ended": pause.open_ended,
    }


def application_json(view: ApplicationView, lang: str = "zh") -> dict[str, Any]:
    """What the applicant sees: never whether, or by whom, its plates are held elsewhere (no plate oracle)."""
    a = view.application
    return {
        "id": a.id,
        "lot": {"id": view.lot.id, "name": view.lot.name},
        "plates": list(a.plates),
        "package_id": a.package_id,
        "note": a.note,
        "state": a.state.value,
        "state_label": label("application_state", a.state.value, lang),
        "applied_at": a.applied_at.isoformat(),
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        "reason": a.reason,
        "card_id": a.card_id,
        "pay_by": a.pay_by.isoformat() if a.pay_by else None,
        "waitlist_position": view.waitlist_position,
    }


def offer_json(offer: PackageOffer, lang: str) -> dict[str, Any]:
    q = offer.quote
    return {
        **package_json(offer.package),
        "enabled": offer.package.enabled,
        "amount_fen": q.amount_fen,
        "amount_yuan": yuan_text(q.amount_fen),
        "new_valid_from": q.new_valid_from.isoformat(),
        "new_valid_until": q.new_valid_until.isoformat(),
        "allowed": q.allowed,
        "reason": q.reason.value if q.reason else None,
        "limit": q.limit.isoformat() if q.limit else None,
        "message": text(q.reason.value, lang, {"limit": q.limit}) if q.reason else None,
    }


def order_json(order: Order, lang: str = "zh") -> dict[str, Any]:
    """An owner's order, with its state and channel in words (退款中 until a refund's money is back)."""
    return {
        "order_id": order.id,
        "out_trade_no": order.id,
        "card_id": order.card_id,
        "package_id": order.package.id,
        "channel": order.channel.value,
        "state": order.state.value,
        "amount_fen": order.amount_fen,
        "new_valid_from": (order.new_valid_from or order.quoted_from).isoformat(),
        "new_valid_until": (order.new_valid_until or order.quoted_until).isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "refund_state": order.refund.value if order.refund else None,
        "state_text": order_state_text(order, lang, owner=True),
        "channel_text": label("channel", order.channel.value, lang),
    }


def owner_order_json(line: OrderLine, lang: str) -> dict[str, Any]:
    """One order in the owner's list: the Order, with words to show and links to what can be done with it."""
    o, invoice = line.order, line.invoice
    base = f"/api/v1/orders/{o.id}"
    receipted = o.state in (OrderState.PAID, OrderState.REFUNDED)  # the payment's receipt stays after a refund
    downloadable = invoice is not None and invoice.state in (
        InvoiceState.ISSUED, InvoiceState.REVERSING, InvoiceState.REVERSED
    )  # fmt: skip
    return {
        **order_json(o, lang),
        "amount_yuan": yuan_text(o.amount_fen),
        "package": {"id": o.package.id, "name": o.package.name},
        "card": {"id": o.card_id, "plates": list(line.card.plates) if line.card else []},
        "lot": {"id": o.lot_id, "name": line.lot.name if line.lot else o.lot_id},
        "created_at": o.created_at.isoformat(),
        "invoice_state": invoice.state.value if invoice else None,
        "links": {
            "self": base,
            "cancel": f"{base}/cancel" if o.state is OrderState.PENDING else None,
            "receipt": f"{base}/receipt" if receipted else None,
            "receipt_pdf": f"{base}/receipt.pdf" if receipted else None,
            "invoice": f"{base}/invoice" if invoice else None,
            "invoice_pdf": f"{base}/invoice.pdf" if downloadable else None,
        },
    }
