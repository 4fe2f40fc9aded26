"""PDFs: the e-receipt of a paid order, and the simulated provider's invoices (reportlab).

Chinese text uses the standard CJK font STSong-Light, which every PDF reader
that reads Chinese supplies, so nothing is embedded and the files stay small.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, A6, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from domain.money import yuan_text
from domain.receipt import SignedReceipt
from domain.receipt_text import amount_text, channel_name, for_bills, paid_at_text, period_text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
PAGE = landscape(A5)


@dataclass(frozen=True)
class Box:
    """A rectangle on the page in points, from the bottom-left corner (PDF's own coordinates)."""

    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class ReceiptLayout:
    """Where each part of a receipt goes: none of these boxes overlaps another (tested on the rendered page)."""

    text: Box
    qr: Box
    seal: Box
    footer: Box

    def boxes(self) -> dict[str, Box]:
        return {"text": self.text, "qr": self.qr, "seal": self.seal, "footer": self.footer}


_WIDTH, _HEIGHT = PAGE
RECEIPT_LAYOUT = ReceiptLayout(
    text=Box(15 * mm, 22 * mm, 122 * mm, _HEIGHT - 52 * mm),
    qr=Box(_WIDTH - 60 * mm, _HEIGHT - 75 * mm, 45 * mm, 45 * mm),
    seal=Box(_WIDTH - 55 * mm, 22 * mm, 35 * mm, 35 * mm),
    footer=Box(15 * mm, 5 * mm, _WIDTH - 30 * mm, 11 * mm),
)
"""A5 landscape: the fields on the left; on the right the QR code above, the seal below, apart."""
VALUE_X = 40 * mm
"""Where a field's value starts, from the text box's left edge."""


def receipt_pdf(signed: SignedReceipt, verify_url: str, seal_png: bytes | None, timezone: str) -> bytes:
    """The receipt as printed: times in the lot's zone `timezone`, its QR code the short `verify_url`."""
    r = signed.receipt
    layout = RECEIPT_LAYOUT
    out = io.BytesIO()
    width, height = PAGE
    c = Canvas(out, pagesize=PAGE, invariant=True)
    c.setTitle(f"收据 Receipt {r.id}")
    c.setFont(FONT, 18)
    kind = "物业费电子收据" if for_bills(r) else "月卡电子收据"
    c.drawString(15 * mm, height - 20 * mm, f"{r.lot_name}  {kind} E-receipt")
    c.setStrokeColor(colors.darkgrey)
    c.line(15 * mm, height - 24 * mm, width - 15 * mm, height - 24 * mm)
    rows = [
        ("收据编号 Receipt no.", f"{r.id}  (#{r.seq})"),
        ("车主 Owner" if not for_bills(r) else "业主 Owner", r.owner),
        *(
            [("账单 Bills", item) for item in r.plates] + [("账期 Periods", period_text(r))]
            if for_bills(r)
            else [("车牌 Plates", "  ".join(r.plates)), ("有效期 Period", period_text(r))]
        ),
        ("金额 Amount", amount_text(r.amount_fen)),
        ("支付方式 Channel", channel_name(r.channel)),
        ("交易号 Transaction", r.transaction_id or "-"),
        ("支付时间 Paid at", paid_at_text(r, timezone)),
        ("订单号 Order", r.order_id),
    ]
    text = layout.text
    y = text.y + text.height - 4 * mm
    for label, value in rows:
        c.setFont(FONT, 9)
        c.setFillColor(colors.grey)
        c.drawString(text.x, y, label)
        c.setFont(FONT, _fitting_size(value, text.width - VALUE_X, 11))
        c.setFillColor(colors.black)
        c.drawString(text.x + VALUE_X, y, value)
        y -= 8 * mm
    _draw_qr(c, verify_url, layout.qr)
    c.setFont(FONT, 8)
    c.setFillColor(colors.grey)
    c.drawCentredString(layout.qr.x + layout.qr.width / 2, layout.qr.y - 4 * mm, "微信扫码验真 Scan to verify")
    if seal_png:
        seal = layout.seal
        c.drawImage(
            ImageReader(io.BytesIO(seal_png)), seal.x, seal.y, seal.width, seal.height,
            mask="auto", preserveAspectRatio=True, anchor="c",
        )  # fmt: skip
    footer = layout.footer
    c.setFont(FONT, 7)
    c.drawString(footer.x, footer.y + 6 * mm, f"上一张收据哈希 prev: {r.prev_hash[:32]}…  本张 hash: {r.hash[:32]}…")
    c.drawString(footer.x, footer.y + 2 * mm, f"验真网址 Verify: {verify_url}")
    c.showPage()
    c.save()
    return out.getvalue()


def _draw_qr(c: Canvas, text: str, box: Box) -> None:
    """The QR code filling `box`, its quiet zone (4 modules) inside the box."""
    qr = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = qr.getBounds()
    drawing = Drawing(box.width, box.height, transform=[box.width / (x1 - x0), 0, 0, box.height / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, c, box.x, box.y)


def _fitting_size(text: str, width: float, size: float, smallest: float = 6) -> float:
    """`size`, or smaller until `text` fits in `width`: a long transaction id never runs into the QR code."""
    while size > smallest and pdfmetrics.stringWidth(text, FONT, size) > width:
        size -= 0.5
    return size


def invoice_pdf(
    number: str, issued_on: date, title: str, tax_id: str | None, amount_fen: int, seller: str, red: bool,
    item: str = "*经营租赁*停车服务费",
) -> bytes:
    """A simulated electronic invoice (全电发票); a red-letter one reverses `number`'s amount."""
    out = io.BytesIO()
    width, height = landscape(A5)
    c = Canvas(out, pagesize=(width, height), invariant=True)
    c.setTitle(f"发票 Invoice {number}")
    c.setFillColor(colors.red if red else colors.darkred)
    c.setFont(FONT, 18)
    c.drawCentredString(width / 2, height - 20 * mm, "电子发票 (红字)" if red else "电子发票 (普通发票)")
    c.setFillColor(colors.black)
    c.setFont(FONT, 10)
    lines = [
        f"发票号码 No.: {number}",
        f"开票日期 Date: {issued_on.isoformat()}",
        f"购买方 Buyer: {title}",
        f"统一社会信用代码 Tax id: {tax_id or '-'}",
        f"项目 Item: {item}",
        f"价税合计 Total: ¥ {yuan_text(-amount_fen if red else amount_fen)}",
        f"销售方 Seller: {seller}",
        "本发票由本地模拟开票服务生成 (simulated, not a tax document)",
    ]
    y = height - 35 * mm
    for line in lines:
        c.drawString(20 * mm, y, line)
        y -= 8 * mm
    c.setStrokeColor(colors.darkred)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 40 * mm)
    c.showPage()
    c.save()
    return out.getvalue()


def claim_slip_pdf(lot_name: str, plates: tuple[str, ...], holder: str | None, code: str, claim_url: str) -> bytes:
    """The slip the office hands a card holder: the claim code, and a QR code that opens the mini-program's claim
    page with it (WeChat opens a registered link prefix in the mini-program)."""
    buffer = io.BytesIO()
    width, height = A6
    c = Canvas(buffer, pagesize=A6)
    c.setTitle("月卡认领单")
    c.setFont(FONT, 16)
    c.drawCentredString(width / 2, height - 18 * mm, "月卡认领单")
    c.setFont(FONT, 10)
    lines = [f"车场：{lot_name}", f"车牌：{' / '.join(plates)}", *([f"持卡人：{holder}"] if holder else [])]
    for i, line in enumerate(lines):
        c.drawString(10 * mm, height - (30 + 7 * i) * mm, line)
    c.setFont(FONT, 11)
    c.drawCentredString(width / 2, height - 58 * mm, "认领码")
    c.setFont("Courier-Bold", 22)
    c.drawCentredString(width / 2, height - 68 * mm, code)
    _draw_qr(c, claim_url, Box((width - 50 * mm) / 2, 22 * mm, 50 * mm, 50 * mm))
    c.setFont(FONT, 8)
    c.drawCentredString(width / 2, 16 * mm, "微信扫码，或在小程序“我的月卡 > 认领月卡”输入认领码")
    c.drawCentredString(width / 2, 11 * mm, "认领码只能使用一次，请勿转交他人")
    c.showPage()
    c.save()
    return buffer.getvalue()
