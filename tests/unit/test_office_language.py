"""The office reads Chinese: card history, order states, channels, CSV columns, times in the lot's zone;
English when it asks (?lang=en keeps the exports as they were)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from flask.testing import FlaskClient

from domain.admin import Role, Staff
from domain.card import Card, CardState
from domain.card_change import card_plan
from domain.labels import actor_label, local_time
from domain.lot import Lot
from domain.order import Channel
from functions.admin import create_admin_app
from functions.bootstrap import Services
from handlers.admin_cards import offline_payment
from tests.builders import a_pause, add_card, months
from tests.fakes import fake_services

NOW = datetime(2026, 12, 1, 12, 27, 24, tzinfo=UTC)
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password")


def office() -> tuple[Services, FlaskClient]:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "一号车场", quota=10, tenant_id="t1"))
    s.packages.add(months(1))
    s.staff.add(BOSS)
    card = Card("card-1", "lot-1", "owner-1", ("粤B10001",), date(2026, 11, 1), date(2026, 12, 31), CardState.ACTIVE)
    add_card(s, card)
    offline_payment(
        BOSS, "card-1", "m1", Channel.CASH, "cash-key-0001",
        cards=s.cards, lots=s.lots, packages=s.packages, orders=s.orders, uow=s.uow, signer=s.receipt_signer,
        ids=s.ids, clock=s.clock,
    )  # fmt: skip
    c = create_admin_app(s).test_client()
    token = c.post("/admin/api/v1/auth/login", json={"email": BOSS.email, "password": "a long password"}).get_json()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token['token']}"
    return s, c


def test_times_are_shown_as_the_lots_clock_shows_them() -> None:
    assert local_time(NOW, "Asia/Shanghai") == "2026-12-01 20:27 北京时间"
    assert local_time(NOW, "Asia/Shanghai", "en") == "2026-12-01 20:27 China time"
    assert actor_label("payment:wechat") == "微信支付" and actor_label("admin:a@b.cn") == "物业 a@b.cn"
    assert actor_label("owner:o-1") == "车主" and actor_label("system:waitlist", "en") == "system"


def test_a_cards_history_and_payments_read_in_chinese_and_in_english_when_asked() -> None:
    _, c = office()
    shown = c.get("/admin/api/v1/cards/card-1").get_json()
    [issued, renewed] = shown["changes"]
    assert (renewed["action_label"], renewed["actor_label"], renewed["at_local"]) == (
        "续费", "现金", "2026-12-01 20:27 北京时间"
    )  # fmt: skip
    assert issued["action_label"] == "开卡"
    [order] = shown["orders"]
    assert (order["state_label"], order["channel_label"], order["amount_yuan"]) == ("已支付", "现金", "300.00")
    assert order["paid_at_local"] == "2026-12-01 20:27 北京时间" and shown["card"]["state_label"] == "有效"
    english = c.get("/admin/api/v1/cards/card-1", headers={"Accept-Language": "en"}).get_json()
    assert (english["changes"][1]["action_label"], english["orders"][0]["state_label"]) == ("renew", "paid")


def test_csv_exports_have_chinese_columns_and_words_and_english_on_request() -> None:
    s, c = office()
    card = s.cards.get("card-1")
    assert card is not None
    paused = replace(card, pauses=(a_pause(date(2026, 12, 5), date(2026, 12, 9)),))
    s.uow.commit(card_plan(card, paused, s.lots.get("lot-1"), NOW, "owner:owner-1", "pause"))  # type: ignore[arg-type]
    zh = c.get("/admin/api/v1/lots/lot-1/cards?format=csv").get_data(as_text=True)
    header, row = zh.lstrip("\ufeff").splitlines()[:2]
    assert header.split(",")[:7] == ["编号", "车场", "车牌", "持卡人", "有效期自", "有效期至", "状态"]
    assert row.split(",")[6] == "有效" and "2026-12-05 至 2026-12-09（已安排）" in row
    en = c.get("/admin/api/v1/lots/lot-1/cards?format=csv&lang=en").get_data(as_text=True)
    header, row = en.lstrip("\ufeff").splitlines()[:2]
    assert header.split(",")[:7] == ["id", "lot_id", "plates", "holder", "valid_from", "valid_until", "state"]
    assert "state_label" not in header and row.split(",")[6] == "active" and "2026-12-05..2026-12-09 (scheduled)" in row
    report = c.get("/admin/api/v1/lots/lot-1/reports/2026-12?format=csv").get_data(as_text=True).lstrip("\ufeff")
    assert report.splitlines()[:2] == ["日期,收入（元）", "2026-12-01,300.00"]
    assert "渠道：现金,300.00" in report.splitlines()


def test_the_office_is_told_what_went_wrong_in_chinese() -> None:
    _, c = office()
    wrong = c.post("/admin/api/v1/auth/login", json={"email": BOSS.email, "password": "not it at all"})
    assert wrong.get_json()["error"] == {"code": "login_failed", "message": "邮箱或密码错误"}
    english = c.post(
        "/admin/api/v1/auth/login", json={"email": BOSS.email, "password": "not it"}, headers={"Accept-Language": "en"}
    )
    assert english.get_json()["error"]["message"] == "wrong email or password"
