"""A local Alipay open-platform gateway: precreate, create, query, close, and RSA2-signed notifications.

Requests must be signed with the app's key (RSA2 over the sorted parameters);
answers are signed with the simulator's "Alipay" key the way Alipay signs them
(over the JSON of the response object). `POST /sim/alipay/pay {"out_trade_no"}`
pays a trade and posts the notification form, retrying until ParkPass answers
the literal `success`.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Blueprint, Response, request

from handlers.ports import Clock

PREFIX = "/sim/alipay"
RETRY_DELAYS_S = (0.0, 0.3, 0.6, 1.2, 2.4, 4.8, 9.6, 19.2)
"""Alipay retries about 8 times over 25 hours; the simulator keeps the count, not the patience."""
BEIJING = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("parkpass.sim.alipay")


@dataclass
class AlipaySimulator:
    appid: str
    seller_id: str
    app_public_key_pem: str
    alipay_private_key_pem: str
    clock: Clock
    deliver: bool = True
    trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[tuple[str, str]] = field(default_factory=list)
    """(out_trade_no, what ParkPass answered) for every notification attempt."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._alipay_key: Any = serialization.load_pem_private_key(self.alipay_private_key_pem.encode(), None)
        self._app_key: Any = serialization.load_pem_public_key(self.app_public_key_pem.encode())

    def blueprint(self) -> Blueprint:
        sim = Blueprint("alipay_sim", __name__, url_prefix=PREFIX)
        sim.add_url_rule("/gateway.do", view_func=self._gateway, methods=["GET", "POST"])
        sim.add_url_rule("/pay", view_func=self._pay_route, methods=["POST"])
        return sim

    def _gateway(self) -> Response:
        params = {k: v for k, v in request.values.items()}
        method = params.get("method", "")
        answer_type = method.replace(".", "_") + "_response"
        if params.get("app_id") != self.appid:
            return self._answer(answer_type, _failed("40002", "isv.invalid-app-id", "无效的AppID参数"))
        if not self._app_signed(params):
            return self._answer(answer_type, _failed("40002", "isv.invalid-signature", "验签出错"))
        biz = json.loads(params.get("biz_content") or "{}")
        handler = {
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.create": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
        }.get(method)
        if handler is None:
            return self._answer(answer_type, _failed("40004", "isv.invalid-method", "不存在的方法名"))
        return self._answer(answer_type, handler(biz, {**params, "method": method}))

    def _precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        no, amount = str(biz.get("out_trade_no", "")), str(biz.get("total_amount", ""))
        with self._lock:
            trade = self.trades.get(no)
            if trade is not None and trade["total_amount"] != amount:
                return _failed("40004", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            if trade is None:
                trade = self.trades[no] = {
                    "out_trade_no": no,
                    "total_amount": amount,
                    "subject": biz.get("subject", ""),
                    "trade_status": "WAIT_BUYER_PAY",
                    "notify_url": params.get("notify_url", ""),
                    # As at Alipay: a QR code's trade exists once the payer scans it (a mini-program's at once).
                    "scanned": params.get("method") != "alipay.trade.precreate",
                }
        return {"code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": f"https://qr.alipay.com/sim{no}"}

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or not trade.get("scanned", True):
            return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
        keep = ("out_trade_no", "trade_no", "total_amount", "trade_status", "send_pay_date", "buyer_user_id")
        return {"code": "10000", "msg": "Success", **{k: trade[k] for k in keep if k in trade}}

    def _close(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
            if trade is None or not trade.get("scanned", True):
                return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            if trade["trade_status"] != "WAIT_BUYER_PAY":
                return _failed("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade["trade_status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade["out_trade_no"]}

    def _cancel(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """撤销: the QR code dies even before a scan; a trade paid meanwhile is closed and its money goes back."""
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
            if trade is None:
                return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            action = "refund" if trade["trade_status"] == "TRADE_SUCCESS" else "close"
            trade.update(trade_status="TRADE_CLOSED", scanned=True, cancelled=action)
        return {"code": "10000", "msg": "Success", "out_trade_no": trade["out_trade_no"], "action": action}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        request_no = str(biz.get("out_request_no", ""))
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
            if trade is None:
                return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            done = trade.setdefault("refunds", {})
            if request_no not in done:
                if trade["trade_status"] != "TRADE_SUCCESS":
                    return _failed("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                if str(biz.get("refund_amount")) != trade["total_amount"]:
                    return _failed("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
                done[request_no] = str(biz["refund_amount"])
                trade["trade_status"] = "TRADE_CLOSED"  # fully refunded
                changed = "Y"
            else:
                changed = "N"  # asked again: nothing moves twice
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade["out_trade_no"],
            "trade_no": trade["trade_no"],
            "refund_fee": done[request_no],
            "fund_change": changed,
        }

    def _pay_route(self) -> Response:
        no = str((request.get_json(silent=True) or {}).get("out_trade_no", ""))
        if not self.pay(no):
            return Response(json.dumps({"error": "no open trade"}), 404, mimetype="application/json")
        return Response(json.dumps({"out_trade_no": no, "trade_status": "TRADE_SUCCESS"}), mimetype="application/json")

    def pay(self, out_trade_no: str, *, background: bool = True) -> bool:
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None or trade["trade_status"] not in ("WAIT_BUYER_PAY", "TRADE_SUCCESS"):
                return False
            if trade["trade_status"] == "WAIT_BUYER_PAY":
                trade.update(
                    scanned=True,
                    trade_status="TRADE_SUCCESS",
                    trade_no=f"2026{secrets.randbelow(10**24):024d}",
                    buyer_user_id=f"2088{secrets.randbelow(10**12):012d}",
                    send_pay_date=self.clock.now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                )
        if self.deliver:
            send = lambda: self._deliver(out_trade_no)  # noqa: E731
            if background:
                threading.Thread(target=send, name=f"alipay-notify-{out_trade_no}", daemon=True).start()
            else:
                send()
        return True

    def notification(self, out_trade_no: str, /, **overrides: str) -> dict[str, str]:
        """The signed form Alipay posts to notify_url; `overrides` change fields before signing."""
        with self._lock:
            t = dict(self.trades[out_trade_no])
        form = {
            "notify_time": self.clock.now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.appid,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": t["trade_no"],
            "out_trade_no": out_trade_no,
            "total_amount": t["total_amount"],
            "receipt_amount": t["total_amount"],
            "buyer_id": t["buyer_user_id"],
            "seller_id": self.seller_id,
            "trade_status": t["trade_status"],
            "gmt_payment": t["send_pay_date"],
            "subject": t["subject"],
            **overrides,
        }
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(form.items()))
        signed = self._alipay_key.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {**form, "sign_type": "RSA2", "sign": base64.b64encode(signed).decode()}

    def _deliver(self, out_trade_no: str) -> None:
        url = self.trades[out_trade_no]["notify_url"]
        for delay in RETRY_DELAYS_S:
            time.sleep(delay)
            try:
                answer = requests.post(url, data=self.notification(out_trade_no), timeout=5).text
            except requests.RequestException:
                answer = ""
            with self._lock:
                self.deliveries.append((out_trade_no, answer))
            if answer == "success":
                return
        log.warning("gave up notifying %s", out_trade_no)

    def _app_signed(self, params: dict[str, str]) -> bool:
        signature = params.get("sign", "")
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        try:
            self._app_key.verify(base64.b64decode(signature), unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _answer(self, answer_type: str, payload: dict[str, Any]) -> Response:
        inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        signed = self._alipay_key.sign(inner.encode(), padding.PKCS1v15(), hashes.SHA256())
        sign = base64.b64encode(signed).decode()
        body = f'{{"{answer_type}":{inner},"sign":"{sign}"}}'
        return Response(body, 200, mimetype="application/json")


def _failed(code: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}
