"""The collector's page (/collect/) in Chromium on a phone, with the phone's place emulated: the evening of six
bookings across three buildings in walking order; cash with a signature the test draws; a QR code the owner pays
through the WeChat Pay simulator; cash taken with no signal, kept as 待同步 and uploaded once when the signal
returns, even though the first upload's answer was lost and the page sent it again."""

from __future__ import annotations

import base64
import io
import re
import time
from typing import Any

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect

from domain.door import signature_hash
from functions.dev_stack import DevStack
from infra.dynamodb.tables import BillingItem
from tests.e2e.api_client import ApiClient
from tests.e2e.test_admin_page import browser as browser  # one Chromium for the module
from tests.e2e.test_admin_page import shot
from tests.e2e.test_door_collection import COLLECTOR, COLLECTOR_PASSWORD, WALK, at_building, evening_of_six
from tests.e2e.test_property_fees import ok

PHONE = {"width": 390, "height": 844}


def draw_signature(page: Page) -> None:
    box = page.locator("#signature").bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.7 * h)
    page.mouse.down()
    for fx, fy in ((0.3, 0.2), (0.5, 0.8), (0.7, 0.3), (0.9, 0.6)):
        page.mouse.move(x + fx * w, y + fy * h, steps=5)
    page.mouse.up()


def open_stop(page: Page, unit: str) -> None:
    page.locator("#stops li").filter(has_text=unit).get_by_role("button", name="上门").click()
    expect(page.locator("#visit-view")).to_be_visible()


def check_in_and_sign(page: Page) -> None:
    page.get_by_role("button", name="获取定位并签到").click()
    expect(page.locator("#check-in-text")).to_contain_text("已签到")
    draw_signature(page)


def orders_of(stack: DevStack, api: ApiClient, staff: dict[str, str]) -> list[dict[str, Any]]:
    [day] = ok(api.get("/admin/api/v1/communities/c1/collection-report?day=2026-11-23", headers=staff))["collectors"]
    return [day]


