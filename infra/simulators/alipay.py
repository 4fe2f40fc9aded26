"""A local Alipay open-platform gateway: precreate, create, query, close, cancel, refund and its query, trade
bills, and RSA2-signed notifications.

Requests must be signed with the app's key (RSA2 over the sorted parameters);
answers are signed with the simulator's "Alipay" key the way Alipay signs them
(over the JSON of the response object). A day's trade bill
(alipay.data.dataservice.bill.downloadurl.query) is made when asked, once the
day is over in Beijing time: a ZIP, served unsigned at `/sim/alipay/bills/`,
of two GBK CSV files named in GBK as Alipay names them (业务明细 and its 汇总).
A refund is on the bill of the day it succeeded; one still processing is on none.

Controls: `POST /sim/alipay/pay {"out_trade_no", "notify": true}` pays a trade
and posts the notification form, retrying until ParkPass answers the literal
`success` (`"notify": false` pays with no notification at all);
`POST /sim/alipay/queries {"failing": true}` makes alipay.trade.query answer
20000 isp.unknow-error until `{"failing": false}`;
`POST /sim/alipay/refunds/outcome {"fund_change": "N"}` makes a new refund
answer fund_change N and stay processing (`"Y"`, the default, refunds at once),
and `POST /sim/alipay/refunds/settle {"out_request_no"}` makes it succeed.
Alipay sends no notification of a refund here: its refund query tells.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
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
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BILL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
    "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
    "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
PADDED = frozenset({0, 1, 2, 6, 7, 8, 9, 10, 19, 21})
"""Columns Alipay writes with a tab after the value (so spreadsheets keep long numbers as text)."""
SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
    "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)
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
    refund_outcome: str = "Y"
    """fund_change of a new refund's answer: Y (the money went back at once) or N (the refund is left processing
    until `settle_refund`)."""
    failing_queries: bool = False
    """True: alipay.trade.query answers 20000 isp.unknow-error (Alipay having a bad minute)."""
    corrupt_bills: bool = False
    """True: bill archives are served cut short (a download broken on its way)."""
    bills: dict[str, bytes] = field(default_factory=dict)
    """Download token -> the ZIP served for it."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._alipay_key: Any = serialization.load_pem_private_key(self.alipay_private_key_pem.encode(), None)
        self._app_key: Any = serialization.load_pem_public_key(self.app_public_key_pem.encode())

    def blueprint(self) -> Blueprint:
        sim = Blueprint("alipay_sim", __name__, url_prefix=PREFIX)
        sim.add_url_rule("/gateway.do", view_func=self._gateway, methods=["GET", "POST"])
        sim.add_url_rule("/bills/<token>.zip", view_func=self._download_bill)
        sim.add_url_rule("/pay", view_func=self._pay_route, methods=["POST"])
        sim.add_url_rule("/queries", view_func=self._queries_route, methods=["POST"])
        sim.add_url_rule("/refunds/settle", view_func=self._settle_refund_route, methods=["POST"])
        sim.add_url_rule("/refunds/outcome", view_func=self._refund_outcome_route, methods=["POST"])
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
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
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
                    "gmt_create": self.clock.now().astimezone(BEIJING).strftime(TIME_FORMAT),
                    # As at Alipay: a QR code's trade exists once the payer scans it (a mini-program's at once).
                    "scanned": params.get("method") != "alipay.trade.precreate",
                }
        return {"code": "10000", "msg": "Success", "out_trade_no": no, "qr_code": f"https://qr.alipay.com/sim{no}"}

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if self.failing_queries:
            return {
                "code": "20000",
                "msg": "Service Currently Unavailable",
                "sub_code": "isp.unknow-error",
                "sub_msg": "系统繁忙",
            }
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
            if action == "refund":  # the payer's money goes back: a refund on the day's bill
                trade["cancelled_at"] = self.clock.now().astimezone(BEIJING).strftime(TIME_FORMAT)
        return {"code": "10000", "msg": "Success", "out_trade_no": trade["out_trade_no"], "action": action}

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        request_no = str(biz.get("out_request_no", ""))
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
            if trade is None:
                return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            done = trade.setdefault("refunds", {})
            if request_no not in done:
                # Refunds here are whole: one still processing leaves nothing more to refund.
                if trade["trade_status"] != "TRADE_SUCCESS" or done:
                    return _failed("40004", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                if str(biz.get("refund_amount")) != trade["total_amount"]:
                    return _failed("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
                done[request_no] = {"refund_fee": str(biz["refund_amount"])}
                if self.refund_outcome == "Y":
                    self._refund_done(trade, request_no)
                changed = self.refund_outcome
            else:
                changed = "N"  # asked again: nothing moves twice
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade["out_trade_no"],
            "trade_no": trade["trade_no"],
            "refund_fee": done[request_no]["refund_fee"],
            "fund_change": changed,
        }

    def _refund_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """alipay.trade.fastpay.refund.query: refund_status REFUND_SUCCESS once the money is back; while a refund
        is processing, and for a request Alipay does not know, a success without refund_status."""
        request_no = str(biz.get("out_request_no", ""))
        with self._lock:
            trade = self.trades.get(str(biz.get("out_trade_no", "")))
            if trade is None or "trade_no" not in trade:
                return _failed("40004", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            answer: dict[str, Any] = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": trade["out_trade_no"],
                "trade_no": trade["trade_no"],
            }
            refund = trade.get("refunds", {}).get(request_no)
            if refund is not None:
                answer.update(
                    out_request_no=request_no, total_amount=trade["total_amount"], refund_amount=refund["refund_fee"]
                )
                if "gmt_refund_pay" in refund:
                    answer["refund_status"] = "REFUND_SUCCESS"
        return answer

    def _refund_done(self, trade: dict[str, Any], request_no: str) -> None:
        """The money is back: from now on the refund is on the bill, and the trade, fully refunded, is closed."""
        trade["refunds"][request_no]["gmt_refund_pay"] = self.clock.now().astimezone(BEIJING).strftime(TIME_FORMAT)
        trade["trade_status"] = "TRADE_CLOSED"

    def _bill_url(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        try:
            day = date.fromisoformat(str(biz.get("bill_date", "")))
        except ValueError:
            return _failed("40004", "isv.invalid-arguments", "账单日期格式不正确")  # a month bill is not simulated
        if biz.get("bill_type") != "trade":
            return _failed("40004", "isv.invalid-arguments", "账单类型不正确")
        rows = self._bill_rows(day) if day < self.clock.now().astimezone(BEIJING).date() else []
        if not rows:
            return _failed("40004", "isp.bill_not_exist", "账单不存在")
        archive = self._bill_archive(day, rows)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.bills[token] = archive[: len(archive) // 2] if self.corrupt_bills else archive
        url = f"{request.host_url.rstrip('/')}{PREFIX}/bills/{token}.zip"
        return {"code": "10000", "msg": "Success", "bill_download_url": url}

    def _download_bill(self, token: str) -> Response:
        with self._lock:
            archive = self.bills.get(token)
        if archive is None:
            return Response("", 404)
        return Response(archive, 200, mimetype="application/zip")

    def _bill_rows(self, day: date) -> list[list[str]]:
        """The day's payments (by their payment time) and refunds (by theirs), oldest first, as the CSV's rows."""
        found: list[list[str]] = []
        with self._lock:
            for t in self.trades.values():
                if "send_pay_date" not in t:
                    continue
                buyer = t["buyer_user_id"]
                front = [t["trade_no"], t["out_trade_no"]]
                middle = [t["subject"], t.get("gmt_create", t["send_pay_date"])]
                shop = ["", "", "", "", f"{buyer[:4]}******{buyer[-4:]}"]
                if _on(t["send_pay_date"], day):
                    found.append(_bill_row([*front, "交易", *middle, t["send_pay_date"], *shop], t["total_amount"], ""))
                refunds = [
                    (no, r["gmt_refund_pay"], r["refund_fee"])
                    for no, r in t.get("refunds", {}).items()
                    if "gmt_refund_pay" in r  # a refund still processing moved no money yet
                ]
                if "cancelled_at" in t:
                    refunds.append(("", t["cancelled_at"], t["total_amount"]))
                for no, at, amount in refunds:
                    if _on(at, day):
                        found.append(_bill_row([*front, "退款", *middle, at, *shop], f"-{amount}", no))
        return sorted(found, key=lambda row: row[5])

    def _bill_archive(self, day: date, rows: list[list[str]]) -> bytes:
        """The ZIP Alipay serves: the day's 业务明细 and its 汇总, GBK, `#` comment lines around each table."""
        account, stamp = f"{self.seller_id}0156", day.strftime("%Y%m%d")
        span = f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day + timedelta(days=1):%Y年%m月%d日} 00:00:00]"
        made = f"#导出时间：[{self.clock.now().astimezone(BEIJING):%Y年%m月%d日 %H:%M:%S}]"
        paid = [Decimal(r[11].strip()) for r in rows if r[2].strip() == "交易"]
        refunded = [Decimal(r[11].strip()) for r in rows if r[2].strip() == "退款"]
        total, back = sum(paid, Decimal(0)), sum(refunded, Decimal(0))
        detail = [
            "#支付宝业务明细查询",
            f"#账号：[{account}]",
            span,
            "#-----------------------------------------业务明细列表----------------------------------------",
            BILL_HEADER,
            *(",".join(row) for row in rows),
            "#-----------------------------------------业务明细列表结束------------------------------------",
            f"#交易合计：{len(paid)}笔，商家实收共{total:.2f}元，商家优惠共0.00元",
            f"#退款合计：{len(refunded)}笔，商家实收退款共{back:.2f}元，商家优惠退款共0.00元",
            made,
        ]
        summary = [
            "#支付宝业务汇总查询",
            f"#账号：[{account}]",
            span,
            "#-----------------------------------------业务汇总列表----------------------------------------",
            SUMMARY_HEADER,
            f"合计,,{len(paid)},{len(refunded)},{total:.2f},{total + back:.2f},0.00,0.00,0.00,0.00,0.00,"
            f"{total + back:.2f}",
            "#-----------------------------------------业务汇总列表结束------------------------------------",
            made,
        ]
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, lines in (
                (f"{account}_{stamp}_业务明细.csv", detail),
                (f"{account}_{stamp}_业务明细(汇总).csv", summary),
            ):
                member = _GbkName(name, (day.year, day.month, day.day, 0, 0, 0))
                archive.writestr(member, "\r\n".join(lines).encode("gbk"), zipfile.ZIP_DEFLATED)
        return packed.getvalue()

    def _pay_route(self) -> Response:
        asked = request.get_json(silent=True) or {}
        no, notify = str(asked.get("out_trade_no", "")), asked.get("notify", True)
        if not isinstance(notify, bool):
            return Response(json.dumps({"error": "notify is true or false"}), 400, mimetype="application/json")
        if not self.pay(no, notify=notify):
            return Response(json.dumps({"error": "no open trade"}), 404, mimetype="application/json")
        return Response(json.dumps({"out_trade_no": no, "trade_status": "TRADE_SUCCESS"}), mimetype="application/json")

    def _queries_route(self) -> Response:
        failing = (request.get_json(silent=True) or {}).get("failing")
        if not isinstance(failing, bool):
            return Response(json.dumps({"error": "failing is true or false"}), 400, mimetype="application/json")
        self.failing_queries = failing
        return Response(json.dumps({"failing_queries": failing}), mimetype="application/json")

    def _settle_refund_route(self) -> Response:
        no = str((request.get_json(silent=True) or {}).get("out_request_no", ""))
        if not self.settle_refund(no):
            return Response(json.dumps({"error": "no refund processing"}), 404, mimetype="application/json")
        return Response(
            json.dumps({"out_request_no": no, "refund_status": "REFUND_SUCCESS"}), mimetype="application/json"
        )

    def _refund_outcome_route(self) -> Response:
        fund_change = (request.get_json(silent=True) or {}).get("fund_change")
        if fund_change not in ("Y", "N"):
            return Response(json.dumps({"error": "fund_change is Y or N"}), 400, mimetype="application/json")
        self.refund_outcome = fund_change
        return Response(json.dumps({"fund_change": fund_change}), mimetype="application/json")

    def settle_refund(self, out_request_no: str) -> bool:
        """A refund left processing succeeds now; False when no refund with this number is processing."""
        with self._lock:
            for trade in self.trades.values():
                refund = trade.get("refunds", {}).get(out_request_no)
                if refund is not None and "gmt_refund_pay" not in refund:
                    self._refund_done(trade, out_request_no)
                    return True
        return False

    def pay(self, out_trade_no: str, *, background: bool = True, notify: bool = True) -> bool:
        """The payer pays: the trade succeeds and its notification goes out (with retries) unless `notify` is
        False (a notification lost for good: only a query or the bill shows the payment)."""
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
                    send_pay_date=self.clock.now().astimezone(BEIJING).strftime(TIME_FORMAT),
                )
        if self.deliver and notify:
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


def _on(text: str, day: date) -> bool:
    return datetime.strptime(text, TIME_FORMAT).date() == day  # Alipay's times are Beijing time already


def _bill_row(start: list[str], yuan: str, refund_no: str) -> list[str]:
    """A 业务明细 row: the columns up to 对方账户, the amounts, the refund's request number; padded as Alipay pads."""
    row = [*start, yuan, yuan, *["0.00"] * 5, "", "0.00", "0.00", refund_no, "0.00", "0.00", ""]
    return [f"{value}\t" if i in PADDED else value for i, value in enumerate(row)]


class _GbkName(zipfile.ZipInfo):
    """A member named in GBK with no UTF-8 flag, as Alipay's archives are (zipfile writes only ASCII or flagged
    UTF-8 names). Should zipfile's hook change, the name is written as flagged UTF-8, which readers take too."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 (zipfile's own name)
        return self.filename.encode("gbk"), self.flag_bits


def _failed(code: str, sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}
