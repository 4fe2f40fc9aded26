"""A local WeChat Pay v3: JSAPI prepay, query, close, and signed, encrypted notifications with retries.

Requests must carry a valid merchant signature (WECHATPAY2-SHA256-RSA2048);
answers and notifications are signed with the simulator's platform key and
carry its public-key id as Wechatpay-Serial, exactly as the real service does
in public-key mode. `POST /sim/wechatpay/pay {"out_trade_no"}` pays an order
and delivers the notification, retrying until ParkPass answers 2xx.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Response, request

from handlers.ports import Clock

PREFIX = "/sim/wechatpay"
RETRY_DELAYS_S = (0.0, 0.3, 0.6, 1.2, 2.4, 4.8, 9.6)
"""WeChat Pay waits 15 s, 15 s, 30 s, 3 min ...; the simulator keeps the shape, not the patience."""
_AUTH = re.compile(r'(\w+)="([^"]*)"')
log = logging.getLogger("parkpass.sim.wechatpay")


@dataclass
class WechatPaySimulator:
    mchid: str
    appid: str
    apiv3_key: str
    merchant_public_key_pem: str
    platform_private_key_pem: str
    platform_key_id: str
    clock: Clock
    deliver: bool = True
    """False drops notifications (the sweep must still find the payment)."""
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[tuple[str, int]] = field(default_factory=list)
    """(out_trade_no, HTTP status ParkPass answered) for every notification attempt."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._platform_key: Any = serialization.load_pem_private_key(self.platform_private_key_pem.encode(), None)
        self._merchant_key: Any = serialization.load_pem_public_key(self.merchant_public_key_pem.encode())

    def blueprint(self) -> Blueprint:
        sim = Blueprint("wechatpay_sim", __name__, url_prefix=PREFIX)
        sim.add_url_rule("/v3/pay/transactions/jsapi", view_func=self._jsapi, methods=["POST"])
        sim.add_url_rule("/v3/pay/transactions/out-trade-no/<no>", view_func=self._query)
        sim.add_url_rule("/v3/pay/transactions/out-trade-no/<no>/close", view_func=self._close, methods=["POST"])
        sim.add_url_rule("/v3/refund/domestic/refunds", view_func=self._refund, methods=["POST"])
        sim.add_url_rule("/pay", view_func=self._pay_route, methods=["POST"])
        return sim

    # --- the provider's API -------------------------------------------------------------------

    def _jsapi(self) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        order = json.loads(request.get_data() or b"{}")
        if order.get("mchid") != self.mchid or order.get("appid") != self.appid:
            return self._error(400, "PARAM_ERROR", "mchid or appid does not match")
        no, total = order.get("out_trade_no"), (order.get("amount") or {}).get("total")
        if not no or not isinstance(total, int) or total <= 0 or not (order.get("payer") or {}).get("openid"):
            return self._error(400, "PARAM_ERROR", "out_trade_no, amount.total and payer.openid are required")
        if len(str(order.get("attach") or "")) > 128:
            return self._error(400, "PARAM_ERROR", "attach holds at most 128 characters")
        with self._lock:
            known = self.transactions.get(no)
            if known is not None and known["amount"]["total"] != total:
                return self._error(400, "INVALID_REQUEST", "out_trade_no was used with other parameters")
            if known is None:
                known = self.transactions[no] = {
                    "appid": self.appid,
                    "mchid": self.mchid,
                    "out_trade_no": no,
                    "trade_state": "NOTPAY",
                    "amount": {"total": total, "currency": "CNY", "payer_total": total},
                    "payer": {"openid": order["payer"]["openid"]},
                    "prepay_id": f"wx{secrets.token_hex(14)}",
                    "notify_url": order.get("notify_url", ""),
                }
                if order.get("attach"):
                    known["attach"] = str(order["attach"])  # handed back in the notification and queries
        return self._signed(200, {"prepay_id": known["prepay_id"]})

    def _query(self, no: str) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        with self._lock:
            t = self.transactions.get(no)
        if t is None:
            return self._error(404, "ORDER_NOT_EXIST", "no such order")
        return self._signed(200, _public(t))

    def _close(self, no: str) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        with self._lock:
            t = self.transactions.get(no)
            if t is None:
                return self._error(404, "ORDER_NOT_EXIST", "no such order")
            if t["trade_state"] == "SUCCESS":
                return self._error(400, "ORDERPAID", "order already paid")
            t["trade_state"] = "CLOSED"
        return Response("", 204, headers=self.signature_headers(""))

    def _refund(self) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        asked = json.loads(request.get_data() or b"{}")
        refund_no, amount = str(asked.get("out_refund_no", "")), asked.get("amount") or {}
        with self._lock:
            t = self.transactions.get(str(asked.get("out_trade_no", "")))
            if t is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "no such order")
            done = t.setdefault("refunds", {})
            if refund_no not in done:
                if t["trade_state"] != "SUCCESS":
                    return self._error(400, "INVALID_REQUEST", "the order is not paid")
                if amount.get("total") != t["amount"]["total"] or amount.get("refund", 0) > t["amount"]["total"]:
                    return self._error(400, "PARAM_ERROR", "refund amount does not match the order")
                done[refund_no] = {"refund_id": f"5030{secrets.randbelow(10**24):024d}", "refund": amount["refund"]}
                t["trade_state"] = "REFUND"
            made = done[refund_no]
        return self._signed(
            200,
            {
                "refund_id": made["refund_id"],
                "out_refund_no": refund_no,
                "out_trade_no": t["out_trade_no"],
                "status": "SUCCESS",
                "amount": {"refund": made["refund"], "total": t["amount"]["total"], "currency": "CNY"},
            },
        )

    # --- the simulator's controls ---------------------------------------------------------------

    def _pay_route(self) -> Response:
        no = str((request.get_json(silent=True) or {}).get("out_trade_no", ""))
        if not self.pay(no):
            return self._error(404, "ORDER_NOT_EXIST", "no open order with this out_trade_no")
        return Response(json.dumps({"out_trade_no": no, "trade_state": "SUCCESS"}), 200, mimetype="application/json")

    def pay(self, out_trade_no: str, *, background: bool = True) -> bool:
        """The payer pays: the transaction succeeds and its notification goes out (with retries)."""
        with self._lock:
            t = self.transactions.get(out_trade_no)
            if t is None or t["trade_state"] not in ("NOTPAY", "SUCCESS"):
                return False
            if t["trade_state"] == "NOTPAY":
                t.update(
                    trade_state="SUCCESS",
                    transaction_id=f"4200{secrets.randbelow(10**24):024d}",
                    success_time=self.clock.now().astimezone().isoformat(timespec="seconds"),
                )
        if self.deliver:
            send = lambda: self._deliver(out_trade_no)  # noqa: E731
            if background:
                threading.Thread(target=send, name=f"notify-{out_trade_no}", daemon=True).start()
            else:
                send()
        return True

    def notification(self, out_trade_no: str, /, **overrides: Any) -> tuple[dict[str, str], str]:
        """The signed, encrypted notification for a paid transaction; `overrides` change the resource."""
        with self._lock:
            resource = {**_public(self.transactions[out_trade_no]), **overrides}
        nonce = secrets.token_urlsafe(9)[:12]
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), b"transaction")
        body = json.dumps(
            {
                "id": secrets.token_hex(16),
                "create_time": self.clock.now().isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(sealed).decode(),
                    "associated_data": "transaction",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        return self.signature_headers(body), body

    def signature_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else int(self.clock.now().timestamp()))
        nonce = secrets.token_hex(16)
        signed = self._platform_key.sign(f"{stamp}\n{nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signed).decode(),
            "Wechatpay-Serial": self.platform_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Content-Type": "application/json",
        }

    def _deliver(self, out_trade_no: str) -> None:
        url = self.transactions[out_trade_no]["notify_url"]
        for delay in RETRY_DELAYS_S:
            time.sleep(delay)
            headers, body = self.notification(out_trade_no)
            try:
                status = requests.post(url, data=body.encode(), headers=headers, timeout=5).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                self.deliveries.append((out_trade_no, status))
            if 200 <= status < 300:
                return
        log.warning("gave up notifying %s", out_trade_no)

    # --- signatures -----------------------------------------------------------------------------

    def _merchant_signed(self) -> bool:
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        fields = dict(_AUTH.findall(params))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != self.mchid:
            return False
        path = request.full_path.rstrip("?").removeprefix(PREFIX)
        body = request.get_data(as_text=True)
        message = f"{request.method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n"
        try:
            signature = base64.b64decode(fields.get("signature", ""))
            self._merchant_key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _signed(self, status: int, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload, ensure_ascii=False)
        return Response(body, status, headers=self.signature_headers(body))

    def _error(self, status: int, code: str, message: str) -> Response:
        return Response(json.dumps({"code": code, "message": message}), status, mimetype="application/json")


def _public(t: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in t.items() if k not in ("prepay_id", "notify_url")}
