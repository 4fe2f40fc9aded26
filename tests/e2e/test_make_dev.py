"""`make dev` itself: the command in the README, as a newcomer runs it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from infra.dynamodb.emulator import local_client
from infra.settings import DEFAULT_REGION
from tests.e2e.api_client import ApiClient, json_error

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN_S = 60  # the foundation issue's promise to a newcomer


@dataclass
class Running:
    api: ApiClient
    lines: list[str] = field(default_factory=list)

    def banner_value(self, label: str) -> str:
        """The value printed after `label` in the start-up banner (waits briefly for it)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.match(rf"\s*{label}\s+(\S+)", line):
                    return m.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no {label!r} in the banner:\n" + "\n".join(self.lines))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def make_dev(*args: str) -> Iterator[Running]:
    """Run `make dev ARGS=...` until healthy, then stop it with Ctrl-C and expect a clean stop."""
    port = _free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"ARGS=--port {port} " + " ".join(args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C goes to the whole group, as in a terminal
    )
    running = Running(ApiClient(f"http://127.0.0.1:{port}"))
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: running.lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        running.api.wait_until_healthy(READY_WITHIN_S)
        yield running
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    output = "".join(running.lines)
    # make itself reports the interrupt (-SIGINT or 2); ParkPass must have stopped cleanly inside it.
    assert proc.returncode in (0, 2, -signal.SIGINT), output
    assert "stopping..." in output and "Traceback" not in output, output


def _demo_card_until(dynamodb_endpoint: str) -> str:
    client = local_client(dynamodb_endpoint, DEFAULT_REGION)
    item = client.get_item(TableName="parkpass-cards", Key={"card_id": {"S": "card-demo"}})["Item"]
    return str(item["valid_until"]["S"])


def test_make_dev_serves_the_api_and_the_wechat_simulator_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    with make_dev("--data-dir", str(tmp_path), "--clock", "2026-11-23T10:00:00+08:00") as dev:
        assert dev.api.get("/healthz").json()["status"] == "ok"
        prices = dev.api.get("/api/v1/lots/demo-lot/packages").json()
        assert [p["price_yuan"] for p in prices["packages"]] == ["300.00", "850.00", "3200.00"]
        assert json_error(dev.api.get("/api/v1/lots/no-lot/packages"))["code"] == "lot_not_found"
        assert _demo_card_until(dev.banner_value("DynamoDB")) == "2026-12-03"
        alice = _login(dev.api, "sim:alice")
        assert dev.api.post("/api/v1/me/phone", json={"code": "sim-phone:13800001234"}, headers=alice).ok
        assert dev.api.post("/api/v1/me/vehicles", json={"plate": "粤B12345"}, headers=alice).status_code == 201
        assert dev.api.get("/api/v1/me/cards", headers=alice).json() == {"cards": []}
        demo = _login(dev.api, "sim:demo-owner")
        assert [c["id"] for c in dev.api.get("/api/v1/me/cards", headers=demo).json()["cards"]] == ["card-demo"]
        r = dev.api.get("/api/v1/cards/card-demo", headers=_login(dev.api, "sim:bob"))
        assert r.status_code == 404 and json_error(r)["code"] == "card_not_found"
    assert (tmp_path / "dynamodb.json").exists()

    # Started again three months later: a fresh seed would end the card on Mar 3, so Dec 3
    # proves the data came back from the snapshot; alice's encrypted phone still reads, so the keys did too.
    with make_dev("--data-dir", str(tmp_path), "--clock", "2027-02-21T10:00:00+08:00") as dev:
        assert _demo_card_until(dev.banner_value("DynamoDB")) == "2026-12-03"
        assert dev.api.get("/api/v1/lots/demo-lot/packages").status_code == 200
        me = dev.api.get("/api/v1/me", headers=_login(dev.api, "sim:alice:after-restart")).json()
        assert me["phone"] == "138****1234" and me["vehicles"] == ["粤B12345"]


def _login(api: ApiClient, code: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
