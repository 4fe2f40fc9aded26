"""WeChat Pay API v3 through wechatpayv3, in public-key mode (no certificate download at start).

The gateway is set in this one place, so the same code talks to WeChat Pay or
to the local simulator.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from domain.errors import PaymentRejected, PaymentUnavailable
from domain.order import Order, payment_reference, referenced
from handlers.ports import Clock, PaymentNotice, PaymentStatus
from infra.settings import WechatPayConfig

NOTICE_MAX_AGE_S = 300
security = logging.getLogger("parkpass.security")


class WechatPayGateway:
    def __init__(self, config: WechatPayConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=config.mchid,
            private_key=config.merchant_key_pem,
            cert_serial_no=config.merchant_serial,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            public_key=config.platform_public_key_pem,
            public_key_id=config.platform_public_key_id,
            timeout=(3, 5),
        )
        self._pay._core._gate_way = config.gateway

    def prepay(self, order: Order, payer_id: str) -> dict[str, str]:
        code, body = self._call(
            lambda: self._pay.pay(
                description=order.package.name[:127],
                out_trade_no=order.id,
                amount={"total": order.amount_fen, "currency": "CNY"},
                payer={"openid": payer_id},
                time_expire=order.expires_at.isoformat(timespec="seconds"),
                attach=payment_reference(order),  # handed back signed: the notification reads all at once
            )
        )
        if code != 200:
            raise PaymentUnavailable()
        package = f"prepay_id={json.loads(body)['prepay_id']}"
        stamp, nonce = str(int(self._clock.now().timestamp())), secrets.token_hex(16)
        pay_sign = self._pay.sign([self._config.appid, stamp, nonce, package])
        return {"timeStamp": stamp, "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign}

    def query(self, order: Order) -> PaymentStatus:
        code, body = self._call(lambda: self._pay.query(out_trade_no=order.id))
        if code == 404:
            return PaymentStatus(paid=False)
        if code != 200:
            raise PaymentUnavailable()
        t = json.loads(body)
        return PaymentStatus(
            paid=t.get("trade_state") == "SUCCESS",
            transaction_id=t.get("transaction_id"),
            amount_fen=(t.get("amount") or {}).get("total"),
            paid_at=datetime.fromisoformat(t["success_time"]) if t.get("success_time") else None,
            closed=t.get("trade_state") == "CLOSED",
        )

    def close(self, order: Order) -> None:
        code, _ = self._call(lambda: self._pay.close(out_trade_no=order.id))
        # ORDER_NOT_EXIST: the prepay never reached WeChat Pay, so nothing can be paid: nothing to close.
        if code not in (200, 204, 404):
            raise PaymentUnavailable()

    def refund(self, order: Order, refund_no: str) -> None:
        code, body = self._call(
            lambda: self._pay.refund(
                out_refund_no=refund_no,
                out_trade_no=order.id,
                amount={"refund": order.amount_fen, "total": order.amount_fen, "currency": "CNY"},
                reason="月卡退款",
            )
        )
        # PROCESSING settles later at WeChat Pay; the money is committed to go back either way.
        if code != 200 or json.loads(body).get("status") not in ("SUCCESS", "PROCESSING"):
            raise PaymentUnavailable()

    def notice(self, headers: dict[str, str], body: str) -> PaymentNotice:
        """Verify (serial, age, RSA signature over the raw body), decrypt, and check whose payment it is."""
        if headers.get("Wechatpay-Serial") != self._config.platform_public_key_id:
            raise PaymentRejected("notice_unknown_key")
        try:
            age = abs(self._clock.now().timestamp() - int(headers.get("Wechatpay-Timestamp", "")))
        except ValueError:
            age = float("inf")
        if age > NOTICE_MAX_AGE_S:
            raise PaymentRejected("notice_stale")
        try:
            data = self._pay.callback(headers, body)
        except Exception:  # wechatpayv3 raises bare Exception for unsupported algorithms
            data = None
        if not data:
            raise PaymentRejected("notice_signature")
        t = data["resource"]
        if t.get("mchid") != self._config.mchid or t.get("appid") != self._config.appid:
            raise PaymentRejected("notice_merchant")
        hint = referenced(t.get("attach") if isinstance(t.get("attach"), str) else None)
        return PaymentNotice(
            out_trade_no=str(t.get("out_trade_no", "")),
            transaction_id=str(t.get("transaction_id", "")),
            amount_fen=int((t.get("amount") or {}).get("total", -1)),
            paid_at=datetime.fromisoformat(t["success_time"]) if t.get("success_time") else self._clock.now(),
            succeeded=t.get("trade_state") == "SUCCESS",
            card_id=hint[0] if hint else None,
            lot_id=hint[1] if hint else None,
        )

    def _call(self, request: Any) -> tuple[int, Any]:
        try:
            code, body = request()
        except requests.RequestException as e:
            logging.getLogger("parkpass.wechatpay").warning("WeChat Pay unreachable: %s", type(e).__name__)
            raise PaymentUnavailable() from None
        except Exception as e:  # wechatpayv3: "failed to verify the signature" of an answer
            security.warning("WeChat Pay answer rejected: %s", e)
            raise PaymentUnavailable() from None
        return int(code), body
