"""The admin function's money at the office: cash, POS and transfer payments, receipts, refunds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response

from domain.admin import Permission
from domain.errors import ReceiptNotFound
from domain.order import Channel
from functions.admin_office import Office
from functions.admin_views import order_json
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from functions.receipt_page import receipt_link
from handlers.admin_cards import office_refund, offline_payment
from handlers.receipts import lot_timezone
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_money_routes", __name__)
    me, order_of = office.me, office.order_of

    @bp.post("/api/v1/cards/<card_id>/payments")
    def pay(card_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.PaymentBody)
        order = offline_payment(
            me(),
            card_id,
            body.package_id,
            Channel(body.channel),
            body.idempotency_key,
            cards=s.cards,
            lots=s.lots,
            packages=s.packages,
            orders=s.orders,
            uow=s.uow,
            signer=s.receipt_signer,
            ids=s.ids,
            clock=s.clock,
        )
        shown = order_json(order, office.zone(order.lot_id), request_lang())
        return {**shown, "receipt_url": f"/admin/api/v1/orders/{order.id}/receipt.pdf"}, 201

    @bp.get("/api/v1/orders/<order_id>/receipt.pdf")
    def receipt(order_id: str) -> Response:
        from infra.pdf import receipt_pdf

        order_of(order_id)
        signed = s.receipts.get(f"rcpt-{order_id}")
        if signed is None:
            raise ReceiptNotFound(order_id)
        link = receipt_link(s.public_url, signed.receipt.id)
        pdf = receipt_pdf(signed, link, s.seal_png, lot_timezone(signed.receipt, s.lots))
        return Response(pdf, mimetype="application/pdf")

    @bp.post("/api/v1/orders/<order_id>/refund")
    def refund(order_id: str) -> dict[str, Any]:
        account, order = order_of(order_id, Permission.MANAGE)
        reason = parse_body(bodies.ReasonBody).reason
        # A refunded order stays refunded: the same form sent twice refunds once (no key needed).
        done = office_refund(
            account,
            order_id,
            orders=s.orders,
            cards=s.cards,
            lots=s.lots,
            provider=s.provider(order.channel),
            uow=s.uow,
            invoicing=s.invoicing,
            clock=s.clock,
            reason=reason,
        )
        if done.state is not order.state:  # the same form sent again refunds (and counts) once
            s.metrics.count("Refunds", state=done.state.value, channel=done.channel.value)
        return order_json(done, office.zone(done.lot_id), request_lang())

    return bp
