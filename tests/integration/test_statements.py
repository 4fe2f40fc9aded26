"""The providers' daily statements, for real: wechatpayv3 and python-alipay-sdk against the simulators over HTTP.

The gateways are built from Secrets as functions/bootstrap.py builds them (the local stack's secrets, pointed at
a server of this test); the simulators are the local stack's, with the controls the README names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import flask
import pytest
import requests
from werkzeug.serving import make_server

from domain.errors import PaymentUnavailable
from domain.order import Channel, Order
from domain.reconciliation import PROVIDER_ZONE, LineKind, StatementLine
from handlers.ports import PaymentProvider, StatementSource
from infra.clock import SimClock
from infra.local_secrets import LocalSecrets, local_secrets, payment_simulators
from infra.payments.alipay import AlipayGateway
from infra.payments.wechatpay import WechatPayGateway
from infra.simulators.alipay import AlipaySimulator
from infra.simulators.wechatpay import WechatPaySimulator
from tests.builders import a_pending_order, months

DAY = date(2026, 12, 1)
"""The statement day of these tests (Beijing time)."""


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PROVIDER_ZONE)


class Gateway(PaymentProvider, StatementSource, Protocol): ...


@dataclass
class Provider:
    """One provider as ParkPass meets it: its gateway, its simulator's controls over HTTP, and what it notified."""

    name: str
    clock: SimClock
    gateway: Gateway
    controls: str
    """The simulator's URL prefix (`.../sim/wechatpay`)."""
    channel: Channel
    notified: Callable[[], list[str]]
    """out_trade_no of every notification attempt the simulator made."""
    simulator: WechatPaySimulator | AlipaySimulator

    def order(self, order_id: str, fen: int) -> Order:
        """An order opened at the provider now (prepay), at `fen`."""
        made = a_pending_order(order_id, DAY, DAY, self.clock.now(), package=months(1, price_fen=fen))
        made = replace(made, channel=self.channel)
        self.gateway.prepay(made, "payer-openid")
        return made

    def pay(self, order: Order, **extra: Any) -> requests.Response:
        return requests.post(f"{self.controls}/pay", json={"out_trade_no": order.id, **extra}, timeout=10)

    def paid_quietly(self, order: Order, when: datetime) -> None:
        self.clock.set(when)
        assert self.pay(order, notify=False).status_code == 200

    def refunded(self, order: Order, when: datetime) -> None:
        self.clock.set(when)
        self.gateway.refund(order, f"refund-{order.id}")


@pytest.fixture(scope="module")
def made() -> LocalSecrets:
    """The local stack's secrets, made once (RSA keys take a moment)."""
    return local_secrets(None)


@pytest.fixture(params=["wechat", "alipay"])
def provider(request: pytest.FixtureRequest, made: LocalSecrets) -> Iterator[Provider]:
    clock = SimClock(at(DAY, 9))
    wechatpay, alipay = payment_simulators(made, clock)
    app = flask.Flask("payment-simulators")
    app.register_blueprint(wechatpay.blueprint())
    app.register_blueprint(alipay.blueprint())

    # ParkPass's notification endpoints, reduced to accepting: these tests are about what gets sent.
    @app.post("/api/v1/payments/wechat/notify")
    def wechat_notified() -> tuple[str, int]:
        return "", 204

    @app.post("/api/v1/payments/alipay/notify")
    def alipay_notified() -> str:
        assert flask.request.form.get("out_trade_no")
        return "success"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    secrets = made.secrets(url)
    assert secrets.wechatpay is not None and secrets.alipay is not None
    if request.param == "wechat":
        yield Provider(
            "wechat",
            clock,
            WechatPayGateway(secrets.wechatpay, clock),
            f"{url}/sim/wechatpay",
            Channel.WECHAT,
            lambda: [no for no, _ in wechatpay.deliveries],
            wechatpay,
        )
    else:
        yield Provider(
            "alipay",
            clock,
            AlipayGateway(secrets.alipay, clock),
            f"{url}/sim/alipay",
            Channel.ALIPAY,
            lambda: [no for no, _ in alipay.deliveries],
            alipay,
        )
    server.shutdown()


def key(line: StatementLine) -> tuple[LineKind, str, str, int, str]:
    return line.kind, line.out_trade_no, line.transaction_id, line.amount_fen, line.refund_no


