"""The admin page's property-fee view (物业费) in Chromium on the local stack, at a desk and on a phone: a community
for demo-lot, two units imported from a CSV (a bad row shown with its row number), October billed, reviewed and
published on the page, one bill taken in cash by a double click (paid once), the arrears list and its CSV, the
collection rate as bars, then a refund, a late-fee waiver and a cancellation, each with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.test_admin_page import browser as browser  # one Chromium for the module
from tests.e2e.test_admin_page import log_in, shot
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_property_fees import ok

UNITS = (
    "房屋编号,楼栋,房号,建筑面积,状态,业主电话\n"
    "u1,1栋,101,88.50,已入住,13900000001\n"
    "u2,1栋,102,100.00,已入住,13900000002\n"
    "u3,1栋,103,八十,已入住,\n"
)
FEE_ITEMS = (
    {
        "id": "mgmt",
        "name": "物业费",
        "kind": "area",
        "price_fen": 250,
        "from": "2026-01-01",
        "late_fee": {"daily_rate": "0.0005", "grace_days": 15, "cap": "0.30"},
    },
    {"id": "rubbish", "name": "垃圾清运费", "kind": "fixed", "price_fen": 1000, "from": "2026-01-01"},
)
# October's bills fall due on Oct 31; the stack's clock stands on Nov 23: 23 days overdue, 8 past the 15 days' grace.
U1_AREA_FEE = 22_125  # 88.50 m2 x 2.50 元
U1_LATE_FEE = 89  # 22,125 x 0.05% x 8 days, half up


def bill_row(page: Page, unit: str, item: str) -> Any:
    return page.locator("#bills tbody tr").filter(has_text=unit).filter(has_text=item)


def with_reason(page: Page, row: Any, action: str, reason: str) -> None:
    row.get_by_role("button", name=action).click()
    dialog = page.locator("#dialog")
    dialog.locator("input[name=reason]").fill(reason)
    dialog.locator("#dialog-submit").dblclick()  # a reason form sent twice changes the bill once
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_the_office_bills_a_community_and_takes_cash_once_on_the_page(
    browser: Browser, stack: DevStack, viewport: dict[str, int], tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    device = "phone" if viewport["width"] < 500 else "desk"
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    dialog = page.locator("#dialog")
    try:
        log_in(page, stack)
        page.get_by_role("button", name="物业费", exact=True).click()
        expect(page.locator("#community-none")).to_have_text("还没有小区：请先新建小区。")

        page.get_by_role("button", name="新建小区").click()
        dialog.get_by_label("编号", exact=True).fill("c1")
        dialog.get_by_label("名称", exact=True).fill("幸福小区")
        expect(dialog.get_by_label("示例花园 Demo Gardens")).to_be_checked()
        dialog.get_by_role("button", name="新建").click()
        expect(page.locator("#notice")).to_have_text("已新建小区 幸福小区")
        expect(page.locator("#community")).to_have_value("c1")
        assert ok(api.get("/admin/api/v1/communities", headers=staff))["communities"][0]["lot_ids"] == ["demo-lot"]

        page.locator("#unit-import input[type=file]").set_input_files(
            {"name": "房屋.csv", "mimeType": "text/csv", "buffer": UNITS.encode("utf-8")}
        )
        page.get_by_role("button", name="导入房屋").click()
        expect(page.locator("#unit-import-status")).to_have_text("导入完成：新增 2，已存在 0，错误 1")
        expect(page.locator("#unit-import-errors tbody tr")).to_contain_text("第 4 行")
        expect(page.locator("#units tbody tr")).to_have_count(2)
        expect(page.locator("#units tbody tr", has_text="u2")).to_contain_text("139****0002")

        for item in FEE_ITEMS:
            ok(api.post("/admin/api/v1/communities/c1/fee-items", json=item, headers=staff), 201)
        page.get_by_role("button", name="物业费", exact=True).click()  # the view reads the community again
        expect(page.locator("#fee-items tbody tr", has_text="mgmt")).to_contain_text("2.50 元/㎡")
        expect(page.locator("#fee-items tbody tr", has_text="mgmt")).to_contain_text("每日 0.05%，宽限 15 天")

        page.locator("#run-form input[name=period]").fill("2026-10")
        page.get_by_role("button", name="生成草稿").click()
        expect(page.locator("#run-summary")).to_have_text("2026-10 账单草稿：共 4 张，合计 491.25 元")
        expect(page.locator("#run-bills tbody tr", has_text="1栋 101").first).to_contain_text("待发布")
        shot(page, f"fees-1-review-{device}")
        page.get_by_role("button", name="发布账单").dblclick()
        expect(page.locator("#notice")).to_have_text("已发布 2026-10 的账单 4 张，合计 491.25 元")
        expect(page.locator("#run-summary")).to_contain_text("（已发布）")
        expect(bill_row(page, "1栋 101", "物业费")).to_contain_text("待缴")

        bill_row(page, "1栋 101", "物业费").get_by_role("button", name="收款").click()
        expect(page.locator("#dialog-note")).to_have_text("应收 222.14 元（含滞纳金 0.89 元）")
        expect(dialog.get_by_label("方式")).to_have_value("cash")
        dialog.get_by_role("button", name="确认收款").dblclick()
        expect(page.locator("#notice")).to_contain_text("已收 222.14 元（现金）：1栋 101 物业费 2026-10")
        expect(dialog).to_be_hidden()
        expect(page.locator("#error")).to_have_text("")
        expect(bill_row(page, "1栋 101", "物业费")).to_contain_text("已缴")
        collected = ok(api.get("/admin/api/v1/communities/c1/collection/2026-10", headers=staff))
        assert collected["paid_fen"] == U1_AREA_FEE  # one bill paid, once
        [paid] = ok(api.get("/admin/api/v1/communities/c1/bills?state=paid", headers=staff))["bills"]
        assert paid["paid_fen"] == U1_AREA_FEE + U1_LATE_FEE

        expect(page.locator("#arrears-summary")).to_have_text(
            "2 户欠费：本金 270.00 元，滞纳金 1.00 元（滞纳金算至今天）"
        )
        u2 = page.locator("#arrears tbody tr", has_text="u2")
        for text in ("1栋 102", "139****0002", "2 张", "260.00", "1.00", "23 天"):
            expect(u2).to_contain_text(text)
        with page.expect_download() as download:
            page.get_by_role("link", name="下载欠费 CSV").click()
        saved = tmp_path / "arrears.csv"
        download.value.save_as(saved)
        csv_text = saved.read_text(encoding="utf-8-sig")
        assert csv_text.startswith("房屋,楼栋,房号,业主电话,欠费账单,欠费本金（元）") and "139****0002" in csv_text

        page.locator("#collection-form input[name=period]").fill("2026-10")
        page.get_by_role("button", name="查看", exact=True).click()
        expect(page.locator("#collection")).to_contain_text("2026-10 收缴率 45.04%：已收 221.25 元，应收 491.25 元")
        expect(page.locator("#collection .bar-row", has_text="物业费")).to_contain_text("46.95%")
        expect(page.locator("#collection .bar-row", has_text="垃圾清运费")).to_contain_text("0.00%")
        shot(page, f"fees-2-arrears-and-collection-{device}")

        with_reason(page, bill_row(page, "1栋 101", "物业费"), "退款", "业主多缴")
        expect(page.locator("#notice")).to_have_text("已退款：1栋 101 物业费 2026-10（已退款）")
        expect(bill_row(page, "1栋 101", "物业费")).to_contain_text("已退款")
        expect(page.locator("#collection .bar-row", has_text="物业费")).to_contain_text("0.00%")
        assert ok(api.get("/admin/api/v1/communities/c1/collection/2026-10", headers=staff))["paid_fen"] == 0

        with_reason(page, bill_row(page, "1栋 102", "物业费"), "免滞纳金", "业主住院，物业同意")
        expect(bill_row(page, "1栋 102", "物业费")).to_contain_text("待缴（已免滞纳金）")
        with_reason(page, bill_row(page, "1栋 101", "垃圾清运费"), "作废", "该户未产生垃圾清运")
        expect(bill_row(page, "1栋 101", "垃圾清运费")).to_contain_text("已作废")
        expect(page.locator("#arrears-summary")).to_have_text(
            "1 户欠费：本金 260.00 元，滞纳金 0.00 元（滞纳金算至今天）"
        )
        shot(page, f"fees-3-after-changes-{device}")
    finally:
        context.close()