def test_a_collector_works_the_evening_on_a_phone(browser: Browser, stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff, owners = evening_of_six(api, stack)
    place = at_building("1栋")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", has_touch=True,
                                  geolocation={"latitude": place["latitude"], "longitude": place["longitude"],
                                               "accuracy": 12}, permissions=["geolocation"])  # fmt: skip
    context.clock.set_system_time(stack.clock.now())  # the phone's clock agrees with the stack's
    page = context.new_page()
    try:
        page.goto(f"{stack.api_url}/collect/")
        page.get_by_label("登录邮箱").fill(COLLECTOR)
        page.get_by_label("密码", exact=True).fill(COLLECTOR_PASSWORD)
        page.get_by_role("button", name="登录").click()

        # The evening: six visits in walking order, slot by slot, the nearest building next.
        stops = page.locator("#stops li")
        expect(stops).to_have_count(6)
        expect(page.locator("#day")).to_have_value("2026-11-23")
        units = {"u1": "1栋 101", "u2": "1栋 102", "u3": "3栋 201", "u4": "3栋 202", "u5": "5栋 301", "u6": "5栋 302"}
        for n, unit in enumerate(WALK):
            expect(stops.nth(n)).to_contain_text(units[unit])
        expect(stops.nth(0)).to_contain_text("19:00 1栋 101 · 应收 281.25 元")
        expect(page.locator("#in-hand")).to_have_text("手中现金 0.00 元")
        shot(page, "collect-route-phone")

        # Cash at 1栋101 with a drawn signature; a double tap is one payment.
        open_stop(page, "1栋 101")
        expect(page.locator("#visit-due")).to_have_text("281.25 元")
        expect(page.locator("#visit-items")).to_have_text("物业费 2026-11：221.25 元车位管理费 2026-11：60.00 元")
        page.locator("#cash-amount").fill("281.25")
        page.get_by_role("button", name="确认现金收款").click()
        expect(page.locator("#error")).to_have_text("请先签到（获取定位）")
        check_in_and_sign(page)
        expect(page.locator("#check-in-text")).to_contain_text("精度约 12 米")
        page.get_by_role("button", name="确认现金收款").dblclick()
        expect(page.locator("#visit-result")).to_contain_text("已收款 281.25 元，电子收据已发给业主")
        shot(page, "collect-cash-phone")
        receipt_id = re.search(r"rcpt-bo-[\w-]+", page.locator("#visit-result").inner_text())
        assert receipt_id is not None
        order_id = receipt_id.group(0).removeprefix("rcpt-")
        drawn = base64.b64decode(BillingItem.get(f"signature#{order_id}").body["png"])
        assert drawn.startswith(b"\x89PNG") and len(drawn) > 1000  # the strokes, not an empty canvas
        receipt = ok(api.get(f"/api/v1/orders/{order_id}/receipt", headers=owners["u1"]))
        assert receipt["evidence"]["signature_sha256"] == signature_hash(drawn)
        page.get_by_role("button", name="‹ 返回路线").click()
        expect(page.locator("#in-hand")).to_have_text("手中现金 281.25 元")

        # A QR code at 3栋201, paid by the owner through the simulator: the page sees it paid.
        expect(stops.nth(0)).to_contain_text("3栋 201")  # the route starts at the next open visit
        expect(stops.nth(5)).to_contain_text("已收费")  # and ends with the visits done
        open_stop(page, "3栋 201")
        check_in_and_sign(page)
        page.get_by_role("button", name="微信收款码").click()
        expect(page.locator("#qr")).to_be_visible()
        expect(page.locator("#qr-text")).to_have_text("请业主用微信扫码支付 281.25 元")
        code = page.locator("#qr-image").get_attribute("data-code")
        qr_order = page.locator("#qr").get_attribute("data-order")
        assert code and code.startswith("weixin://wxpay/bizpayurl?pr=") and qr_order
        shot(page, "collect-qr-phone")
        [scanned] = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator("#qr-image").screenshot())))
        assert scanned.text == code  # what the owner's phone reads off the collector's screen
        assert api.post("/sim/wechatpay/pay", json={"out_trade_no": qr_order}).status_code == 200
        expect(page.locator("#visit-result")).to_contain_text("已收款 281.25 元（扫码）", timeout=10_000)
        page.get_by_role("button", name="‹ 返回路线").click()

        # No signal at 5栋301: the cash is kept on the phone (待同步), and the QR code says it needs the signal.
        open_stop(page, "5栋 301")
        expect(page.locator("#visit-title")).to_contain_text("5栋 301")
        check_in_and_sign(page)
        context.set_offline(True)
        page.get_by_role("button", name="微信收款码").click()
        expect(page.locator("#error")).to_have_text("收款码需要网络：请到有信号处再试，或收取现金")
        page.locator("#cash-amount").fill("281.25")
        lost: list[str] = []

        def lose_first_answer(route: Route) -> None:
            if not lost:  # the server takes the upload, its answer never reaches the phone
                lost.append(route.request.url)
                route.fetch()
                route.abort("connectionreset")
            else:
                route.continue_()

        page.get_by_role("button", name="确认现金收款").click()
        expect(page.locator("#visit-result")).to_contain_text("待同步：现金 281.25 元已记在手机上")
        page.get_by_role("button", name="‹ 返回路线").click()
        expect(page.locator("#outbox-note")).to_have_text("待同步 1 笔现金收款（有信号时自动上传）")
        expect(page.locator("#stops li").filter(has_text="5栋 301").locator(".state")).to_have_text("待同步")
        shot(page, "collect-offline-phone")
        page.route("**/admin/api/v1/collect/visits/*/cash", lose_first_answer)
        context.set_offline(False)
        expect(page.locator("#notice")).to_contain_text("已同步：5栋 301 现金 281.25 元", timeout=15_000)
        for _ in range(3):  # and again, as a page reloaded or a second tab would
            page.evaluate("window.parkpassSync()")
        expect(page.locator("#outbox-note")).to_be_hidden()
        assert len(lost) == 1
        expect(page.locator("#in-hand")).to_have_text("手中现金 562.50 元")
        page.unroute("**/admin/api/v1/collect/visits/*/cash")

        # Two more taken with no signal; meanwhile the session ends and the office cancels one of the visits. Back
        # online, nothing is lost: the page asks to sign in again and then uploads the one, and sets the other
        # aside with the reason, to settle with the office.
        for unit in ("1栋 102", "5栋 302"):
            open_stop(page, unit)
            check_in_and_sign(page)
            context.set_offline(True)
            page.locator("#cash-amount").fill("281.25")
            page.get_by_role("button", name="确认现金收款").click()
            expect(page.locator("#visit-result")).to_contain_text("待同步")
            page.get_by_role("button", name="‹ 返回路线").click()
        expect(page.locator("#outbox-note")).to_have_text("待同步 2 笔现金收款（有信号时自动上传）")
        token = page.evaluate("localStorage.getItem('parkpass-collect')")
        assert api.post("/admin/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
        cancelled = next(b for b in ok(api.get("/admin/api/v1/communities/c1/collection-bookings?day=2026-11-23",
                                               headers=staff))["bookings"] if b["unit_id"] == "u6")  # fmt: skip
        ok(api.post(f"/admin/api/v1/collection-bookings/{cancelled['id']}/cancel", json={"reason": "业主去物业缴了"},
                    headers=staff))  # fmt: skip
        context.set_offline(False)
        expect(page.locator("#login")).to_be_visible(timeout=15_000)
        page.get_by_label("登录邮箱").fill(COLLECTOR)
        page.get_by_label("密码", exact=True).fill(COLLECTOR_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#attention")).to_contain_text("需交物业处理 1 笔现金：5栋 302 281.25 元", timeout=15_000)
        expect(page.locator("#outbox-note")).to_be_hidden()
        expect(page.locator("#in-hand")).to_have_text("手中现金 843.75 元")
        shot(page, "collect-attention-phone")
    finally:
        context.close()
    # Once on the server: three cash payments (1栋101, 5栋301, 1栋102) and one by QR.
    deadline = time.monotonic() + 5
    [day] = orders_of(stack, api, staff)
    while day["collected"] < 4 and time.monotonic() < deadline:
        [day] = orders_of(stack, api, staff)
    assert (day["collected"], day["cash_fen"], day["qr_fen"], day["in_hand_fen"]) == (4, 84_375, 28_125, 84_375)
