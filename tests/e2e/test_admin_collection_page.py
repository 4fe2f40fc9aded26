"""The admin page's door-to-door collection view (上门收费) in Chromium on the local stack, at a desk and on a phone:
the collector took cash at two homes (one checked in far from its building); the office opens the day (the stack's
today by default), sees the open bookings in walking order, cancels one with a reason, reads each collector's day
(visits, cash in 元, why unpaid), takes the collector's cash 5.00 元 short by a double click (one handover), sees the
difference in red, opens a paid visit's evidence (the signature image, the check-in and its accuracy) and downloads
the day's CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, expect

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.test_admin_page import browser as browser  # one Chromium for the module
from tests.e2e.test_admin_page import log_in, shot
from tests.e2e.test_door_collection import COLLECTOR, DAY, collector, evening_of_six, evidence
from tests.e2e.test_property_fees import ok

IMAGE_SHOWN = """() => {
    const img = document.querySelector('#dialog img')
    return !!img && img.complete && img.naturalWidth > 0
}"""


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_the_office_runs_the_collectors_day_from_the_door_view(
    browser: Browser, stack: DevStack, viewport: dict[str, int], tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    staff, _ = evening_of_six(api, stack)
    wang = collector(api)
    stops = {s["unit_id"]: s for s in ok(api.get("/admin/api/v1/collect/route", headers=wang))["stops"]}
    # Cash at 1栋101 checked in at its door, and at 1栋102 checked in from 3栋 (360 m away: far).
    for unit, building in (("u1", "1栋"), ("u2", "3栋")):
        stop = stops[unit]
        cash = {"amount_fen": stop["due_fen"], **evidence(stack, building), "idempotency_key": f"page-cash-{unit}"}
        ok(api.post(f"/admin/api/v1/collect/visits/{stop['booking_id']}/cash", json=cash, headers=wang))
    in_hand = stops["u1"]["due_fen"] + stops["u2"]["due_fen"]

    device = "phone" if viewport["width"] < 500 else "desk"
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    dialog = page.locator("#dialog")
    try:
        log_in(page, stack)
        page.get_by_role("button", name="上门收费", exact=True).click()
        expect(page.locator("#door-community")).to_have_value("c1")
        day = page.locator("#door-form").get_by_label("日期")
        expect(day).to_have_value(DAY)  # the stack's today, not the browser's
        day.fill(DAY)
        page.locator("#door-form").get_by_role("button", name="查看").click()

        # The open bookings in walking order (the two paid ones are no longer open).
        bookings = page.locator("#door-bookings tbody tr")
        expect(bookings.locator("td[data-label='房屋']")).to_have_text(["3栋 201", "5栋 301", "5栋 302", "3栋 202"])
        expect(bookings.first).to_contain_text("19:00")
        expect(bookings.locator("td[data-label='收费员']")).to_have_text([COLLECTOR] * 4)
        expect(bookings.locator("td[data-label='状态']")).to_have_text(["已派单"] * 4)

        # Cancelled with a reason: the booking leaves the evening and the collector's visits.
        bookings.filter(has_text="5栋 302").get_by_role("button", name="取消", exact=True).click()
        dialog.get_by_role("button", name="确认取消").click()
        expect(dialog).to_be_visible()  # the reason is required: nothing was sent
        dialog.get_by_label("取消原因").fill("业主出差，改到物业缴费")
        dialog.get_by_role("button", name="确认取消").click()
        expect(page.locator("#notice")).to_have_text("已取消 5栋 302 20:00 北京时间 的上门预约（已取消）")
        expect(bookings).to_have_count(3)

        report = page.locator("#door-report tbody tr")
        expect(report).to_have_count(1)
        row = report.first

        def column(name: str) -> Locator:
            return row.locator(f"td[data-label='{name}']")

        expect(column("收费员")).to_have_text(COLLECTOR)
        expect(column("预约上门")).to_have_text("5")
        expect(column("已收款")).to_have_text("2")
        expect(column("现金（元）")).to_have_text(yuan(in_hand))
        expect(column("扫码（元）")).to_have_text("0.00")
        expect(column("未收原因")).to_contain_text("3栋 201 未上门")
        expect(column("未收原因")).not_to_contain_text("5栋 302")
        expect(column("手中现金（元）")).to_have_text(yuan(in_hand))
        shot(page, f"door-1-day-{device}")

        # The handover, 5.00 元 short, sent by a double click: one handover.
        form = page.locator("#handover-form")
        form.get_by_label("收费员").fill(COLLECTOR)
        form.get_by_label("实点金额（元）").fill(yuan(in_hand - 500))
        expect(page.locator("#handover-hand")).to_have_text(f"{COLLECTOR} 手中现金 {yuan(in_hand)} 元（尚未交接）")
        form.get_by_role("button", name="确认交接").dblclick()
        expect(page.locator("#notice")).to_have_text(
            f"已交接：{COLLECTOR} 应交 {yuan(in_hand)} 元，实点 {yuan(in_hand - 500)} 元，差额 -5.00 元"
        )
        expect(column("差额（元）")).to_have_text("-5.00（短款）")
        expect(column("差额（元）")).to_have_class("short")
        expect(column("手中现金（元）")).to_have_text("0.00")
        expect(form.get_by_label("实点金额（元）")).to_have_value("")  # the next handover is a new form
        [day_report] = ok(api.get(f"/admin/api/v1/communities/c1/collection-report?day={DAY}", headers=staff))[
            "collectors"
        ]
        assert (day_report["handed_over_fen"], day_report["counted_fen"], day_report["difference_fen"]) == (
            in_hand, in_hand - 500, -500
        )  # fmt: skip
        assert day_report["in_hand_fen"] == 0 and day_report["visits"] == 5
        assert ok(api.get(f"/admin/api/v1/collectors/{COLLECTOR}/cash", headers=staff))["in_hand_fen"] == 0

        # The evidence of a paid visit: the owner's signature, the check-in, its accuracy; far from its building.
        paid = page.locator("#door-paid tbody tr")
        expect(paid).to_have_count(2)
        paid.filter(has_text="1栋 101").get_by_role("button", name="查看凭证").click()
        expect(dialog.locator("img")).to_be_visible()
        page.wait_for_function(IMAGE_SHOWN)
        assert page.evaluate("() => document.querySelector('#dialog img').naturalWidth") > 0
        expect(dialog).to_contain_text(f"收费员：{COLLECTOR}")
        expect(dialog).to_contain_text("定位精度 ±12 米")
        expect(dialog).to_contain_text(f"签到时间：{DAY}")
        expect(dialog).not_to_contain_text("距楼栋较远")
        expect(dialog.locator("#dialog-submit")).to_be_hidden()  # nothing to send from here
        shot(page, f"door-2-evidence-{device}")
        dialog.get_by_role("button", name="关闭").click()
        expect(dialog).to_be_hidden()
        paid.filter(has_text="1栋 102").get_by_role("button", name="查看凭证").click()
        expect(dialog).to_contain_text("距楼栋较远")
        dialog.get_by_role("button", name="关闭").click()

        # The day's CSV, with the page's token.
        with page.expect_download() as download:
            page.locator("section[data-view=door]").get_by_role("link", name="下载 CSV").click()
        saved = tmp_path / "door.csv"
        download.value.save_as(saved)
        head = saved.read_text(encoding="utf-8-sig").splitlines()[0]
        assert "收费员" in head and "差额（元）" in head
        shot(page, f"door-3-handover-{device}")
    finally:
        context.close()
