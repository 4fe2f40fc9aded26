"""`make bench`: timings and DynamoDB request counts of the hot paths, on the local stack.

Timing lives here, not in tests. Numbers depend on the machine, so each one is
also given as a ratio to a baseline measured in the same run on the same
stack: a bare Flask route for the HTTP figures, a raw MQTT publish -> receive on
the same broker for the gate delay. Results go to bench/results.md.
"""

from __future__ import annotations

import statistics
import time
from datetime import date
from typing import Any

import requests

from domain.lot import RenewalMode
from domain.renewal import quote
from functions.dev_stack import BACKGROUND_THREADS, DevStack, DevStackOptions
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests.builders import a_card, a_lot, add_card, months

RESULTS: list[str] = []
"""Lines of bench/results.md, in the order measured."""


def _p(samples: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def _percentiles(samples: list[float]) -> str:
    p50, p99 = _p(samples)
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(samples)}"


def _record(what: str, samples: list[float], baseline: list[float] | None, seconds: float | None = None) -> None:
    p50, p99 = _p(samples)
    line = f"| {what} | {p50:.2f} | {p99:.2f} | {len(samples)}"
    line += f" | {len(samples) / seconds:.0f}/s" if seconds else " | -"
    if baseline:
        b50, b99 = _p(baseline)
        line += f" | {p50 / b50:.1f}x / {p99 / b99:.1f}x |"
    else:
        line += " | baseline |"
    RESULTS.append(line)
    print(f"{what}: {_percentiles(samples)}")


def _timed(call: object, n: int) -> tuple[list[float], float]:
    samples = []
    began = time.perf_counter()
    for i in range(n):
        started = time.perf_counter()
        call(i)  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples, time.perf_counter() - began


def bench_endpoints(n: int = 300) -> None:
    """Quote and renewal endpoints against a bare Flask route, all on one local stack."""
    from domain.card import Card, CardState

    stack = DevStack(DevStackOptions(port=0, sweep_every_s=None)).start()
    try:
        http = requests.Session()
        base = stack.api_url
        token = http.post(f"{base}/api/v1/auth/login", json={"code": "sim:demo-owner:bench"}).json()["token"]
        owner = {"Authorization": f"Bearer {token}"}
        for i in range(n):
            add_card(
                stack.services,
                Card(
                    f"bench-{i}",
                    "demo-lot",
                    "owner-demo",
                    (f"粤D{i:05d}",),
                    date(2026, 11, 1),
                    date(2026, 11, 30),
                    CardState.ACTIVE,
                ),
            )
        http.get(f"{base}/healthz", timeout=10).raise_for_status()
        bare, bare_s = _timed(lambda i: http.get(f"{base}/healthz", timeout=10).raise_for_status(), n)
        _record("bare Flask route (GET /healthz)", bare, None, bare_s)
        quote_samples, quote_s = _timed(
            lambda i: http.get(f"{base}/api/v1/cards/bench-{i}/packages", headers=owner, timeout=10).raise_for_status(),
            n,
        )
        _record("quote (GET /api/v1/cards/{id}/packages)", quote_samples, bare, quote_s)

        def renew(i: int) -> None:
            body = {"package_id": "demo-1m", "channel": "wechat", "idempotency_key": f"bench-renewal-{i:06d}"}
            http.post(
                f"{base}/api/v1/cards/bench-{i}/renewals", json=body, headers=owner, timeout=10
            ).raise_for_status()

        renew_samples, renew_s = _timed(renew, n)
        _record(
            "renewal order (POST /api/v1/cards/{id}/renewals, with WeChat Pay prepay)", renew_samples, bare, renew_s
        )
    finally:
        stack.stop()


