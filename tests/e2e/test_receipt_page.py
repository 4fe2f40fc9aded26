"""The printed receipt and the page its QR code opens, on the local stack: the PDF is rendered to pixels, the QR
code read back with a real decoder (zxing-cpp), and the link it holds fetched over HTTP like a phone would."""

from __future__ import annotations

import re
import time
from datetime import datetime
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import requests
import zxingcpp
from PIL import Image, ImageChops

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from infra.dynamodb.tables import ReceiptItem
from infra.pdf import PAGE, RECEIPT_LAYOUT, Box
from tests.e2e.api_client import ApiClient

DPI = 200
SCALE = DPI / 72
PHONE = "13800001234"


def owner_pays_online(stack: DevStack) -> tuple[ApiClient, dict[str, str], str]:
    """An owner with a bound phone renews the demo card by WeChat Pay; the order id once it is paid."""
    api = ApiClient(stack.api_url)
    token = api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:page"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    assert api.post("/api/v1/me/phone", json={"code": f"sim-phone:{PHONE}"}, headers=owner).status_code == 200
    body = {"package_id": "demo-3m", "channel": "wechat", "idempotency_key": "receipt-page-online"}
    made = api.post("/api/v1/cards/card-demo/renewals", json=body, headers=owner)
    assert made.status_code == 201, made.text
    order_id = made.json()["order_id"]
    api.post("/sim/wechatpay/pay", json={"out_trade_no": order_id})
    deadline = time.monotonic() + 15
    while api.get(f"/api/v1/orders/{order_id}", headers=owner).json()["state"] != "paid":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return api, owner, order_id


def office_takes_cash(api: ApiClient) -> tuple[dict[str, str], dict[str, Any]]:
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
    cash = {"package_id": "demo-3m", "channel": "cash", "idempotency_key": "receipt-page-cash"}
    paid = api.post("/admin/api/v1/cards/card-demo/payments", json=cash, headers=staff)
    assert paid.status_code == 201, paid.text
    return staff, paid.json()


def rendered(pdf: bytes) -> tuple[Image.Image, str]:
    page = pdfium.PdfDocument(pdf)[0]
    return page.render(scale=SCALE).to_pil().convert("RGB"), page.get_textpage().get_text_range()


def pixels_of(box: Box) -> tuple[float, float, float, float]:
    """left, top, right, bottom in the rendered image (PDF's origin is bottom-left, the image's top-left)."""
    height = PAGE[1]
    return box.x * SCALE, (height - box.y - box.height) * SCALE, (box.x + box.width) * SCALE, (height - box.y) * SCALE


def inside(x: float, y: float, box: Box, slack: float = 2) -> bool:
    left, top, right, bottom = pixels_of(box)
    return left - slack <= x <= right + slack and top - slack <= y <= bottom + slack


def check_layout(image: Image.Image) -> str:
    """The seal's red ink lies in the seal's box only, the QR code in its own box, apart; the QR code's text."""
    assert not any(a.overlaps(b) for a, b in combinations(RECEIPT_LAYOUT.boxes().values(), 2))
    assert not RECEIPT_LAYOUT.qr.overlaps(RECEIPT_LAYOUT.seal)
    r, g, b = image.split()
    red_ink = ImageChops.multiply(
        ImageChops.multiply(r.point(lambda v: 255 if v > 150 else 0), g.point(lambda v: 255 if v < 110 else 0)),
        b.point(lambda v: 255 if v < 110 else 0),
    )
    assert red_ink.histogram()[255] > 2000, "the seal is printed"
    red_box = red_ink.getbbox()
    assert red_box is not None
    left, top, right, bottom = red_box
    assert inside(left, top, RECEIPT_LAYOUT.seal) and inside(right, bottom, RECEIPT_LAYOUT.seal), "red outside the seal"
    left, top, right, bottom = (round(v) for v in pixels_of(RECEIPT_LAYOUT.seal))
    darkest_red, _ = image.crop((left, top, right, bottom)).getextrema()[0]  # type: ignore[misc]
    assert darkest_red > 120, "something black (the QR code, text) under the seal"
    codes = zxingcpp.read_barcodes(image)
    assert len(codes) == 1 and codes[0].format == zxingcpp.BarcodeFormat.QRCode
    corners = codes[0].position
    for corner in (corners.top_left, corners.top_right, corners.bottom_left, corners.bottom_right):
        assert inside(corner.x, corner.y, RECEIPT_LAYOUT.qr), "the QR code is outside its box"
        assert not inside(corner.x, corner.y, RECEIPT_LAYOUT.seal, slack=0)
    return codes[0].text


def beijing(paid_at: str) -> str:
    return datetime.fromisoformat(paid_at).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M 北京时间")


