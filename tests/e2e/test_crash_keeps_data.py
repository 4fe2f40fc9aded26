"""`parkpass dev --data-dir` killed without warning: what was paid more than SAVE_WITHIN_S before is still there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.dynamodb.snapshot import FILE_NAME, SAVE_WITHIN_S
from tests.e2e.api_client import ApiClient
from tests.e2e.test_make_dev import ROOT, Running, _free_port, _login
from tests.e2e.test_wechat_payments import card, order

READY_WITHIN_S = 30
CLOCK = "2026-11-23T10:00:00+08:00"  # the demo card ends Dec 3; three months more end it Mar 3


@contextmanager
def parkpass_dev(data_dir: Path) -> Iterator[tuple[Running, subprocess.Popen[str]]]:
    """`parkpass dev --data-dir` as its own process, until healthy; killed outright at the end whatever happened."""
    port = _free_port()
    command = ["dev", "--port", str(port), "--data-dir", str(data_dir), "--clock", CLOCK]
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Running(ApiClient(f"http://127.0.0.1:{port}"))
    reader = threading.Thread(target=lambda: running.lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        running.api.wait_until_healthy(READY_WITHIN_S)
        yield running, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=5)


def test_a_payment_survives_the_stack_being_killed_two_seconds_later(tmp_path: Path) -> None:
    with parkpass_dev(tmp_path) as (dev, proc):
        owner = _login(dev.api, "sim:demo-owner")
        made = order(dev.api, owner)
        # What the start wrote is saved by now, so the save that follows is the payment's own.
        deadline = time.monotonic() + 10
        while not (tmp_path / FILE_NAME).exists():
            assert time.monotonic() < deadline, "nothing saved while running"
            time.sleep(0.05)
        assert dev.api.post("/sim/wechatpay/pay", json={"out_trade_no": made["out_trade_no"]}).status_code == 200
        deadline = time.monotonic() + 10
        while dev.api.get(f"/api/v1/orders/{made['order_id']}", headers=owner).json()["state"] != "paid":
            assert time.monotonic() < deadline, "the notification never fulfilled the order"
            time.sleep(0.05)
        assert card(dev.api, owner)["valid_until"] == "2027-03-03"

        time.sleep(SAVE_WITHIN_S)
        os.killpg(proc.pid, signal.SIGKILL)  # no signal handler runs, so no save on the way out
        assert proc.wait(timeout=10) == -signal.SIGKILL
    assert "stopping..." not in "".join(dev.lines)

    with parkpass_dev(tmp_path) as (again, _):
        owner = _login(again.api, "sim:demo-owner:after-the-crash")
        r = again.api.get(f"/api/v1/orders/{made['order_id']}", headers=owner)
        assert r.status_code == 200, "the order was lost with the process"
        assert (r.json()["state"], r.json()["amount_fen"]) == ("paid", 85000)
        # A fresh seed would end the card on Dec 3 again: Mar 3 is the payment, read back from the disk.
        assert card(again.api, owner)["valid_until"] == "2027-03-03"
