"""Existing card holders: what an import reads (Chinese headers, the dates offices type, phones) and how owners
claim the imported cards (by their WeChat phone, or by a printed code that cannot be guessed)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.admin import Role, Staff
from domain.card import Card, CardState
from domain.card_claim import MAX_CLAIM_TRIES_PER_DAY, MAX_CODE_FAILURES, office_owner, split_code
from domain.errors import CardClaimed, ClaimCodeInvalid, ClaimCodeLocked, Conflict, InvalidInput, RateLimited
from domain.lot import Lot
from domain.owner import Owner
from domain.phone import normalised_phone
from functions.admin_office import read_table
from functions.bootstrap import Services
from handlers.admin_cards import office_cancel, search_cards
from handlers.claim_cards import claim_by_code, claim_by_phone, print_claim_code
from handlers.import_cards import column_of, import_rows
from handlers.office_keys import form_key
from tests.builders import add_card
from tests.fakes import fake_services, memory_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MANAGER = Staff("manager@t1.cn", "t1", Role.LOT_MANAGER, frozenset({"lot-1"}), "-")


def services() -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "一号车场", quota=10, tenant_id="t1"))
    for n in range(3):
        s.owners.add(Owner(f"owner-{n}", f"openid-{n}"))
    return s


def imported(s: Services, *rows: dict[str, str]) -> list[Card]:
    report = import_rows(MANAGER, "lot-1", 2, list(rows), s.cards, s.lots, s.uow, s.clock, s.sealer)
    assert report.errors == [], [(n, e.message) for n, e in report.errors]
    return sorted(s.cards.list_for_lot("lot-1"), key=lambda c: c.plates)


def wrong(code: str) -> str:
    return code[:-1] + ("2" if code[-1] != "2" else "3")


@pytest.mark.parametrize(
    ("header", "column"),
    [("车牌", "plates"), ("车牌号", "plates"), (" 有效期至 ", "valid_until"), ("结束日期", "valid_until"),
     ("开始日期", "valid_from"), ("姓名", "holder"), ("车主", "holder"), ("手机号", "phone"), ("手机", "phone"),
     ("\ufeffPlates", "plates"), ("备注", None)],
)  # fmt: skip
def test_an_import_reads_the_column_names_offices_use(header: str, column: str | None) -> None:
    assert column_of(header) == column


@pytest.mark.parametrize("written", ["2026-11-01", "2026/11/01", "2026/11/1", "2026年11月1日", "2026.11.1"])
def test_an_import_reads_the_dates_offices_type(written: str) -> None:
    s = services()
    [card] = imported(s, {"车牌号": "粤B10001", "开始日期": written, "有效期至": "2026/12/31"})
    assert (card.valid_from, card.valid_until) == (date(2026, 11, 1), date(2026, 12, 31))


def test_a_row_with_a_date_that_is_none_is_refused_by_its_row_number_in_chinese() -> None:
    s = services()
    rows = [{"plates": "粤B10001", "valid_until": "2026/2/30"}, {"plates": "粤B10002", "valid_until": "下个月"}]
    report = import_rows(MANAGER, "lot-1", 2, rows, s.cards, s.lots, s.uow, s.clock, s.sealer)
    assert [(n, e.text("zh")) for n, e in report.errors] == [
        (2, "结束日期“2026/2/30”不是日期（如 2026-11-01、2026/11/1、2026年11月1日）"),
        (3, "结束日期“下个月”不是日期（如 2026-11-01、2026/11/1、2026年11月1日）"),
    ]
    assert report.errors[0][1].text("en").startswith("valid_until '2026/2/30' is not a date")
    assert s.cards.list_for_lot("lot-1") == []


@pytest.mark.parametrize(
    "written", ["13800001234", "138 0000 1234", "138-0000-1234", "+86 138 0000 1234", "8613800001234"]
)
def test_a_phone_is_read_as_wechat_gives_it(written: str) -> None:
    assert normalised_phone(written) == "13800001234"


def test_an_imported_phone_is_kept_sealed_and_found_by_its_fingerprint_only() -> None:
    s = services()
    [with_phone, without] = imported(
        s,
        {"plates": "粤B10001", "valid_until": "2026-12-31", "phone": "138 0000 1234"},
        {"plates": "粤B10002", "valid_until": "2026-12-31"},
    )
    ticket = with_phone.claim
    assert ticket is not None and ticket.phone_last4 == "1234"
    assert ticket.phone_key == s.sealer.fingerprint("13800001234", "phone")
    assert ticket.phone_sealed is not None and b"13800001234" in ticket.phone_sealed  # FakeSealer marks, never stores
    assert with_phone.owner_id == without.owner_id == office_owner("lot-1") and without.claim is not None
    found = search_cards(MANAGER, "lot-1", "1234", s.cards, s.owners, s.lots, s.clock)  # the office's search
    assert [(f.card.id, f.owner_phone) for f in found] == [(with_phone.id, "*******1234")]


def test_an_owner_whose_phone_matches_claims_the_card_once_and_its_reminders_follow() -> None:
    s = services()
    [card] = imported(s, {"plates": "粤B10001", "valid_until": "2026-12-31", "phone": "13800001234"})
    assert claim_by_phone("owner-1", s.owners, s.claiming) == []  # no phone bound yet
    s.owners.set_phone("owner-1", "13800001234")
    [claimed] = claim_by_phone("owner-1", s.owners, s.claiming)
    assert (claimed.id, claimed.owner_id, claimed.claim) == (card.id, "owner-1", None)
    assert claim_by_phone("owner-1", s.owners, s.claiming) == []  # asked again: nothing more to claim
    history = s.card_queries.history(card.id)
    assert [(e.actor, e.action, e.reason) for e in history] == [
        ("admin:manager@t1.cn", "import", "导入现有月卡"),
        ("owner:owner-1", "claim", "绑定手机号认领"),
    ]
    slots = [slot for slot in memory_of(s).slots.values() if slot.card_id == card.id]
    assert slots and {slot.owner_id for slot in slots} == {"owner-1"}


def test_a_slip_printed_twice_from_one_form_carries_one_code_and_its_owner_claims_the_card() -> None:
    s = services()
    [card] = imported(s, {"plates": "粤B10001", "valid_until": "2026-12-31"})
    first = print_claim_code(MANAGER, card.id, "form-key-0001", s.claiming)
    again = print_claim_code(MANAGER, card.id, "form-key-0001", s.claiming)
    assert first.code == again.code and split_code(first.code) is not None
    assert print_claim_code(MANAGER, card.id, "form-key-0002", s.claiming).code != first.code  # a new form
    third = print_claim_code(MANAGER, card.id, "form-key-0003", s.claiming).code
    with pytest.raises(Conflict) as late:
        print_claim_code(MANAGER, card.id, "form-key-0001", s.claiming)  # a late retry of the first form
    assert late.value.key == "slip_replaced"  # it does not bring the first code back over the third
    with pytest.raises(ClaimCodeInvalid):
        claim_by_code("owner-1", first.code, s.rates, s.claiming)  # a new slip kills the old one
    claimed = claim_by_code("owner-1", third.lower().replace("-", " "), s.rates, s.claiming)
    assert claimed.owner_id == "owner-1"
    assert claim_by_code("owner-1", third, s.rates, s.claiming).id == card.id  # asked again: the same card
    with pytest.raises(ClaimCodeInvalid):
        claim_by_code("owner-2", third, s.rates, s.claiming)  # spent
    actions = [e.action for e in s.card_queries.history(card.id)]
    assert actions == ["import", "claim_code", "claim_code", "claim_code", "claim"]  # the dead code found no card


def test_five_wrong_tries_kill_a_cards_code_and_an_owner_gets_ten_tries_a_day() -> None:
    s = services()
    [card] = imported(s, {"plates": "粤B10001", "valid_until": "2026-12-31"})
    code = print_claim_code(MANAGER, card.id, "form-key-0001", s.claiming).code
    for n in range(MAX_CODE_FAILURES):
        with pytest.raises(ClaimCodeInvalid):
            claim_by_code(f"owner-{n % 2}", wrong(code), s.rates, s.claiming)
    with pytest.raises(ClaimCodeLocked):
        claim_by_code("owner-2", code, s.rates, s.claiming)  # even the right code: the office prints another
    fresh = print_claim_code(MANAGER, card.id, "form-key-0002", s.claiming).code
    assert claim_by_code("owner-2", fresh, s.rates, s.claiming).owner_id == "owner-2"

    s2 = services()
    [other] = imported(s2, {"plates": "粤B10002", "valid_until": "2026-12-31"})
    right = print_claim_code(MANAGER, other.id, "form-key-0001", s2.claiming).code
    for _ in range(MAX_CLAIM_TRIES_PER_DAY):
        with pytest.raises(ClaimCodeInvalid):
            claim_by_code("owner-0", "ZZZZ-ZZZZZZ", s2.rates, s2.claiming)
    with pytest.raises(RateLimited):
        claim_by_code("owner-0", right, s2.rates, s2.claiming)
    s2.clock._now += timedelta(days=1)  # type: ignore[attr-defined]
    assert claim_by_code("owner-0", right, s2.rates, s2.claiming).owner_id == "owner-0"


def test_a_slip_is_for_an_imported_card_not_yet_claimed_and_needs_a_forms_key() -> None:
    s = services()
    mine = Card("card-1", "lot-1", "owner-0", ("粤B10001",), date(2026, 1, 1), date(2026, 12, 31), CardState.ACTIVE)
    assert add_card(s, mine)
    before = s.cards.get("card-1")
    with pytest.raises(CardClaimed):
        print_claim_code(MANAGER, "card-1", "form-key-0001", s.claiming)
    with pytest.raises(InvalidInput):
        print_claim_code(MANAGER, "card-1", "short", s.claiming)
    assert s.cards.get("card-1") == before  # nothing written


def test_a_claim_code_is_ten_characters_read_off_paper() -> None:
    assert split_code(" 7kq2-mx4p9d ") == ("7KQ2", "MX4P9D")
    assert split_code("7KQ2MX4P9D") == ("7KQ2", "MX4P9D")
    assert split_code("7KQ2-MX4P9") is None
    assert split_code("0KQ2-MX4P9D") is None  # no 0/O, 1/I on a slip


def test_the_card_as_read_now_decides_not_what_a_lagging_index_showed() -> None:
    s = services()
    [card] = imported(s, {"plates": "粤B10001", "valid_until": "2026-12-31"})
    old = print_claim_code(MANAGER, card.id, "form-key-0001", s.claiming).code
    as_indexed = s.cards.get(card.id)  # what a query of the index may still answer after the next slip
    new = print_claim_code(MANAGER, card.id, "form-key-0002", s.claiming).code
    assert old[:4] != new[:4]
    lagging = replace(s.claiming, queries=LaggingIndex(s.card_queries, as_indexed))
    with pytest.raises(ClaimCodeInvalid):
        claim_by_code("owner-1", old, s.rates, lagging)  # the old slip is dead, whatever the index says
    assert s.cards.get(card.id).owner_id == office_owner("lot-1")  # type: ignore[union-attr]
    assert [e.action for e in s.card_queries.history(card.id)][-1] == "claim_code"  # and no wrong try counted

    # The new slip's code, while the index still shows the old one: the card read now has it, so it is claimed
    # (and not counted as a wrong try).
    assert claim_by_code("owner-2", new, s.rates, lagging).owner_id == "owner-2"


class LaggingIndex:
    """The sparse indexes as an eventually consistent query may answer: an older copy of a card."""

    def __init__(self, queries: Any, stale: Card | None) -> None:
        self.queries, self.stale = queries, stale

    def waiting_for_code(self, locator: str) -> list[Card]:
        return [self.stale] if self.stale is not None else []

    def waiting_for_phone(self, phone_key: str) -> list[Card]:
        return [self.stale] if self.stale is not None else []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queries, name)


def test_a_card_imported_before_cards_carried_a_ticket_can_still_be_claimed_by_code() -> None:
    s = services()
    legacy = Card("imp-old", "lot-1", office_owner("lot-1"), ("粤B10009",), date(2026, 1, 1), date(2026, 12, 31),
                  CardState.ACTIVE)  # fmt: skip
    assert add_card(s, legacy) and legacy.claim is None
    code = print_claim_code(MANAGER, "imp-old", "form-key-0001", s.claiming).code
    assert claim_by_code("owner-1", code, s.rates, s.claiming).owner_id == "owner-1"


def test_one_opened_forms_key_sent_for_another_card_is_refused_not_silently_ignored() -> None:
    s = services()
    first, second = imported(
        s, {"plates": "粤B10001", "valid_until": "2026-12-31"}, {"plates": "粤B10002", "valid_until": "2026-12-31"}
    )
    key = form_key("admin:manager@t1.cn", "form-key-0001")
    assert office_cancel(MANAGER, first.id, "退租", s.card_life, key).state is CardState.CANCELLED
    assert office_cancel(MANAGER, first.id, "退租", s.card_life, key).state is CardState.CANCELLED  # a retry
    with pytest.raises(Conflict) as reused:
        office_cancel(MANAGER, second.id, "退租", s.card_life, key)
    assert reused.value.key == "form_key_reused" and s.cards.get(second.id).state is CardState.ACTIVE  # type: ignore[union-attr]


def test_a_spreadsheet_with_date_cells_and_a_phone_typed_as_a_number_is_read_as_typed() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["车牌号", "开始日期", "有效期至", "车主", "手机号", "备注"])
    sheet.append(["粤B10001", datetime(2026, 11, 1), date(2027, 3, 31), "张三", 13800001234, "不读这一列"])
    sheet.append([None, None, None, None, None, None])  # an empty row Excel leaves behind
    buffer = io.BytesIO()
    book.save(buffer)
    rows = read_table("现有月卡.xlsx", buffer.getvalue())
    assert rows == [
        {"plates": "粤B10001", "valid_from": "2026-11-01", "valid_until": "2027-03-31", "holder": "张三",
         "phone": "13800001234"}
    ]  # fmt: skip
    s = services()
    [card] = imported(s, *rows)
    assert (card.valid_from, card.valid_until) == (date(2026, 11, 1), date(2027, 3, 31))
    assert card.claim is not None and card.claim.phone_last4 == "1234"


def test_a_file_without_the_columns_an_import_needs_says_which_in_chinese() -> None:
    with pytest.raises(InvalidInput) as missing:
        read_table("cards.csv", "车牌号,姓名\n粤B10001,张三\n".encode())
    assert missing.value.text("zh").startswith("第一行应为列名：车牌、结束日期（必填）")
