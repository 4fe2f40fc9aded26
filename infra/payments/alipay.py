"""Alipay through python-alipay-sdk (RSA2): a QR code to pay (precreate), query, close, refund and its query,
notifications, and the daily trade bill for reconciliation.

A WeChat mini-program cannot open Alipay, so an Alipay payer scans the QR code
(or uses the Alipay mini-program / H5). The gateway is set here, in one place.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.error import URLError
from zoneinfo import ZoneInfo

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from domain.bill_order import BillOrder
from domain.errors import PaymentRejected, PaymentUnavailable
from domain.money import yuan_text
from domain.order import Order, RefundState
from domain.payment_notice import check_sent_in_window
from domain.reconciliation import PROVIDER_ZONE, LineKind, StatementLine
from handlers.ports import Clock, PaymentNotice, PaymentStatus
from infra.settings import AlipayConfig

if TYPE_CHECKING:  # visits load with the first visit order, not with every cold start
    from domain.visit_payment import VisitOrder

PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
_YUAN = re.compile(r"[0-9]{1,9}\.[0-9]{2}")
ALIPAY_TIME = ZoneInfo("Asia/Shanghai")
BILL_DUE_AT = time(10, 0)
"""Alipay makes day T's bill on T+1 in the morning (Beijing time): before 10:00 "no bill" may only mean "not made
yet"."""
BILL_DOWNLOAD_TIMEOUT_S = 10
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

    def prepay(self, order: Order | BillOrder | VisitOrder, payer_id: str) -> dict[str, str]:
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

    def code(self, order: BillOrder) -> str:
        """Precreate's qr_code: the payer scans it with Alipay (a door's one-time QR code)."""
        return self.prepay(order, "")["qr_code"]

    def query(self, order: Order | BillOrder | VisitOrder) -> PaymentStatus:
        answer = self._call(lambda: self._alipay.api_alipay_trade_query(out_trade_no=order.id))
        if answer.get("code") != "10000":
            # A QR code nobody scanned has no trade yet; any other failure (20000 isp.unknow-error: Alipay is
            # busy) says nothing about the payment, and taken as "unpaid" it would let the sweep close a paid order.
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return PaymentStatus(paid=False)
            logging.getLogger("parkpass.alipay").warning("Alipay query failed: %s", answer.get("sub_code"))
            raise PaymentUnavailable()
        paid = answer.get("trade_status") in PAID
        return PaymentStatus(
            paid=paid,
            transaction_id=answer.get("trade_no"),
            amount_fen=fen_of(str(answer.get("total_amount", ""))) if paid else None,
            paid_at=_alipay_time(answer.get("send_pay_date")),
            closed=answer.get("trade_status") == "TRADE_CLOSED",
        )

    def close(self, order: Order | BillOrder | VisitOrder) -> None:
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

    def refund(
        self, order: Order | BillOrder | VisitOrder, refund_no: str, amount_fen: int | None = None
    ) -> RefundState:
        answer = self._call(
            lambda: self._alipay.api_alipay_trade_refund(
                refund_amount=yuan_text(amount_fen or order.amount_fen), out_trade_no=order.id, out_request_no=refund_no
            )
        )
        if answer.get("code") != "10000":
            raise PaymentUnavailable()
        if answer.get("fund_change") == "Y":
            return RefundState.SUCCEEDED
        # N says only that this call moved no money: a repeated request answers N after the first one moved it, so
        # Alipay's refund query says where the refund is.
        return self.refund_state(order, refund_no)

    def refund_state(self, order: Order | BillOrder | VisitOrder, refund_no: str) -> RefundState:
        """SUCCEEDED once Alipay says REFUND_SUCCESS; PROCESSING while it says nothing (Alipay sends no refund
        notification here, and leaves refund_status out both while a refund is processing and for a request it
        has not taken: the caller asks again later, and repeating the refund with its number is safe)."""
        answer = self._call(
            lambda: self._alipay.api_alipay_trade_fastpay_refund_query(out_request_no=refund_no, out_trade_no=order.id)
        )
        if answer.get("code") != "10000":
            logging.getLogger("parkpass.alipay").warning("Alipay refund query failed: %s", answer.get("sub_code"))
            raise PaymentUnavailable()
        if answer.get("refund_status") == "REFUND_SUCCESS":
            return RefundState.SUCCEEDED
        return RefundState.PROCESSING

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

    def statement(self, day: date) -> list[StatementLine]:
        """The trade bill of `day` (Beijing time): its payments (交易) and refunds (退款).

        python-alipay-sdk has no bill method: `server_api` signs the call and verifies the answer's signature (its
        `client_api` only signs, for a client to send). The file itself carries no hash: it is trusted as fetched
        from the URL in the signed answer. isp.bill_not_exist is said both of a day with nothing in it and of a
        bill not made yet: an empty day only once the bill is due, PaymentUnavailable before."""
        answer = self._call(
            lambda: self._alipay.server_api(
                "alipay.data.dataservice.bill.downloadurl.query", {"bill_type": "trade", "bill_date": day.isoformat()}
            )
        )
        if answer.get("code") != "10000":
            due = datetime.combine(day + timedelta(days=1), BILL_DUE_AT, PROVIDER_ZONE)
            if answer.get("sub_code") == "isp.bill_not_exist" and self._clock.now() >= due:
                return []
            logging.getLogger("parkpass.alipay").warning("no trade bill of %s: %s", day, answer.get("sub_code"))
            raise PaymentUnavailable()
        try:
            fetched = requests.get(str(answer.get("bill_download_url", "")), timeout=BILL_DOWNLOAD_TIMEOUT_S)
        except requests.RequestException as e:
            logging.getLogger("parkpass.alipay").warning("Alipay bill unreachable: %s", type(e).__name__)
            raise PaymentUnavailable() from None
        if fetched.status_code != 200:
            raise PaymentUnavailable()
        return trade_bill_lines(fetched.content)

    def _call(self, request: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = request()
        except AliPayValidationError:
            security.warning("Alipay answer signature does not verify")
            raise PaymentUnavailable() from None
        except AliPayException as e:
            # The SDK keeps the code private (there is no e.code): an unsigned error answer, such as 40002.
            code = getattr(e, "_AliPayException__code", None)
            logging.getLogger("parkpass.alipay").warning("Alipay refused: code %s", code)
            raise PaymentUnavailable() from None
        except (URLError, OSError) as e:
            logging.getLogger("parkpass.alipay").warning("Alipay unreachable: %s", type(e).__name__)
            raise PaymentUnavailable() from None
        return answer


def trade_bill_lines(archive: bytes) -> list[StatementLine]:
    """The lines of an Alipay trade bill: a ZIP of GBK CSV files, of which the 业务明细 one (not its 汇总) lists
    every payment and refund; `#` lines are comments around the table.

    Alipay writes the files' names in GBK without the ZIP's UTF-8 flag, hence metadata_encoding."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive), metadata_encoding="gbk") as bill:
            details = [name for name in bill.namelist() if "业务明细" in name and "汇总" not in name]
            if not details:
                raise PaymentUnavailable()
            texts = [bill.read(name).decode("gb18030") for name in details]
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError, EOFError):
        security.warning("Alipay trade bill is not a readable ZIP of GBK CSV files")
        raise PaymentUnavailable() from None
    return [line for text in texts for line in _detail_lines(text)]


def _detail_lines(text: str) -> list[StatementLine]:
    table = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows = [[field.strip() for field in row] for row in csv.reader(table)]
    if not rows:
        raise PaymentUnavailable()
    header, found = rows[0], []
    for row in rows[1:]:
        if len(row) != len(header):
            raise PaymentUnavailable()
        line = _detail_line(dict(zip(header, row, strict=True)))
        if line is not None:
            found.append(line)
    return found


def _detail_line(row: dict[str, str]) -> StatementLine | None:
    try:
        kind = {"交易": LineKind.PAYMENT, "退款": LineKind.REFUND}.get(row["业务类型"])
        if kind is None:
            return None
        yuan = Decimal(row["订单金额（元）"])
        at = _alipay_time(row["完成时间"])
        refund_no = row["退款批次号/请求号"] if kind is LineKind.REFUND else ""
    except (KeyError, ValueError, InvalidOperation):
        raise PaymentUnavailable() from None
    fen = abs(yuan) * 100  # a refund's amount is negative in the file
    if at is None or not row["商户订单号"] or not fen.is_finite() or fen == 0 or fen != fen.to_integral_value():
        raise PaymentUnavailable()
    return StatementLine(kind, row["商户订单号"], row["支付宝交易号"], int(fen), at, refund_no)


def _alipay_time(text: str | None) -> datetime | None:
    """Alipay writes local Beijing time without a zone: '2026-11-23 10:00:00'."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ALIPAY_TIME)
