"""The admin web page in a real browser (Debian's Chromium, headless, driven by Playwright) on the local stack:
log in, approve an application, take cash and get the receipt, run a report and download its CSV."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from tests.e2e.api_client import ApiClient

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "admin-page"
# Chromium on a closed network: no background calls home, no sandbox as root.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


FETCH_HEAD = """async (path) => {
    const token = sessionStorage.getItem('parkpass-admin')
    const res = await fetch('/admin/api/v1' + path, {headers: {Authorization: 'Bearer ' + token}})
    const head = new TextDecoder().decode((await res.arrayBuffer()).slice(0, 5))
    return [res.status, res.headers.get('content-type'), head]
}"""
"""In the page, with the page's own session: the status, type and first bytes of a document route."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM), "Chromium is needed for the admin page's tests; `make test` installs it"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: DevStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="zh-CN")
    opened = context.new_page()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, stack: DevStack, password: str = DEMO_ADMIN_PASSWORD) -> None:
    page.goto(f"{stack.api_url}/admin/")
    page.get_by_label("登录邮箱").fill(DEMO_ADMIN_EMAIL)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def test_a_wrong_password_is_refused_on_the_page(page: Page, stack: DevStack) -> None:
    log_in(page, stack, "not the password")
    expect(page.locator("#login-error")).to_have_text("邮箱或密码错误")
    expect(page.locator("#app")).to_be_hidden()


def test_the_office_approves_takes_cash_and_downloads_a_report(page: Page, stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    staff = {
        "Authorization": "Bearer "
        + api.post(
            "/admin/api/v1/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        ).json()["token"]
    }
    assert (
        api.put(
            "/admin/api/v1/lots/demo-lot", json={"approval": "manual", "reason": "office reviews"}, headers=staff
        ).status_code
        == 200
    )
    owner = {
        "Authorization": "Bearer " + api.post("/api/v1/auth/login", json={"code": "sim:applicant"}).json()["token"]
    }
    applied = api.post(
        "/api/v1/lots/demo-lot/applications",
        json={"plates": ["粤B66666"], "package_id": "demo-1m", "note": "3号楼"},
        headers=owner,
    ).json()
    assert applied["state"] == "submitted"

    log_in(page, stack)
    expect(page.locator("#who")).to_contain_text(DEMO_ADMIN_EMAIL)
    expect(page.locator("#stats")).to_contain_text("有效月卡")
    shot(page, "1-dashboard")

    page.get_by_role("button", name="待办").click()
    row = page.locator("#applications tbody tr", has_text="粤B66666")
    expect(row).to_contain_text("3号楼")
    shot(page, "2-queue")
    row.get_by_role("button", name="批准").click()
    expect(page.locator("#notice")).to_have_text("已批准 粤B66666 的申请")
    expect(page.locator("#applications tbody tr", has_text="粤B66666")).to_have_count(0)
    assert api.get(f"/api/v1/applications/{applied['id']}", headers=owner).json()["state"] == "approved"

    page.get_by_role("button", name="月卡").click()
    page.get_by_placeholder("车牌任意部分 / 手机尾号4位 / 姓名").fill("粤B12345")
    page.get_by_role("button", name="查找").click()
    page.locator("#cards tbody tr", has_text="card-demo").get_by_role("button", name="详情").click()
    expect(page.locator("#detail-summary")).to_contain_text("粤B12345")
    page.locator("#cash-package").select_option("demo-1m")
    page.get_by_role("button", name="收费并出收据").click()
    expect(page.locator("#cash-result")).to_contain_text("已收 300.00 元")
    receipt_path = page.locator("#cash-result button").get_attribute("data-href")
    pdf_head = page.evaluate(FETCH_HEAD, receipt_path)
    assert pdf_head == [200, "application/pdf", "%PDF-"]
    expect(page.locator("#orders tbody tr", has_text="现金")).to_contain_text(DEMO_ADMIN_EMAIL)
    shot(page, "3-cash-and-receipt")

    page.get_by_role("button", name="报表").click()
    page.get_by_label("日期或月份").fill("2026-11")
    page.get_by_role("button", name="生成").click()
    expect(page.locator("#report-table")).to_contain_text("300.00 元")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.startswith("日期,收入（元）") and "渠道：现金,300.00" in text
    shot(page, "4-report")


def test_signing_out_on_the_page_ends_the_token_it_held(page: Page, stack: DevStack) -> None:
    log_in(page, stack)
    expect(page.locator("#app")).to_be_visible()
    token = page.evaluate("() => sessionStorage.getItem('parkpass-admin')")
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('parkpass-admin')") is None
    r = ApiClient(stack.api_url).get("/admin/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_ended"  # ended on the server too


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_the_office_reads_the_days_reconciliation_in_chinese(
    browser: Browser, stack: DevStack, viewport: dict[str, int]
) -> None:
    api = ApiClient(stack.api_url)
    owner = {
        "Authorization": "Bearer " + api.post("/api/v1/auth/login", json={"code": "sim:demo-owner:r"}).json()["token"]
    }
    made = api.post(
        "/api/v1/cards/card-demo/renewals",
        json={"package_id": "demo-1m", "channel": "wechat", "idempotency_key": "page-reconcile"},
        headers=owner,
    ).json()
    api.post("/sim/wechatpay/pay", json={"out_trade_no": made["order_id"], "notify": False})  # notification lost
    api.post("/sim/clock", json={"now": "2026-11-24T10:30:00+08:00"})
    assert api.post("/sim/reconcile", json={"date": "2026-11-23"}).status_code == 200

    context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, stack)
        page.get_by_role("button", name="对账").click()
        expect(page.locator("#reconcile-days")).to_contain_text("微信支付")
        row = page.locator("#reconcile-differences tbody tr", has_text=made["order_id"])
        expect(row).to_contain_text("支付平台已收款，本系统未入账")
        expect(row).to_contain_text("已自动补记")
        expect(row).to_contain_text("300.00")
        shot(page, f"5-reconciliation-{'phone' if viewport['width'] < 500 else 'desk'}")
    finally:
        context.close()
