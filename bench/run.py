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
from functions.dev_stack import DevStack, DevStackOptions
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
    stack = DevStack(DevStackOptions(port=0)).start()
    try:
        http = requests.Session()
        url = f"{stack.api_url}/api/v1/lots/demo-lot/packages"
        http.get(url, timeout=10).raise_for_status()  # warm
        samples = []
        with DynamoRequestCounter() as counter:
            for _ in range(n):
                started = time.perf_counter()
                http.get(url, timeout=10).raise_for_status()
                samples.append(time.perf_counter() - started)
        print(f"GET price list over HTTP (local stack): {_percentiles(samples)}")
        print(f"DynamoDB requests per price list: {counter.total / n:.2f} ({dict(counter.by_operation)})")
    finally:
        stack.stop()


if __name__ == "__main__":
    bench_quote()
    bench_price_list()
