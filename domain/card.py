"""A monthly parking card (月卡): which plates may park, from when until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import InvalidCard
from domain.ids import checked_id

MAX_PLATES_PER_CARD = 5
"""One space, a few cars (一位多车); more than this is a data-entry mistake."""


class CardState(StrEnum):
    PENDING = "pending"
    """Approved but never paid: no validity yet."""
    ACTIVE = "active"
    PAUSED = "paused"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Card:
    id: str
    lot_id: str
    owner_id: str
    plates: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    """Inclusive, lot-local: the card admits through the end of this day."""
    state: CardState
    version: int = 0
    """Optimistic-locking version; the store bumps it on every write."""

    def __post_init__(self) -> None:
        checked_id("card_id", self.id)
        checked_id("lot_id", self.lot_id)
        checked_id("owner_id", self.owner_id)
        if not 1 <= len(self.plates) <= MAX_PLATES_PER_CARD:
            raise InvalidCard(f"a card holds 1 to {MAX_PLATES_PER_CARD} plates")
        if len(set(self.plates)) != len(self.plates):
            raise InvalidCard("a plate appears twice on the card")
        if (self.valid_from is None) != (self.valid_until is None):
            raise InvalidCard("valid_from and valid_until are set together")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise InvalidCard("valid_from is after valid_until")
        if self.state is not CardState.PENDING and self.valid_until is None:
            raise InvalidCard(f"a {self.state.value} card needs a validity period")

    def runs_through(self, today: date) -> bool:
        """True when the card's paid period still covers `today` (it may be paused)."""
        return (
            self.state in (CardState.ACTIVE, CardState.PAUSED)
            and self.valid_until is not None
            and self.valid_until >= today
        )

    def state_on(self, today: date) -> CardState:
        """The state an owner or a gate should see today: an active card past its end has expired."""
        if self.state is CardState.ACTIVE and self.valid_until is not None and self.valid_until < today:
            return CardState.EXPIRED
        return self.state

    def days_left(self, today: date) -> int:
        """Whole days the card still admits, today included; 0 when lapsed."""
        if not self.runs_through(today) or self.valid_until is None:
            return 0
        return (self.valid_until - today).days + 1