def bench_reminder_tick(cards: int = 100_000, due: int = 50) -> None:
    """One reminder tick with 100,000 cards' reminders stored and 50 due now."""
    from datetime import UTC, datetime, timedelta

    from domain.reminder import Slot
    from functions.bootstrap import bind_dynamodb
    from handlers.reminders import send_due_reminders
    from infra.dynamodb.embedded import EmbeddedDynamoDB
    from infra.dynamodb.reminders import DynamoReminderStore
    from infra.dynamodb.tables import ReminderItem, create_tables
    from infra.settings import Settings
    from tests.fakes import FakeConsents, FakeMessenger, FakePrefs, fake_services

    server = EmbeddedDynamoDB()
    endpoint = server.start()
    try:
        bind_dynamodb(Settings("bench", "cn-north-1", endpoint))
        create_tables()
        now = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
        with ReminderItem.batch_write() as batch:
            for i in range(cards):
                at = now + timedelta(hours=1 + i % 2000) if i >= due else now - timedelta(minutes=10)
                slot = Slot(f"card-{i}", "owner-1", "lot-1", date(2026, 12, 10), 5, at)
                item = ReminderItem(
                    bucket=slot.bucket,
                    slot=slot.key,
                    card_id=slot.card_id,
                    owner_id="owner-1",
                    lot_id="lot-1",
                    cycle="2026-12-10",
                    offset=5,
                    due_at=at.isoformat(),
                    state="pending",
                )
                batch.save(item)
        s = fake_services(now)  # cards and owners in memory: the tick's own reads are the reminder store's
        started = time.perf_counter()
        report = send_due_reminders(
            now, DynamoReminderStore(), s.cards, s.lots, FakePrefs(), s.owners, FakeConsents(), FakeMessenger()
        )
        took = time.perf_counter() - started
        handled = len(report.sent) + len(report.skipped) + len(report.failed)
        RESULTS.append(
            f"| reminder tick, {cards:,} stored, {due} due | {took * 1000:.0f} (whole tick) | - | {handled} | - | - |"
        )
        print(f"reminder tick with {cards} stored, {due} due: {took * 1000:.0f} ms, {handled} handled")
    finally:
        server.stop()


def bench_mqtt_baseline(broker_url: str, n: int = 500) -> list[float]:
    """A raw publish -> receive on the same broker: what no gate can beat."""
    import queue

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = broker_url.removeprefix("mqtt://").split(":")
    got: queue.Queue[float] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub", protocol=mqtt.MQTTv311)
    sub.on_message = lambda c, u, m: got.put(time.monotonic())
    sub.connect(host, int(port))
    sub.loop_start()
    sub.subscribe("bench/baseline", qos=1)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub", protocol=mqtt.MQTTv311)
    pub.connect(host, int(port))
    pub.loop_start()
    time.sleep(0.5)
    samples = []
    for _ in range(n):
        sent = time.monotonic()
        pub.publish("bench/baseline", b"x" * 300, qos=1)
        samples.append(got.get(timeout=10) - sent)
    for client in (pub, sub):
        client.loop_stop()
        client.disconnect()
    return samples


def bench_quote(n: int = 20_000) -> None:
    card, package, today = a_card(date(2027, 1, 31)), months(3), date(2027, 1, 10)
    for mode in RenewalMode:
        lot = a_lot(mode=mode, max_months_ahead=12)
        started = time.perf_counter()
        for _ in range(n):
            quote(card, package, lot, today)
        per_call = (time.perf_counter() - started) / n * 1e6
        print(f"domain quote ({mode.value}): {per_call:.1f} µs per call")


def bench_price_list(n: int = 300) -> None:
    stack = DevStack(DevStackOptions(port=0, sweep_every_s=None)).start()
    try:
        http = requests.Session()
        url = f"{stack.api_url}/api/v1/lots/demo-lot/packages"
        http.get(url, timeout=10).raise_for_status()  # warm
        samples = []
        with DynamoRequestCounter(BACKGROUND_THREADS) as counter:
            for _ in range(n):
                started = time.perf_counter()
                http.get(url, timeout=10).raise_for_status()
                samples.append(time.perf_counter() - started)
        print(f"GET price list over HTTP (local stack): {_percentiles(samples)}")
        print(f"DynamoDB requests per price list: {counter.total / n:.2f} ({dict(counter.by_operation)})")
    finally:
        stack.stop()


GATE_P50_MS, GATE_P99_MS = 50.0, 250.0
"""Issue #18's targets for payment notification -> gate applied."""
IMPORT_BUDGET = 1.2
"""Each serverless.yml function's import, as a multiple of `import boto3, flask` (issue #18)."""


