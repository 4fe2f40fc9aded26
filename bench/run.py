"""`make bench`: timings and DynamoDB request counts of the hot paths, on the local stack.

Timing lives here, not in tests. Numbers depend on the machine; request
counts do not.
"""

from __future__ import annotations

import statistics
import time
from datetime import date

import requests

from domain.lot import RenewalMode
from domain.renewal import quote
from functions.dev_stack import BACKGROUND_THREADS, DevStack, DevStackOptions
from infra.dynamodb.request_counter import DynamoRequestCounter
from tests.builders import a_card, a_lot, months


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms over {len(ms)}"


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


def bench_gate_delay(n: int = 500) -> None:
    """Payment notification received -> a gate agent on the embedded broker has applied the change."""
    import tempfile
    from pathlib import Path

    from domain.card import Card, CardState
    from domain.lot import Lot
    from domain.package import Duration, DurationUnit, Package
    from handlers.gate_sync import Gate
    from infra.gate_agent.agent import GateAgent, GateConfig

    stack = DevStack(DevStackOptions(port=0, sweep_every_s=None)).start()
    s = stack.services
    # A lot with no renewal limit, so 500 renewals of a day are all allowed.
    s.lots.add(Lot(id="bench-lot", name="Bench"))
    s.packages.add(Package("bench-1d", "bench-lot", "1 day", Duration(DurationUnit.DAYS, 1), 1_00))
    s.cards.add(Card("bench-card", "bench-lot", "owner-demo", ("粤B99999",), None, None, CardState.PENDING))
    s.gates.add(Gate("bench-gate", "bench-lot", "bench-secret"))
    http = requests.Session()
    token = http.post(f"{stack.api_url}/api/v1/auth/login", json={"code": "sim:demo-owner"}).json()["token"]
    owner = {"Authorization": f"Bearer {token}"}
    assert s.signer is not None
    with tempfile.TemporaryDirectory() as folder:
        config = GateConfig(
            "bench-lot", "bench-gate", "bench-secret", stack.api_url, stack.mqtt_url,
            s.signer.public_key(), Path(folder) / "gate.sqlite",
        )  # fmt: skip
        agent = GateAgent(config, now=lambda: stack.clock.now().timestamp())
        agent.start()
        stack.wechatpay.deliver = False
        sent: dict[int, float] = {}
        try:
            for i in range(n):
                made = http.post(
                    f"{stack.api_url}/api/v1/cards/bench-card/renewals",
                    json={"package_id": "bench-1d", "channel": "wechat", "idempotency_key": f"bench-{i:06d}"},
                    headers=owner,
                ).json()
                stack.wechatpay.pay(made["order_id"])
                headers, body = stack.wechatpay.notification(made["order_id"])
                sent[i + 1] = time.monotonic()
                http.post(f"{stack.api_url}/api/v1/payments/wechat/notify", data=body.encode(), headers=headers)
            deadline = time.monotonic() + 60
            while agent.version < n and time.monotonic() < deadline:
                time.sleep(0.05)
            delays = [agent.applied_at[v] - sent[v] for v in sent if v in agent.applied_at]
            print(f"notification -> gate applied ({len(delays)} of {n} renewals): {_percentiles(delays)}")
        finally:
            agent.stop()
            stack.stop()


if __name__ == "__main__":
    bench_quote()
    bench_price_list()
    bench_gate_delay()
