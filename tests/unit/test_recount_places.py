"""Lots whose cards were written before places were counted on every path get their count from their cards."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.card import Card, CardState
from domain.lot import Lot
from handlers.recount_places import recount_places
from tests.fakes import fake_services, memory_of
from tests.memory import MemoryUnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_a_lot_counted_short_gets_its_cards_count_once_and_the_office_sees_why() -> None:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "Test Lot", quota=2))
    db = memory_of(s)
    for n, state in enumerate((CardState.ACTIVE, CardState.EXPIRED, CardState.PENDING, CardState.CANCELLED)):
        until = date(2026, 12, 31) if state is not CardState.PENDING else None
        since = date(2026, 1, 1) if until else None
        db.cards[f"card-{n}"] = Card(f"card-{n}", "lot-1", "owner-1", (f"粤B1000{n}",), since, until, state, 1)
    assert recount_places("lot-1", "admin:m", s.cards, s.lots, s.uow, s.clock) == (0, 3)
    assert s.lots.get("lot-1").held == 3  # type: ignore[union-attr]  # past the quota of 2: they exist already
    (entry,) = [e for (subject, _), e in db.audit.items() if subject == "lot:lot-1"]
    assert (entry.action, entry.before, entry.after) == ("recount_places", {"held": 0}, {"held": 3})
    assert isinstance(s.uow, MemoryUnitOfWork)
    commits = s.uow.commits
    assert recount_places("lot-1", "admin:m", s.cards, s.lots, s.uow, s.clock) == (3, 3)
    assert s.uow.commits == commits  # right already: nothing written


def test_a_recount_raced_by_an_approval_counts_again() -> None:
    s = fake_services(NOW)
    s.lots.add(Lot("lot-1", "Test Lot"))
    db = memory_of(s)
    db.cards["card-0"] = Card("card-0", "lot-1", "owner-1", ("粤B10000",), None, None, CardState.PENDING, 1)
    assert isinstance(s.uow, MemoryUnitOfWork)
    race = iter([True])

    def a_card_is_approved_meanwhile() -> None:
        if next(race, False):
            db.cards["card-1"] = Card("card-1", "lot-1", "owner-2", ("粤B10001",), None, None, CardState.PENDING, 1)
            db.lots["lot-1"] = Lot("lot-1", "Test Lot", held=1)

    s.uow.before_commit = a_card_is_approved_meanwhile
    assert recount_places("lot-1", "admin:m", s.cards, s.lots, s.uow, s.clock) == (1, 2)
    assert s.lots.get("lot-1").held == 2  # type: ignore[union-attr]
