"""Recount a lot's places from its cards (I1), for lots whose cards were written before places were counted on
every path (an import or a seed of an earlier version did not move `held`)."""

from __future__ import annotations

from domain.card_change import AuditEntry, entry_time
from domain.errors import Conflict, LotNotFound, StaleLot
from domain.plan import LotMove, Plan, holds_place
from handlers.ports import CardRepository, Clock, LotRepository, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


def recount_places(
    lot_id: str, actor: str, cards: CardRepository, lots: LotRepository, uow: UnitOfWork, clock: Clock
) -> tuple[int, int]:
    """Set `held` to the number of the lot's cards that hold a place; answers (before, after).

    The count is committed only if `held` is still what was read, so an approval or a
    cancel meanwhile makes it count again; a lot already right is left as it is.
    """
    for attempt in range(MAX_ATTEMPTS):
        lot = lots.get(lot_id)
        if lot is None:
            raise LotNotFound(lot_id)
        counted = sum(1 for c in cards.list_for_lot(lot.id) if holds_place(c))
        if counted == lot.held:
            return lot.held, counted
        at = clock.now()
        entry = AuditEntry(
            f"lot:{lot.id}", f"{entry_time(at)}#recount_places", at, actor, "recount_places",
            "places counted from the lot's cards", {"held": lot.held}, {"held": counted},
        )  # fmt: skip
        move = LotMove(lot.id, held=counted - lot.held, within_quota=False, held_at=lot.held)
        try:
            uow.commit(Plan(lot=move, audit=(entry,)))
        except StaleLot:
            wait_before_retry(attempt)
            continue
        return lot.held, counted
    raise Conflict("kept_changing")
