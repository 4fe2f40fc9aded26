"""Office account rules (#17): which passwords and emails a new account or a reset may have, and that a
property company never learns whether an email or a lot id belongs to another one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.admin import Role, Staff
from domain.credentials import MIN_PASSWORD, check_password, common_passwords, new_account_email
from domain.errors import DomainError, EmailUnavailable, InvalidInput, LotNotFound, WeakPassword
from domain.lot import Lot
from domain.messages import MESSAGES
from functions.admin import create_admin_app
from functions.bootstrap import Services
from handlers.admin_lots import create_lot
from handlers.staff import create_staff
from handlers.staff_accounts import add_staff
from tests.fakes import fake_services

API = "/admin/api/v1"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOSS = Staff("boss@t1.cn", "t1", Role.TENANT_ADMIN, frozenset(), "plain$a long password 1")
GOOD = "parking at dawn 7"


def refusal(password: str, email: str = "new@t1.cn") -> str:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, email)
    assert refused.value.code == "weak_password"
    return refused.value.key


# --- passwords: the findings first


@pytest.mark.parametrize(
    ("password", "key", "chinese"),
    [
        ("1234567890", "password_short", "密码至少 12 位"),
        (" " * 10, "password_short", "密码至少 12 位"),
        ("\x00" * 10, "password_control", "密码不能包含控制字符或不可见字符"),
        ("\x00" * 12, "password_control", "密码不能包含控制字符或不可见字符"),
        (" " * 12, "password_kinds", "密码至少要包含字母、数字、符号（含空格）中的两类"),
        ("123456789012", "password_kinds", "密码至少要包含字母、数字、符号（含空格）中的两类"),
        ("abcdefghijklmnop", "password_kinds", "密码至少要包含字母、数字、符号（含空格）中的两类"),
        ("停车场停车场停车场停车场", "password_kinds", "密码至少要包含字母、数字、符号（含空格）中的两类"),
        ("aaaaaaaaaaa1", "password_repetitive", "密码至少要有 6 个不同的字符"),
        ("password1234", "password_common", "这个密码太常见，容易被猜中，请换一个"),
        ("qwertyuiop123", "password_common", "这个密码太常见，容易被猜中，请换一个"),
        ("Password2024!", "password_common", "这个密码太常见，容易被猜中，请换一个"),
        ("!!iloveyou123", "password_common", "这个密码太常见，容易被猜中，请换一个"),
        ("long enough\t12", "password_control", "密码不能包含控制字符或不可见字符"),
        ("zero\u200bwidth pass 1", "password_control", "密码不能包含控制字符或不可见字符"),
        ("x" * 120 + "yz 12345678", "password_long", "密码最多 128 位"),
    ],
)
def test_a_password_breaking_a_rule_is_refused_with_a_chinese_reason(password: str, key: str, chinese: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, "new@t1.cn")
    assert refused.value.key == key
    assert refused.value.text("zh") == chinese
    assert refused.value.text("en") and refused.value.text("en") != chinese


def test_the_login_email_is_not_a_password() -> None:
    assert refusal("wang.xiaoming@t1.cn", "wang.xiaoming@t1.cn") == "password_is_email"
    assert refusal("Wang.Xiaoming-9", "wang.xiaoming-9@t1.cn") == "password_is_email"


@pytest.mark.parametrize(
    "password",
    [
        GOOD, "correct horse battery", "a long password", "parkpass-demo", "Tr0ub4dor&3xyz", "停车场 A 区 2 号门",
        "9$2#7!4%1&8*",
    ],
)
def test_passphrases_and_mixed_passwords_of_twelve_or_more_are_allowed(password: str) -> None:
    check_password(password, "new@t1.cn")  # no error


def test_the_common_list_ships_with_the_code_and_the_rule_takes_another() -> None:
    common = common_passwords()
    assert 5000 <= len(common) < 20_000 and "password1234" in common and "123456" in common
    check_password("password1234", "new@t1.cn", common=set())  # the list is what refuses it
    with pytest.raises(WeakPassword):
        check_password("my own weak one 1", "new@t1.cn", common={"my own weak one"})
    assert MIN_PASSWORD == 12


# --- emails


@pytest.mark.parametrize(
    "email",
    [
        'x"><svg/onload=alert(1)>@a.bc',
        "x<svg>@a.bc",
        '"quoted"@a.bc',
        "two words@a.bc",
        "a@b",
        "a@b.c",
        "a@-b.cn",
        "a@b-.cn",
        ".a@b.cn",
        "a.@b.cn",
        "a..b@c.cn",
        "a@b..cn",
        "a@@b.cn",
        "a@b.cn\x00",
        "a\n@b.cn",
        "a@b.c1",
        "王@b.cn",
        "x" * 65 + "@b.cn",
        "x@" + "b" * 250 + ".cn",
        "",
    ],
)
def test_an_email_that_is_not_a_plain_address_is_refused_in_chinese(email: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        new_account_email(email)
    assert refused.value.code == "invalid_input" and refused.value.key == "staff_email_format"
    assert refused.value.text("zh").startswith("邮箱格式不对")


@pytest.mark.parametrize(
    ("email", "login"),
    [
        ("New.Cashier@T1.cn", "new.cashier@t1.cn"),
        (" li_ming+parking@mail.example.com.cn ", "li_ming+parking@mail.example.com.cn"),
        ("a-b%c@xn--fiqs8s.xn--55qx5d", "a-b%c@xn--fiqs8s.xn--55qx5d"),
    ],
)
def test_a_plain_address_is_the_lower_case_login(email: str, login: str) -> None:
    assert new_account_email(email) == login


# --- through the use cases: stores nothing, and never says whose


def office() -> Services:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-a", "一号车场", tenant_id="t1"))
    s.lots.add(Lot("lot-x", "别家车场", tenant_id="t2"))
    s.staff.add(BOSS)
    s.staff.add(Staff("mine@t1.cn", "t1", Role.CASHIER, frozenset({"lot-a"}), "plain$mine password 1"))
    s.staff.add(Staff("theirs@t2.cn", "t2", Role.CASHIER, frozenset({"lot-x"}), "plain$their password 1"))
    return s


def add(s: Services, email: str, password: str = GOOD, lots: frozenset[str] = frozenset({"lot-a"})) -> Staff:
    return add_staff(
        BOSS, email, password, Role.CASHIER, set(lots), None,
        staff=s.staff, passwords=s.passwords, lots=s.lots, uow=s.uow, audit=s.audit, clock=s.clock,
    )  # fmt: skip


def answer(error: DomainError) -> tuple[str, str, str]:
    return error.code, error.text("zh"), error.text("en")


@pytest.mark.parametrize("password", ["1234567890", " " * 10, "\x00" * 10, "password1234"])
def test_an_account_with_a_weak_password_is_not_made(password: str) -> None:
    s = office()
    with pytest.raises(WeakPassword):
        add(s, "new@t1.cn", password)
    assert s.staff.get("new@t1.cn") is None and s.audit.entries == []  # type: ignore[attr-defined]


def test_an_svg_email_makes_no_account() -> None:
    s = office()
    with pytest.raises(InvalidInput) as refused:
        add(s, 'x"><svg/onload=alert(1)>@a.bc')
    assert refused.value.key == "staff_email_format"
    assert [a.email for a in s.staff.list_for_tenant("t1")] == ["boss@t1.cn", "mine@t1.cn"]


def test_an_email_of_another_company_answers_exactly_as_one_of_this_company() -> None:
    s = office()
    with pytest.raises(EmailUnavailable) as theirs:
        add(s, "Theirs@t2.cn")
    with pytest.raises(EmailUnavailable) as mine:
        add(s, "mine@t1.cn")
    assert answer(theirs.value) == answer(mine.value) == (
        "staff_email_unavailable",
        "这个邮箱不能用于新账号，请换一个邮箱",
        "this email cannot be used for a new account; use another one",
    )
    assert "t2" not in str(theirs.value.params) and "theirs" not in str(theirs.value.params)
    assert s.staff.get("theirs@t2.cn") == Staff("theirs@t2.cn", "t2", Role.CASHIER, frozenset({"lot-x"}),
                                                "plain$their password 1")  # fmt: skip


def test_a_lot_of_another_company_answers_exactly_as_a_lot_that_does_not_exist() -> None:
    s = office()
    with pytest.raises(LotNotFound) as theirs:
        add(s, "new@t1.cn", lots=frozenset({"lot-x"}))
    with pytest.raises(LotNotFound) as nowhere:
        add(s, "new@t1.cn", lots=frozenset({"lot-y"}))
    assert (theirs.value.code, theirs.value.text("zh").replace("lot-x", "?")) == (
        nowhere.value.code, nowhere.value.text("zh").replace("lot-y", "?")
    )  # fmt: skip
    assert s.staff.get("new@t1.cn") is None


def test_a_lot_id_held_by_another_company_answers_as_one_held_here() -> None:
    s = office()
    answers = []
    for lot_id in ("lot-x", "lot-a"):
        with pytest.raises(InvalidInput) as taken:
            create_lot(BOSS, Lot(lot_id, "新车场"), s.lots, s.audit, s.clock)
        answers.append((taken.value.code, taken.value.text("zh").replace(lot_id, "?")))
    assert answers[0] == answers[1] == ("invalid_lot", "车场编号 ? 不能使用，请换一个编号")
    assert s.lots.get("lot-x").tenant_id == "t2"  # type: ignore[union-attr]


def test_a_reset_to_a_weak_password_changes_nothing() -> None:
    s = office()
    c = create_admin_app(s).test_client()
    token = c.post(f"{API}/auth/login", json={"email": BOSS.email, "password": "a long password 1"}).get_json()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token['token']}"
    for weak, key in [
        ("1234567890", "password_short"),
        (" " * 12, "password_kinds"),
        ("\x00" * 12, "password_control"),
        ("password1234", "password_common"),
        ("\u200b" * 12, "password_control"),
    ]:
        r = c.post(f"{API}/staff/mine@t1.cn/password", json={"password": weak})
        assert (r.status_code, r.get_json()["error"]["code"]) == (400, "weak_password"), weak
        assert r.get_json()["error"]["message"] == MESSAGES[key][0].format(least=MIN_PASSWORD)
    assert s.staff.get("mine@t1.cn").password_hash == "plain$mine password 1"  # type: ignore[union-attr]
    assert c.post(f"{API}/staff/mine@t1.cn/password", json={"password": GOOD}).status_code == 200


def test_the_terminals_create_keeps_the_same_rules() -> None:
    s = office()
    with pytest.raises(WeakPassword):
        create_staff("first@t3.cn", "1234567890", "t3", Role.TENANT_ADMIN, set(), s.staff, s.passwords)
    with pytest.raises(EmailUnavailable):
        create_staff("theirs@t2.cn", GOOD, "t3", Role.TENANT_ADMIN, set(), s.staff, s.passwords)
    assert create_staff("first@t3.cn", GOOD, "t3", Role.TENANT_ADMIN, set(), s.staff, s.passwords).tenant_id == "t3"