def bench_gate_delay(n: int = 500) -> None:
    """Payment notification received -> a gate agent on the embedded broker has applied the change.

    The notification's function tells the gates itself right after its commit (the fast path); the stream's
    fan-out publishes the same events again (the gate drops them by version). Also counts the DynamoDB
    requests of each fulfilled notification (the fan-out's own reading of the stream left out, as on AWS)."""
    import tempfile
    from pathlib import Path

    from domain.card import Card, CardState
    from domain.lot import Lot
    from domain.package import Duration, DurationUnit, Package
    from handlers.ports import Gate
    from infra.gate_agent.agent import GateAgent, GateConfig

    stack = DevStack(DevStackOptions(port=0, sweep_every_s=None)).start()
    stack.keep_for_good()
    s = stack.services
    # A lot with no renewal limit, so 500 renewals of a day are all allowed.
    s.lots.add(Lot(id="bench-lot", name="Bench"))
    s.packages.add(Package("bench-1d", "bench-lot", "1 day", Duration(DurationUnit.DAYS, 1), 1_00))
    add_card(s, Card("bench-card", "bench-lot", "owner-demo", ("粤B99999",), None, None, CardState.PENDING))
    s.gates.add(Gate("bench-gate", "bench-lot", "bench-secret"))
    http = requests.Session()
    token = http.post(f"{stack.api_url}/api/v1/auth/login", json={"code": "sim:demo-owner"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    assert s.signer is not None
    with tempfile.TemporaryDirectory() as folder:
        config = GateConfig(
            "bench-lot",
            "bench-gate",
            "bench-secret",
            stack.api_url,
            stack.mqtt_url,
            s.signer.public_key(),
            Path(folder) / "gate.sqlite",
        )
        agent = GateAgent(config, now=lambda: stack.clock.now().timestamp())
        agent.start()
        deadline = time.monotonic() + 10
        while not agent.health()["mqtt_connected"] and time.monotonic() < deadline:
            time.sleep(0.05)
        stack.wechatpay.deliver = False
        sent: dict[int, float] = {}
        requests_per_notification: list[int] = []
        version = agent.version
        try:
            for i in range(n):
                made = http.post(
                    f"{stack.api_url}/api/v1/cards/bench-card/renewals",
                    json={"package_id": "bench-1d", "channel": "wechat", "idempotency_key": f"bench-{i:06d}"},
                    headers=owner,
                ).json()
                stack.wechatpay.pay(made["order_id"])
                headers, body = stack.wechatpay.notification(made["order_id"])
                with DynamoRequestCounter(BACKGROUND_THREADS) as counter:
                    sent[version + i + 1] = time.monotonic()
                    http.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers)
                requests_per_notification.append(counter.total)
            deadline = time.monotonic() + 60
            while agent.version < version + n and time.monotonic() < deadline:
                time.sleep(0.05)
            delays = [agent.applied_at[v] - sent[v] for v in sent if v in agent.applied_at]
            baseline = bench_mqtt_baseline(stack.mqtt_url)
            _record("raw MQTT publish -> receive (same broker)", baseline, None)
            _record(f"payment notification -> gate agent applied ({len(delays)} of {n})", delays, baseline)
            p50, p99 = _p(delays)
            verdict = "within" if p50 <= GATE_P50_MS and p99 <= GATE_P99_MS else "OVER"
            RESULTS.append(
                f"| target: notification -> gate p50 <= {GATE_P50_MS:.0f} ms, p99 <= {GATE_P99_MS:.0f} ms "
                f"| {p50:.2f} | {p99:.2f} | {len(delays)} | - | {verdict} |"
            )
            each = sorted(set(requests_per_notification))
            RESULTS.append(
                f"| DynamoDB requests per fulfilled notification | {statistics.median(requests_per_notification):.0f} "
                f"| {max(requests_per_notification)} | {n} | - | seen: {each} |"
            )
            print(f"gate delay {verdict} target; DynamoDB requests per notification: {each}")
            _bench_visit_exit(stack, agent, http, owner)
        finally:
            agent.stop()
            stack.stop()


EXIT_OPENS_MS = 1000.0
"""Issue #21: a visitor's exit opens within a second of its payment's notification."""


def _bench_visit_exit(stack: DevStack, agent: Any, http: requests.Session, owner: dict[str, str], n: int = 100) -> None:
    """A visitor waiting at the exit pays; its notification received -> the gate agent opened the barrier."""
    from domain.visitor_fee import VisitorFeeRule

    s = stack.services
    s.parking.save_setup(s.parking.setup("bench-lot").with_rule(VisitorFeeRule(date(2020, 1, 1), 0, 60, 500)))
    delays: list[float] = []
    for i in range(n):
        plate = f"粤A{i:05d}"
        agent.decide(plate, entering=True)
        waiting = agent.decide(plate, entering=False)
        assert not waiting["allow"] and waiting["fee_fen"] == 500, waiting
        body = {"channel": "wechat", "idempotency_key": f"bench-visit-{i:06d}"}
        made = http.post(f"{stack.api_url}/api/v1/visits/{waiting['visit_id']}/payments", json=body,
                         headers=owner).json()  # fmt: skip
        stack.wechatpay.pay(made["order_id"])
        headers, note = stack.wechatpay.notification(made["order_id"])
        sent = time.monotonic()
        http.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=note.encode(), headers=headers)
        deadline = time.monotonic() + 10
        while plate not in agent.opened_at and time.monotonic() < deadline:
            time.sleep(0.002)
        if plate in agent.opened_at:
            delays.append(agent.opened_at[plate] - sent)
    _record(f"visit payment notification -> exit opened ({len(delays)} of {n})", delays, None)
    p50, p99 = _p(delays)
    verdict = "within" if p99 <= EXIT_OPENS_MS and len(delays) == n else "OVER"
    RESULTS.append(f"| target: a paid exit opens within {EXIT_OPENS_MS:.0f} ms | {p50:.2f} | {p99:.2f} | {len(delays)} "
                   f"| - | {verdict} |")  # fmt: skip
    print(f"exit opening {verdict} target")


