"""`parkpass demo` plays the whole story against a running stack, and says so only when it worked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from domain.reminder import ReminderChannel, ReminderPrefs
from functions.dev_stack import DevStack
from handlers.seed_demo import opt_in_demo_reminders
from tests.e2e.api_client import ApiClient

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


def test_the_demo_owner_is_reminded_when_the_clock_reaches_a_reminder_day(stack: DevStack) -> None:
    """The demo card ends Dec 3 (the stack starts Nov 23): 3 days before, at the lot's 10:00, a reminder goes out."""
    api = ApiClient(stack.api_url)
    assert api.post("/sim/clock", json={"now": "2026-11-30T09:30:00+08:00"}).status_code == 200
    assert _expiry_reminders(api) == []
    assert api.post("/sim/clock", json={"now": "2026-11-30T10:30:00+08:00"}).status_code == 200
    assert _expiry_reminders(api) == [("template", "oa-demo-owner", "2026-12-03", "3 天后到期 点击续费")]


def test_the_demo_seed_keeps_an_owners_own_reminder_choice(stack: DevStack) -> None:
    s = stack.services
    assert s.reminder_prefs.get("card-demo") == ReminderPrefs("card-demo", True, ReminderChannel.OFFICIAL_ACCOUNT)
    s.reminder_prefs.put(ReminderPrefs("card-demo", False))  # the owner turned them off; the stack restarts
    assert opt_in_demo_reminders(s.cards, s.lots, s.reminder_prefs, s.reminders) is False
    assert s.reminder_prefs.get("card-demo") == ReminderPrefs("card-demo", False)


def _expiry_reminders(api: ApiClient) -> list[tuple[str, str, str, str]]:
    return [
        (m["kind"], m["touser"], m["data"]["date3"]["value"], m["data"]["thing4"]["value"])
        for m in api.get("/sim/wechat/messages").json()["messages"]
        if m.get("template_id") == "sim-expiry"
    ]
