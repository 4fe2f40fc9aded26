"""What the barrier does with a car, and what its display says (Chinese; English on request). Pure.

A parking contract may be enforced at the barrier (an expired card, an unpaid visit, a full lot for visitors);
property-fee arrears never: the owner is only reminded (Civil Code art. 944), whatever the lot's policy says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.money import yuan_text


class Kind(StrEnum):
    CARD = "card"
    VISITOR = "visitor"
    EXEMPT = "exempt"
    BLACKLISTED = "blacklisted"
    UNKNOWN = "unknown"


class ExpiredCard(StrEnum):
    REFUSE = "refuse"
    VISITOR = "visitor"
    """Let in (and out) as a visitor, paying the visitor fee."""


class UnpaidVisit(StrEnum):
    REFUSE = "refuse"
    REMIND = "remind"


@dataclass(frozen=True)
class BarrierPolicy:
    expired_card: ExpiredCard = ExpiredCard.VISITOR
    unpaid_visit: UnpaidVisit = UnpaidVisit.REMIND
    leave_minutes: int = 15
    """After paying a visit, the car leaves within this; staying longer owes the difference."""


@dataclass(frozen=True)
class Car:
    """What the lot knows of a plate at the barrier."""

    plate: str
    card_until: date | None = None
    """The last day a card of the plate is valid (grace included); None: no card."""
    exempt: bool = False
    blacklisted: bool = False
    owes_visits_fen: int = 0
    """Unpaid earlier visits."""
    property_arrears: bool = False
    """The card holder's unit owes property fees: a reminder, never a refusal."""


@dataclass(frozen=True)
class Decision:
    allow: bool
    kind: Kind
    display: str
    fee_fen: int = 0
    remind: str | None = None
    """A reminder to push to the owner (at most once a day), besides the display."""


def entry(car: Car, today: date, visitor_spaces_free: int, policy: BarrierPolicy, lang: str = "zh") -> Decision:
    if car.blacklisted:
        shown = _t(lang, f"{car.plate} 禁止通行 请联系物业", f"{car.plate} not allowed")
        return Decision(False, Kind.BLACKLISTED, shown)
    if car.exempt:
        return Decision(True, Kind.EXEMPT, _t(lang, f"{car.plate} 欢迎光临", f"{car.plate} welcome"))
    if car.card_until is not None and car.card_until >= today:
        left = (car.card_until - today).days
        shown = _t(lang, f"{car.plate} 月卡剩余{left}天", f"{car.plate} card: {left} days left")
        return _arrears(Decision(True, Kind.CARD, shown), car, lang)
    if car.card_until is not None and policy.expired_card is ExpiredCard.REFUSE:
        shown = _t(lang, f"{car.plate} 月卡已过期 请续费", f"{car.plate} card expired: please renew")
        return Decision(False, Kind.CARD, shown)
    if car.owes_visits_fen and policy.unpaid_visit is UnpaidVisit.REFUSE:
        owed = yuan_text(car.owes_visits_fen)
        shown = _t(lang, f"{car.plate} 有未缴停车费{owed}元 请先缴费", f"{car.plate} owes {owed} yuan: pay first")
        return Decision(False, Kind.VISITOR, shown, car.owes_visits_fen)
    if visitor_spaces_free <= 0:
        return Decision(False, Kind.VISITOR, _t(lang, "满位", "full"))
    shown = _t(lang, f"{car.plate} 临时车 欢迎光临", f"{car.plate} visitor: welcome")
    if car.owes_visits_fen:
        owed = yuan_text(car.owes_visits_fen)
        shown += _t(lang, f" 有未缴停车费{owed}元", f"; owes {owed} yuan")
    return _arrears(Decision(True, Kind.VISITOR, shown), car, lang)


def exit_(car: Car, today: date, stayed: timedelta, fee_fen: int, paid_fen: int, paid_at: datetime | None,
          now: datetime, policy: BarrierPolicy, lang: str = "zh") -> Decision:  # fmt: skip
    """A car leaving: a card holder or an exempt car goes; a visitor goes once its stay is paid: within the leave
    window after paying it goes; later, it owes the fee of its stay as of `now` less what it paid."""
    if car.exempt:
        return Decision(True, Kind.EXEMPT, _t(lang, f"{car.plate} 一路顺风", f"{car.plate} goodbye"))
    if car.card_until is not None and car.card_until >= today:
        return _arrears(Decision(True, Kind.CARD, _t(lang, f"{car.plate} 一路顺风", f"{car.plate} goodbye")), car, lang)
    in_window = paid_at is not None and paid_fen > 0 and now - paid_at <= timedelta(minutes=policy.leave_minutes)
    owed = max(0, fee_fen - paid_fen)
    if in_window or owed == 0:  # paid, and leaving within the window: a period started since is not owed
        return Decision(True, Kind.VISITOR, _t(lang, f"{car.plate} 一路顺风", f"{car.plate} goodbye"))
    hours, minutes = divmod(int(stayed.total_seconds()) // 60, 60)
    shown = _t(lang, f"临时车 停车{hours}小时{minutes}分 应缴{yuan_text(owed)}元",
               f"visitor: {hours} h {minutes} min, {yuan_text(owed)} yuan to pay")  # fmt: skip
    return Decision(False, Kind.VISITOR, shown, owed)


def spaces_text(free: int, lang: str = "zh") -> str:
    return _t(lang, f"余位 {free}", f"{free} free") if free > 0 else _t(lang, "满位", "full")


def _arrears(decision: Decision, car: Car, lang: str) -> Decision:
    """Property-fee arrears add a reminder to a decision; they never change whether the barrier opens."""
    if not car.property_arrears:
        return decision
    text = _t(lang, "物业费已欠缴 请及时缴纳", "property fees are overdue: please pay")
    return Decision(decision.allow, decision.kind, f"{decision.display} {text}", decision.fee_fen, text)


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh
