"""PDFs: the e-receipt of a paid order, and the simulated provider's invoices (reportlab).

Chinese text uses the standard CJK font STSong-Light, which every PDF reader
that reads Chinese supplies, so nothing is embedded and the files stay small.
"""

from __future__ import annotations

import io
from datetime import date

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from domain.money import yuan_text
from domain.receipt import SignedReceipt

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
CHANNELS = {"wechat": "微信支付 WeChat Pay", "alipay": "支付宝 Alipay", "cash": "现金 Cash", "pos": "刷卡 POS"}


def receipt_pdf(signed: SignedReceipt, verify_url: str, seal_png: bytes | None) -> bytes:
    r = signed.receipt
    out = io.BytesIO()
    width, height = landscape(A5)
    c = Canvas(out, pagesize=(width, height), invariant=True)
    c.setTitle(f"收据 Receipt {r.id}")
    c.setFont(FONT, 18)
    c.drawString(15 * mm, height - 20 * mm, f"{r.lot_name}  月卡电子收据 E-receipt")
    c.setStrokeColor(colors.darkgrey)
    c.line(15 * mm, height - 24 * mm, width - 15 * mm, height - 24 * mm)
    rows = [
        ("收据编号 Receipt no.", f"{r.id}  (#{r.seq})"),
        ("车主 Owner", r.owner),
        ("车牌 Plates", "  ".join(r.plates)),
        ("有效期 Period", f"{r.period_from} 至 {r.period_until}"),
        ("金额 Amount", f"¥ {yuan_text(r.amount_fen)} 元"),
        ("支付方式 Channel", CHANNELS.get(r.channel, r.channel)),
        ("交易号 Transaction", r.transaction_id or "-"),
        ("支付时间 Paid at", r.paid_at),
        ("订单号 Order", r.order_id),
    ]
    y = height - 34 * mm
    for label, value in rows:
        c.setFont(FONT, 9)
        c.setFillColor(colors.grey)
        c.drawString(15 * mm, y, label)
        c.setFont(FONT, 11)
        c.setFillColor(colors.black)
        c.drawString(55 * mm, y, value)
        y -= 8 * mm
    c.setFont(FONT, 7)
    c.setFillColor(colors.grey)
    c.drawString(15 * mm, 12 * mm, f"上一张收据哈希 prev: {r.prev_hash[:32]}…  本张 hash: {r.hash[:32]}…")
    c.drawString(15 * mm, 8 * mm, f"扫码验真 Scan to verify: {verify_url}")
    qr = QrCodeWidget(signed.qr_payload)
    x0, y0, x1, y1 = qr.getBounds()
    size = 45 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, c, width - 15 * mm - size, 18 * mm)
    if seal_png:
        c.drawImage(ImageReader(io.BytesIO(seal_png)), width - 75 * mm, 50 * mm, 35 * mm, 35 * mm, mask="auto")
    c.showPage()
    c.save()
    return out.getvalue()


def invoice_pdf(
    number: str, issued_on: date, title: str, tax_id: str | None, amount_fen: int, seller: str, red: bool
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
        "项目 Item: *经营租赁*停车服务费 (monthly parking)",
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
