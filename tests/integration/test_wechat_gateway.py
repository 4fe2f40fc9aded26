"""wechatpy, for real, against the local WeChat simulator over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from domain.errors import LoginCodeInvalid, LoginCodeUsed, PhoneCodeInvalid, WechatUnavailable
from infra.clock import SimClock
from infra.simulators.wechat import WechatSimulator
from infra.wechat.gateway import WechatGateway
from infra.wechat.session_storage import DynamoSessionStorage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
APPID, SECRET = "wx-test-appid", "test-app-secret"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(NOW)


@pytest.fixture
def simulator(clock: SimClock) -> Iterator[tuple[WechatSimulator, str]]:
    sim = WechatSimulator(APPID, SECRET, clock)
    app = Flask("wechat-sim")
    app.register_blueprint(sim.blueprint())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    yield sim, f"http://127.0.0.1:{server.server_port}/sim/wechat/"
    server.shutdown()


def gateway(base: str, clock: SimClock, secret: str = SECRET) -> WechatGateway:
    """A gateway as one Lambda container builds it: its own client, the shared token cache."""
    return WechatGateway(APPID, secret, DynamoSessionStorage(clock), api_base=base)


def test_login_code_gives_the_session(dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock) -> None:
    sim, base = simulator
    session = gateway(base, clock).code_to_session("sim:alice")
    assert session.openid == "alice" and session.unionid == "sim-union-alice"
    assert session.session_key == sim.session_keys[-1]


def test_bad_and_used_codes_become_our_errors(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    _, base = simulator
    wechat = gateway(base, clock)
    with pytest.raises(LoginCodeInvalid):
        wechat.code_to_session("not-a-code")
    wechat.code_to_session("sim:alice:1")
    with pytest.raises(LoginCodeUsed):
        wechat.code_to_session("sim:alice:1")
    with pytest.raises(PhoneCodeInvalid):
        wechat.phone_number("sim-phone:abc")


def test_phone_number_from_a_phone_code(dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock) -> None:
    _, base = simulator
    assert gateway(base, clock).phone_number("sim-phone:13800001234") == "13800001234"


def test_containers_share_one_access_token_until_it_expires(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    sim, base = simulator
    first, second = gateway(base, clock), gateway(base, clock)
    first.phone_number("sim-phone:13800000001")
    second.phone_number("sim-phone:13800000002")
    assert sim.token_fetches == 1
    clock.set(NOW + timedelta(hours=2, minutes=1))
    gateway(base, clock).phone_number("sim-phone:13800000003")
    assert sim.token_fetches == 2


def test_a_wrong_secret_or_an_unreachable_wechat_is_unavailable_not_a_crash(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    _, base = simulator
    with pytest.raises(WechatUnavailable):
        gateway(base, clock, secret="wrong").code_to_session("sim:alice")
    with pytest.raises(WechatUnavailable):
        gateway("http://127.0.0.1:9/", clock).code_to_session("sim:alice")


def test_a_token_another_container_replaced_is_refetched_after_40001(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    sim, base = simulator
    first = gateway(base, clock)
    first.phone_number("sim-phone:13800000001")
    # Someone forced a new token behind the cache's back: WeChat now refuses the cached one (40001), and one
    # fetch gets the one in force.
    first.client._stable_token(force=True)
    first.client.session.set(first.client.access_token_key, "stale-token", 7200)
    assert gateway(base, clock).phone_number("sim-phone:13800000002") == "13800000002"
    assert sim.token_fetches == 3


def test_messages_sent_through_wechatpy_are_recorded_by_the_simulator(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    sim, base = simulator
    client = gateway(base, clock).client
    client.wxa.send_subscribe_message("alice", "sim-expiry", {"thing1": {"value": "粤B12345"}}, page="pages/renew")
    client.message.send_template("alice", "tpl-1", {"first": {"value": "hi"}})
    listed = requests.get(f"{base}messages", timeout=5).json()["messages"]
    assert [(m["kind"], m["touser"], m["template_id"]) for m in listed] == [
        ("subscribe", "alice", "sim-expiry"),
        ("template", "alice", "tpl-1"),
    ]
    assert listed == sim.messages


def test_consumers_that_refresh_at_once_never_end_each_others_token(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    sim, base = simulator
    gateways = [gateway(base, clock) for _ in range(8)]
    gateways[0].phone_number("sim-phone:13800000001")
    for n, each in enumerate(gateways):  # each holds a token WeChat no longer takes: each fetches at once
        each.client.session._kept.clear()
        each.client.session.set(each.client.access_token_key, f"refused-{n}", 7200)
    start, failed = threading.Barrier(len(gateways)), []

    def send(each: WechatGateway, n: int) -> None:
        start.wait()
        try:
            each.send_subscribe(f"openid-{n}", "sim-expiry", {"thing1": {"value": "x"}}, "pages/renew")
        except Exception as e:
            failed.append(e)

    threads = [threading.Thread(target=send, args=(each, n)) for n, each in enumerate(gateways)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failed == [] and len(sim.messages) == len(gateways)
    # One token for all: the plain /cgi-bin/token would have issued one to each, each ending the one before.
    assert len({each.client.session.get(each.client.access_token_key) for each in gateways}) == 1
    tokens = {requests.post(f"{base}cgi-bin/stable_token", json={"appid": APPID, "secret": SECRET}, timeout=5).json()[
        "access_token"] for _ in range(3)}  # fmt: skip
    assert len(tokens) == 1


def test_sixteen_consumers_of_one_container_sharing_a_refused_token_each_send_once(
    dynamodb: str, simulator: tuple[WechatSimulator, str], clock: SimClock
) -> None:
    """The work function's consumers share one gateway: one thread's fresh token in the shared cache is not the
    token another thread's request was refused with (taking it for one forced a refresh, and the third thread's
    refusal then gave up: "a fresh access token was refused too", seen as reminders left for a later tick)."""
    sim, base = simulator
    shared = gateway(base, clock)
    shared.phone_number("sim-phone:13800000001")
    shared.client.session._kept.clear()
    shared.client.session.set(shared.client.access_token_key, "from-another-stack", 7200)
    start, failed = threading.Barrier(16), []

    def send(n: int) -> None:
        start.wait()
        try:
            shared.send_subscribe(f"openid-{n}", "sim-expiry", {"thing1": {"value": "x"}}, "pages/renew")
        except Exception as e:
            failed.append(e)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failed == [] and sorted(m["touser"] for m in sim.messages) == sorted(f"openid-{n}" for n in range(16))
