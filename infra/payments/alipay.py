"""Alipay through python-alipay-sdk (RSA2): a QR code to pay (precreate), query, close, and notifications.

A WeChat mini-program cannot open Alipay, so an Alipay payer scans the QR code
(or uses the Alipay mini-program / H5). The gateway is set here, in one place.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.error import URLError
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from domain.errors import PaymentRejected, PaymentUnavailable
from domain.money import yuan_text
from domain.order import Order
from domain.payment_notice import check_sent_in_window
from handlers.ports import Clock, PaymentNotice, PaymentStatus
from infra.settings import AlipayConfig

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
_YUAN = re.compile(r"[0-9]{1,9}\.[0-9]{2}")
ALIPAY_TIME = ZoneInfo("Asia/Shanghai")
security = logging.getLogger("parkpass.security")


def fen_of(yuan: str) -> int:
    """'850.00' -> 85000, exactly; anything else is not an amount."""
    if not _YUAN.fullmatch(yuan):
        raise PaymentRejected("notice_amount", found=yuan[:20])
    return int(Decimal(yuan) * 100)


class AlipayGateway:
    def __init__(self, config: AlipayConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._alipay = AliPay(
            appid=config.appid,
            app_notify_url=config.notify_url,
            app_private_key_string=config.app_private_key_pem,
            alipay_public_key_string=config.alipay_public_key_pem,
            sign_type="RSA2",
        )
        self._alipay._gateway = config.gateway

    def prepay(self, order: Order, payer_id: str) -> dict[str, str]:
        answer = self._call(
            lambda: self._alipay.api_alipay_trade_precreate(
                subject=order.package.name[:256],
                out_trade_no=order.id,
                total_amount=yuan_text(order.amount_fen),
                timeout_express="15m",
            )
        )
        if answer.get("code") != "10000" or not answer.get("qr_code"):
            raise PaymentUnavailable()
        return {"qr_code": str(answer["qr_code"])}

    def query(self, order: Order) -> PaymentStatus:
        answer = self._call(lambda: self._alipay.api_alipay_trade_query(out_trade_no=order.id))
        if answer.get("code") != "10000":
            return PaymentStatus(paid=False)
        paid = answer.get("trade_status") in PAID
        return PaymentStatus(
            paid=paid,
            transaction_id=answer.get("trade_no"),
            amount_fen=fen_of(str(answer.get("total_amount", ""))) if paid else None,
            paid_at=_alipay_time(answer.get("send_pay_date")),
            closed=answer.get("trade_status") == "TRADE_CLOSED",
        )

    def close(self, order: Order) -> None:
        answer = self._call(lambda: self._alipay.api_alipay_trade_close(out_trade_no=order.id))
        if answer.get("code") == "10000":
            return
        if answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise PaymentUnavailable()  # refused: paid just now (the caller asks again), or Alipay is down
        # A QR code nobody scanned yet has no trade to close, and stays payable until it expires: 撤销 kills it
        # (were it paid in between, Alipay gives the money back: nothing is kept for a cancelled order).
        cancelled = self._call(lambda: self._alipay.api_alipay_trade_cancel(out_trade_no=order.id))
        if cancelled.get("code") != "10000" and cancelled.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise PaymentUnavailable()

    def refund(self, order: Order, refund_no: str) -> None:
        answer = self._call(
            lambda: self._alipay.api_alipay_trade_refund(
                refund_amount=yuan_text(order.amount_fen), out_trade_no=order.id, out_request_no=refund_no
            )
        )
        if answer.get("code") != "10000":
            raise PaymentUnavailable()

    def notice(self, form: dict[str, str]) -> PaymentNotice:
        data = dict(form)
        signature = data.pop("sign", "")
        try:
            verified = bool(signature) and self._alipay.verify(data, signature)
        except (AliPayException, ValueError, TypeError):
            verified = False
        if not verified:
            raise PaymentRejected("notice_signature")
        if data.get("app_id") != self._config.appid or data.get("seller_id") != self._config.seller_id:
            raise PaymentRejected("notice_merchant")
        try:
            sent_at = _alipay_time(data.get("notify_time"))
        except ValueError:
            sent_at = None
        check_sent_in_window(sent_at, self._clock.now())  # signed, but not sent within Alipay's retry window
        return PaymentNotice(
            out_trade_no=data.get("out_trade_no", ""),
            transaction_id=data.get("trade_no", ""),
            amount_fen=fen_of(data.get("total_amount", "")),
            paid_at=_alipay_time(data.get("gmt_payment")) or self._clock.now(),
            succeeded=data.get("trade_status") in PAID,
        )

    def _call(self, request: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = request()
        except AliPayValidationError:
            security.warning("Alipay answer signature does not verify")
            raise PaymentUnavailable() from None
        except AliPayException as e:
            logging.getLogger("parkpass.alipay").warning("Alipay refused: code %s", e.code)
            raise PaymentUnavailable() from None
        except (URLError, OSError) as e:
            logging.getLogger("parkpass.alipay").warning("Alipay unreachable: %s", type(e).__name__)
            raise PaymentUnavailable() from None
        return answer


def _alipay_time(text: str | None) -> datetime | None:
    """Alipay writes local Beijing time without a zone: '2026-11-23 10:00:00'."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ALIPAY_TIME)
