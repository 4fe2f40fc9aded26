"""Refund results, for real: wechatpayv3 and python-alipay-sdk against the simulators over HTTP.

WeChat Pay answers a refund SUCCESS or PROCESSING and later notifies REFUND.SUCCESS / ABNORMAL / CLOSED to the
notify_url the refund named; Alipay answers fund_change Y or N and tells the rest through its refund query. The
gateways are built from the local stack's secrets as in test_statements.py; ParkPass's refund notification route is
reduced to keeping what arrives, so the gateway reads exactly what the simulator sent.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import flask
import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.serving import make_server

from domain.errors import PaymentRejected, PaymentUnavailable
from domain.order import Channel, Order, RefundState
from domain.reconciliation import PROVIDER_ZONE, LineKind, StatementLine
from handlers.ports import RefundNotice
from infra.clock import SimClock
from infra.local_secrets import LocalSecrets, local_secrets, payment_simulators
from infra.payments.alipay import AlipayGateway
from infra.payments.wechatpay import WechatPayGateway
from infra.simulators.alipay import AlipaySimulator
from infra.simulators.wechatpay import WechatPaySimulator
from tests.builders import a_pending_order, months

DAY = date(2026, 12, 1)
"""The day the refunds are asked for (Beijing time)."""
DELIVERY_WAIT_S = 5


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PROVIDER_ZONE)


@dataclass
class Stack:
    """Both providers' gateways and simulators on one loopback server, and the refund notifications that reached
    ParkPass's refund route there."""

    clock: SimClock
    url: str
    wechat: WechatPayGateway
    wechatpay: WechatPaySimulator
    alipay: AlipayGateway
    alipay_sim: AlipaySimulator
    arrived: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def paid(self, order_id: str, channel: Channel, fen: int = 85001) -> Order:
        """An order opened at the provider and paid there now (no payment notification: not what is tested)."""
        order = a_pending_order(order_id, DAY, DAY, self.clock.now(), package=months(1, price_fen=fen))
        order = replace(order, channel=channel)
        sim = "wechatpay" if channel is Channel.WECHAT else "alipay"
        (self.wechat if channel is Channel.WECHAT else self.alipay).prepay(order, "payer-openid")
        answer = requests.post(
            f"{self.url}/sim/{sim}/pay", json={"out_trade_no": order.id, "notify": False}, timeout=10
        )
        assert answer.status_code == 200
        return order

    def control(self, path: str, body: Mapping[str, object]) -> requests.Response:
        return requests.post(f"{self.url}/sim/{path}", json=body, timeout=10)

    def notified(self, count: int) -> list[tuple[dict[str, str], str]]:
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while len(self.arrived) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.arrived)

    def recorded(self, attempts: list[tuple[str, int]], count: int) -> list[tuple[str, int]]:
        """The simulator records a delivery once ParkPass's answer is back, which is after the route has run."""
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while len(attempts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(attempts)


@pytest.fixture(scope="module")
def made() -> LocalSecrets:
    """The local stack's secrets, made once (RSA keys take a moment)."""
    return local_secrets(None)


@pytest.fixture
def stack(made: LocalSecrets) -> Iterator[Stack]:
    clock = SimClock(at(DAY, 9))
    wechatpay, alipay = payment_simulators(made, clock)
    arrived: list[tuple[dict[str, str], str]] = []
    app = flask.Flask("payment-simulators")
    app.register_blueprint(wechatpay.blueprint())
    app.register_blueprint(alipay.blueprint())

    @app.post("/api/v1/payments/wechat/refund-notify")
    def wechat_refund_notified() -> tuple[str, int]:
        # As the real route passes them: the Wechatpay-* headers and the raw body.
        headers = {k: v for k, v in flask.request.headers.items() if k.lower().startswith("wechatpay-")}
        arrived.append((headers, flask.request.get_data(as_text=True)))
        return "", 204

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    secrets = made.secrets(url)
    assert secrets.wechatpay is not None and secrets.alipay is not None
    yield Stack(
        clock,
        url,
        WechatPayGateway(secrets.wechatpay, clock),
        wechatpay,
        AlipayGateway(secrets.alipay, clock),
        alipay,
        arrived,
    )
    server.shutdown()


def refund_no(order: Order) -> str:
    return f"refund-{order.id}"


def key(line: StatementLine) -> tuple[LineKind, str, int, str]:
    return line.kind, line.out_trade_no, line.amount_fen, line.refund_no


# --- WeChat Pay: the answer --------------------------------------------------------------------------------------


def test_a_wechat_refund_answered_success_has_succeeded_and_names_the_refund_notify_url(stack: Stack) -> None:
    order = stack.paid("o-wx-1", Channel.WECHAT)

    assert stack.wechat.refund(order, refund_no(order)) is RefundState.SUCCEEDED
    assert stack.wechat.refund(order, refund_no(order)) is RefundState.SUCCEEDED  # asked again: the same refund
    assert stack.wechat.refund_state(order, refund_no(order)) is RefundState.SUCCEEDED

    assert stack.wechat.refund_notify_url == f"{stack.url}/api/v1/payments/wechat/refund-notify"
    kept = stack.wechatpay.transactions[order.id]["refunds"][refund_no(order)]
    assert kept["notify_url"] == stack.wechat.refund_notify_url


def test_a_wechat_refund_answered_processing_follows_the_provider_until_final(stack: Stack) -> None:
    order = stack.paid("o-wx-2", Channel.WECHAT)
    assert stack.control("wechatpay/refunds/outcome", {"status": "LATER"}).status_code == 400
    assert stack.control("wechatpay/refunds/outcome", {"status": "PROCESSING"}).json() == {
        "refund_outcome": "PROCESSING"
    }

    assert stack.wechat.refund(order, refund_no(order)) is RefundState.PROCESSING
    assert stack.wechat.refund_state(order, refund_no(order)) is RefundState.PROCESSING

    settle = {"out_refund_no": refund_no(order), "notify": False}
    assert stack.control("wechatpay/refunds/settle", {**settle, "status": "ABNORMAL"}).status_code == 200
    assert stack.wechat.refund_state(order, refund_no(order)) is RefundState.ABNORMAL
    assert stack.wechat.refund(order, refund_no(order)) is RefundState.ABNORMAL  # the same refund, as it stands
    answer = stack.control("wechatpay/refunds/settle", {**settle, "status": "SUCCESS"})
    assert answer.json() == {"out_refund_no": refund_no(order), "status": "SUCCESS"}
    assert stack.wechat.refund_state(order, refund_no(order)) is RefundState.SUCCEEDED

    assert stack.control("wechatpay/refunds/settle", {**settle, "status": "CLOSED"}).status_code == 400  # final
    assert stack.control("wechatpay/refunds/settle", {**settle, "status": "DONE"}).status_code == 400
    unknown = {"out_refund_no": "refund-nobody", "status": "SUCCESS"}
    assert stack.control("wechatpay/refunds/settle", unknown).status_code == 404
    assert stack.arrived == [] and stack.wechatpay.refund_deliveries == []  # notify false: nothing sent


def test_a_closed_wechat_refund_stays_closed_and_asking_about_an_unknown_one_is_unavailable(stack: Stack) -> None:
    order = stack.paid("o-wx-3", Channel.WECHAT)
    stack.wechatpay.refund_outcome = "PROCESSING"
    assert stack.wechat.refund(order, refund_no(order)) is RefundState.PROCESSING
    assert stack.wechatpay.settle_refund(refund_no(order), "CLOSED", notify=False)
    assert stack.wechat.refund_state(order, refund_no(order)) is RefundState.CLOSED
    assert not stack.wechatpay.settle_refund(refund_no(order), "SUCCESS", notify=False)

    with pytest.raises(PaymentUnavailable):  # 404: a refund we asked for must exist
        stack.wechat.refund_state(order, "refund-never-asked")


# --- WeChat Pay: the notification --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [("SUCCESS", RefundState.SUCCEEDED), ("ABNORMAL", RefundState.ABNORMAL), ("CLOSED", RefundState.CLOSED)],
)
def test_a_refund_notification_reaches_the_refund_route_verifies_and_maps(
    stack: Stack, status: str, state: RefundState
) -> None:
    order = stack.paid(f"o-wx-{status.lower()}", Channel.WECHAT)
    stack.wechatpay.refund_outcome = "PROCESSING"
    assert stack.wechat.refund(order, refund_no(order)) is RefundState.PROCESSING

    answer = stack.control("wechatpay/refunds/settle", {"out_refund_no": refund_no(order), "status": status})
    assert answer.status_code == 200
    ((headers, body),) = stack.notified(1)

    assert stack.wechat.refund_notice(headers, body) == RefundNotice(order.id, refund_no(order), state)
    assert stack.recorded(stack.wechatpay.refund_deliveries, 1) == [(refund_no(order), 204)]
    assert stack.wechatpay.deliveries == []  # a refund's result is not a payment notification


