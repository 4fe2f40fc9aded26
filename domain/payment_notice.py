"""When a provider's notification may be acted on: only while the provider could still be sending it.

Alipay resends an unanswered notification for about 25 hours (right away, then after 4m, 10m, 10m, 1h, 2h,
6h and 15h: 24h24m in all) with the same notify_id. A signed notification whose `notify_time` lies beyond
that window (plus an hour's margin), or further ahead of our clock than a small skew, is not one Alipay is
sending now: it is a replay (a captured form posted again, say after a refund) and is refused, changing
nothing. Refusing it never loses a payment: the order stays pending and the sweep asks Alipay about it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import PaymentRejected

ALIPAY_RETRY_WINDOW = timedelta(hours=25)
ALIPAY_NOTICE_MAX_AGE = ALIPAY_RETRY_WINDOW + timedelta(hours=1)
NOTICE_MAX_AHEAD = timedelta(minutes=5)
"""Clocks disagree a little; a notification from further ahead than this was not sent now."""


def check_sent_in_window(
    sent_at: datetime | None,
    now: datetime,
    max_age: timedelta = ALIPAY_NOTICE_MAX_AGE,
    max_ahead: timedelta = NOTICE_MAX_AHEAD,
) -> None:
    """Refuse a notification sent (by its own signed time) too long ago, in the future, or at no time."""
    if sent_at is None:
        raise PaymentRejected("notice_time")
    if sent_at < now - max_age:
        raise PaymentRejected("notice_too_old", hours=int(max_age.total_seconds() // 3600))
    if sent_at > now + max_ahead:
        raise PaymentRejected("notice_from_future", minutes=int(max_ahead.total_seconds() // 60))
