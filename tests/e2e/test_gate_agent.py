"""The reference gate agent against the local stack: real MQTT, delta sync, SQLite, offline decisions."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import ANY
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion
from werkzeug.test import Client

from domain.card import Card, CardState
from domain.gate import Applied, Reason
from domain.gate_auth import applied_topic, report_signature
from domain.package import Duration, DurationUnit, Package
from functions.dev_stack import DevStack
from handlers.fan_out import message
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from infra.gate_agent.agent import GateAgent, GateConfig, WhitelistInUse
from infra.gate_agent.http import check_app
from tests.builders import add_card
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import DEMO_DAY, start_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(stack: DevStack) -> DevStack:
    """The demo-day stack, with a one-day package so many changes fit under the renewal limit."""
    stack.services.packages.add(Package("demo-1d", "demo-lot", "日卡 1 天", Duration(DurationUnit.DAYS, 1), 20_00))
    return stack


def agent_for(stack: DevStack, db: Path) -> GateAgent:
    assert stack.demo_gate is not None and stack.services.signer is not None
    config = GateConfig(
        "demo-lot", stack.demo_gate.id, stack.demo_gate.secret, stack.api_url, stack.mqtt_url,
        stack.services.signer.public_key(), db,
    )  # fmt: skip
    return GateAgent(config, now=lambda: stack.clock.now().timestamp())


def owner_headers(api: ApiClient, code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.post('/api/v1/auth/login', json={'code': code}).json()['token']}"}


def renew(
    api: ApiClient, stack: DevStack, headers: dict[str, str], card_id: str, key: str, package: str = "demo-1d"
) -> float:
    r = api.post(
        f"/api/v1/cards/{card_id}/renewals",
        json={"package_id": package, "channel": "wechat", "idempotency_key": key},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    stack.wechatpay.deliver = False
    stack.wechatpay.pay(made["order_id"])
    head, body = stack.wechatpay.notification(made["order_id"])
    sent = time.monotonic()
    assert (
        requests.post(
            f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=head, timeout=10
        ).status_code
        == 204
    )
    return sent


def wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_running_gate_applies_a_paid_renewal_and_lets_the_car_in(stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    agent = agent_for(stack, tmp_path / "gate.sqlite")
    agent.start()
    try:
        today = date(2026, 11, 23)
        assert agent.check("粤B12345", today).allow  # the demo card, from the first sync's snapshot
        assert agent.check("粤A99999", today).reason is Reason.UNKNOWN
        sent = renew(api, stack, owner_headers(api, "sim:demo-owner"), "card-demo", "gate-applies-1", "demo-3m")
        wait_for(lambda: agent.entries()["粤B12345"].valid_until == date(2027, 3, 3))
        delay = agent.applied_at[2] - sent  # version 1: the demo card issued
        print(f"payment notification -> gate applied: {delay * 1000:.0f} ms")
        assert agent.check("粤B12345", date(2027, 3, 3)).allow
        assert agent.check("粤B12345", date(2027, 3, 4)).reason is Reason.EXPIRED
        assert agent.check("粤B12345", date(2027, 2, 27)).warning is not None  # 5 days left
    finally:
        agent.stop()


def test_a_gate_stopped_during_200_changes_converges_to_the_cloud_state(stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    db = tmp_path / "gate.sqlite"
    agent = agent_for(stack, db)
    agent.start()
    wait_for(lambda: "粤B12345" in agent.entries())
    agent.stop()

    owners = {"card-demo": owner_headers(api, "sim:demo-owner")}
    for n, plate in enumerate(("粤A10001", "粤A10002")):
        headers = owner_headers(api, f"sim:owner-{n}")
        owner_id = api.get("/api/v1/me", headers=headers).json()["id"]
        card = Card(
            f"card-{n}", "demo-lot", owner_id, (plate,), date(2026, 11, 1), date(2026, 11, 30), CardState.ACTIVE
        )
        assert add_card(stack.services, card)
        owners[card.id] = headers
    cards = list(owners)
    for n in range(200):
        card_id = cards[n % len(cards)]
        renew(api, stack, owners[card_id], card_id, f"change-{n:05d}")

    restarted = agent_for(stack, db)  # same whitelist file, as after a reboot
    assert restarted.version == 1 and "粤B12345" in restarted.entries()  # it starts offline from disk
    restarted.start()
    try:
        lot = stack.services.lots.get("demo-lot")
        assert lot is not None and lot.entitlement_version == 203  # 3 cards issued, 200 renewals
        wait_for(lambda: restarted.version == 203)
        cloud = {
            plate: (c.valid_from, c.valid_until, c.state.value)
            for c in stack.services.cards.list_for_lot("demo-lot")
            for plate in c.plates
        }
        gate = {plate: (g.valid_from, g.valid_until, g.state) for plate, g in restarted.entries().items()}
        assert gate == cloud
    finally:
        restarted.stop()


def test_duplicates_out_of_order_forged_and_foreign_messages(stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    headers = owner_headers(api, "sim:demo-owner")
    agent = agent_for(stack, tmp_path / "gate.sqlite")  # not subscribed: messages are handed to it below
    agent.sync()
    renew(api, stack, headers, "card-demo", "order-aaaa")
    renew(api, stack, headers, "card-demo", "order-bbbb")
    assert stack.services.signer is not None
    feed = {e.version: e for e in stack.services.feed.since("demo-lot", 0, 10)}
    signed = {v: json.dumps(stack.services.signer.sign(e.fields())).encode() for v, e in feed.items()}

    # 1: the demo card issued (the first sync's snapshot); 2 and 3: the renewals
    assert agent.receive(signed[3]) is Applied.STALE  # a gap: synced first (2 and 3), so 3 is old news
    assert agent.version == 3
    assert agent.receive(signed[2]) is Applied.STALE  # late
    assert agent.receive(signed[3]) is Applied.STALE  # duplicate (QoS 1)
    assert agent.entries()["粤B12345"].valid_until == date(2026, 12, 5)

    forged = json.loads(signed[3])
    forged["valid_until"] = "2099-12-31"
    assert agent.receive(json.dumps(forged).encode()) is None
    foreign = stack.services.signer.sign({**feed[3].fields(), "lot_id": "other-lot", "version": 4})
    assert agent.receive(json.dumps(foreign).encode()) is None
    assert agent.receive(b"\x00not json") is None
    assert len(agent.dropped) == 3
    assert agent.entries()["粤B12345"].valid_until == date(2026, 12, 5) and agent.version == 3
    agent.stop()


def test_a_gate_decides_offline_from_its_file_and_its_local_endpoint(stack: DevStack, tmp_path: Path) -> None:
    db = tmp_path / "gate.sqlite"
    agent = agent_for(stack, db)
    agent.sync()
    endpoint = Client(check_app(agent.check, lambda: date(2026, 11, 23)))
    answer = endpoint.get("/check?plate=粤b·12345").get_json()
    assert (answer["allow"], answer["valid_until"], answer["days_left"]) == (True, "2026-12-03", 11)
    assert endpoint.get("/check?plate=粤A99999").get_json()["reason"] == "unknown"
    assert endpoint.get("/check?plate=nonsense").status_code == 400
    agent.stop()
    stack.stop()  # the cloud is gone; the gate still answers

    def gate_check(plate: str, at: str) -> dict[str, object]:
        command = ["gate-check", plate, "--lot", "demo-lot", "--db", str(db), "--at", at]
        out = subprocess.run(
            [sys.executable, "-m", "functions.cli", *command], cwd=ROOT, capture_output=True, text=True
        )
        decision: dict[str, object] = json.loads(out.stdout)
        assert out.returncode == (0 if decision["allow"] else 1), out.stderr  # a deny exits 1
        return decision

    assert gate_check("粤B12345", "2026-12-03")["allow"] is True
    assert gate_check("粤B12345", "2026-12-04")["reason"] == "expired"
    assert gate_check("粤A99999", "2026-12-01")["reason"] == "unknown"


def test_parkpass_gate_joins_the_local_stack_by_itself_and_answers_checks(stack: DevStack, tmp_path: Path) -> None:
    from infra.mqtt.broker import free_port

    port = free_port()
    command = ["gate", "--lot", "demo-lot", "--gate", "demo-gate", "--api", stack.api_url, "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", *command, "--db", str(tmp_path / "g.sqlite")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        answer: dict[str, object] = {}

        def answered() -> bool:
            try:
                answer.update(
                    requests.get(f"http://127.0.0.1:{port}/check", params={"plate": "粤B12345"}, timeout=2).json()
                )
            except requests.ConnectionError:
                return False
            return True

        wait_for(answered, 30)
        assert answer["allow"] is True and answer["valid_until"] == "2026-12-03"
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_online_gate_reports_what_it_applied_so_the_office_sees_it_current(stack: DevStack, tmp_path: Path) -> None:
    api = ApiClient(stack.api_url)
    assert stack.demo_gate is not None and stack.services.signer is not None
    config = GateConfig(
        "demo-lot", stack.demo_gate.id, stack.demo_gate.secret, stack.api_url, stack.mqtt_url,
        stack.services.signer.public_key(), tmp_path / "gate.sqlite",
    )  # fmt: skip
    agent = GateAgent(config, now=lambda: stack.clock.now().timestamp(), report_every_s=0.2)
    owner = owner_headers(api, "sim:demo-owner")
    agent.start()
    try:
        renew(api, stack, owner, "card-demo", "report-0001")
        lot = lambda: stack.services.lots.get("demo-lot")  # noqa: E731
        wait_for(lambda: agent.version == lot().entitlement_version)  # type: ignore[union-attr]
        # Applied over MQTT, no delta sync since: the gate's own report is what tells the office.
        wait_for(lambda: stack.services.gates.sync_states("demo-lot") == [(config.gate_id, agent.version, ANY)])
        login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
        staff = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
        report = api.get("/admin/api/v1/lots/demo-lot/reports/2026-11", headers=staff).json()
        assert report["lagging_gates"] == []
    finally:
        agent.stop()

    # Reports over any broker are checked: a forged one (the gate's topic, not its secret) is dropped, and the
    # genuine one sent after it on the same connection is recorded.
    renew(api, stack, owner, "card-demo", "report-0002")
    newer = stack.services.lots.get("demo-lot").entitlement_version  # type: ignore[union-attr]
    stamp = str(int(stack.clock.now().timestamp()))
    gate = config.gate_id
    forged = {
        "version": 10_000,
        "timestamp": stamp,
        "signature": report_signature("guess", "demo-lot", gate, 10_000, stamp),
    }
    genuine = {
        "version": newer,
        "timestamp": stamp,
        "signature": report_signature(config.secret, "demo-lot", gate, newer, stamp),
    }
    broker = urlsplit(stack.mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="a-test-publisher", protocol=mqtt.MQTTv311)
    client.connect(broker.hostname or "127.0.0.1", broker.port or 1883)
    client.loop_start()
    try:
        for message in (forged, genuine):
            client.publish(applied_topic("demo-lot", gate), json.dumps(message), qos=1).wait_for_publish(5)
        wait_for(lambda: stack.services.gates.sync_states("demo-lot")[0][1] == newer)  # never 10,000 first
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_gate_holding_an_earlier_feed_converges_to_the_new_one_by_itself(
    stack: DevStack, moto_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The stack restarts without its data: the lot's feed starts again at version 1 under a new epoch. A gate
    whose file holds version 4 of the old feed must not keep deciding from it."""
    api = ApiClient(stack.api_url)
    db = tmp_path / "gate.sqlite"
    agent = agent_for(stack, db)
    agent.sync()
    headers = owner_headers(api, "sim:demo-owner")
    for n in range(3):
        renew(api, stack, headers, "card-demo", f"old-feed-{n}")
    agent.sync()
    old_epoch = agent.epoch
    assert agent.version == 4 and agent.entries()["粤B12345"].valid_until == date(2026, 12, 6) and old_epoch
    agent.stop()
    stack.stop()

    new = start_stack(moto_server, clock=DEMO_DAY)  # no data kept: the demo lot is made again
    try:
        lot = new.services.lots.get("demo-lot")
        assert lot is not None and lot.entitlement_version == 1 and lot.feed_epoch not in ("", old_epoch)
        assert new.services.signer is not None
        caplog.set_level(logging.WARNING, logger="parkpass.gate")

        # Over MQTT: a message of the new feed (version 1, below ours) is not taken for a duplicate.
        restarted = agent_for(new, db)
        assert restarted.version == 4  # from the file
        first = json.dumps(new.services.signer.sign(new.services.feed.since("demo-lot", 0, 1)[0].fields())).encode()
        assert restarted.receive(first) is Applied.STALE  # the snapshot it took already holds it
        assert (restarted.version, restarted.epoch) == (1, lot.feed_epoch)
        assert restarted.entries()["粤B12345"].valid_until == date(2026, 12, 3)
        assert any("feed started again" in r.getMessage() for r in caplog.records)
        restarted.stop()

        # By delta sync alone (the gate reconnects and hears nothing new): the same.
        caplog.clear()
        copy = tmp_path / "gate-copy.sqlite"
        _old_file(copy, old_epoch)
        by_sync = agent_for(new, copy)
        assert by_sync.version == 4
        by_sync.start()
        try:
            wait_for(lambda: by_sync.version == 1 and by_sync.epoch == lot.feed_epoch)
            assert by_sync.entries()["粤B12345"].valid_until == date(2026, 12, 3)
            assert any("feed started again" in r.getMessage() for r in caplog.records)
            # The office sees the version the gate holds now, not the old feed's 4 it asked after.
            assert new.services.gates.sync_states("demo-lot") == [("demo-gate", 1, ANY)]
        finally:
            by_sync.stop()
    finally:
        new.stop()


