"""The admin page's parking view (停车) in Chromium on the local stack, at a desk and on a phone: the office sets the
visitor fee, the spaces and the barrier's policy on the page; cars pass the demo gate; the view shows who is inside,
the cars inside by hour (a chart), the day's visits and their CSV; an exemption and a blacklisting added by a double
click (each done once), one lifted with its reason; an office count of the cars inside."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from domain.gate_auth import gate_signature
from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.test_admin_page import browser as browser  # one Chromium for the module
from tests.e2e.test_admin_page import log_in, shot
from tests.e2e.test_existing_card_holders import office
from tests.e2e.test_property_fees import ok


def at_gate(stack: DevStack, plate: str, direction: str, event: str, minutes_ago: int = 0,
            opened: bool | None = None) -> dict[str, Any]:  # fmt: skip
    gate = stack.demo_gate
    assert gate is not None
    at = stack.clock.now() - timedelta(minutes=minutes_ago)
    sent = {"plate": plate, "direction": direction, "at": at.isoformat(), "event_id": event}
    body = json.dumps(sent | ({} if opened is None else {"opened": opened})).encode()
    stamp, path = str(int(stack.clock.now().timestamp())), "/api/v1/gates/passages"
    head = {"X-Gate-Id": gate.id, "X-Gate-Timestamp": stamp, "Content-Type": "application/json",
            "X-Gate-Signature": gate_signature(gate.secret, "POST", path, stamp, body)}  # fmt: skip
    answer = requests.post(stack.api_url + path, data=body, headers=head, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["desk", "phone"]
)
def test_the_office_runs_the_barrier_from_the_parking_view(
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
        page.get_by_role("button", name="停车", exact=True).click()
        expect(page.locator("#fee-rules")).to_have_text("尚未设置临时车收费：临时车免费。")

        fee = page.locator("#visitor-fee-form")
        fee.get_by_label("每周期（元）").fill("5.00")
        fee.get_by_label("24 小时封顶（元，可空）").fill("30.00")
        fee.get_by_role("button", name="保存收费规则").click()
        expect(page.locator("#notice")).to_have_text("已保存临时车收费规则")
        expect(page.locator("#fee-rules")).to_have_text(
            "价格历史：2026-11-23 起 免费 15 分钟，每 60 分钟 5.00 元，24 小时封顶 30.00 元"
        )
        spaces = page.locator("#spaces-form")
        spaces.get_by_label("总车位").fill("20")
        spaces.get_by_label("访客车位").fill("1")
        spaces.get_by_role("button", name="保存车位").click()
        expect(page.locator("#notice")).to_have_text("已保存车位：总车位 20，访客车位 1")
        barrier = page.locator("#barrier-form")
        expect(barrier.get_by_label("物业费欠缴")).to_have_value("remind")  # the only choice the law leaves
        barrier.get_by_label("月卡过期").select_option("refuse")
        barrier.get_by_role("button", name="保存策略").click()
        expect(page.locator("#notice")).to_have_text("已保存道闸策略")
        setup = ok(api.get("/admin/api/v1/lots/demo-lot/parking", headers=staff))
        assert setup["policy"]["expired_card"] == "refuse" and setup["spaces"] == {"total": 20, "visitor": 1}

        # Cars at the demo gate: a visitor came in 2 hours ago and was let out unpaid (the gate was offline), another
        # visitor comes in, and the card holder.
        at_gate(stack, "粤A12345", "in", f"{device}-1", minutes_ago=125, opened=True)
        at_gate(stack, "粤A12345", "out", f"{device}-2", minutes_ago=5, opened=True)
        assert at_gate(stack, "粤A22222", "in", f"{device}-3")["allow"]
        assert at_gate(stack, "粤B12345", "in", f"{device}-4")["allow"]
        page.get_by_role("button", name="停车", exact=True).click()
        stats = page.locator("#parking-stats")
        expect(stats.locator(".stat", has_text="在场车辆")).to_contain_text("2")
        expect(stats.locator(".stat", has_text="道闸显示")).to_contain_text("满位")
        expect(page.locator("#occupancy-chart rect")).to_have_count(11)  # 0:00 to the hour under way (10:00)
        expect(page.locator("#visits tbody tr")).to_have_count(3)
        expect(page.locator("#visits tbody tr", has_text="粤A12345")).to_contain_text("15.00")  # 2 h: left unpaid
        expect(page.locator("#parking-arrears tbody tr", has_text="粤A12345")).to_contain_text("未缴停车费 15.00 元")
        with page.expect_download() as download:
            page.get_by_role("link", name="下载 CSV").click()
        saved = tmp_path / "visits.csv"
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8-sig").splitlines()[0].startswith("停车记录,车牌,类型,入场时间")
        shot(page, f"parking-1-occupancy-{device}")

        # An exemption and a blacklisting, each sent by a double click: done once.
        page.get_by_role("button", name="新增免费车辆").click()
        dialog.get_by_label("车牌").fill("粤B99999")
        dialog.get_by_label("原因").fill("救护车")
        dialog.get_by_role("button", name="新增").dblclick()
        expect(page.locator("#notice")).to_have_text("已新增免费车辆 粤B99999")
        page.get_by_role("button", name="加入黑名单").click()
        dialog.get_by_label("车牌").fill("粤B66666")
        dialog.get_by_label("原因").fill("多次冲卡")
        dialog.get_by_role("button", name="加入黑名单").dblclick()
        expect(page.locator("#notice")).to_have_text("已加入黑名单 粤B66666")
        expect(page.locator("#passes tbody tr")).to_have_count(2)
        feed = stack.services.feed.since("demo-lot", 0, 1000)
        assert [(e.kind, e.plate) for e in feed if e.kind != "card"] == [("exempt", "粤B99999"),
                                                                         ("blacklisted", "粤B66666")]  # fmt: skip
        assert not at_gate(stack, "粤B66666", "in", f"{device}-5")["allow"]
        page.locator("#passes tbody tr", has_text="粤B66666").get_by_role("button", name="解除").click()
        dialog.get_by_label("解除原因").fill("已处理")
        dialog.get_by_role("button", name="确认解除").dblclick()
        expect(page.locator("#notice")).to_have_text("已解除 粤B66666")
        expect(page.locator("#passes tbody tr", has_text="粤B66666")).to_contain_text("已解除")
        assert at_gate(stack, "粤B66666", "in", f"{device}-6")["kind"] == "visitor"

        # The office counts the cars: the live count starts again from it.
        page.get_by_role("button", name="人工盘点").click()
        dialog.get_by_label("在场车辆").fill("5")
        dialog.get_by_label("其中临时车").fill("1")
        dialog.get_by_label("原因").fill("夜间巡查")
        dialog.get_by_role("button", name="确认盘点").dblclick()
        expect(page.locator("#notice")).to_have_text("已盘点：在场 5 辆，其中临时车 1 辆")
        expect(stats.locator(".stat", has_text="在场车辆")).to_contain_text("5")
        expect(dialog).to_be_hidden()
        shot(page, f"parking-2-plates-{device}")
    finally:
        context.close()
