"""The admin page's property-fee view (物业费) in Chromium on the local stack, at a desk and on a phone.

First: a community for demo-lot, two units imported from a CSV (a bad row shown with its row number), October
billed, reviewed and published on the page, one bill taken in cash by a double click (paid once) and its receipt to
print (a PDF), the arrears list and its CSV, the collection rate as bars, then a refund, a late-fee waiver and a
cancellation, each with its reason.

Then: fee items (by area with a late fee and a vacancy rate; metered in bands) and a price change, a unit's meter
and a shared one, a vacancy applied for and approved, all on the page; October drafted, the page reloaded, the
drafts found in the list of runs and published from there; the bill list opens on the latest run's period."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import DEMO_DAY, start_stack
from tests.e2e.test_admin_page import FETCH_HEAD, log_in, shot
from tests.e2e.test_admin_page import browser as browser  # one Chromium for the module
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
        paid_now = dialog.locator(".till-done")  # the dialog shows the payment and its receipt to print
        expect(paid_now).to_contain_text("已收 222.14 元（现金）：1栋 101 物业费 2026-10")
        receipt = paid_now.get_by_role("button", name="打印收据").get_attribute("data-href")
        assert page.evaluate(FETCH_HEAD, receipt) == [200, "application/pdf", "%PDF-"]
        expect(dialog.locator("#dialog-submit")).to_be_disabled()
        shot(page, f"fees-1b-receipt-{device}")
        dialog.get_by_role("button", name="关闭").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#error")).to_have_text("")
        expect(bill_row(page, "1栋 101", "物业费")).to_contain_text("已缴")
        reprint = bill_row(page, "1栋 101", "物业费").get_by_role("button", name="收据")
        expect(reprint).to_have_attribute("data-href", receipt)  # the paid bill's receipt, to print again
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


def set_up_units(api: ApiClient, staff: dict[str, str]) -> None:
    community = {"id": "c1", "name": "幸福小区", "lot_ids": ["demo-lot"]}
    ok(api.post("/admin/api/v1/communities", json=community, headers=staff), 201)
    for unit_id, number, area in (("u1", "101", "88.50"), ("u2", "102", "100.00")):
        unit = {"id": unit_id, "building": "1栋", "number": number, "area": area}
        ok(api.post("/admin/api/v1/communities/c1/units", json=unit, headers=staff), 201)


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_the_office_sets_up_fees_and_publishes_drafts_found_after_a_reload(
    browser: Browser, stack: DevStack, viewport: dict[str, int]
) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    set_up_units(api, staff)
    device = "phone" if viewport["width"] < 500 else "desk"
    context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    dialog = page.locator("#dialog")
    notice = page.locator("#notice")
    try:
        log_in(page, stack)
        page.get_by_role("button", name="物业费", exact=True).click()
        expect(page.locator("#units tbody tr")).to_have_count(2)

        # A fee item by area: its price typed in 元, its late fee and vacancy rate as percentages.
        page.locator("#fee-item-add summary").click()
        form = page.locator("#fee-item-form")
        form.get_by_label("编号").fill("mgmt")
        form.get_by_label("名称").fill("物业费")
        form.get_by_label("计费方式").select_option("area")
        form.get_by_label("单价（元/㎡/月）").fill("2.50")
        form.get_by_label("起收日期").fill("2026-01-01")
        form.get_by_label("逾期收取滞纳金").check()
        form.get_by_label("每日（占欠费 %）").fill("0.05")
        form.get_by_label("宽限天数").fill("15")
        form.get_by_label("最多（占欠费 %）").fill("30")
        form.get_by_label("空置期间按（%）收取").fill("50")
        form.get_by_role("button", name="保存收费项目").dblclick()  # added once; a second add would be refused
        expect(notice).to_have_text("已新增收费项目 物业费（按面积，2.50 元/㎡/月（2026-01-01 起））")
        expect(page.locator("#error")).to_have_text("")
        row = page.locator("#fee-items tbody tr", has_text="mgmt")
        for text in ("2.50 元/㎡/月", "每日 0.05%，宽限 15 天，最多 30%", "按 50% 收取"):
            expect(row).to_contain_text(text)

        # A metered one: three bands, the last without a limit.
        page.locator("#fee-item-add summary").click()
        form.get_by_label("编号").fill("water")
        form.get_by_label("名称").fill("水费")
        form.get_by_label("计费方式").select_option("metered")
        expect(form.get_by_label("单价（元/㎡/月）")).to_be_hidden()
        form.get_by_label("表的类型").select_option("water")
        form.get_by_role("button", name="添加一档").click()
        bands = form.locator(".band")
        expect(bands).to_have_count(3)
        for n, (up_to, price) in enumerate((("20", "3.50"), ("30", "4.20"), (None, "5.00"))):
            if up_to is None:
                expect(bands.nth(n).get_by_label("用量上限")).to_be_disabled()
            else:
                bands.nth(n).get_by_label("用量上限").fill(up_to)
            bands.nth(n).get_by_label("单价（元）").fill(price)
        form.get_by_label("起收日期").fill("2026-01-01")
        form.get_by_role("button", name="保存收费项目").click()
        expect(page.locator("#fee-items tbody tr", has_text="水费")).to_contain_text(
            "0–20 吨：3.50 元/吨，20–30 吨：4.20 元/吨，30 吨以上：5.00 元/吨"
        )
        items = {f["id"]: f for f in ok(api.get("/admin/api/v1/communities/c1/fee-items", headers=staff))["fee_items"]}
        assert items["mgmt"]["prices"] == [{"from": "2026-01-01", "price_fen": 250}]
        assert items["mgmt"]["late_fee"] == {"daily_rate": "0.0005", "grace_days": 15, "cap": "0.3"}
        assert items["mgmt"]["vacancy_rate"] == "0.5"
        assert items["water"]["meter"] == "water"
        assert [(b["up_to"], b["price_fen"]) for b in items["water"]["bands"]] == [
            ("20", 350),
            ("30", 420),
            (None, 500),
        ]

        # A price change from December: October keeps its price.
        page.locator("#fee-items tbody tr", has_text="mgmt").get_by_role("button", name="调价").click()
        expect(dialog.get_by_label("生效日期")).to_have_value(re.compile(r"^\d{4}-\d{2}-01$"))  # next month's first
        dialog.get_by_label("生效日期").fill("2026-12-01")
        dialog.get_by_label("新单价（元/㎡/月）").fill("2.80")
        dialog.get_by_role("button", name="保存新价格").dblclick()
        expect(dialog).to_be_hidden()
        expect(page.locator("#fee-items tbody tr", has_text="mgmt")).to_contain_text(
            "2.50 元/㎡/月（2026-01-01 起）；2.80 元/㎡/月（2026-12-01 起）"
        )

        # Metered bands change from a day on too: the dialog starts from the bands in force.
        page.locator("#fee-items tbody tr", has_text="水费").get_by_role("button", name="调价").click()
        dialog.get_by_label("生效日期").fill("2027-01-01")
        expect(dialog.locator(".band")).to_have_count(3)
        dialog.locator(".band").first.get_by_label("单价（元）").fill("3.80")
        dialog.get_by_role("button", name="保存新价格").click()
        expect(page.locator("#fee-items tbody tr", has_text="水费")).to_contain_text(
            "2027-01-01 起：0–20 吨：3.80 元/吨，20–30 吨：4.20 元/吨，30 吨以上：5.00 元/吨"
        )

        # A unit's water meter, then a shared one over both units less the unit's meter.
        page.locator("#meter-add summary").click()
        meters = page.locator("#meter-form")
        meters.get_by_label("表号").fill("w-101")
        meters.get_by_label("类型").select_option("water")
        meters.get_by_label("房屋").select_option("u1")
        meters.get_by_label("表盘整数位数").fill("5")
        meters.get_by_role("button", name="保存水电表").dblclick()
        expect(notice).to_have_text("已新增水表 w-101（1栋 101）")
        page.locator("#meter-add summary").click()
        meters.get_by_label("表号").fill("w-main")
        meters.get_by_label("归属").select_option("shared")
        meters.get_by_label("分摊方式").select_option("area")
        meters.get_by_label("全选").check()
        meters.get_by_label("w-101（1栋 101）").check()
        meters.get_by_role("button", name="保存水电表").click()
        expect(page.locator("#meters tbody tr", has_text="w-main")).to_contain_text("公摊：2 户，按建筑面积分摊")
        expect(page.locator("#error")).to_have_text("")  # w-101's double click added it once, unrefused
        listed = ok(api.get("/admin/api/v1/communities/c1/meters", headers=staff))["meters"]
        assert sorted((m["id"], m["unit_id"], m["shared"], m["digits"]) for m in listed) == [
            ("w-101", "u1", None, 5),
            ("w-main", None, {"split": "area", "unit_ids": ["u1", "u2"], "sub_meter_ids": ["w-101"]}, None),
        ]

        # A vacancy applied for (one form, sent twice, applies once) and approved on the page.
        page.locator("#units tbody tr", has_text="u2").get_by_role("button", name="申请空置").click()
        dialog.get_by_label("开始日期").fill("2026-10-01")
        dialog.get_by_label("结束日期（含当天）").fill("2026-10-31")
        dialog.get_by_label("原因").fill("装修，未入住")
        dialog.get_by_role("button", name="提交申请").dblclick()
        expect(dialog).to_be_hidden()
        vacancy = page.locator("#vacancies tbody tr", has_text="1栋 102")
        expect(vacancy).to_contain_text("待审批")
        vacancy.get_by_role("button", name="批准").dblclick()
        expect(notice).to_have_text("已批准 1栋 102 的空置申请（2026-10-01 至 2026-10-31，已批准）")
        expect(vacancy).to_contain_text("已批准")
        [applied] = ok(api.get("/admin/api/v1/communities/c1/vacancies", headers=staff))["vacancies"]
        assert (applied["unit_id"], applied["state"]) == ("u2", "approved")

        # September billed and published elsewhere; October drafted here, then the page is reloaded.
        september = {"period": "2026-09", "fee_item_ids": ["mgmt"]}
        run = ok(api.post("/admin/api/v1/communities/c1/bill-runs", json=september, headers=staff), 201)
        ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
        page.locator("#run-form input[name=period]").fill("2026-10")
        page.get_by_role("button", name="生成草稿").click()
        # u2's October at half price, vacant all month: 88.50 x 2.50 + 100 x 2.50 / 2 = 346.25 (no water read yet).
        expect(page.locator("#run-summary")).to_have_text("2026-10 账单草稿：共 2 张，合计 346.25 元")
        expect(page.locator("#run-bills tbody tr", has_text="1栋 102")).to_contain_text("空置优惠 -125.00")

        page.reload()
        page.get_by_role("button", name="物业费", exact=True).click()
        runs = page.locator("#runs tbody tr")
        expect(runs).to_have_count(2)
        expect(runs.first).to_contain_text("2026-10")
        expect(runs.first).to_contain_text("草稿待发布")
        expect(runs.nth(1)).to_contain_text("已发布")
        expect(page.locator("#runs-pending")).to_contain_text("有 1 批账单草稿尚未发布")
        expect(page.locator("#run-review")).to_be_hidden()
        # The bill list opens on the latest run's period, not on every period.
        expect(page.locator("#bills-form input[name=period]")).to_have_value("2026-10")
        expect(page.locator("#bills tbody tr")).to_have_count(2)
        expect(page.locator("#bills tbody tr", has_text="2026-09")).to_have_count(0)
        shot(page, f"fees-4-runs-after-reload-{device}")

        runs.first.get_by_role("button", name="核对").click()
        expect(page.locator("#run-summary")).to_have_text("2026-10 账单草稿：共 2 张，合计 346.25 元")
        page.get_by_role("button", name="发布账单").dblclick()
        expect(notice).to_have_text("已发布 2026-10 的账单 2 张，合计 346.25 元")
        expect(runs.first).to_contain_text("已发布")
        expect(page.locator("#runs-pending")).to_be_hidden()
        expect(page.locator("#bills tbody tr", has_text="待缴")).to_have_count(2)
        october = ok(api.get("/admin/api/v1/communities/c1/bills?period=2026-10", headers=staff))["bills"]
        assert sorted((b["unit_id"], b["state"], b["amount_fen"]) for b in october) == [
            ("u1", "unpaid", 22_125),
            ("u2", "unpaid", 12_500),
        ]

        runs.nth(1).get_by_role("button", name="查看账单").click()
        expect(page.locator("#bills-form input[name=period]")).to_have_value("2026-09")
        expect(page.locator("#bills tbody tr", has_text="2026-09")).to_have_count(2)
        shot(page, f"fees-5-published-from-the-list-{device}")
    finally:
        context.close()


@pytest.fixture
def chunked_stack(moto_server: str) -> Iterator[DevStack]:
    """Chunks of 2 units: a community of 5 is billed in 3 parts by the work consumers (the test drains them)."""
    s = start_stack(moto_server, clock=DEMO_DAY, run_chunk_units=2)
    yield s
    s.stop()


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_a_big_run_shows_its_parts_drafting_and_publishing_and_a_double_click_publishes_once(
    browser: Browser, chunked_stack: DevStack, viewport: dict[str, int]
) -> None:
    stack = chunked_stack
    api = ApiClient(stack.api_url)
    staff = office(api)
    device = "phone" if viewport["width"] < 500 else "desk"
    ok(api.post("/admin/api/v1/communities", json={"id": "big", "name": "大社区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    for n in range(1, 6):
        unit = {"id": f"b{n}", "building": "5栋", "number": f"50{n}", "area": "100.00", "phones": []}
        ok(api.post("/admin/api/v1/communities/big/units", json=unit, headers=staff), 201)
    ok(api.post("/admin/api/v1/communities/big/fee-items", json=FEE_ITEMS[1], headers=staff), 201)  # 10 元 a unit
    context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, stack)
        page.get_by_role("button", name="物业费", exact=True).click()
        expect(page.locator("#community")).to_have_value("big")
        expect(page.locator("#run-items input")).to_be_checked()  # the community's view has been read
        expect(page.locator("#units tbody tr")).to_have_count(5)
        page.locator("#run-form input[name=period]").fill("2026-10")
        page.get_by_role("button", name="生成草稿").click()
        expect(page.locator("#notice")).to_have_text("2026-10 的账单较多，正在分 3 部分生成，完成后请核对发布")
        expect(page.locator("#run-summary")).to_have_text("2026-10 账单生成中：已生成 0/3 部分")
        parts = page.locator("#run-chunks tbody tr")
        expect(parts).to_have_count(3)
        expect(parts.first).to_contain_text("5栋 501 – 5栋 502")
        expect(parts.first).to_contain_text("待生成")
        expect(page.get_by_role("button", name="发布账单")).to_be_hidden()
        expect(page.locator("#runs tbody tr").first).to_contain_text("生成中")
        shot(page, f"fees-run-in-parts-1-drafting-{device}")

        stack.sqs.purge_queue(QueueUrl=stack.work_queue_url)  # the parts' messages lost: the run would wait for ever
        page.get_by_role("button", name="重新提交未完成的部分").dblclick()
        expect(page.locator("#notice")).to_have_text("已重新提交 2026-10 账单未完成的部分")
        drafted = stack.work()  # the work consumers, as Lambda's event source mapping runs them
        assert len(drafted.worked) == 3 and drafted.duplicates == 0, drafted  # asked for again once, not twice
        summary = page.locator("#run-summary")
        expect(summary).to_have_text("2026-10 账单草稿待发布：已生成 3/3 部分，共 5 张，合计 50.00 元")
        expect(page.locator("#notice")).to_contain_text("账单草稿已全部生成：共 5 张，合计 50.00 元")
        expect(page.get_by_role("button", name="重新提交未完成的部分")).to_be_hidden()
        parts.nth(2).get_by_role("button", name="查看账单").click()
        expect(page.locator("#run-bills tbody tr")).to_have_count(1)
        expect(page.locator("#run-bills tbody tr")).to_contain_text("5栋 505")
        shot(page, f"fees-run-in-parts-2-drafted-{device}")

        page.get_by_role("button", name="发布账单").dblclick()
        expect(page.locator("#notice")).to_have_text("正在分 3 部分发布 2026-10 的账单，完成后自动显示")
        expect(page.get_by_role("button", name="发布账单")).to_be_hidden()
        published = stack.work()
        assert len(published.worked) == 3 and published.duplicates == 0, published  # the second click sent nothing
        expect(summary).to_contain_text("已发布：已生成 3/3 部分，共 5 张，合计 50.00 元，已发布 3/3 部分")
        expect(page.locator("#notice")).to_have_text("已发布 2026-10 的账单 5 张，合计 50.00 元")
        expect(page.locator("#runs tbody tr").first).to_contain_text("已发布")
        expect(page.locator("#error")).to_have_text("")
        shot(page, f"fees-run-in-parts-3-published-{device}")
        owed = ok(api.get("/admin/api/v1/communities/big/bills?period=2026-10", headers=staff))["bills"]
        assert len(owed) == 5 and {b["state"] for b in owed} == {"unpaid"}
    finally:
        context.close()
