"""A monthly parking card (月卡): which plates may park, from when until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.errors import InvalidCard
from domain.ids import checked_id

MAX_PLATES_PER_CARD = 5
"""One space, a few cars (一位多车); more than this is a data-entry mistake."""
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
"""The days a card may run between: far enough for any real card, and room left for date arithmetic (a month
more, a year of reminders) without leaving the calendar."""


class CardState(StrEnum):
    PENDING = "pending"
    """Approved but never paid: no validity yet."""
    ACTIVE = "active"
    PAUSED = "paused"
    """Only ever read, never stored: an active card reads paused on the days a scheduled pause covers."""
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PauseState(StrEnum):
    REQUESTED = "requested"
    """Waits for the office to approve it; nothing has moved."""
    SCHEDULED = "scheduled"
    """Approved: the card is paused from `starts` through `until` and its end already moved by those days."""
    ENDED = "ended"
    """Resumed early: `until` is now the last day actually paused."""
    WITHDRAWN = "withdrawn"
    """Called off before it paused a day: it moved nothing and does not count."""
    REJECTED = "rejected"


@dataclass(frozen=True)
class Pause:
    id: str
    starts: date
    """First paused day, lot-local."""
    until: date
    """Last paused day, inclusive: the card admits again the day after."""
    state: PauseState
    requested_at: datetime
    open_ended: bool = False
    """The owner gave no end: it runs until they resume, at most the lot's maximum (which `until` holds)."""
    reason: str | None = None

    @property
    def days(self) -> int:
        return (self.until - self.starts).days + 1

    def covers(self, day: date) -> bool:
        return self.state in (PauseState.SCHEDULED, PauseState.ENDED) and self.starts <= day <= self.until


@dataclass(frozen=True)
class ClaimTicket:
    """How the owner of a card the office imported proves it is theirs, before it is claimed.

    By the phone the office knew (kept sealed; found by its keyed fingerprint, never by the number)
    or by a code printed on a slip (found by its locator; its secret kept only as a fingerprint).
    """

    phone_key: str | None = None
    phone_sealed: bytes | None = None
    phone_last4: str | None = None
    code_locator: str | None = None
    code_key: str | None = None
    code_failures: int = 0
    """Wrong secrets tried against this card's code; at the limit the code is dead (the office prints another)."""


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
    pauses: tuple[Pause, ...] = ()
    inside: str | None = None
    """With several plates, the one a gate last let in (only one may be inside at a time)."""
    inside_since: datetime | None = None
    plate_changes: tuple[date, ...] = ()
    """Lot-local days the owner swapped a plate (for the lot's monthly allowance)."""
    pay_by: date | None = None
    """An approved card not paid for by the end of this day lapses."""
    holder: str | None = None
    """The name the office knows the card by (from an import or the office); owners sign in by WeChat."""
    claim: ClaimTicket | None = None
    """Set while an imported card waits for its owner to claim it (it belongs to the office until then)."""

    def __post_init__(self) -> None:
        checked_id("card_id", self.id)
        checked_id("lot_id", self.lot_id)
        checked_id("owner_id", self.owner_id)
        if not 1 <= len(self.plates) <= MAX_PLATES_PER_CARD:
            raise InvalidCard("card_plates", most=MAX_PLATES_PER_CARD)
        if len(set(self.plates)) != len(self.plates):
            raise InvalidCard("plate_twice")
        if (self.valid_from is None) != (self.valid_until is None):
            raise InvalidCard("period_half")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise InvalidCard("period_reversed")
        if any(d is not None and not FIRST_DAY <= d <= LAST_DAY for d in (self.valid_from, self.valid_until)):
            raise InvalidCard("date_range", first=FIRST_DAY, last=LAST_DAY)
        if self.state not in (CardState.PENDING, CardState.CANCELLED) and self.valid_until is None:
            raise InvalidCard("period_missing", state=self.state.value)
        if self.state is CardState.PAUSED:
            raise InvalidCard("paused_stored")
        if self.inside is not None and self.inside not in self.plates:
            raise InvalidCard("inside_not_on_card")

    def runs_through(self, today: date) -> bool:
        """True when the card's paid period still covers `today` (it may be paused)."""
        return (
            self.state in (CardState.ACTIVE, CardState.PAUSED)
            and self.valid_until is not None
            and self.valid_until >= today
        )

    def state_on(self, today: date) -> CardState:
        """The state an owner or a gate should see today: past its end it has expired; in a pause, paused."""
        if self.state is CardState.ACTIVE and self.valid_until is not None and self.valid_until < today:
            return CardState.EXPIRED
        if self.state is CardState.ACTIVE and self.pause_on(today) is not None:
            return CardState.PAUSED
        return self.state

    def pause_on(self, day: date) -> Pause | None:
        return next((p for p in self.pauses if p.covers(day)), None)

    def open_pause(self, today: date) -> Pause | None:
        """The pause still waiting, still to come or still running today, if any (there is at most one)."""
        return next(
            (
                p
                for p in self.pauses
                if p.state is PauseState.REQUESTED or (p.state is PauseState.SCHEDULED and p.until >= today)
            ),
            None,
        )

    def gate_pause(self) -> Pause | None:
        """The latest scheduled or ended pause: gates deny inside its window, offline."""
        return max(
            (p for p in self.pauses if p.state in (PauseState.SCHEDULED, PauseState.ENDED)),
            key=lambda p: p.starts,
            default=None,
        )

    def days_left(self, today: date) -> int:
        """Whole days the card still admits, today included; 0 when lapsed."""
        if not self.runs_through(today) or self.valid_until is None:
            return 0
        return (self.valid_until - today).days + 1
