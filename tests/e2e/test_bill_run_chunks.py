"""A big community's bill run on the local stack over HTTP: drafted and published in chunks by the work consumers
(moto's SQS and the in-process consumer pool, as SQS and Lambda on AWS), each chunk's message delivered more than
once and taken by several consumers at once. The office sees the run's progress, in Chinese, and its totals once
every chunk is done; each bill is drafted and published once, and the shared meter is split over every unit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from functions import work
from functions.dev_stack import DevStack
from handlers.bill_runs import DRAFT_CHUNK, PUBLISH_CHUNK, chunk_message
from handlers.scheduled_work import WorkReport
from infra.work_queue import sqs_event
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import start_stack
from tests.e2e.test_existing_card_holders import office

BUILDINGS = {"1栋": 9, "2栋": 8, "3栋": 8}
"""25 units: with chunks of 10, three chunks, the second across two buildings."""
PER_CHUNK = 10


@pytest.fixture
def stack(moto_server: str) -> Iterator[DevStack]:
    s = start_stack(moto_server, run_chunk_units=PER_CHUNK)
    yield s
    s.stop()


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def big_community(api: ApiClient, staff: dict[str, str]) -> list[str]:
    ok(api.post("/admin/api/v1/communities", json={"id": "big", "name": "大社区", "lot_ids": ["demo-lot"]},
                headers=staff), 201)  # fmt: skip
    rows = ["房屋编号,楼栋,房号,建筑面积,状态,业主电话"]
    units = []
    for building, count in BUILDINGS.items():
        for n in range(1, count + 1):
            unit = f"b{building[0]}-{n:02d}"
            units.append(unit)
            rows.append(f"{unit},{building},{100 + n},{80 + n}.00,已入住,")
    files = {"file": ("房屋.csv", "\n".join(rows).encode("gb18030"), "text/csv")}
    assert ok(api.post("/admin/api/v1/communities/big/units/import", files=files, headers=staff))["created"] == 25
    fee = {"id": "big-fee", "name": "物业费", "kind": "area", "price_fen": 250, "from": "2026-10-01"}
    ok(api.post("/admin/api/v1/communities/big/fee-items", json=fee, headers=staff), 201)
    water = {"id": "big-water", "name": "公摊水费", "kind": "metered", "meter": "water", "from": "2026-10-01",
             "bands": [{"up_to": None, "price_fen": 333}]}  # fmt: skip
    ok(api.post("/admin/api/v1/communities/big/fee-items", json=water, headers=staff), 201)
    master = {"id": "big-master", "kind": "water", "shared": {"split": "equal", "unit_ids": units}}
    ok(api.post("/admin/api/v1/communities/big/meters", json=master, headers=staff), 201)
    for day, reading in (("2026-09-30", "1000"), ("2026-10-31", "1100")):
        ok(api.post("/admin/api/v1/meters/big-master/readings", json={"date": day, "reading": reading},
                    headers=staff), 201)  # fmt: skip
    return units


def test_a_big_run_is_drafted_and_published_in_chunks_each_bill_once_with_its_progress_shown(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    units = big_community(api, staff)
    period = {"period": "2026-10", "fee_item_ids": ["big-fee", "big-water"]}

    run = ok(api.post("/admin/api/v1/communities/big/bill-runs", json=period, headers=staff), 201)
    assert (run["state"], run["state_label"], run["bills"], run["total_fen"]) == ("drafting", "生成中", [], 0)
    assert [(c["first_unit"], c["last_unit"], c["units"], c["state_label"]) for c in run["chunks"]] == [
        ("1栋 101", "2栋 101", 10, "待生成"),
        ("2栋 102", "3栋 103", 10, "待生成"),
        ("3栋 104", "3栋 108", 5, "待生成"),
    ]
    listed = ok(api.get("/admin/api/v1/communities/big/bill-runs", headers=staff))["runs"]
    assert [(r["id"], r["state_label"], r["bills"]) for r in listed] == [(run["id"], "生成中", 0)]
    early = api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff)
    assert early.status_code == 409
    assert early.json()["error"]["message"] == "账单还在生成中（已完成 0/3 部分），全部生成后才能发布"

    # SQS delivers at least once: every chunk's message twice more, taken by four consumers at once.
    queue = stack.services.work_queue
    assert queue is not None
    queue.send([chunk_message(DRAFT_CHUNK, run["id"], n, "") for n in (0, 1, 2) for _ in range(2)])
    drafted = stack.work(consumers=4)
    assert sorted(drafted.worked) == [f"{DRAFT_CHUNK}#{run['id']}#{n}" for n in (0, 1, 2)]
    assert drafted.duplicates == 6 and not drafted.failed

    seen = ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}", headers=staff))
    assert (seen["state"], seen["state_label"], seen["chunks_drafted"]) == ("drafted", "草稿待发布", 3)
    bills = [b for n in (0, 1, 2) for b in ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}/chunks/{n}",
                                                      headers=staff))["bills"]]  # fmt: skip
    assert len(bills) == len({(b["fee_item_id"], b["unit_id"]) for b in bills}) == 50 == seen["drafted_bills"]
    assert {b["unit_id"] for b in bills} == set(units)
    assert seen["total_fen"] == sum(b["amount_fen"] for b in bills) == sum(c["total_fen"] for c in seen["chunks"])
    # 100 m³ at 3.33 yuan, split equally over all 25 units, not over each chunk's: 33,300 fen, 1,332 each.
    water = [b["amount_fen"] for b in bills if b["fee_item_id"] == "big-water"]
    assert sum(water) == 33_300 and set(water) == {1_332}
    in_english = ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}?lang=en", headers=staff))
    assert in_english["state_label"] == "drafted, to publish"

    asked = ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))
    assert (asked["state"], asked["state_label"]) == ("publishing", "发布中")
    assert ok(api.post(f"/admin/api/v1/bill-runs/{run['id']}/publish", headers=staff))["state"] == "publishing"
    queue.send([chunk_message(PUBLISH_CHUNK, run["id"], n, "admin:x") for n in (0, 1, 2)])
    published = stack.work(consumers=4)
    assert len(published.worked) == 3 and published.duplicates == 6 and not published.failed

    done = ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}", headers=staff))
    assert (done["state_label"], done["published"], done["chunks_published"]) == ("已发布", True, 3)
    listed = ok(api.get("/admin/api/v1/communities/big/bill-runs", headers=staff))["runs"]
    assert [(r["state_label"], r["bills"], r["total_fen"]) for r in listed] == [("已发布", 50, seen["total_fen"])]
    owed = ok(api.get("/admin/api/v1/communities/big/bills?period=2026-10", headers=staff))["bills"]
    assert len(owed) == 50 and {b["state"] for b in owed} == {"unpaid"}


def test_on_make_dev_s_stack_a_big_run_is_drafted_without_waiting_for_the_next_tick(moto_server: str) -> None:
    """The scheduler ticks every 10 minutes here: the consumers take what the office put on the queue at once, as
    Lambda's event source mapping does."""
    stack = start_stack(moto_server, run_chunk_units=PER_CHUNK, sweep_every_s=600)
    try:
        api = ApiClient(stack.api_url)
        staff = office(api)
        big_community(api, staff)
        period = {"period": "2026-10", "fee_item_ids": ["big-fee"]}
        run = ok(api.post("/admin/api/v1/communities/big/bill-runs", json=period, headers=staff), 201)
        deadline = time.monotonic() + 30
        while (seen := ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}", headers=staff)))["state"] == "drafting":
            assert time.monotonic() < deadline, seen
            time.sleep(0.2)
        assert (seen["state_label"], seen["drafted_bills"]) == ("草稿待发布", 25)
    finally:
        stack.stop()