def _old_file(target: Path, epoch: str) -> None:
    """A whitelist file as an agent from before epochs kept it (no epoch column) under the old feed: version 4,
    the card ending Dec 6."""
    import sqlite3

    db = sqlite3.connect(target)
    db.executescript(
        "CREATE TABLE feed (lot_id TEXT PRIMARY KEY, version INTEGER NOT NULL);"
        "CREATE TABLE grants (plate TEXT PRIMARY KEY, fields TEXT NOT NULL);"
    )
    fields = {
        "lot_id": "demo-lot", "version": 4, "plate": "粤B12345", "card_id": "card-demo", "valid_from": "2026-11-04",
        "valid_until": "2026-12-06", "state": "active", "epoch": epoch,
    }  # fmt: skip
    db.execute("INSERT INTO feed VALUES ('demo-lot', 4)")
    db.execute("INSERT INTO grants VALUES ('粤B12345', ?)", (json.dumps(fields),))
    db.commit()
    db.close()


def test_a_skewed_gate_corrects_its_clock_and_syncs(
    stack: DevStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert stack.demo_gate is not None and stack.services.signer is not None
    config = GateConfig(
        "demo-lot", stack.demo_gate.id, stack.demo_gate.secret, stack.api_url, stack.mqtt_url,
        stack.services.signer.public_key(), tmp_path / "gate.sqlite",
    )  # fmt: skip
    skew = 20 * 60
    cloud = stack.clock.now().timestamp() - time.time()
    agent = GateAgent(config, now=lambda: time.time() + cloud + skew)  # its own clock, 20 minutes fast
    caplog.set_level(logging.WARNING, logger="parkpass.gate")
    try:
        agent.sync()
        assert agent.version == 1 and "粤B12345" in agent.entries()
        assert abs(agent.health()["clock_offset_s"] + skew) <= 2
        assert any("clock is" in r.getMessage() and "off" in r.getMessage() for r in caplog.records)

        # The cloud's clock moves (POST /sim/clock): the next sync corrects the offset again.
        api = ApiClient(stack.api_url)
        later = stack.clock.now() + timedelta(hours=1)
        assert api.post("/sim/clock", json={"now": later.isoformat()}).status_code == 200
        renew(api, stack, owner_headers(api, "sim:demo-owner"), "card-demo", "skewed-0001")
        agent.sync()
        assert agent.version == 2
        assert abs(agent.health()["clock_offset_s"] - (3600 - skew)) <= 2
        assert agent.health()["last_sync"] is not None
    finally:
        agent.stop()

    # The answer a skewed request gets: refused, with the server's time to correct by.
    stamp = str(int(stack.clock.now().timestamp()) - 3600)
    path = "/api/v1/gates/entitlements?since=0"
    from domain.gate_auth import gate_signature

    r = requests.get(
        stack.api_url + path,
        headers={
            "X-Gate-Id": config.gate_id,
            "X-Gate-Timestamp": stamp,
            "X-Gate-Signature": gate_signature(config.secret, "GET", path, stamp),
        },
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "gate_clock_skew"
    assert abs(r.json()["error"]["details"]["server_time"] - stack.clock.now().timestamp()) <= 2
    assert "Date" in r.headers


def test_two_agents_for_one_gate_each_keep_their_session_and_a_third_on_a_used_file_is_refused(
    stack: DevStack, tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    first, second = agent_for(stack, tmp_path / "a.sqlite"), agent_for(stack, tmp_path / "b.sqlite")
    assert first.client_id != second.client_id and first.client_id.startswith("gate-demo-gate-")
    with pytest.raises(WhitelistInUse, match="another gate agent runs on"):
        agent_for(stack, tmp_path / "a.sqlite")
    first.start()
    second.start()
    try:
        wait_for(lambda: first.health()["mqtt_connected"] and second.health()["mqtt_connected"])
        renew(api, stack, owner_headers(api, "sim:demo-owner"), "card-demo", "two-agents-1")
        wait_for(lambda: first.version == 2 and second.version == 2)
        time.sleep(2.5)  # a taken-over session would be reconnecting (and taking the other over) by now
        assert first.disconnects == 0 and second.disconnects == 0
        assert first.health()["mqtt_connected"] and second.health()["mqtt_connected"]
    finally:
        first.stop()
        second.stop()
    again = agent_for(stack, tmp_path / "a.sqlite")  # stopped: the file is free, and keeps its session's id
    assert again.client_id == first.client_id
    again.stop()


def test_a_gate_that_cannot_sync_says_so_at_error_and_in_its_health(
    stack: DevStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from infra.mqtt.broker import free_port

    assert stack.demo_gate is not None and stack.services.signer is not None
    config = GateConfig(
        "demo-lot", stack.demo_gate.id, stack.demo_gate.secret, f"http://127.0.0.1:{free_port()}", stack.mqtt_url,
        stack.services.signer.public_key(), tmp_path / "gate.sqlite",
    )  # fmt: skip
    agent = GateAgent(config, stale_after_s=0.5, tick_s=0.1)
    caplog.set_level(logging.WARNING, logger="parkpass.gate")
    agent.start()  # the cloud out of reach is no misconfiguration: the gate runs from its file
    try:
        wait_for(lambda: agent.health()["status"] == "stale")
        wait_for(lambda: any(r.levelno == logging.ERROR and "cannot sync" in r.getMessage() for r in caplog.records))
        answer = Client(check_app(agent.check, lambda: date(2026, 11, 23), None, agent.health)).get("/health")
        assert answer.status_code == 503
        assert answer.get_json() == {
            "status": "stale", "lot_id": "demo-lot", "gate_id": "demo-gate", "epoch": ANY, "version": ANY,
            "last_sync": None, "seconds_behind": None, "mqtt_connected": ANY, "mqtt_client_id": agent.client_id,
            "clock_offset_s": 0, "problem": None,
        }  # fmt: skip
    finally:
        agent.stop()


def test_parkpass_gate_answers_its_health_and_exits_on_a_misconfiguration(stack: DevStack, tmp_path: Path) -> None:
    from infra.mqtt.broker import free_port

    port = free_port()
    base = ["gate", "--gate", "demo-gate", "--api", stack.api_url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", *base, "--lot", "demo-lot", "--port", str(port), "--db",
         str(tmp_path / "g.sqlite")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lot = stack.services.lots.get("demo-lot")
    assert lot is not None
    try:
        health: dict[str, object] = {}

        def healthy() -> bool:
            try:
                health.update(requests.get(f"http://127.0.0.1:{port}/health", timeout=2).json())
            except requests.ConnectionError:
                return False
            return health["mqtt_connected"] is True and health["seconds_behind"] == 0

        wait_for(healthy, 30)
        assert health["status"] == "ok" and health["lot_id"] == "demo-lot" and health["epoch"] == lot.feed_epoch
        assert health["version"] == lot.entitlement_version and health["last_sync"] is not None

        # The same file twice: refused, one line.
        twice = _gate_cli([*base, "--lot", "demo-lot", "--port", "0", "--db", str(tmp_path / "g.sqlite")])
        assert twice.returncode == 2 and "another gate agent runs on" in twice.stderr
    finally:
        proc.terminate()
        proc.wait(10)

    db = ["--port", "0", "--db", str(tmp_path / "other.sqlite")]
    mistakes = {
        "public key": [*base, "--lot", "demo-lot", "--public-key", "bm90IGEga2V5", *db],
        "refuses gate": [*base, "--lot", "demo-lot", "--secret", "wrong", *db],
        "belongs to lot": [*base, "--lot", "other-lot", *db],
        "lot_id": [*base, "--lot", "not a lot!", *db],
        "cannot reach": ["gate", "--gate", "demo-gate", "--lot", "demo-lot", "--api", "http://127.0.0.1:9", *db],
    }
    for says, command in mistakes.items():
        out = _gate_cli(command)
        assert out.returncode == 2, (says, out.stdout, out.stderr)
        lines = [line for line in out.stderr.splitlines() if not line.startswith(("INFO", "WARNING", "ERROR"))]
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in out.stderr, (says, out.stderr)


def _gate_cli(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_batch_message_of_the_lot_is_applied_in_order_and_one_bad_event_drops_the_whole_message(
    stack: DevStack, tmp_path: Path
) -> None:
    api = ApiClient(stack.api_url)
    headers = owner_headers(api, "sim:demo-owner")
    agent = agent_for(stack, tmp_path / "gate.sqlite")  # not subscribed: messages are handed to it below
    agent.sync()
    renew(api, stack, headers, "card-demo", "batch-aaaa")
    renew(api, stack, headers, "card-demo", "batch-bbbb")
    signer = stack.services.signer
    assert signer is not None and agent.version == 1
    events = stack.services.feed.since("demo-lot", 1, 10)
    forged = json.loads(message(events, signer))
    forged["events"][1]["valid_until"] = "2099-12-31"
    assert agent.receive(json.dumps(forged).encode()) is None and agent.version == 1
    assert agent.receive(message(events, signer)) is Applied.APPLIED
    assert agent.version == 3 and agent.entries()["粤B12345"].valid_until == date(2026, 12, 5)


def test_a_live_gate_that_missed_a_message_finds_the_change_by_its_hourly_sync(
    moto_server: str, tmp_path: Path
) -> None:
    quiet = start_stack(moto_server, clock=DEMO_DAY, fan_out=False)  # nothing reads the stream: nothing published
    try:
        assert quiet.demo_gate is not None and quiet.services.signer is not None
        config = GateConfig(
            "demo-lot", quiet.demo_gate.id, quiet.demo_gate.secret, quiet.api_url, quiet.mqtt_url,
            quiet.services.signer.public_key(), tmp_path / "gate.sqlite",
        )  # fmt: skip
        agent = GateAgent(config, now=lambda: quiet.clock.now().timestamp(), tick_s=0.1, resync_every_s=0.5)
        agent.start()
        try:
            wait_for(lambda: agent.health()["mqtt_connected"] and agent.version == 1)
            first, last = date(2026, 12, 1), date(2026, 12, 31)
            card = Card("card-late", "demo-lot", "owner-x", ("粤A55555",), first, last, CardState.ACTIVE)
            assert add_card(quiet.services, card)  # committed, never published
            wait_for(lambda: "粤A55555" in agent.entries(), seconds=10)
            assert agent.version == 2
        finally:
            agent.stop()
    finally:
        quiet.stop()