def test_a_refund_notification_carries_what_wechat_pay_sends(stack: Stack) -> None:
    """The simulator's notification holds WeChat Pay's refund resource, sealed with the API v3 key."""
    order = stack.paid("o-wx-body", Channel.WECHAT, fen=113)
    stack.wechat.refund(order, refund_no(order))
    _, body = stack.wechatpay.refund_notification(refund_no(order))

    data = json.loads(body)
    sealed = data["resource"]
    plain = AESGCM(stack.wechatpay.apiv3_key.encode()).decrypt(
        sealed["nonce"].encode(), base64.b64decode(sealed["ciphertext"]), sealed["associated_data"].encode()
    )

    assert data["event_type"] == "REFUND.SUCCESS" and data["resource_type"] == "encrypt-resource"
    assert (sealed["original_type"], sealed["associated_data"], sealed["algorithm"]) == (
        "refund",
        "refund",
        "AEAD_AES_256_GCM",
    )
    resource = json.loads(plain)
    assert resource["mchid"] == stack.wechatpay.mchid and resource["out_refund_no"] == refund_no(order)
    assert resource["refund_status"] == "SUCCESS" and resource["success_time"]
    assert resource["amount"] == {"total": 113, "refund": 113, "payer_total": 113, "payer_refund": 113}
    assert resource["user_received_account"] == "支付用户零钱" and "appid" not in resource
    assert resource["transaction_id"] == stack.wechat.query(order).transaction_id


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("signature", "notice_signature"),
        ("mchid", "notice_merchant"),
        ("timestamp", "notice_stale"),
        ("serial", "notice_unknown_key"),
        ("status", "notice_refund_status"),
        ("payment", "notice_refund_status"),
    ],
)
def test_a_refund_notification_that_is_not_wechat_pays_word_on_our_refund_is_rejected(
    stack: Stack, spoil: str, reason: str
) -> None:
    order = stack.paid(f"o-wx-{spoil}", Channel.WECHAT)
    stack.wechat.refund(order, refund_no(order))
    headers, body = stack.wechatpay.refund_notification(refund_no(order))
    if spoil == "signature":  # signed, then changed on its way
        body = body.replace('"REFUND.SUCCESS"', '"REFUND.CLOSED"')
    elif spoil == "mchid":  # a real notification, of another merchant's refund
        headers, body = stack.wechatpay.refund_notification(refund_no(order), mchid="1900000999")
    elif spoil == "timestamp":  # signed rightly, six minutes ago: a replay
        old = int((stack.clock.now() - timedelta(minutes=6)).timestamp())
        headers = stack.wechatpay.signature_headers(body, timestamp=old)
    elif spoil == "serial":
        headers = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}
    elif spoil == "status":
        headers, body = stack.wechatpay.refund_notification(refund_no(order), refund_status="PROCESSING")
    else:  # the order's payment notification, sent to the refund route
        headers, body = stack.wechatpay.notification(order.id)

    with pytest.raises(PaymentRejected) as rejected:
        stack.wechat.refund_notice(headers, body)

    assert rejected.value.key == reason


