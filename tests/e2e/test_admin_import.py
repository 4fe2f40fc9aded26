"""Going live on the office page (Debian's Chromium, Playwright): a 2,000-row spreadsheet with Chinese headers
imports with a bar that moves row by row and refused rows named in Chinese; a claim slip is printed once
however often it is clicked, and its code claims the card in the mini-program API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdfium2 as pdfium
import zxingcpp
from playwright.sync_api import Page, Route, expect

from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.test_admin_office import desk, go, office, open_card, orders_of, owner, phone, stack
from tests.e2e.test_admin_page import browser, shot

__all__ = ["browser", "desk", "office", "phone", "stack"]  # the module's fixtures: one stack, one Chromium

ROWS = 2000
BAD = {500: "2026/13/1", 1500: "下个月"}
"""Rows (counted from the first data row) whose end date is not a date."""

WATCH_STATUS = """() => {
    window.seen = []
    const status = document.querySelector('#import-status')
    const watch = new MutationObserver(() => window.seen.push(status.textContent))
    watch.observe(status, {childList: true, subtree: true, characterData: true})
}"""


def sheet(path: Path) -> Path:
    lines = ["车牌号,开始日期,有效期至,车主,手机号"]
    for n in range(ROWS):
        until = BAD.get(n, f"2027/{n % 12 + 1}/{n % 28 + 1}")
        phone = f"139{n:08d}" if n % 2 else ""
        lines.append(f"粤D{n:05d},2026/1/1,{until},车主{n},{phone}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def test_a_2000_row_import_shows_its_progress_and_names_refused_rows_in_chinese(
    desk: Page, stack: DevStack, tmp_path: Path
) -> None:
    page = desk
    go(page, "导入")
    page.evaluate(WATCH_STATUS)
    page.locator("#import-form input[type=file]").set_input_files(str(sheet(tmp_path / "现有月卡.csv")))
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#notice")).to_contain_text("导入完成：新增 1998，已存在 0，错误 2", timeout=120_000)
    seen = page.evaluate("window.seen")
    done = [int(m.group(1)) for text in seen if (m := re.match(r"(\d+) / 2000 行", text))]
    assert done[0] == 0 and done[-1] == ROWS, seen[:3]
    assert len(set(done)) >= 20 and done == sorted(done), f"the bar jumped: {sorted(set(done))}"  # 100 rows a step
    assert page.locator("#import-progress").evaluate("p => [p.value, p.max]") == [ROWS, ROWS]
    rows = page.locator("#import-errors tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("第 502 行")  # the header is row 1
    expect(rows.nth(0)).to_contain_text("结束日期“2026/13/1”不是日期")
    expect(rows.nth(1)).to_contain_text("第 1502 行")
    lot = stack.services.lots.get("demo-lot")
    assert lot is not None and lot.held == 1 + 1998  # the demo card and the imported ones
    shot(page, "20-import-2000")


def test_a_claim_slip_printed_twice_carries_one_code_that_claims_the_card(
    phone: Page, stack: DevStack, office: ApiClient, tmp_path: Path
) -> None:
    page, staff = phone, office
    api = ApiClient(stack.api_url)
    rows = {"first_row": 2, "rows": [{"车牌": "粤E12345", "有效期至": "2027/6/30", "姓名": "赵六"}]}
    assert staff.post("/admin/api/v1/lots/demo-lot/imports/rows", json=rows).json()["created"] == 1
    card_id = stack.services.cards.card_for_plate("demo-lot", "粤E12345").id  # type: ignore[union-attr]
    open_card(page, "E12345", card_id)
    expect(page.locator("#claim-note")).to_contain_text("车主尚未认领")
    codes = []
    for clicks in (2, 1):  # a double click, then once more: the same form, the same slip
        with page.expect_download() as download:
            page.get_by_role("button", name="打印认领单").click(click_count=clicks)
        saved = tmp_path / f"slip-{clicks}.pdf"
        download.value.save_as(saved)
        codes.append(read_slip(saved.read_bytes(), stack))
        expect(page.locator("#notice")).to_contain_text("认领单已生成")
    assert codes[0] == codes[1]
    history = staff.get(f"/admin/api/v1/cards/{card_id}").json()["changes"]
    assert [c["action_label"] for c in history] == ["导入", "打印认领单"]  # printed once
    shot(page, "21-claim-slip")

    claimed = api.post("/api/v1/cards/claims", json={"code": codes[0]}, headers=owner(stack, "sim:zhaoliu"))
    assert claimed.status_code == 200 and claimed.json()["id"] == card_id
    page.get_by_role("button", name="查找").click()  # the office sees it claimed
    page.locator("#cards tbody tr", has_text=card_id).get_by_role("button", name="详情").click()
    expect(page.locator("#claim-slip")).to_be_hidden()
    expect(page.locator("#history")).to_contain_text("车主认领")


def read_slip(pdf: bytes, stack: DevStack) -> str:
    """The slip's printed code, checked against what its QR code holds (a real decoder)."""
    page = pdfium.PdfDocument(pdf)[0]
    text = page.get_textpage().get_text_range()
    [code] = re.findall(r"\b[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{6}\b", text)
    [qr] = zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())
    assert qr.text == f"{stack.services.public_url}/c/{code}"
    return code


def test_a_cash_payment_retried_after_its_answer_was_lost_is_taken_once(
    desk: Page, stack: DevStack, office: ApiClient
) -> None:
    """What the page's key is for: the server took the money, the answer never came back, the cashier clicks
    again. The second request carries the form's key again, and the server answers the first payment."""
    page = desk
    rows = {"first_row": 2, "rows": [{"车牌": "粤F12345", "有效期至": "2026/12/31"}]}  # the lot is full by now
    assert office.post("/admin/api/v1/lots/demo-lot/imports/rows", json=rows).json()["created"] == 1
    card_id = stack.services.cards.card_for_plate("demo-lot", "粤F12345").id  # type: ignore[union-attr]
    before = len(orders_of(office, card_id))
    open_card(page, "F12345", card_id)
    keys: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        keys.append(json.loads(route.request.post_data or "{}")["idempotency_key"])
        if len(keys) == 1:
            route.fetch()  # the server takes the payment...
            route.abort("failed")  # ...and its answer is lost on the way back
        else:
            route.continue_()

    page.route("**/admin/api/v1/cards/*/payments", lose_the_first_answer)
    page.get_by_role("button", name="收费并出收据").click()
    expect(page.locator("#error")).to_contain_text("网络连接失败")
    page.get_by_role("button", name="收费并出收据").click()
    expect(page.locator("#cash-result")).to_contain_text("已收")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(orders_of(office, card_id)) == before + 1  # one payment, not two
