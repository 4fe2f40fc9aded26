"""A provider's notification is acted on only while the provider could still be sending it (#17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import PaymentRejected
from domain.payment_notice import ALIPAY_NOTICE_MAX_AGE, NOTICE_MAX_AHEAD, check_sent_in_window

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "sent_at",
    [
        NOW,
        NOW - timedelta(minutes=4),
        NOW - timedelta(hours=24, minutes=24),  # Alipay's last resend: right away, 4m, 10m, 10m, 1h, 2h, 6h, 15h
        NOW - ALIPAY_NOTICE_MAX_AGE,
        NOW + NOTICE_MAX_AHEAD,  # a clock a little ahead of ours
    ],
)
def test_a_notification_alipay_could_still_be_sending_is_acted_on(sent_at: datetime) -> None:
    check_sent_in_window(sent_at, NOW)


@pytest.mark.parametrize(
    ("sent_at", "key", "chinese"),
    [
        (NOW - ALIPAY_NOTICE_MAX_AGE - timedelta(seconds=1), "notice_too_old",
         "支付通知的发送时间早于 26 小时前，超出支付宝的重发期限"),
        (NOW - timedelta(days=90), "notice_too_old", "支付通知的发送时间早于 26 小时前，超出支付宝的重发期限"),
        (NOW + NOTICE_MAX_AHEAD + timedelta(seconds=1), "notice_from_future",
         "支付通知的发送时间比服务器时间晚 5 分钟以上"),
        (None, "notice_time", "支付通知缺少发送时间或格式不对"),
    ],
)  # fmt: skip
def test_a_notification_from_outside_the_window_is_refused(sent_at: datetime | None, key: str, chinese: str) -> None:
    with pytest.raises(PaymentRejected) as refused:
        check_sent_in_window(sent_at, NOW)
    assert (refused.value.code, refused.value.key, refused.value.text("zh")) == ("payment_rejected", key, chinese)


def test_the_window_covers_alipays_25_hours_of_resending_with_a_margin() -> None:
    resends = [timedelta(minutes=m) for m in (4, 10, 10, 60, 120, 360, 900)]
    assert sum(resends, timedelta()) < timedelta(hours=25) < ALIPAY_NOTICE_MAX_AGE <= timedelta(hours=27)
