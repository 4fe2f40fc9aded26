"""A property goes live with the cards it already has: the office imports its spreadsheet (Chinese headers,
Excel's slash dates), a running gate admits the cars at once, and their owners claim the cards in the
mini-program (by their WeChat phone, or by the code on a slip the office prints) and renew them."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import requests
import zxingcpp

from domain.gate import Reason
from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from tests.e2e.api_client import ApiClient, json_error
from tests.e2e.test_gate_agent import agent_for, owner_headers, renew, wait_for

SHEET = (
    "车牌号,开始日期,有效期至,车主,手机号\n"
    "粤B66666,2026/11/1,2026/11/30,张三,138 0000 6666\n"
    "粤B77777,2026年11月1日,2026/12/15,李四,\n"
    "粤B88888,2026/11/1,2026/13/1,王五,\n"
)


def office(api: ApiClient) -> dict[str, str]:
    r = api.post("/admin/api/v1/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def import_sheet(api: ApiClient, staff: dict[str, str]) -> dict[str, Any]:
    files = {"file": ("现有月卡.csv", SHEET.encode("gb18030"), "text/csv")}  # as Excel on a Chinese Windows saves it
    parsed = api.post("/admin/api/v1/lots/demo-lot/imports/parse", files=files, headers=staff)
    assert parsed.status_code == 200, parsed.text
    rows = parsed.json()["rows"]
    assert rows[0] == {
        "plates": "粤B66666",
        "valid_from": "2026/11/1",
        "valid_until": "2026/11/30",
        "holder": "张三",
        "phone": "138 0000 6666",
    }
    r = api.post("/admin/api/v1/lots/demo-lot/imports/rows", json={"first_row": 2, "rows": rows}, headers=staff)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def card_for(stack: DevStack, plate: str) -> str:
    card = stack.services.cards.card_for_plate("demo-lot", plate)
    assert card is not None
    return card.id


def slip_code(pdf: bytes) -> tuple[str, str]:
    """The code printed on a claim slip, and what its QR code holds (read back with a real decoder)."""
    page = pdfium.PdfDocument(pdf)[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=300 / 72).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert len(codes) == 1 and codes[0].format == zxingcpp.BarcodeFormat.QRCode
    lines = [line.strip() for line in text.splitlines()]
    printed = next(line for line in lines if len(line) == 11 and line[4] == "-")
    return printed, codes[0].text


def test_imported_cards_reach_the_gate_and_their_owners_claim_and_renew_them(stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    agent = agent_for(stack, tmp_path / "gate.sqlite")
    agent.start()
    try:
        report = import_sheet(api, staff)
        assert (report["created"], report["existing"]) == (2, 0)
        [error] = report["errors"]
        assert error["row"] == 4 and error["message"].startswith("结束日期“2026/13/1”不是日期")
        today = date(2026, 11, 23)
        wait_for(lambda: {"粤B66666", "粤B77777"} <= set(agent.entries()))
        assert agent.check("粤B66666", today).allow and agent.check("粤B77777", date(2026, 12, 15)).allow

        # 张三 binds his WeChat phone: the card the office knew by that phone is his, and he renews it.
        zhang = owner_headers(api, "sim:zhangsan")
        assert api.get("/api/v1/me/cards", headers=zhang).json() == {"cards": []}
        bound = api.post("/api/v1/me/phone", json={"code": "sim-phone:13800006666"}, headers=zhang).json()
        card_id = card_for(stack, "粤B66666")
        assert bound == {"phone": "138****6666", "claimed_cards": [card_id]}
        [mine] = api.get("/api/v1/me/cards", headers=zhang).json()["cards"]
        assert (mine["id"], mine["plates"], mine["valid_until"]) == (card_id, ["粤B66666"], "2026-11-30")
        renew(api, stack, zhang, card_id, "zhang-renews-1", "demo-1m")
        [renewed] = api.get("/api/v1/me/cards", headers=zhang).json()["cards"]
        assert renewed["valid_until"] == "2026-12-31"  # a month from the day after its old end
        wait_for(lambda: agent.entries()["粤B66666"].valid_until == date(2026, 12, 31))
        assert agent.check("粤B66666", date(2026, 12, 31)).allow
        assert agent.check("粤B66666", date(2027, 1, 1)).reason is Reason.EXPIRED

        history = api.get(f"/admin/api/v1/cards/{card_id}", headers=staff).json()["changes"]
        assert [c["action_label"] for c in history] == ["导入", "车主认领", "续费"]
        assert history[1]["actor_label"] == "车主" and history[2]["actor_label"] == "微信支付"
        assert all(c["at_local"].endswith("北京时间") for c in history)
    finally:
        agent.stop()


def test_the_office_prints_a_claim_slip_and_its_owner_claims_the_card_with_the_code(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    import_sheet(api, staff)
    card_id = card_for(stack, "粤B77777")
    key = {"idempotency_key": "slip-form-0001"}
    slip = api.post(f"/admin/api/v1/cards/{card_id}/claim-slip", json=key, headers=staff)
    assert slip.status_code == 200 and slip.headers["Content-Type"] == "application/pdf"
    again = api.post(f"/admin/api/v1/cards/{card_id}/claim-slip", json=key, headers=staff)  # a double click
    code, link = slip_code(slip.content)
    assert slip_code(again.content) == (code, link)
    assert link == f"{stack.services.public_url}/c/{code}"
    opened = requests.get(link, timeout=10)
    assert opened.status_code == 200 and code in opened.text and "微信" in opened.text

    li = owner_headers(api, "sim:lisi")
    wrong = api.post("/api/v1/cards/claims", json={"code": code[:-1] + ("2" if code[-1] != "2" else "3")}, headers=li)
    assert wrong.status_code == 400 and json_error(wrong) == {
        "code": "claim_code_invalid",
        "message": "认领码不正确，请核对物业打印的认领单",
    }
    english = api.post("/api/v1/cards/claims", json={"code": "XXXX-XXXXXX"}, headers={**li, "Accept-Language": "en"})
    assert json_error(english)["message"].startswith("no card waits for this claim code")

    answers: list[requests.Response] = []

    def tap() -> None:
        answers.append(api.post("/api/v1/cards/claims", json={"code": code.lower()}, headers=li))

    claims = [threading.Thread(target=tap) for _ in range(2)]  # two taps at once
    for t in claims:
        t.start()
    for t in claims:
        t.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.json()["id"] for a in answers} == {card_id}
    assert [c["id"] for c in api.get("/api/v1/me/cards", headers=li).json()["cards"]] == [card_id]
    history = api.get(f"/admin/api/v1/cards/{card_id}", headers=staff).json()["changes"]
    assert [c["action"] for c in history] == ["import", "claim_code", "claim_refused", "claim"]

    zhang = owner_headers(api, "sim:zhangsan-2")
    taken = api.post("/api/v1/cards/claims", json={"code": code}, headers=zhang)
    assert taken.status_code == 400 and json_error(taken)["code"] == "claim_code_invalid"  # claimed: the code is spent
