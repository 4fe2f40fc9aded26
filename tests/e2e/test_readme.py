"""The README's examples, read from README.md and run as written, on a local stack whose clock is not today.

A date written into the README would be refused there (a pause must start after the stack's today);
dates the examples work out from the stack's own day are accepted on any day.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from domain.calendar import add_months
from domain.card import PauseState
from functions.dev_stack import DevStack
from tests.e2e.conftest import start_stack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAKE_DEV = "http://127.0.0.1:8000"
GATE_CHECK = "http://127.0.0.1:8100"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STRICT = 'set -euo pipefail\ncurl() { command curl -sS --fail-with-body "$@"; }\n'
"""Every example must succeed: a refused request (HTTP 4xx/5xx) or a failed command stops the script."""


def _sh_block(containing: str) -> str:
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S) if containing in b]
    assert len(blocks) == 1, f"one ```sh block of README.md has {containing!r}"
    return blocks[0]


def _commands(block: str) -> list[str]:
    """The block's commands, each with its continuation lines."""
    return [c for c in re.sub(r"\\\n\s*", " ", block).splitlines() if c.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", STRICT + script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def another_day_stack(moto_server: str) -> Iterator[DevStack]:
    """A stack 137 days from now (never today, whatever day the test runs), at 09:00 in Shanghai."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=137)
    stack = start_stack(moto_server, clock=datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI))
    yield stack
    stack.stop()


def _stack_today(stack: DevStack) -> date:
    return stack.clock.now().astimezone(SHANGHAI).date()


def test_the_api_examples_run_as_written_on_another_day(another_day_stack: DevStack) -> None:
    stack = another_day_stack
    block = _sh_block("/cards/card-demo/pause")
    assert block.startswith(f"API={MAKE_DEV}\n")
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", block), "a date written into an example is wrong on other days"
    today = _stack_today(stack)
    assert today != datetime.now(SHANGHAI).date()

    run = _bash(block.replace(MAKE_DEV, stack.api_url), dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr

    card = stack.services.cards.get("card-demo")
    assert card is not None
    assert card.valid_until == add_months(today + timedelta(days=10), 3)  # renewed for 3 months and paid
    assert [(p.starts, p.until, p.state) for p in card.pauses] == [
        (today + timedelta(days=2), today + timedelta(days=6), PauseState.WITHDRAWN)  # paused, then resumed
    ]
    assert '"sim-expiry"' in run.stdout.splitlines()[-1], "the last example shows no expiry reminder"
    assert stack.clock.now().astimezone(SHANGHAI).date() == card.valid_until - timedelta(days=5)
    sent = [m for m in stack.wechat.messages if m.get("template_id") == "sim-expiry" and m["touser"] == "oa-demo-owner"]
    assert [m["data"]["date3"]["value"] for m in sent] == [card.valid_until.isoformat()]


def test_the_gate_examples_run_as_written_on_another_day(another_day_stack: DevStack, tmp_path: Path) -> None:
    stack = another_day_stack
    commands = _commands(_sh_block("parkpass gate-check"))
    agent_at = next(i for i, c in enumerate(commands) if re.match(r"\S*parkpass gate ", c))
    before, agent_line, after = commands[:agent_at], commands[agent_at], commands[agent_at + 1 :]
    assert any("--data-urlencode 'plate=粤B12345'" in c for c in after)
    port = _free_port()
    env = {
        **os.environ,
        "PARKPASS_API": stack.api_url,  # the stack is not on make dev's port
        "XDG_DATA_HOME": str(tmp_path),  # the gate's whitelist goes to the user's data folder
    }

    def as_here(script: str) -> str:
        return script.replace(MAKE_DEV, stack.api_url).replace(GATE_CHECK, f"http://127.0.0.1:{port}")

    in_checkout = set(ROOT.glob("gate-*.sqlite*"))
    first = _bash(as_here("\n".join(before)), env)
    assert first.returncode == 0, first.stdout + first.stderr
    agent = subprocess.Popen(
        ["bash", "-c", f"exec {agent_line.split('#')[0].strip()} --port {port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_check(port)
        rest = _bash(as_here("\n".join(after)), env)
        assert rest.returncode == 0, rest.stdout + rest.stderr  # gate-check exits 1 on deny
        assert rest.stdout.count('"allow": true') == 2, rest.stdout  # the agent's answer, then gate-check's
    finally:
        os.killpg(agent.pid, signal.SIGINT)
        out, _ = agent.communicate(timeout=30)
    assert "Traceback" not in out, out
    assert (tmp_path / "parkpass" / "gates" / "demo-gate.sqlite").is_file()
    assert set(ROOT.glob("gate-*.sqlite*")) == in_checkout  # nothing written into the checkout


def _wait_for_check(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/check", params={"plate": "粤B12345"}, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the gate agent answered nothing on port {port} within {seconds} s")


def test_the_stack_says_its_day_as_plain_text(stack: DevStack) -> None:
    r = requests.get(f"{stack.api_url}/sim/today", timeout=10)
    assert r.text == "2026-11-23\n" and r.headers["Content-Type"].startswith("text/plain")


def test_the_import_and_claim_example_runs_as_written_on_another_day(another_day_stack: DevStack) -> None:
    stack = another_day_stack
    block = _sh_block("imports/parse")
    assert block.startswith(f"API={MAKE_DEV}\n")
    run = _bash(block.replace(MAKE_DEV, stack.api_url), dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    card = stack.services.cards.card_for_plate("demo-lot", "粤B66666")
    today = _stack_today(stack)
    assert card is not None and card.valid_until == add_months(today, 2)
    assert card.owner_id != "office-demo-lot" and card.claim is None  # claimed by 张三's phone
    assert f'"id":"{card.id}"' in run.stdout.replace(" ", "")  # and listed among his cards
