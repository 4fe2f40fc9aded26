"""A local WeChat Pay v3: JSAPI prepay, query, close, refund, trade bills, and signed, encrypted notifications
with retries.

Requests must carry a valid merchant signature (WECHATPAY2-SHA256-RSA2048);
answers and notifications are signed with the simulator's platform key and
carry its public-key id as Wechatpay-Serial, exactly as the real service does
in public-key mode; the bill file itself is unsigned, as there (its SHA1 is in
the signed answer). A day's trade bill is made when asked, from the payments
and refunds whose success time is on that day in Beijing time, once the day is
over.

Controls: `POST /sim/wechatpay/pay {"out_trade_no", "notify": true}` pays an
order and delivers the notification, retrying until ParkPass answers 2xx
(`"notify": false` pays with no notification at all);
`POST /sim/wechatpay/queries {"failing": true}` makes the order query answer
500 SYSTEM_ERROR until `{"failing": false}`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Response, request

from domain.money import yuan_text
from handlers.ports import Clock

PREFIX = "/sim/wechatpay"
BEIJING = ZoneInfo("Asia/Shanghai")
BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FEE_RATE = Decimal("0.006")
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
    failing_queries: bool = False
    """True: the order query answers 500 SYSTEM_ERROR (WeChat Pay having a bad minute)."""
    corrupt_bills: bool = False
    """True: a bill's answered hash does not match the file served (a download changed on its way)."""
    bills: dict[str, bytes] = field(default_factory=dict)
    """Download token -> the file served for it."""
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
        sim.add_url_rule("/v3/bill/tradebill", view_func=self._trade_bill)
        sim.add_url_rule("/v3/billdownload/file", view_func=self._download_bill)
        sim.add_url_rule("/pay", view_func=self._pay_route, methods=["POST"])
        sim.add_url_rule("/queries", view_func=self._queries_route, methods=["POST"])
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
                    "description": str(order.get("description", "")),
                }
                if order.get("attach"):
                    known["attach"] = str(order["attach"])  # handed back in the notification and queries
        return self._signed(200, {"prepay_id": known["prepay_id"]})

    def _query(self, no: str) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        if self.failing_queries:
            return self._error(500, "SYSTEM_ERROR", "系统错误")
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
                done[refund_no] = {
                    "refund_id": f"5030{secrets.randbelow(10**24):024d}",
                    "refund": amount["refund"],
                    "success_time": self.clock.now().astimezone(BEIJING).isoformat(timespec="seconds"),
                }
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

    def _trade_bill(self) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        bill_type, tar_type = request.args.get("bill_type", "ALL"), request.args.get("tar_type", "")
        try:
            day = date.fromisoformat(request.args.get("bill_date", ""))
        except ValueError:
            return self._error(400, "PARAM_ERROR", "bill_date must be YYYY-MM-DD")
        if bill_type not in ("ALL", "SUCCESS", "REFUND") or tar_type not in ("", "GZIP"):
            return self._error(400, "PARAM_ERROR", "bill_type is ALL, SUCCESS or REFUND; tar_type GZIP or none")
        if day >= self.clock.now().astimezone(BEIJING).date():
            return self._error(400, "STATEMENT_CREATING", "账单生成中")
        rows = self._bill_rows(day, bill_type)
        if not rows:
            return self._error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        content = _bill_file(rows)
        hashed = content + b"changed on its way" if self.corrupt_bills else content
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.bills[token] = gzip.compress(content) if tar_type == "GZIP" else content
        base = request.host_url.rstrip("/") + PREFIX
        return self._signed(
            200,
            {
                "download_url": f"{base}/v3/billdownload/file?token={token}",
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(hashed).hexdigest(),
            },
        )

    def _download_bill(self) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        with self._lock:
            content = self.bills.get(request.args.get("token", ""))
        if content is None:
            return self._error(400, "INVALID_REQUEST", "下载链接无效或已过期")
        return Response(content, 200, mimetype="application/octet-stream")  # unsigned, as WeChat Pay's file is

    def _bill_rows(self, day: date, bill_type: str) -> list[list[str]]:
        """The day's payments (by their success time) and refunds (by theirs), oldest first."""
        found: list[tuple[str, list[str]]] = []
        with self._lock:
            for t in self.transactions.values():
                total = t["amount"]["total"]
                fee = _fee(total)
                paid_at = _beijing(t.get("success_time"))
                common = [self.appid, self.mchid, "0", "", t.get("transaction_id", ""), t["out_trade_no"]]
                payer = [t["payer"]["openid"], "JSAPI"]
                if paid_at is not None and paid_at.date() == day and bill_type in ("ALL", "SUCCESS"):
                    row = [*common, *payer, "SUCCESS", "OTHERS", "CNY", yuan_text(total), "0.00", "0", "0", "0.00"]
                    row += ["0.00", "", "", t.get("description", ""), t.get("attach", ""), fee, "0.60%"]
                    row += [yuan_text(total), "0.00", ""]
                    found.append((_bill_time(paid_at), [_bill_time(paid_at), *row]))
                for refund_no, r in t.get("refunds", {}).items():
                    refunded_at = _beijing(r["success_time"])
                    if refunded_at is None or refunded_at.date() != day or bill_type not in ("ALL", "REFUND"):
                        continue
                    row = [*common, *payer, "REFUND", "OTHERS", "CNY", "0.00", "0.00", r["refund_id"], refund_no]
                    row += [yuan_text(r["refund"]), "0.00", "ORIGINAL", "SUCCESS", t.get("description", "")]
                    row += [t.get("attach", ""), f"-{fee}", "0.60%", yuan_text(total), yuan_text(r["refund"]), ""]
                    found.append((_bill_time(refunded_at), [_bill_time(refunded_at), *row]))
        return [row for _, row in sorted(found, key=lambda f: f[0])]

    # --- the simulator's controls ---------------------------------------------------------------

    def _pay_route(self) -> Response:
        asked = request.get_json(silent=True) or {}
        no, notify = str(asked.get("out_trade_no", "")), asked.get("notify", True)
        if not isinstance(notify, bool):
            return self._error(400, "PARAM_ERROR", "notify is true or false")
        if not self.pay(no, notify=notify):
            return self._error(404, "ORDER_NOT_EXIST", "no open order with this out_trade_no")
        return Response(json.dumps({"out_trade_no": no, "trade_state": "SUCCESS"}), 200, mimetype="application/json")

    def _queries_route(self) -> Response:
        failing = (request.get_json(silent=True) or {}).get("failing")
        if not isinstance(failing, bool):
            return self._error(400, "PARAM_ERROR", "failing is true or false")
        self.failing_queries = failing
        return Response(json.dumps({"failing_queries": failing}), 200, mimetype="application/json")

    def pay(self, out_trade_no: str, *, background: bool = True, notify: bool = True) -> bool:
        """The payer pays: the transaction succeeds and its notification goes out (with retries) unless `notify`
        is False (a notification lost for good: only a query or the bill shows the payment)."""
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
        if self.deliver and notify:
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
    return {k: v for k, v in t.items() if k not in ("prepay_id", "notify_url", "description")}