# --- Alipay ------------------------------------------------------------------------------------------------------


def test_an_alipay_refund_with_fund_change_y_has_succeeded_and_a_repeat_is_told_by_the_query(stack: Stack) -> None:
    order = stack.paid("o-ali-1", Channel.ALIPAY)

    assert stack.alipay.refund(order, refund_no(order)) is RefundState.SUCCEEDED
    assert stack.alipay.refund(order, refund_no(order)) is RefundState.SUCCEEDED  # fund_change N: asked, not assumed
    assert stack.alipay.refund_state(order, refund_no(order)) is RefundState.SUCCEEDED


def test_an_alipay_refund_with_fund_change_n_is_processing_until_alipay_settles_it(stack: Stack) -> None:
    order = stack.paid("o-ali-2", Channel.ALIPAY)
    assert stack.control("alipay/refunds/outcome", {"fund_change": "maybe"}).status_code == 400
    assert stack.control("alipay/refunds/outcome", {"fund_change": "N"}).json() == {"fund_change": "N"}

    assert stack.alipay.refund(order, refund_no(order)) is RefundState.PROCESSING
    assert stack.alipay.refund(order, refund_no(order)) is RefundState.PROCESSING
    assert stack.alipay.refund_state(order, refund_no(order)) is RefundState.PROCESSING

    answer = stack.control("alipay/refunds/settle", {"out_request_no": refund_no(order)})
    assert answer.json() == {"out_request_no": refund_no(order), "refund_status": "REFUND_SUCCESS"}
    assert stack.alipay.refund_state(order, refund_no(order)) is RefundState.SUCCEEDED
    assert stack.alipay.refund(order, refund_no(order)) is RefundState.SUCCEEDED
    assert stack.control("alipay/refunds/settle", {"out_request_no": refund_no(order)}).status_code == 404