def test_the_days_statement_holds_exactly_its_payments_and_refunds_in_exact_fen(provider: Provider) -> None:
    provider.clock.set(at(DAY - timedelta(days=1), 23, 50))
    earlier = provider.order("o-earlier", 990)
    provider.paid_quietly(earlier, at(DAY - timedelta(days=1), 23, 50))  # the day before: not on DAY's statement
    provider.refunded(earlier, at(DAY, 8))  # ... but its refund is
    provider.clock.set(at(DAY, 9))
    paid = provider.order("o-paid", 85001)
    refunded = provider.order("o-refunded", 113)  # 1.13 yuan: 112 fen through a float
    unpaid = provider.order("o-unpaid", 30000)
    next_day = provider.order("o-next-day", 7)
    provider.paid_quietly(paid, at(DAY, 10))
    provider.paid_quietly(refunded, at(DAY, 11))
    provider.refunded(refunded, at(DAY, 15))
    provider.paid_quietly(next_day, at(DAY + timedelta(days=1), 0, 30))  # still Dec 1 in UTC
    tx = {o.id: provider.gateway.query(o).transaction_id or "" for o in (earlier, paid, refunded, next_day)}
    assert all(tx.values()) and provider.gateway.query(unpaid).paid is False

    provider.clock.set(at(DAY + timedelta(days=1), 12))
    lines = provider.gateway.statement(DAY)

    assert sorted(map(key, lines)) == sorted(
        [
            (LineKind.PAYMENT, "o-paid", tx["o-paid"], 85001, ""),
            (LineKind.PAYMENT, "o-refunded", tx["o-refunded"], 113, ""),
            (LineKind.REFUND, "o-refunded", tx["o-refunded"], 113, "refund-o-refunded"),
            (LineKind.REFUND, "o-earlier", tx["o-earlier"], 990, "refund-o-earlier"),
        ]
    )
    times = {(line.kind, line.out_trade_no): line.at for line in lines}
    expected = {
        (LineKind.PAYMENT, "o-paid"): at(DAY, 10),
        (LineKind.PAYMENT, "o-refunded"): at(DAY, 11),
        (LineKind.REFUND, "o-refunded"): at(DAY, 15),
        (LineKind.REFUND, "o-earlier"): at(DAY, 8),
    }
    for which, when in expected.items():
        assert abs(times[which] - when) < timedelta(seconds=3), which  # the clock runs on from where it was set
        assert times[which].utcoffset() == timedelta(hours=8)


def test_a_day_with_nothing_is_empty_once_its_bill_is_due_and_unavailable_before(provider: Provider) -> None:
    quiet = DAY - timedelta(days=3)
    provider.clock.set(at(quiet + timedelta(days=1), 9))  # the bill of a quiet day is not due before 10:00
    with pytest.raises(PaymentUnavailable):
        provider.gateway.statement(quiet)
    provider.clock.set(at(quiet + timedelta(days=1), 10, 30))
    assert provider.gateway.statement(quiet) == []


def test_a_day_not_over_yet_has_no_statement(provider: Provider) -> None:
    paid = provider.order("o-today", 500)
    provider.paid_quietly(paid, at(DAY, 10))
    with pytest.raises(PaymentUnavailable):
        provider.gateway.statement(DAY)


def test_a_bill_changed_on_its_way_is_unavailable(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    """WeChat Pay's answer carries the file's SHA1; Alipay's carries no hash, so a broken archive is what shows."""
    paid = provider.order("o-paid", 85001)
    provider.paid_quietly(paid, at(DAY, 10))
    provider.clock.set(at(DAY + timedelta(days=1), 12))
    provider.simulator.corrupt_bills = True
    with caplog.at_level(logging.WARNING, logger="parkpass.security"), pytest.raises(PaymentUnavailable):
        provider.gateway.statement(DAY)
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING] == ["parkpass.security"]
    provider.simulator.corrupt_bills = False
    assert [line.out_trade_no for line in provider.gateway.statement(DAY)] == ["o-paid"]


def test_paying_with_notify_false_sends_no_notification(provider: Provider) -> None:
    quiet, loud = provider.order("o-quiet", 100), provider.order("o-loud", 200)
    assert provider.pay(quiet, notify="no").status_code == 400
    assert provider.pay(quiet, notify=False).status_code == 200
    assert provider.pay(loud).status_code == 200
    deadline = time.monotonic() + 5
    while "o-loud" not in provider.notified() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert provider.notified() == ["o-loud"]
    assert provider.gateway.query(quiet).paid  # paid all the same: a query finds it


def test_failing_queries_are_unavailable_until_they_work_again(provider: Provider) -> None:
    paid = provider.order("o-paid", 85001)
    provider.paid_quietly(paid, at(DAY, 10))
    answer = requests.post(f"{provider.controls}/queries", json={"failing": True}, timeout=10)
    assert answer.json() == {"failing_queries": True}
    with pytest.raises(PaymentUnavailable):
        provider.gateway.query(paid)
    assert requests.post(f"{provider.controls}/queries", json={"failing": "yes"}, timeout=10).status_code == 400
    assert requests.post(f"{provider.controls}/queries", json={"failing": False}, timeout=10).ok
    status = provider.gateway.query(paid)
    assert status.paid and status.amount_fen == 85001