def _beijing(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).astimezone(BEIJING) if iso else None


def _bill_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _fee(total_fen: int) -> str:
    """WeChat Pay's fee column: yuan with five decimals."""
    return str((Decimal(total_fen) / 100 * FEE_RATE).quantize(Decimal("0.00001"), ROUND_HALF_UP))


def _bill_file(rows: list[list[str]]) -> bytes:
    """The bill as WeChat Pay writes it: every data field behind a backtick (so spreadsheets keep long numbers
    as text), CRLF lines, and a summary header and row of totals at the end."""
    at = {name: i for i, name in enumerate(BILL_HEADER.split(","))}

    def total(column: str) -> Decimal:
        return sum((Decimal(row[at[column]]) for row in rows), Decimal(0))

    summary = [
        str(len(rows)),
        f"{total('应结订单金额'):.2f}",
        f"{total('退款金额'):.2f}",
        f"{total('充值券退款金额'):.2f}",
        f"{total('手续费'):.5f}",
        f"{total('订单金额'):.2f}",
        f"{total('申请退款金额'):.2f}",
    ]
    lines = [BILL_HEADER, *(",".join(f"`{v}" for v in row) for row in rows), BILL_SUMMARY_HEADER]
    lines.append(",".join(f"`{v}" for v in summary))
    return ("\r\n".join(lines) + "\r\n").encode()
