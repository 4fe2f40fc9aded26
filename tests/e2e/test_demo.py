"""`parkpass demo` plays the whole story against a running stack, and says so only when it worked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from functions.dev_stack import DevStack

ROOT = Path(__file__).resolve().parents[2]


def demo(api: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", "demo", "--api", api],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_demo_plays_every_step_against_the_local_stack(local_stack: DevStack) -> None:
    run = demo(local_stack.api_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7. the gate refuses 粤A00000: unknown" in run.stdout
    card = local_stack.services.cards.get("card-demo")
    assert card is not None
    assert f"lets 粤B12345 in, valid until {card.valid_until}" in run.stdout


def test_the_demo_fails_loudly_when_the_stack_is_not_there() -> None:
    run = demo("http://127.0.0.1:9")
    assert run.returncode == 1 and "FAILED" in run.stdout
