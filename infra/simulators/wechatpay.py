"""A local WeChat Pay v3: JSAPI prepay, query, close, refund and its query, trade bills, and signed, encrypted
payment and refund notifications with retries.

Requests must carry a valid merchant signature (WECHATPAY2-SHA256-RSA2048);
answers and notifications are signed with the simulator's platform key and
carry its public-key id as Wechatpay-Serial, exactly as the real service does
in public-key mode; the bill file itself is unsigned, as there (its SHA1 is in
the signed answer). A day's trade bill is made when asked, from the payments
and refunds whose success time is on that day in Beijing time, once the day is
over: a refund still processing is on no bill yet, and one that ends ABNORMAL
or CLOSED on none.

Controls: `POST /sim/wechatpay/pay {"out_trade_no", "notify": true}` pays an
order and delivers the notification, retrying until ParkPass answers 2xx
(`"notify": false` pays with no notification at all);
`POST /sim/wechatpay/queries {"failing": true}` makes the order query answer
500 SYSTEM_ERROR until `{"failing": false}`;
`POST /sim/wechatpay/refunds/outcome {"status": "PROCESSING"}` makes new refunds
settle later (`"SUCCESS"`, the default, refunds at once), and
`POST /sim/wechatpay/refunds/settle {"out_refund_no", "status": "SUCCESS" |
"ABNORMAL" | "CLOSED", "notify": true}` settles one and delivers its REFUND.*
notification to the notify_url the refund named, with the same retries.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
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
REFUND_MOVES = {"PROCESSING": ("SUCCESS", "ABNORMAL", "CLOSED"), "ABNORMAL": ("SUCCESS", "CLOSED")}
"""Where a refund may go from where it is: an abnormal one succeeds once the merchant sends it to another account,
or is closed; SUCCESS and CLOSED are final."""
REFUND_SUMMARIES = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}
USER_RECEIVED_ACCOUNT = "支付用户零钱"
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
    """(out_trade_no, HTTP status ParkPass answered) for every payment notification attempt."""
    refund_outcome: str = "SUCCESS"
    """How a new refund is answered: SUCCESS (the money went back at once) or PROCESSING (settled later by
    `settle_refund`)."""
    refund_deliveries: list[tuple[str, int]] = field(default_factory=list)
    """(out_refund_no, HTTP status ParkPass answered) for every refund notification attempt."""
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
        sim.add_url_rule("/v3/pay/transactions/native", view_func=self._native, methods=["POST"])
        sim.add_url_rule("/v3/pay/transactions/out-trade-no/<no>", view_func=self._query)
        sim.add_url_rule("/v3/pay/transactions/out-trade-no/<no>/close", view_func=self._close, methods=["POST"])
        sim.add_url_rule("/v3/refund/domestic/refunds", view_func=self._refund, methods=["POST"])
        sim.add_url_rule("/v3/refund/domestic/refunds/<no>", view_func=self._refund_query)
        sim.add_url_rule("/v3/bill/tradebill", view_func=self._trade_bill)
        sim.add_url_rule("/v3/billdownload/file", view_func=self._download_bill)
        sim.add_url_rule("/pay", view_func=self._pay_route, methods=["POST"])
        sim.add_url_rule("/queries", view_func=self._queries_route, methods=["POST"])
        sim.add_url_rule("/refunds/settle", view_func=self._settle_refund_route, methods=["POST"])
        sim.add_url_rule("/refunds/outcome", view_func=self._refund_outcome_route, methods=["POST"])
        return sim

    # --- the provider's API -------------------------------------------------------------------

    def _jsapi(self) -> Response:
        """A payment in the mini-program: its payer is known."""
        return self._open(native=False)

    def _native(self) -> Response:
        """A QR code's payment: no payer yet (whoever scans the code_url pays)."""
        return self._open(native=True)

    def _open(self, native: bool) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        order = json.loads(request.get_data() or b"{}")
        if order.get("mchid") != self.mchid or order.get("appid") != self.appid:
            return self._error(400, "PARAM_ERROR", "mchid or appid does not match")
        no, total = order.get("out_trade_no"), (order.get("amount") or {}).get("total")
        payer = "sim-scanner" if native else (order.get("payer") or {}).get("openid")
        if not no or not isinstance(total, int) or total <= 0 or not payer:
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
                    "payer": {"openid": payer},
                    "prepay_id": f"wx{secrets.token_hex(14)}",
                    "code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_hex(8)}",
                    "notify_url": order.get("notify_url", ""),
                    "description": str(order.get("description", "")),
                }
                if order.get("attach"):
                    known["attach"] = str(order["attach"])  # handed back in the notification and queries
        return self._signed(200, {"code_url": known["code_url"]} if native else {"prepay_id": known["prepay_id"]})

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
                if t["trade_state"] not in ("SUCCESS", "REFUND"):
                    return self._error(400, "INVALID_REQUEST", "the order is not paid")
                # Refunds here are whole: another one may follow only a refund that was closed (no money moved).
                if any(r["status"] != "CLOSED" for r in done.values()):
                    return self._error(400, "INVALID_REQUEST", "the order is refunded already")
                if amount.get("total") != t["amount"]["total"] or amount.get("refund", 0) > t["amount"]["total"]:
                    return self._error(400, "PARAM_ERROR", "refund amount does not match the order")
                now = self.clock.now().astimezone(BEIJING).isoformat(timespec="seconds")
                done[refund_no] = {
                    "refund_id": f"5030{secrets.randbelow(10**24):024d}",
                    "refund": amount["refund"],
                    "status": self.refund_outcome,
                    "create_time": now,
                    "notify_url": str(asked.get("notify_url", "")),
                }
                if self.refund_outcome == "SUCCESS":
                    done[refund_no]["success_time"] = now
                t["trade_state"] = "REFUND"
            answer = _refund_answer(t, refund_no)
        return self._signed(200, answer)

    def _refund_query(self, no: str) -> Response:
        if not self._merchant_signed():
            return self._error(401, "SIGN_ERROR", "merchant signature does not verify")
        with self._lock:
            found = self._find_refund(no)
            answer = _refund_answer(found, no) if found is not None else None
        if answer is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._signed(200, answer)

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
                    # Money moved back only by a refund that succeeded, on the day it did.
                    refunded_at = _beijing(r.get("success_time")) if r["status"] == "SUCCESS" else None
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

    def _settle_refund_route(self) -> Response:
        asked = request.get_json(silent=True) or {}
        no, status, notify = str(asked.get("out_refund_no", "")), asked.get("status"), asked.get("notify", True)
        if status not in REFUND_SUMMARIES or not isinstance(notify, bool):
            return self._error(400, "PARAM_ERROR", "status is SUCCESS, ABNORMAL or CLOSED; notify is true or false")
        with self._lock:
            found = self._find_refund(no)
            was = found["refunds"][no]["status"] if found is not None else None
        if was is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "no refund with this out_refund_no")
        if not self.settle_refund(no, status, notify=notify):
            return self._error(400, "INVALID_REQUEST", f"the refund is {was}: it cannot become {status}")
        return Response(json.dumps({"out_refund_no": no, "status": status}), 200, mimetype="application/json")

    def _refund_outcome_route(self) -> Response:
        status = (request.get_json(silent=True) or {}).get("status")
        if status not in ("SUCCESS", "PROCESSING"):
            return self._error(400, "PARAM_ERROR", "status is SUCCESS or PROCESSING")
        self.refund_outcome = status
        return Response(json.dumps({"refund_outcome": status}), 200, mimetype="application/json")

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
            url = self.transactions[out_trade_no]["notify_url"]
            made = lambda: self.notification(out_trade_no)  # noqa: E731
            self._notify(url, out_trade_no, made, self.deliveries, background=background)
        return True

    def settle_refund(self, out_refund_no: str, status: str, *, notify: bool = True, background: bool = True) -> bool:
        """WeChat Pay settles a refund it answered PROCESSING (or one that went ABNORMAL): SUCCESS (the money is
        back, from now on the refund is on the bill), ABNORMAL (the payer's account refused it) or CLOSED (given
        up); with `notify`, REFUND.<status> goes to the refund's notify_url with retries. False when there is no
        such refund or it cannot move there."""
        with self._lock:
            t = self._find_refund(out_refund_no)
            if t is None:
                return False
            r = t["refunds"][out_refund_no]
            if status not in REFUND_MOVES.get(r["status"], ()):
                return False
            r["status"] = status
            if status == "SUCCESS":
                r["success_time"] = self.clock.now().astimezone(BEIJING).isoformat(timespec="seconds")
            url = r["notify_url"]
        if self.deliver and notify:
            if not url:
                log.warning("refund %s named no notify_url: nothing to notify", out_refund_no)
                return True
            made = lambda: self.refund_notification(out_refund_no)  # noqa: E731
            self._notify(url, out_refund_no, made, self.refund_deliveries, background=background)
        return True

    def notification(self, out_trade_no: str, /, **overrides: Any) -> tuple[dict[str, str], str]:
        """The signed, encrypted notification for a paid transaction; `overrides` change the resource."""
        with self._lock:
            resource = {**_public(self.transactions[out_trade_no]), **overrides}
        return self._sealed("TRANSACTION.SUCCESS", "支付成功", "transaction", resource)

    def refund_notification(self, out_refund_no: str, /, **overrides: Any) -> tuple[dict[str, str], str]:
        """The signed, encrypted REFUND.<refund_status> notification of a refund as it stands; `overrides` change
        the resource (its refund_status also names the event)."""
        with self._lock:
            t = self._find_refund(out_refund_no)
            if t is None:
                raise KeyError(out_refund_no)
            r = t["refunds"][out_refund_no]
            resource: dict[str, Any] = {
                "mchid": self.mchid,
                "out_trade_no": t["out_trade_no"],
                "transaction_id": t.get("transaction_id", ""),
                "out_refund_no": out_refund_no,
                "refund_id": r["refund_id"],
                "refund_status": r["status"],
                "user_received_account": USER_RECEIVED_ACCOUNT,
                "amount": {
                    "total": t["amount"]["total"],
                    "refund": r["refund"],
                    "payer_total": t["amount"]["payer_total"],
                    "payer_refund": r["refund"],
                },
            }
            if "success_time" in r:
                resource["success_time"] = r["success_time"]
        resource.update(overrides)
        status = str(resource.get("refund_status", ""))
        return self._sealed(f"REFUND.{status}", REFUND_SUMMARIES.get(status, "退款"), "refund", resource)

    def _sealed(
        self, event_type: str, summary: str, original_type: str, resource: dict[str, Any]
    ) -> tuple[dict[str, str], str]:
        """A notification as WeChat Pay sends one: the resource AES-256-GCM encrypted with the API v3 key (its
        original type as the associated data), the body signed with the platform key."""
        nonce = secrets.token_urlsafe(9)[:12]
        plain = json.dumps(resource, ensure_ascii=False).encode()
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), plain, original_type.encode())
        body = json.dumps(
            {
                "id": secrets.token_hex(16),
                "create_time": self.clock.now().isoformat(timespec="seconds"),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(sealed).decode(),
                    "associated_data": original_type,
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

    def _notify(
        self,
        url: str,
        key: str,
        made: Callable[[], tuple[dict[str, str], str]],
        attempts: list[tuple[str, int]],
        *,
        background: bool,
    ) -> None:
        send = functools.partial(self._deliver, url, key, made, attempts)
        if background:
            threading.Thread(target=send, name=f"notify-{key}", daemon=True).start()
        else:
            send()

    def _deliver(
        self,
        url: str,
        key: str,
        made: Callable[[], tuple[dict[str, str], str]],
        attempts: list[tuple[str, int]],
    ) -> None:
        """Post a notification, made afresh (a new timestamp and signature) for each try, until ParkPass answers
        2xx or the retries run out; every try is recorded in `attempts` as (key, HTTP status, 0 unreachable)."""
        for delay in RETRY_DELAYS_S:
            time.sleep(delay)
            headers, body = made()
            try:
                status = requests.post(url, data=body.encode(), headers=headers, timeout=5).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                attempts.append((key, status))
            if 200 <= status < 300:
                return
        log.warning("gave up notifying %s", key)

    def _find_refund(self, out_refund_no: str) -> dict[str, Any] | None:
        """The transaction holding the refund (refund numbers are unique per merchant); call with the lock held."""
        return next((t for t in self.transactions.values() if out_refund_no in t.get("refunds", {})), None)

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
    """A transaction as its query and notification show it: its refunds are asked for separately."""
    return {k: v for k, v in t.items() if k not in ("prepay_id", "code_url", "notify_url", "description", "refunds")}


def _refund_answer(t: dict[str, Any], refund_no: str) -> dict[str, Any]:
    """A refund as WeChat Pay answers one (to the refund request and to its query); success_time once it
    succeeded."""
    r = t["refunds"][refund_no]
    answer: dict[str, Any] = {
        "refund_id": r["refund_id"],
        "out_refund_no": refund_no,
        "transaction_id": t.get("transaction_id", ""),
        "out_trade_no": t["out_trade_no"],
        "channel": "ORIGINAL",
        "user_received_account": USER_RECEIVED_ACCOUNT,
        "create_time": r["create_time"],
        "status": r["status"],
        "funds_account": "AVAILABLE",
        "amount": {
            "total": t["amount"]["total"],
            "refund": r["refund"],
            "payer_total": t["amount"]["payer_total"],
            "payer_refund": r["refund"],
            "settlement_total": t["amount"]["total"],
            "settlement_refund": r["refund"],
            "discount_refund": 0,
            "currency": "CNY",
        },
    }
    if "success_time" in r:
        answer["success_time"] = r["success_time"]
    return answer


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
