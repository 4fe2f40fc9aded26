"""The page a receipt's QR code opens (`/r/<receipt_id>` under PARKPASS_PUBLIC_URL): a phone-sized Chinese page.

It shows what a stranger holding the paper needs to check it, no more: no
owner (not even a masked phone), plates masked, and whether the signature and
the lot's receipt chain still hold for the receipt stored under that id.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from flask import Blueprint, Response, request

from domain.errors import InvalidInput, ReceiptNotFound
from domain.labels import local_time
from domain.receipt_text import (
    CHAIN_FAULTS,
    amount_text,
    channel_name,
    for_bills,
    masked_item,
    masked_plate,
    paid_at_text,
    period_text,
)
from functions.bootstrap import Services
from handlers.rate_limit import limit
from handlers.receipts import ReceiptStanding, receipt_standing

PATH = "/r/"
PAGES_PER_MINUTE = 30


def receipt_link(public_url: str | None, receipt_id: str) -> str:
    """What the QR code holds: short, under the configured public URL (never the request's Host header)."""
    if public_url is None:
        raise RuntimeError("PARKPASS_PUBLIC_URL is not set: a receipt's QR code would have nowhere to link")
    return f"{public_url}{PATH}{receipt_id}"


def receipt_page_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("receipt_page", __name__)

    @bp.get(f"{PATH}<receipt_id>")
    def receipt_page(receipt_id: str) -> Response:
        # Public and a few reads per view: an address looking up receipts one after another is stopped.
        limit(s.rates, "receipt-page", request.remote_addr or "?", PAGES_PER_MINUTE, s.clock.now())
        if s.receipt_signer is None:
            return _page(_NO_SIGNING, 404)
        try:
            standing = receipt_standing(receipt_id, s.receipts, s.receipt_signer, s.lots, s.orders,
                                        lambda order_id: s.collection.signature(order_id))  # fmt: skip
        except (ReceiptNotFound, InvalidInput):
            return _page(_UNKNOWN, 404)
        return _page(_standing_html(standing), 200)

    return bp


def _standing_html(st: ReceiptStanding) -> str:
    r = st.receipt
    if st.valid:
        verdict = '<p class="verdict ok">✔ 真实有效：签名与收据链均校验通过</p>'
    elif st.refunded and st.signature_valid and not st.chain_faults:
        verdict = '<p class="verdict bad" id="refunded">✘ 已退款：这张收据的订单已办理退款，收据作废，不能用于报销</p>'
    else:
        verdict = '<p class="verdict bad">✘ 验证未通过：这张收据不可信</p>'
    if st.signature_valid:
        signature = '<li id="signature" class="ok">✔ 签名有效：内容与物业签发时一致</li>'
    else:
        signature = '<li id="signature" class="bad">✘ 签名不符：收据内容已被改动，或并非本系统签发</li>'
    place = "本收据链" if for_bills(r) else "本停车场"
    if not st.chain_faults:
        chain = f'<li id="chain" class="ok">✔ 收据链完整：与{place}前后的收据首尾相连</li>'
    else:
        faults = "；".join(CHAIN_FAULTS[f] for f in st.chain_faults)
        chain = f'<li id="chain" class="bad">✘ 收据链断裂：{escape(faults)}</li>'
    rows = [
        ("收据编号", f"{r.id}（{place}第 {r.seq} 张）"),
        ("小区" if for_bills(r) else "停车场", r.lot_name),
        ("账单", "；".join(masked_item(p) for p in r.plates))
        if for_bills(r)
        else ("车牌", "、".join(masked_plate(p) for p in r.plates)),
        ("金额", amount_text(r.amount_fen)),
        ("支付方式", channel_name(r.channel)),
        ("支付时间", paid_at_text(r, st.timezone)),
        ("账期" if for_bills(r) else "购买期间", period_text(r)),
    ]
    fields = "".join(f"<dt>{label}</dt><dd>{escape(value)}</dd>" for label, value in rows)
    note = _BILLS_NOTE if for_bills(r) else _CARD_NOTE
    door = ""
    if r.evidence is not None:
        try:
            door = _evidence_html(r.evidence, st)
        except (KeyError, TypeError, ValueError):  # a stored receipt changed by hand: its signature says so above
            door = '<h2>上门收费凭证</h2><ul><li id="evidence" class="bad">✘ 凭证无法读取：收据已被改动</li></ul>'

    return f"{verdict}<dl>{fields}</dl><h2>校验结果</h2><ul>{signature}{chain}</ul>{door}{note}"


def _evidence_html(evidence: dict[str, Any], st: ReceiptStanding) -> str:
    """A door payment's evidence, sealed in the receipt: whether the stored signature image is the one sealed, and
    where and when the collector checked in (the image itself and the collector's name are not shown here)."""
    if st.evidence_valid:
        image = '<li id="evidence" class="ok">✔ 业主签名图像与收据封存的指纹一致</li>'
    else:
        image = '<li id="evidence" class="bad">✘ 业主签名图像与收据封存的指纹不符：签名图像已被改动或缺失</li>'
    at = local_time(datetime.fromisoformat(str(evidence["checked_in_at"])), st.timezone)
    far = "（距楼栋较远，已标记）" if evidence.get("far") else ""
    # A stranger holding the paper learns the neighbourhood, not the door: about 100 m.
    place = f"{float(evidence['latitude']):.3f}, {float(evidence['longitude']):.3f}"
    rows = [
        ("签到时间", at),
        ("签到位置", f"约 {place}（定位精度约 {evidence['accuracy_m']} 米）{far}"),
        ("签名指纹", f"SHA-256 {str(evidence['signature_sha256'])[:16]}…"),
    ]
    fields = "".join(f"<dt>{label}</dt><dd>{escape(value)}</dd>" for label, value in rows)
    return f"<h2>上门收费凭证</h2><ul>{image}</ul><dl>{fields}</dl>"


_CARD_NOTE = (
    '<p class="note">请核对纸质收据上的金额、期间与车牌。为保护车主隐私，本页不显示车主信息，车牌部分隐藏。</p>'
)
_BILLS_NOTE = '<p class="note">请核对纸质收据上的金额、账期与账单。为保护业主隐私，本页不显示业主信息与房号。</p>'


_UNKNOWN = (
    '<p class="verdict bad">✘ 查无此收据：本系统没有开具过这个编号的收据</p>'
    '<p class="note">二维码或网址可能被改动过，这张收据不可信。</p>'
)
_NO_SIGNING = '<p class="verdict bad">✘ 本系统未启用收据签名，无法验证收据</p>'
_STYLE = (
    "body{margin:0;font:16px/1.6 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
    "background:#f5f5f5;color:#222}"
    "main{max-width:32rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}"
    "h1{font-size:1.3rem;margin:.5rem 0}h2{font-size:1.05rem;margin:1rem 0 .3rem}"
    ".verdict{padding:.7rem;border-radius:.4rem;font-weight:bold}"
    ".verdict.ok{background:#e7f6ec;color:#17652f}.verdict.bad{background:#fdecec;color:#a11}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem .8rem;margin:0}"
    "dt{color:#777}dd{margin:0;word-break:break-all}"
    "ul{list-style:none;padding:0;margin:0}li.ok{color:#17652f}li.bad{color:#a11}.note{color:#777;font-size:.85rem}"
)


def _page(body: str, status: int) -> Response:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex"><title>电子收据验真</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>电子收据验真 <small>E-receipt check</small></h1>"
        f"{body}</main></body></html>"
    )
    return Response(
        html,
        status=status,
        mimetype="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Referrer-Policy": "no-referrer",
        },
    )
