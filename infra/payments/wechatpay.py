"""WeChat Pay API v3 through wechatpayv3, in public-key mode (no certificate download at start).

The gateway is set in this one place, so the same code talks to WeChat Pay or
to the local simulator. It also reads the daily trade bill for reconciliation.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import logging
import secrets
import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from domain.bill_order import BillOrder
from domain.errors import PaymentRejected, PaymentUnavailable
from domain.order import Order, RefundState, payment_reference, referenced
from domain.reconciliation import PROVIDER_ZONE, LineKind, StatementLine
from handlers.ports import Clock, PaymentNotice, PaymentStatus, RefundNotice
from infra.settings import WechatPayConfig

if TYPE_CHECKING:  # visits load with the first visit order, not with every cold start
    from domain.visit_payment import VisitOrder

NOTICE_MAX_AGE_S = 300
BILL_DUE_AT = time(10, 0)
"""WeChat Pay makes day T's bill on T+1 from about 9:00 Beijing time and advises fetching it after 10:00: before
then "no bill" may only mean "not made yet"."""
SUMMARY_HEADER = "总交易单数"
"""The bill's closing summary (a header and one row of totals) starts here."""
REFUND_STATES = {
    "SUCCESS": RefundState.SUCCEEDED,
    "PROCESSING": RefundState.PROCESSING,
    "ABNORMAL": RefundState.ABNORMAL,
    "CLOSED": RefundState.CLOSED,
}
"""A refund's `status` (answers) and `refund_status` (notifications) as WeChat Pay writes them."""
REFUND_NOTIFY_SEGMENT = "refund-notify"
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

    def prepay(self, order: Order | BillOrder | VisitOrder, payer_id: str) -> dict[str, str]:
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

    def code(self, order: BillOrder) -> str:
        """Native: a code_url the payer scans with WeChat (a door's one-time QR code)."""
        code, body = self._call(
            lambda: self._pay.pay(
                description=order.package.name[:127],
                out_trade_no=order.id,
                amount={"total": order.amount_fen, "currency": "CNY"},
                time_expire=order.expires_at.isoformat(timespec="seconds"),
                attach=payment_reference(order),
                pay_type=WeChatPayType.NATIVE,
            )
        )
        if code != 200:
            raise PaymentUnavailable()
        return str(json.loads(body)["code_url"])

    def query(self, order: Order | BillOrder | VisitOrder) -> PaymentStatus:
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

    def close(self, order: Order | BillOrder | VisitOrder) -> None:
        code, _ = self._call(lambda: self._pay.close(out_trade_no=order.id))
        # ORDER_NOT_EXIST: the prepay never reached WeChat Pay, so nothing can be paid: nothing to close.
        if code not in (200, 204, 404):
            raise PaymentUnavailable()

    @property
    def refund_notify_url(self) -> str:
        """Where WeChat Pay posts a refund's result: the sibling of the payment notify_url
        (`.../payments/wechat/notify` -> `.../payments/wechat/refund-notify`), derived so that no new setting has to
        be kept in step. Without it wechatpayv3 sends the payment's notify_url, and a refund result there would be
        rejected as a payment notice for another merchant."""
        return f"{self._config.notify_url.rsplit('/', 1)[0]}/{REFUND_NOTIFY_SEGMENT}"

    def refund(
        self, order: Order | BillOrder | VisitOrder, refund_no: str, amount_fen: int | None = None
    ) -> RefundState:
        code, body = self._call(
            lambda: self._pay.refund(
                out_refund_no=refund_no,
                out_trade_no=order.id,
                amount={"refund": amount_fen or order.amount_fen, "total": order.amount_fen, "currency": "CNY"},
                reason="月卡退款" if order.card_id else f"{order.package.name}退款",
                notify_url=self.refund_notify_url,
            )
        )
        if code != 200:
            raise PaymentUnavailable()
        return _refund_state(body)

    def refund_state(self, order: Order | BillOrder | VisitOrder, refund_no: str) -> RefundState:
        code, body = self._call(lambda: self._pay.query_refund(out_refund_no=refund_no))
        # 404 RESOURCE_NOT_EXISTS: a refund we asked for must exist, so "not found" is WeChat Pay not knowing yet
        # (or a wrong merchant), never a state.
        if code != 200:
            raise PaymentUnavailable()
        return _refund_state(body)

    def notice(self, headers: dict[str, str], body: str) -> PaymentNotice:
        """Verify, decrypt, and check whose payment it is."""
        t = self._verified(headers, body)["resource"]
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

    def refund_notice(self, headers: dict[str, str], body: str) -> RefundNotice:
        """Verify and decrypt a refund's result (REFUND.SUCCESS / ABNORMAL / CLOSED); a refund resource names the
        merchant but no appid."""
        data = self._verified(headers, body)
        event = str(data.get("event_type", ""))
        if not event.startswith("REFUND."):
            raise PaymentRejected("notice_refund_status", found=event[:40])
        t = data["resource"]
        if not isinstance(t, dict) or t.get("mchid") != self._config.mchid:
            raise PaymentRejected("notice_merchant")
        status = str(t.get("refund_status", ""))
        state = REFUND_STATES.get(status)
        if state is None or state is RefundState.PROCESSING:  # WeChat Pay notifies results, never "processing"
            raise PaymentRejected("notice_refund_status", found=status[:40])
        return RefundNotice(
            out_trade_no=str(t.get("out_trade_no", "")), out_refund_no=str(t.get("out_refund_no", "")), state=state
        )

    def statement(self, day: date) -> list[StatementLine]:
        """The trade bill of `day` (Beijing time): its paid orders and its refunds, checked against WeChat Pay's hash.

        The fund-flow bill is not needed: the trade bill of type ALL lists the refunds too. NO_STATEMENT_EXIST is
        what WeChat Pay says both for a day with nothing in it and for a bill not made yet: an empty day only once
        the bill is due, PaymentUnavailable before."""
        code, body = self._call(
            lambda: self._pay.trade_bill(bill_date=day.isoformat(), bill_type="ALL", tar_type="GZIP")
        )
        if code != 200:
            if _error_code(body) == "NO_STATEMENT_EXIST" and self._clock.now() >= _due(day):
                return []
            logging.getLogger("parkpass.wechatpay").warning("no trade bill of %s: HTTP %s", day, code)
            raise PaymentUnavailable()
        bill = json.loads(body)
        code, packed = self._call(lambda: self._pay.download_bill(str(bill.get("download_url", ""))))
        if code != 200 or not isinstance(packed, bytes):
            raise PaymentUnavailable()
        try:
            content = gzip.decompress(packed)
        except (OSError, EOFError, zlib.error):
            security.warning("WeChat Pay trade bill of %s is not a gzip file", day)
            raise PaymentUnavailable() from None
        # The hash comes in the signed answer, the file unsigned: the hash is what makes the file WeChat Pay's.
        expected = str(bill.get("hash_value", "")).lower()
        if bill.get("hash_type") != "SHA1" or not hmac.compare_digest(hashlib.sha1(content).hexdigest(), expected):
            security.warning("WeChat Pay trade bill of %s does not match its hash", day)
            raise PaymentUnavailable()
        return trade_bill_lines(content)

    def _verified(self, headers: dict[str, str], body: str) -> dict[str, Any]:
        """A notification's body with its resource decrypted, once its key (serial), age and RSA signature over the
        raw body check out; wechatpayv3 checks no age, so a replayed old notification is stopped here."""
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
        return dict(data)

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


