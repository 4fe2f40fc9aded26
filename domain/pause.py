"""Pausing a card (月卡暂停) while its owner is away, and resuming it.

A scheduled pause moves the card's end out by all its planned days at once, so
every gate holds the final end date and the pause window and decides offline.
Resuming early gives back the days not used: the card ends later by exactly the
days actually paused, from the pause's first day up to, not including, the
resume day. An open-ended pause is planned to the lot's maximum.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from domain.card import Card, CardState, Pause, PauseState
from domain.errors import InvalidPause, PauseNotFound, PauseRefused
from domain.lot import Lot


def request_pause(
    card: Card, lot: Lot, starts: date, until: date | None, today: date, pause_id: str, at: datetime
) -> Card:
    """The card with a new pause: scheduled (end moved) or, where the office approves pauses, requested."""
    policy = lot.cards
    if not policy.pause_allowed:
        raise PauseRefused("pause_not_allowed", lot=lot.name)
    if starts <= today:
        raise InvalidPause("pause_too_early", earliest=today + timedelta(days=1))
    if until is not None and until < starts:
        raise InvalidPause("pause_reversed")
    if card.state_on(today) is not CardState.ACTIVE or card.valid_until is None:
        raise PauseRefused("pause_not_active", state=card.state_on(today).value)
    if starts > card.valid_until:
        raise PauseRefused("pause_after_end", end=card.valid_until)
    if card.open_pause(today) is not None:
        raise PauseRefused("pause_open")
    last = until if until is not None else starts + timedelta(days=policy.pause_max_days - 1)
    days = (last - starts).days + 1
    if not policy.pause_min_days <= days <= policy.pause_max_days:
        raise PauseRefused("pause_length", least=policy.pause_min_days, most=policy.pause_max_days, days=days)
    taken = sum(1 for p in card.pauses if p.starts.year == starts.year and _counts(p))
    if taken >= policy.pauses_per_year:
        raise PauseRefused("pauses_used", taken=taken, year=starts.year, lot=lot.name, allowed=policy.pauses_per_year)
    state = PauseState.REQUESTED if policy.pause_needs_approval else PauseState.SCHEDULED
    pause = Pause(pause_id, starts, last, state, at, open_ended=until is None)
    paused = replace(card, pauses=(*card.pauses, pause))
    return _moved(paused, days) if state is PauseState.SCHEDULED else paused


def decide_pause(card: Card, pause_id: str, approve: bool, today: date, reason: str | None = None) -> Card:
    """The office's answer to a requested pause. Deciding again the same way changes nothing."""
    pause = next((p for p in card.pauses if p.id == pause_id), None)
    if pause is None:
        raise PauseNotFound(pause_id)
    wanted = PauseState.SCHEDULED if approve else PauseState.REJECTED
    if pause.state is wanted:
        return card
    if pause.state is not PauseState.REQUESTED:
        raise PauseRefused("pause_decided", state=pause.state.value)
    if approve and pause.starts < today:
        raise PauseRefused("pause_missed", starts=pause.starts)
    decided = _with(card, replace(pause, state=wanted, reason=reason))
    return _moved(decided, pause.days) if approve else decided


def resume(card: Card, today: date) -> Card:
    """End the card's pause today (or withdraw one still to come). Nothing to resume: the card as it is."""
    pause = card.open_pause(today)
    if pause is None:
        return card
    if pause.state is PauseState.REQUESTED:
        return _with(card, replace(pause, state=PauseState.WITHDRAWN))
    paused_days = max(0, (today - pause.starts).days)
    if paused_days == 0:  # it had not paused a whole day: as if it had never been
        return _moved(_with(card, replace(pause, state=PauseState.WITHDRAWN)), -pause.days)
    ended = replace(pause, state=PauseState.ENDED, until=today - timedelta(days=1))
    return _moved(_with(card, ended), -(pause.days - paused_days))


def _counts(pause: Pause) -> bool:
    return pause.state in (PauseState.REQUESTED, PauseState.SCHEDULED, PauseState.ENDED)


def _with(card: Card, pause: Pause) -> Card:
    return replace(card, pauses=tuple(pause if p.id == pause.id else p for p in card.pauses))


def _moved(card: Card, days: int) -> Card:
    if card.valid_until is None:  # its every period was refunded meanwhile: nothing left to move
        return card
    return replace(card, valid_until=card.valid_until + timedelta(days=days))