def test_alipay_says_nothing_of_a_refund_it_does_not_know_and_fails_for_a_trade_it_does_not(stack: Stack) -> None:
    order = stack.paid("o-ali-3", Channel.ALIPAY)
    # No refund_status for a request it never took: processing, until asked again (the refund repeats safely).
    assert stack.alipay.refund_state(order, "refund-never-asked") is RefundState.PROCESSING
    stranger = replace(order, id="o-ali-unknown")
    with pytest.raises(PaymentUnavailable):
        stack.alipay.refund_state(stranger, refund_no(stranger))


# --- the statements ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.WECHAT, Channel.ALIPAY])
def test_a_processing_refund_is_on_no_statement_until_it_succeeds(stack: Stack, channel: Channel) -> None:
    wechat = channel is Channel.WECHAT
    gateway = stack.wechat if wechat else stack.alipay
    stack.wechatpay.refund_outcome, stack.alipay_sim.refund_outcome = "PROCESSING", "N"
    stack.clock.set(at(DAY, 10))
    order = stack.paid("o-slow", channel, fen=85001)
    given_up = stack.paid("o-given-up", channel, fen=990) if wechat else None
    stack.clock.set(at(DAY, 11))
    assert gateway.refund(order, refund_no(order)) is RefundState.PROCESSING
    if given_up is not None:
        assert gateway.refund(given_up, refund_no(given_up)) is RefundState.PROCESSING

    stack.clock.set(at(DAY + timedelta(days=1), 12))
    payments = [(LineKind.PAYMENT, "o-slow", 85001, "")]
    if given_up is not None:
        payments.append((LineKind.PAYMENT, "o-given-up", 990, ""))
    assert sorted(map(key, gateway.statement(DAY))) == sorted(payments)

    stack.clock.set(at(DAY + timedelta(days=1), 12, 30))
    if wechat:
        assert stack.wechatpay.settle_refund(refund_no(order), "SUCCESS", notify=False)
        assert given_up is not None and stack.wechatpay.settle_refund(refund_no(given_up), "CLOSED", notify=False)
    else:
        assert stack.alipay_sim.settle_refund(refund_no(order))
    assert sorted(map(key, gateway.statement(DAY))) == sorted(payments)  # the day it was asked for: still not

    stack.clock.set(at(DAY + timedelta(days=2), 12))
    (line,) = gateway.statement(DAY + timedelta(days=1))  # the day it succeeded; a closed refund never
    assert key(line) == (LineKind.REFUND, "o-slow", 85001, refund_no(order))
    assert abs(line.at - at(DAY + timedelta(days=1), 12, 30)) < timedelta(seconds=3)