def _refund_state(body: Any) -> RefundState:
    """The state in a refund's answer (apply or query); a status we do not know is not one to act on."""
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):
        raise PaymentUnavailable() from None
    status = str(answer.get("status", "")) if isinstance(answer, dict) else ""
    state = REFUND_STATES.get(status)
    if state is None:
        logging.getLogger("parkpass.wechatpay").warning("refund answered with an unknown status %r", status[:20])
        raise PaymentUnavailable()
    return state


def trade_bill_lines(content: bytes) -> list[StatementLine]:
    """The payments (交易状态 SUCCESS) and refunds (REFUND) of a trade bill; other states are not money moved.

    Columns are found by the header's names (WeChat Pay says their order may change); every field of a data row
    starts with a backtick, so a row is split on ",`" and a comma inside a product name stays in its field."""
    try:
        rows = content.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise PaymentUnavailable() from None
    if not rows:
        raise PaymentUnavailable()
    header = [name.strip() for name in rows[0].split(",")]
    lines: list[StatementLine] = []
    for row in rows[1:]:
        if row.startswith(SUMMARY_HEADER):
            return lines
        if not row.strip():
            continue
        if not row.startswith("`"):
            raise PaymentUnavailable()
        fields = row[1:].split(",`")
        if len(fields) != len(header):
            raise PaymentUnavailable()
        line = _trade_bill_line(dict(zip(header, fields, strict=True)))
        if line is not None:
            lines.append(line)
    raise PaymentUnavailable()  # no summary: the file was cut short


def _trade_bill_line(row: dict[str, str]) -> StatementLine | None:
    try:
        state, order_id = row["交易状态"], row["商户订单号"]
        at = datetime.strptime(row["交易时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=PROVIDER_ZONE)
        if state == "SUCCESS":
            return StatementLine(LineKind.PAYMENT, order_id, row["微信订单号"], _bill_fen(row["订单金额"]), at)
        if state == "REFUND":
            amount = _bill_fen(row["退款金额"])
            return StatementLine(LineKind.REFUND, order_id, row["微信订单号"], amount, at, row["商户退款单号"])
    except (KeyError, ValueError):
        raise PaymentUnavailable() from None
    return None


def _bill_fen(yuan: str) -> int:
    """'850.01' -> 85001 exactly (a bill's amounts are positive yuan with at most two decimals)."""
    try:
        fen = Decimal(yuan) * 100
    except InvalidOperation:
        raise ValueError(yuan) from None
    if not fen.is_finite() or fen <= 0 or fen != fen.to_integral_value():
        raise ValueError(yuan)
    return int(fen)


def _due(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), BILL_DUE_AT, PROVIDER_ZONE)


def _error_code(body: Any) -> str:
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):
        return ""
    return str(answer.get("code", "")) if isinstance(answer, dict) else ""