def phone_opens(url: str) -> requests.Response:
    """What a phone's camera does with the link: a plain GET, no token, no cookies."""
    answer = requests.get(url, timeout=10)
    assert answer.headers["Content-Type"].startswith("text/html")
    return answer


def test_the_qr_code_links_to_a_page_that_shows_the_receipt_and_that_it_checks_out(stack: DevStack) -> None:
    api, owner, online_order = owner_pays_online(stack)
    staff, cash_order = office_takes_cash(api)
    public_url = stack.services.public_url
    assert public_url == stack.api_url  # PARKPASS_PUBLIC_URL of the local stack

    # The owner's PDF, asked for with another Host header: the link never comes from the request.
    owner_pdf = api.get(f"/api/v1/orders/{online_order}/receipt.pdf", headers={**owner, "Host": "evil.example"})
    assert owner_pdf.status_code == 200 and owner_pdf.headers["Content-Type"] == "application/pdf"
    online_receipt = api.get(f"/api/v1/orders/{online_order}/receipt", headers=owner).json()
    image, text = rendered(owner_pdf.content)
    link = check_layout(image)
    assert link == f"{public_url}/r/{online_receipt['receipt_id']}" == online_receipt["verify_url"]
    assert len(link) < 100  # a link a phone opens, not the signed payload
    assert beijing(online_receipt["paid_at"]) in text and "850.00 元" in text and "微信支付" in text
    assert "+00:00" not in text

    office_pdf = api.get(cash_order["receipt_url"], headers={**staff, "Host": "evil.example"})
    assert office_pdf.status_code == 200
    cash_image, cash_text = rendered(office_pdf.content)
    cash_link = check_layout(cash_image)
    cash_receipt = ReceiptItem.get(f"rcpt-{cash_order['order_id']}").fields
    assert cash_link == f"{public_url}/r/{cash_receipt['receipt_id']}"
    assert "现金" in cash_text and beijing(cash_receipt["paid_at"]) in cash_text

    page = phone_opens(link)
    assert page.status_code == 200
    html = page.text
    for shown in (
        online_receipt["receipt_id"],
        "示例花园 Demo Gardens",
        "粤B***45",
        "850.00 元",
        "微信支付",
        beijing(online_receipt["paid_at"]),
        f"{online_receipt['period_from']} 至 {online_receipt['period_until']}",
        "✔ 签名有效",
        "✔ 收据链完整",
        "真实有效",
    ):
        assert shown in html, shown
    # A stranger scanning the code learns nothing of the owner: no phone, not even masked; the plate masked.
    assert PHONE not in html and online_receipt["owner"] not in html and "****" not in html
    assert "粤B12345" not in html
    assert "+00:00" not in html

    cash_page = phone_opens(cash_link)
    assert cash_page.status_code == 200 and "现金" in cash_page.text and "✔ 收据链完整" in cash_page.text
    assert cash_receipt["seq"] == online_receipt["seq"] + 1


def test_a_tampered_receipt_and_an_unknown_id_do_not_check_out(stack: DevStack) -> None:
    api, owner, online_order = owner_pays_online(stack)
    _, cash_order = office_takes_cash(api)
    first = api.get(f"/api/v1/orders/{online_order}/receipt", headers=owner).json()
    second_id = f"rcpt-{cash_order['order_id']}"

    # Someone with database access lowers the first receipt's amount.
    item = ReceiptItem.get(first["receipt_id"])
    item.fields = {**item.fields, "amount_fen": 100, "amount_yuan": "1.00"}
    item.save()
    changed = phone_opens(first["verify_url"])
    assert changed.status_code == 200
    assert "✘ 签名不符" in changed.text and "验证未通过" in changed.text and "真实有效" not in changed.text
    assert "✘ 收据链断裂" in changed.text  # the next receipt no longer links to it
    after = phone_opens(f"{stack.api_url}/r/{second_id}")
    assert "✔ 签名有效" in after.text and "上一张收据已被改动" in after.text and "验证未通过" in after.text

    ReceiptItem.get(first["receipt_id"]).delete()
    assert "上一张收据已不存在" in phone_opens(f"{stack.api_url}/r/{second_id}").text

    for forged in (f"{second_id[:-1]}0" if not second_id.endswith("0") else f"{second_id[:-1]}1", "rcpt-nothing"):
        unknown = phone_opens(f"{stack.api_url}/r/{forged}")
        assert unknown.status_code == 404 and "查无此收据" in unknown.text and "真实有效" not in unknown.text
    malformed = phone_opens(f"{stack.api_url}/r/{'x' * 300}")
    assert malformed.status_code == 404 and "查无此收据" in malformed.text
    assert re.search(r"<html lang=\"zh-CN\">", malformed.text)