def _import_seconds(statement: str, env: dict[str, str]) -> float:
    """Wall time of `statement` in a fresh process, the interpreter's own start-up left out."""
    import subprocess
    import sys
    from pathlib import Path

    probe = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    run.check_returncode()
    return float(run.stdout.split()[-1])


def bench_imports(rounds: int = 7) -> None:
    """Each serverless.yml function's import against `import boto3, flask`, fresh processes with bytecode
    (as `make lambda-bytecode` packages it), best of `rounds`, interleaved."""
    import os
    import tempfile

    from tests.integration.test_cold_start import function_modules

    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        statements = {"baseline": "import boto3, flask"} | {
            name: f"import {module}" for name, module in function_modules().items()
        }
        for statement in statements.values():  # writes the bytecode; not timed
            _import_seconds(statement, env)
        best: dict[str, float] = {}
        for _ in range(rounds):
            for name, statement in statements.items():
                best[name] = min(best.get(name, float("inf")), _import_seconds(statement, env))
    baseline = best.pop("baseline")
    RESULTS.append(
        f"| import boto3, flask (fresh process, best of {rounds}) | {baseline * 1000:.0f} | - | - | - | baseline |"
    )
    for name, seconds in best.items():
        ratio = seconds / baseline
        verdict = "within" if ratio <= IMPORT_BUDGET else "OVER"
        against = f"{ratio:.2f}x ({verdict} {IMPORT_BUDGET}x)"
        RESULTS.append(f"| import of function `{name}` | {seconds * 1000:.0f} | - | - | - | {against} |")
        print(f"import {name}: {seconds * 1000:.0f} ms, {ratio:.2f}x of import boto3, flask ({verdict})")


def write_results() -> None:
    import os
    import platform
    from datetime import datetime
    from pathlib import Path

    head = [
        "# ParkPass benchmarks",
        "",
        f"Measured {datetime.now().isoformat(timespec='minutes')} on {platform.node() or 'this machine'}: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        "the local stack (embedded moto DynamoDB, amqtt broker, simulators). Written by `make bench`.",
        "",
        "| what | p50 ms | p99 ms | samples | throughput | vs baseline (p50 / p99) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    from bench.scale import LINES

    lines = [*head, *RESULTS, *LINES, ""]
    Path(__file__).with_name("results.md").write_text("\n".join(lines), encoding="utf-8")
    print("written to bench/results.md")


if __name__ == "__main__":
    # The gate delay first: the embedded DynamoDB's store is the process's, so a bench after others would run
    # on their leftovers (and their garbage).
    bench_gate_delay()
    bench_quote()
    bench_price_list()
    bench_endpoints()
    bench_imports()
    bench_reminder_tick()
    from bench.scale import bench_scale

    bench_scale()  # last and longest: 20,000 reminders three times (about half an hour here)
    write_results()