class Remaining:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


def test_a_consumer_does_one_chunk_an_invocation_and_puts_the_batch_s_others_back_as_new_messages(
    stack: DevStack,
) -> None:
    """A chunk takes up to 20 s of the consumer's 60: the batch's second chunk, and any chunk left with less than
    45 s, goes back on the queue as a new message (a failed item would count a receive towards the dead-letter
    queue and wait out the 6-minute visibility timeout)."""
    api = ApiClient(stack.api_url)
    staff = office(api)
    big_community(api, staff)
    period = {"period": "2026-10", "fee_item_ids": ["big-fee"]}
    run = ok(api.post("/admin/api/v1/communities/big/bill-runs", json=period, headers=staff), 201)
    sqs, url = stack.sqs, stack.work_queue_url
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert len(got) == 3

    report = WorkReport()
    answer = work.consume(stack.services, sqs_event(got), Remaining(59_000), report)
    assert answer["batchItemFailures"] == [] and len(report.worked) == 1 and report.retried == 2
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert len(back) == 2 and {m["MessageId"] for m in back}.isdisjoint(m["MessageId"] for m in got)

    late = WorkReport()
    assert work.consume(stack.services, sqs_event(back), Remaining(work.CHUNK_TIME_MS - 1), late) == {
        "batchItemFailures": []
    }
    assert late.worked == [] and late.retried == 2  # none started so near the end: both put back
    for m in got + back:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert len(stack.work().worked) == 2
    done = ok(api.get(f"/admin/api/v1/bill-runs/{run['id']}", headers=staff))
    assert (done["state"], done["drafted_bills"]) == ("drafted", 25)
