"""I7: a paid period has exactly the package's length, whatever pauses or refunds happen around it.

The two symptoms found by trying the product: a renewal during a pause counted its month
from the pause-moved end (and lost days on resume), and refunding an earlier period took
its days off the end, leaving the card off the month-end chain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.card import Card, CardState
from domain.lot import CardPolicy, Lot
from domain.order import Channel, Order
from domain.owner import Owner
from functions.bootstrap import Services
from handlers.card_changes import pause_card, resume_card
from handlers.fulfil_payment import Outcome, fulfil_payment
from handlers.ports import PaymentNotice
from handlers.refund_order import refund_order
from handlers.renewals import order_renewal
from tests.builders import add_card, months
from tests.fakes import FixedClock, NoPayments, fake_services

SHANGHAI = ZoneInfo("Asia/Shanghai")


def on(day: date) -> datetime:
    return datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)


def services(ends: date, today: date) -> Services:
    s = fake_services(on(today))
    policy = CardPolicy(pause_allowed=True, pause_min_days=3, pause_max_days=90, pauses_per_year=5)
    s.lots.add(Lot("lot-1", "Test Lot", cards=policy))
    for n in (1, 3):
        s.packages.add(months(n))
    s.owners.add(Owner("owner-1", "openid-1"))
    add_card(s, Card("card-1", "lot-1", "owner-1", ("粤B12345",), date(2026, 1, 1), ends, CardState.ACTIVE))
    return s


def at(s: Services, day: date) -> None:
    clock = s.clock
    assert isinstance(clock, FixedClock)
    clock._now = on(day)


def renew(s: Services, package_id: str, key: str) -> Order:
    made = order_renewal(
        "owner-1", "card-1", package_id, Channel.WECHAT, key,
        cards=s.cards, lots=s.lots, packages=s.packages, owners=s.owners, orders=s.orders, uow=s.uow,
        provider=NoPayments(), ids=s.ids, clock=s.clock,
    ).order  # fmt: skip
    notice = PaymentNotice(made.id, f"tx-{made.id}", made.amount_fen, s.clock.now(), True)
    assert fulfil_payment(notice, s.orders, s.cards, s.uow) is Outcome.FULFILLED
    paid = s.orders.get(made.id)
    assert paid is not None
    return paid


def pause(s: Services, starts: date, until: date | None) -> None:
    pause_card("owner-1", "card-1", starts, until, s.cards, s.lots, s.uow, s.ids, s.clock)


def resume(s: Services) -> date | None:
    return resume_card("owner-1", "card-1", s.cards, s.lots, s.uow, s.clock).valid_until


@pytest.mark.parametrize("until", [date(2027, 1, 1), None], ids=["30 days", "open-ended"])
def test_a_renewal_during_a_pause_ends_where_resuming_first_and_then_renewing_would(until: date | None) -> None:
    # The card ends 2027-01-20; paused from 2026-12-03; renewed one month on Dec 5; resumed Dec 8.
    during = services(date(2027, 1, 20), date(2026, 12, 1))
    pause(during, date(2026, 12, 3), until)
    at(during, date(2026, 12, 5))
    renew(during, "m1", "renew-in-pause")
    at(during, date(2026, 12, 8))
    renewed_then_resumed = resume(during)

    after = services(date(2027, 1, 20), date(2026, 12, 1))
    pause(after, date(2026, 12, 3), until)
    at(after, date(2026, 12, 8))
    resume(after)  # paused Dec 3..7: five days, so the card ends Jan 25
    renew(after, "m1", "renew-after-pause")
    resumed_then_renewed = after.cards.get("card-1")

    assert resumed_then_renewed is not None and resumed_then_renewed.valid_until == date(2027, 2, 25)
    assert renewed_then_resumed == date(2027, 2, 25)


def test_a_renewal_during_a_pause_that_runs_its_course_keeps_the_whole_month() -> None:
    s = services(date(2027, 1, 31), date(2026, 12, 1))
    pause(s, date(2026, 12, 3), date(2026, 12, 12))  # ten days: the card now ends Feb 10
    at(s, date(2026, 12, 5))
    bought = renew(s, "m1", "renew-in-pause")
    # A month after the paid end (Jan 31 -> Feb 28), moved by the pause's ten days.
    assert (bought.new_valid_from, bought.new_valid_until) == (date(2027, 2, 11), date(2027, 3, 10))
    card = s.cards.get("card-1")
    assert card is not None and card.valid_until == date(2027, 3, 10)


def test_refunding_an_earlier_period_leaves_the_card_as_if_it_had_never_been_bought() -> None:
    s = services(date(2027, 1, 31), date(2026, 12, 1))
    first = renew(s, "m1", "one-month-00")  # to Feb 28
    renew(s, "m3", "three-months")  # to May 31: month ends stay month ends
    assert s.cards.get("card-1").valid_until == date(2027, 5, 31)  # type: ignore[union-attr]
    at(s, date(2026, 12, 2))
    refund_order(first.id, s.orders, s.cards, s.lots, NoPayments(), s.uow, s.clock, s.invoicing, "admin:test")
    # Jan 31 + three months, not May 31 less February's 28 days (May 3).
    assert s.cards.get("card-1").valid_until == date(2027, 4, 30)  # type: ignore[union-attr]


def test_refunding_the_first_period_after_a_lapse_counts_the_next_from_where_the_card_ended() -> None:
    s = services(date(2026, 11, 20), date(2026, 12, 1))  # lapsed: a renewal starts today
    first = renew(s, "m1", "lapsed-renew")  # Dec 1 - Dec 31
    renew(s, "m1", "then-another")  # Jan 1 - Jan 31
    at(s, date(2026, 12, 2))
    refund_order(first.id, s.orders, s.cards, s.lots, NoPayments(), s.uow, s.clock, s.invoicing, "admin:test")
    card = s.cards.get("card-1")
    # As if the first had never been bought: the second would have started on its own day (Dec 1) for a month.
    assert card is not None and card.valid_until == date(2026, 12, 31)
