"""Choosing a package, ordering a renewal, the owner's orders (list, cancel), and the providers' payment
notifications."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from domain.errors import InvalidInput, OrderPaid, OrderRefundedAlready, PaymentRejected, PaymentUnavailable
from domain.ids import is_bill_order, is_visit_order
from domain.order import Channel
from functions import observability
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.errors import error_with_details
from functions.http import parse_body, request_lang
from functions.views import offer_json, order_json, owner_order_json
from handlers.cancel_order import cancel_order
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.my_orders import DEFAULT_PAGE, MAX_PAGE, list_my_orders
from handlers.ports import PaymentNotice
from handlers.rate_limit import limit
from handlers.refund_results import refund_notified
from handlers.renewals import my_order, offers_for_card, order_renewal
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies
else:
    bodies = lazy_module("functions.bodies")

security = logging.getLogger("parkpass.security")
payments_log = logging.getLogger("parkpass.payments")

PAYMENT_METRICS = {
    Outcome.FULFILLED: "PaymentsFulfilled",
    Outcome.ALREADY_FULFILLED: "PaymentsAlreadyFulfilled",
    Outcome.NOT_PAID: "PaymentsNotPaid",
}


REJECTED_NOTICES_PER_MINUTE = 60
"""Per caller address, notifications that fail verification only: a verified notification is never refused
for rate (providers notify from a few addresses, busy evenings included); a prober gets 429s."""


def payment_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("payments", __name__, url_prefix="/api/v1")

    @bp.get("/cards/<card_id>/packages")
    def packages(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        offers = offers_for_card(owner_id, card_id, s.cards, s.lots, s.packages, s.clock)
        return {"card_id": card_id, "packages": [offer_json(o, request_lang()) for o in offers]}

    @bp.post("/cards/<card_id>/renewals")
    def renew(card_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.RenewalBody)
        channel = Channel(body.channel)
        made = order_renewal(
            owner_id,
            card_id,
            body.package_id,
            channel,
            body.idempotency_key,
            cards=s.cards,
            lots=s.lots,
            packages=s.packages,
            owners=s.owners,
            orders=s.orders,
            uow=s.uow,
            provider=s.provider(channel),
            ids=s.ids,
            clock=s.clock,
        )
        observability.bind(order_id=made.order.id, lot_id=made.order.lot_id)
        return {**order_json(made.order, request_lang()), "payment": made.payment}, 201

    @bp.get("/orders/<order_id>")
    def order(order_id: str) -> dict[str, Any]:
        return order_json(my_order(current_owner_id(s.tokens), order_id, s.orders), request_lang())

    @bp.post("/orders/<order_id>/cancel")
    def cancel(order_id: str) -> dict[str, Any] | tuple[Response, int]:
        owner_id = current_owner_id(s.tokens)
        try:
            closed = cancel_order(
                owner_id, order_id, orders=s.orders, cards=s.cards, uow=s.uow,
                provider_for=s.provider, clock=s.clock, signer=s.receipt_signer,
            )  # fmt: skip
        except (OrderPaid, OrderRefundedAlready) as e:
            assert e.order is not None
            return error_with_details(e, order=order_json(e.order, request_lang()))
        return order_json(closed, request_lang())

    @bp.get("/me/orders")
    def my_orders() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        try:
            limit = int(request.args.get("limit", DEFAULT_PAGE))
        except ValueError:
            raise InvalidInput("page_limit", most=MAX_PAGE) from None
        page = list_my_orders(owner_id, limit, request.args.get("cursor"), s.orders, s.cards, s.lots, s.invoices)
        lang = request_lang()
        return {"orders": [owner_order_json(line, lang) for line in page.orders], "next_cursor": page.next_cursor}

    def fulfil(notice: PaymentNotice, provider: str) -> None:
        """A verified notice: its order is followed in the logs from here to the gates, its outcome counted."""
        observability.bind(order_id=notice.out_trade_no[:64], card_id=notice.card_id, lot_id=notice.lot_id)
        try:
            if is_bill_order(notice.out_trade_no):
                outcome = s.bill_payments.fulfil(notice)
            elif is_visit_order(notice.out_trade_no):
                outcome = s.visit_payments.fulfil(notice)
            else:
                outcome = fulfil_payment(notice, s.orders, s.cards, s.uow, s.receipt_signer)
        except PaymentRejected as e:  # verified, but not for an order of ours or not its amount
            s.metrics.count("NotificationsRejected", provider=provider, reason=e.key)
            raise
        s.metrics.count(PAYMENT_METRICS[outcome], provider=provider, via="notification")
        payments_log.info("payment notification: %s", outcome.value, extra={"provider": provider})

    @bp.post("/payments/wechat/notify")
    def wechat_notify() -> Response | tuple[str, int]:
        if s.wechatpay is None:
            raise PaymentUnavailable()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("wechatpay-")}
        try:
            notice = s.wechatpay.notice(headers, request.get_data(as_text=True))
        except PaymentRejected as e:
            security.warning("WeChat Pay notification rejected: %s", e.message)
            s.metrics.count("NotificationsRejected", provider="wechatpay", reason=e.key)
            limit(s.rates, "wechat-rejected", request.remote_addr or "?", REJECTED_NOTICES_PER_MINUTE, s.clock.now())
            raise
        fulfil(notice, "wechatpay")
        # Only now, after the commit: any 2xx stops WeChat Pay's retries.
        return "", 204

    @bp.post("/payments/wechat/refund-notify")
    def wechat_refund_notify() -> Response | tuple[str, int]:
        """REFUND.SUCCESS / ABNORMAL / CLOSED, sent to the notify_url our refunds name."""
        if s.wechatpay is None:
            raise PaymentUnavailable()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("wechatpay-")}
        try:
            notice = s.wechatpay.refund_notice(headers, request.get_data(as_text=True))
            observability.bind(order_id=notice.out_trade_no[:64])
            refund_notified(notice, s.orders, s.uow, s.metrics)
        except PaymentRejected as e:
            security.warning("WeChat Pay refund notification rejected: %s", e.message)
            s.metrics.count("NotificationsRejected", provider="wechatpay", reason=e.key)
            limit(s.rates, "wechat-rejected", request.remote_addr or "?", REJECTED_NOTICES_PER_MINUTE, s.clock.now())
            raise
        payments_log.info("refund notification: %s", notice.state.value, extra={"provider": "wechatpay"})
        return "", 204

    @bp.post("/payments/alipay/notify")
    def alipay_notify() -> tuple[str, int, dict[str, str]]:
        if s.alipay is None:
            raise PaymentUnavailable()
        try:
            notice = s.alipay.notice(request.form.to_dict())
        except PaymentRejected as e:
            security.warning("Alipay notification rejected: %s", e.message)
            s.metrics.count("NotificationsRejected", provider="alipay", reason=e.key)
            limit(s.rates, "alipay-rejected", request.remote_addr or "?", REJECTED_NOTICES_PER_MINUTE, s.clock.now())
            raise
        fulfil(notice, "alipay")
        # Alipay stops retrying only on this literal answer; fulfilment is per order, not per notification.
        return "success", 200, {"Content-Type": "text/plain"}

    return bp
