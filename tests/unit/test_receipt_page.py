"""What a receipt shows a person (times in the lot's zone, yuan, masked plates), the standing of a stored receipt
(signature, both links of its chain), the page its QR code opens, and where that link points (configured, never
the request's Host)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import combinations

import pytest

from domain.errors import InvalidId, ReceiptNotFound
from domain.lot import Lot
from domain.order import Channel, Order, OrderState
from domain.receipt import GENESIS, ChainFault, Receipt, chain_faults, receipt_for
from domain.receipt_text import amount_text, channel_name, local_time_text, masked_plate, paid_at_text
from functions.api import create_app
from functions.receipt_page import receipt_link
from handlers.receipts import receipt_standing, sign
from infra.pdf import RECEIPT_LAYOUT
from infra.receipt_signing import ReceiptKey
from infra.settings import MissingSettings, Settings
from tests.builders import a_pending_order, months
from tests.fakes import FakeLots, FakeOrders, FakeReceipts, fake_services

NOW = datetime(2026, 12, 1, 12, 27, 24, tzinfo=UTC)
KEY = ReceiptKey(bytes(range(32)))


def _receipt(seq: int, prev: str) -> Receipt:
    order = Order(
        f"order-{seq}", "owner-1", "card-1", "lot-1", months(3), 850_00, Channel.WECHAT, date(2026, 12, 4),
        date(2027, 3, 3), OrderState.PAID, NOW, NOW, NOW, f"tx-{seq}", date(2026, 12, 4), date(2027, 3, 3),
        owner_label="138****0000",
    )  # fmt: skip
    return receipt_for(order, "东门停车场", ("粤B12345",), seq, prev)


def _chain() -> tuple[Receipt, Receipt, Receipt]:
    first = _receipt(1, GENESIS)
    second = _receipt(2, first.hash)
    return first, second, _receipt(3, second.hash)


def test_times_are_shown_in_the_lots_zone_and_amounts_in_yuan() -> None:
    assert local_time_text(NOW, "Asia/Shanghai") == "2026-12-01 20:27 北京时间"
    assert local_time_text(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "Asia/Shanghai") == "2027-01-01 00:30 北京时间"
    assert local_time_text(NOW, "Asia/Urumqi") == "2026-12-01 18:27 UTC+06:00"
    assert paid_at_text(_receipt(1, GENESIS), "Asia/Shanghai") == "2026-12-01 20:27 北京时间"
    assert (amount_text(85000), amount_text(5), amount_text(100)) == ("850.00 元", "0.05 元", "1.00 元")
    assert (channel_name("wechat"), channel_name("alipay"), channel_name("cash")) == ("微信支付", "支付宝", "现金")


def test_plates_on_the_public_page_are_masked() -> None:
    assert masked_plate("粤B12345") == "粤B***45"
    assert masked_plate("粤BD12345") == "粤B****45"  # new-energy plates have 8 characters


def test_a_stored_receipt_is_checked_against_both_its_neighbours() -> None:
    first, second, third = _chain()
    assert chain_faults(first, None, second) == []
    assert chain_faults(second, first, third) == []
    assert chain_faults(third, second, None) == []  # the newest has no following receipt yet
    assert chain_faults(second, None, third) == [ChainFault.PREVIOUS_MISSING]
    assert chain_faults(second, replace(first, amount_fen=1), third) == [ChainFault.PREVIOUS_CHANGED]
    assert chain_faults(replace(second, amount_fen=1), first, third) == [ChainFault.NEXT_UNLINKED]
    assert chain_faults(replace(first, prev_hash="f" * 64), None, None) == [ChainFault.BAD_START]


def _store(*receipts: Receipt) -> FakeReceipts:
    store = FakeReceipts()
    store.items = {r.id: sign(r, KEY) for r in receipts}
    return store


def test_the_standing_of_a_stored_receipt_says_whether_its_signature_and_chain_hold() -> None:
    first, second, third = _chain()
    lots, orders = FakeLots(), FakeOrders()
    lots.add(Lot("lot-1", "东门停车场", timezone="Asia/Shanghai"))
    good = receipt_standing(second.id, _store(first, second, third), KEY, lots, orders)
    assert good.valid and good.signature_valid and good.chain_faults == [] and good.timezone == "Asia/Shanghai"

    store = _store(first, second, third)
    store.items[second.id] = replace(store.items[second.id], receipt=replace(second, amount_fen=1))  # changed in the db
    changed = receipt_standing(second.id, store, KEY, lots, orders)
    assert not changed.valid and not changed.signature_valid and changed.chain_faults == [ChainFault.NEXT_UNLINKED]
    after = receipt_standing(third.id, store, KEY, lots, orders)
    assert after.signature_valid and after.chain_faults == [ChainFault.PREVIOUS_CHANGED] and not after.valid

    with pytest.raises(ReceiptNotFound):
        receipt_standing("rcpt-order-9", store, KEY, lots, orders)
    with pytest.raises(InvalidId):
        receipt_standing("../etc", store, KEY, lots, orders)
    gone = receipt_standing(first.id, store, KEY, FakeLots(), orders)
    assert gone.timezone == "Asia/Shanghai"  # lot gone: the default

    paid = a_pending_order(first.order_id, date(2026, 12, 1), date(2026, 12, 31), NOW)
    orders.items[paid.id] = replace(paid, state=OrderState.REFUNDED)
    refunded = receipt_standing(first.id, _store(first, second, third), KEY, lots, orders)
    assert refunded.refunded and refunded.signature_valid and not refunded.chain_faults and not refunded.valid


def test_the_page_shows_the_receipt_and_its_verdict_but_nothing_of_the_owner() -> None:
    first, second, third = _chain()
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "东门停车场"))
    s.receipts.items.update(_store(first, second, third).items)  # type: ignore[attr-defined]
    client = create_app(s).test_client()
    page = client.get(f"/r/{second.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.content_type == "text/html; charset=utf-8"
    for shown in ("order-2", "东门停车场", "粤B***45", "850.00 元", "微信支付", "2026-12-01 20:27 北京时间"):
        assert shown in html
    assert "2026-12-04 至 2027-03-03" in html and "✔ 签名有效" in html and "✔ 收据链完整" in html
    assert "138****0000" not in html and "粤B12345" not in html and "tx-2" not in html
    assert (
        page.headers["Cache-Control"] == "no-store" and "default-src 'none'" in page.headers["Content-Security-Policy"]
    )
    unknown = client.get("/r/rcpt-order-404")
    assert unknown.status_code == 404 and "查无此收据" in unknown.get_data(as_text=True)
    assert client.get("/r/%3Cscript%3E").status_code == 404


def test_the_qr_link_is_under_the_configured_public_url_and_never_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert receipt_link("https://pay.example.com", "rcpt-order-1") == "https://pay.example.com/r/rcpt-order-1"
    with pytest.raises(RuntimeError, match="PARKPASS_PUBLIC_URL"):
        receipt_link(None, "rcpt-order-1")
    monkeypatch.setenv("PARKPASS_PUBLIC_URL", "https://pay.example.com/")
    assert Settings.from_env().public_url == "https://pay.example.com"
    monkeypatch.setenv("PARKPASS_PUBLIC_URL", "https://api.example.com/prod")
    assert Settings.from_env().public_url == "https://api.example.com/prod"
    for wrong in ("pay.example.com", "https://pay.example.com/?x=1", "javascript:alert(1)", "https://a b.com"):
        monkeypatch.setenv("PARKPASS_PUBLIC_URL", wrong)
        with pytest.raises(MissingSettings):
            Settings.from_env()
    monkeypatch.delenv("PARKPASS_PUBLIC_URL")
    assert Settings.from_env().public_url is None


def test_on_the_drawn_receipt_the_seal_and_the_qr_code_have_boxes_apart() -> None:
    assert not any(a.overlaps(b) for a, b in combinations(RECEIPT_LAYOUT.boxes().values(), 2))
    qr, seal = RECEIPT_LAYOUT.qr, RECEIPT_LAYOUT.seal
    assert qr.overlaps(qr) and not qr.overlaps(seal) and not seal.overlaps(qr)
