"""`parkpass init-db` and `parkpass seed-demo` against a DynamoDB endpoint, as an operator runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import requests

from domain.card import CardState
from domain.gate import Grant
from domain.reminder import ReminderChannel, ReminderPrefs, slots_for
from functions.bootstrap import Services
from infra.dynamodb.tables import LotItem
from infra.gate_agent.store import WhitelistStore, default_db_path
from tests.conftest import TEST_REGION

ROOT = Path(__file__).resolve().parents[2]


def _parkpass(*args: str, endpoint: str) -> str:
    env = {**os.environ, "AWS_REGION": TEST_REGION}
    out = subprocess.run(
        [sys.executable, "-m", "functions.cli", *args, "--dynamodb-endpoint", endpoint, "--table-prefix", "test"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_init_db_creates_the_tables_once(moto_server: str) -> None:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    first = _parkpass("init-db", endpoint=moto_server)
    assert "test-cards" in first and "test-lots" in first
    assert "every table exists" in _parkpass("init-db", endpoint=moto_server)


def test_seed_demo_uses_the_given_clock_and_is_idempotent(dynamodb: str, dynamo_services: Services) -> None:
    out = _parkpass("seed-demo", "--clock", "2027-01-25T20:00:00+00:00", endpoint=dynamodb)
    assert "card card-demo" in out
    card = dynamo_services.cards.get("card-demo")
    assert card is not None and card.state is CardState.ACTIVE
    assert str(card.valid_until) == "2027-02-05"  # 04:00 on Jan 26 in Shanghai, plus 10 days
    assert "nothing" in _parkpass("seed-demo", endpoint=dynamodb)


def test_reminders_run_ticks_once_at_the_given_time(dynamodb: str, dynamo_services: Services) -> None:
    _parkpass("seed-demo", "--clock", "2026-11-23T02:00:00+00:00", endpoint=dynamodb)
    card = dynamo_services.cards.get("card-demo")
    lot = dynamo_services.lots.get("demo-lot")
    assert card is not None and lot is not None
    assert dynamo_services.reminder_prefs.get("card-demo") == ReminderPrefs(
        "card-demo", True, ReminderChannel.OFFICIAL_ACCOUNT
    )  # the demo seed opts the demo owner in
    dynamo_services.reminder_prefs.put(ReminderPrefs("card-demo", False))  # turned off: due reminders are skipped
    dynamo_services.reminders.schedule(slots_for(card, lot))
    out = _parkpass("reminders", "run", "--at", "2026-11-28T10:30:00+08:00", endpoint=dynamodb)
    assert out.strip() == "sent 0, skipped 1, failed 0"
    assert _parkpass("reminders", "run", "--at", "2026-11-28T10:45:00+08:00", endpoint=dynamodb).strip() == (
        "sent 0, skipped 0, failed 0"
    )


def test_admin_create_and_import_cards_from_a_terminal(
    dynamodb: str, dynamo_services: Services, tmp_path: Path
) -> None:
    from domain.lot import Lot

    dynamo_services.lots.add(Lot("lot-t", "终端车场", tenant_id="t9"))
    os.environ.pop("PARKPASS_ADMIN_PASSWORD", None)
    made = _parkpass(
        "admin",
        "create",
        "--tenant",
        "t9",
        "--email",
        "Boss@T9.cn",
        "--role",
        "tenant_admin",
        "--password",
        "a long enough password",
        endpoint=dynamodb,
    )
    assert "boss@t9.cn: tenant_admin of t9" in made
    table = tmp_path / "cards.csv"
    table.write_text(
        "plates,valid_from,valid_until,holder\n粤B10001,2026-01-01,2026-12-31,张三\n粤B1,2026-01-01,2026-12-31,李四\n",
        encoding="utf-8",
    )
    errors = tmp_path / "refused.csv"
    env = {**os.environ, "AWS_REGION": TEST_REGION}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "functions.cli",
            "import-cards",
            str(table),
            "--lot",
            "lot-t",
            "--errors",
            str(errors),
            "--dynamodb-endpoint",
            dynamodb,
            "--table-prefix",
            "test",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stderr
    assert "imported 1, already there 0, refused 1" in run.stdout and "2/2 rows" in run.stdout
    assert errors.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3,")
    card = dynamo_services.cards.card_for_plate("lot-t", "粤B10001")
    assert card is not None and card.holder == "张三"

    # Phones are sealed with the deployment's data key: without it, nothing is imported.
    table.write_text("车牌,有效期至,手机\n粤B10002,2026/12/31,13800001234\n", encoding="utf-8")
    env.pop("PARKPASS_DATA_KEY", None)
    cli = [sys.executable, "-m", "functions.cli", "import-cards", str(table), "--lot", "lot-t"]
    store = ["--dynamodb-endpoint", dynamodb, "--table-prefix", "test"]
    run = subprocess.run([*cli, *store], env=env, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "PARKPASS_DATA_KEY" in run.stderr and "Traceback" not in run.stderr
    assert dynamo_services.cards.card_for_plate("lot-t", "粤B10002") is None


def test_recount_places_sets_a_lot_counted_before_the_one_commit_path_from_its_cards(
    dynamodb: str, dynamo_services: Services
) -> None:
    _parkpass("seed-demo", "--clock", "2026-11-23T02:00:00+00:00", endpoint=dynamodb)
    LotItem(lot_id="demo-lot").update(actions=[LotItem.held.set(0)])  # as an earlier version left it
    assert _parkpass("recount-places", "--lot", "demo-lot", endpoint=dynamodb).strip() == "demo-lot: places held 0 -> 1"
    assert dynamo_services.lots.get("demo-lot").held == 1  # type: ignore[union-attr]
    assert _parkpass("recount-places", "--lot", "demo-lot", endpoint=dynamodb).strip() == "demo-lot: 1, right"


# A user mistake is one line on stderr saying what to do, exit status 2, and never a traceback.

NO_AWS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_PROFILE": "",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with no local stack to find (unless `env` names one) and no AWS credentials."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PARKPASS_"))}
    run_env = {**base, **NO_AWS, "PARKPASS_API": f"http://127.0.0.1:{_free_port()}", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", *args],
        env={k: v for k, v in run_env.items() if v != ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _one_line_mistake(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_a_bad_role_is_one_line_naming_the_roles() -> None:
    line = _one_line_mistake(_cli("admin", "create", "--tenant", "t9", "--email", "a@t9.cn", "--role", "boss"))
    assert line.startswith("parkpass admin create: argument --role: invalid choice: 'boss'")
    assert "tenant_admin" in line and "--help" in line


def test_a_short_password_is_one_line(dynamodb: str) -> None:
    line = _one_line_mistake(
        _cli("admin", "create", "--tenant", "t9", "--email", "a@t9.cn", "--role", "tenant_admin",
             "--password", "short", "--dynamodb-endpoint", dynamodb, "--table-prefix", "test")
    )  # fmt: skip
    assert line == "parkpass admin create: a password has at least 12 characters"


def test_no_password_and_no_terminal_says_how_to_give_one(dynamodb: str) -> None:
    line = _one_line_mistake(
        _cli("admin", "create", "--tenant", "t9", "--email", "a@t9.cn", "--role", "tenant_admin",
             "--dynamodb-endpoint", dynamodb, "--table-prefix", "test")
    )  # fmt: skip
    assert "--password" in line and "PARKPASS_ADMIN_PASSWORD" in line


def test_an_unreachable_dynamodb_endpoint_is_one_line() -> None:
    nowhere = f"http://127.0.0.1:{_free_port()}"
    line = _one_line_mistake(_cli("fanout-status", "--lot", "demo-lot", "--dynamodb-endpoint", nowhere))
    assert line.startswith(f"parkpass fanout-status: cannot reach DynamoDB at {nowhere}: start the local stack")


def test_tables_missing_at_the_endpoint_say_to_run_init_db(moto_server: str) -> None:
    line = _one_line_mistake(
        _cli("fanout-status", "--lot", "l", "--dynamodb-endpoint", moto_server, "--table-prefix", "nothere")
    )
    assert "no nothere-* tables" in line and "parkpass init-db" in line


def test_fanout_status_with_no_endpoint_no_local_stack_and_no_aws_says_how_to_point_it() -> None:
    line = _one_line_mistake(_cli("fanout-status", "--lot", "demo-lot"))
    assert "make dev" in line and "--dynamodb-endpoint URL" in line and "PARKPASS_DYNAMODB_ENDPOINT" in line


def test_store_commands_find_the_running_local_stack(moto_server: str) -> None:
    from functions.dev_stack import DevStack, DevStackOptions

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    stack = DevStack(
        DevStackOptions(port=0, dynamodb_endpoint=moto_server, table_prefix="clifinds", sweep_every_s=None)
    ).start()
    try:
        found = _cli("recount-places", "--lot", "demo-lot", env={"PARKPASS_API": stack.api_url})
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == "demo-lot: 1, right"  # the stack's seeded lot, in its tables
        assert f"used the DynamoDB of the local stack at {stack.api_url}: {moto_server}" in found.stderr
        # Another table prefix is another store (an AWS stage, say): not the local stack's.
        elsewhere = _cli("recount-places", "--lot", "demo-lot", "--table-prefix", "parkpass-prod",
                         env={"PARKPASS_API": stack.api_url})  # fmt: skip
        assert "no AWS credentials" in _one_line_mistake(elsewhere)
        status = _cli("fanout-status", "--lot", "demo-lot", env={"PARKPASS_API": stack.api_url})
        assert status.returncode == 0, status.stderr
        lines = status.stdout.splitlines()
        assert lines[0].startswith("demo-lot: feed version 1, epoch ")
        assert "  gate demo-gate: reported version - (never reported) at -" in lines
        unknown = _cli("fanout-status", "--lot", "demo-lot", "--lot", "nowhere", env={"PARKPASS_API": stack.api_url})
        assert unknown.returncode == 2 and "parkpass fanout-status: no lot nowhere in this store" in unknown.stderr
    finally:
        stack.stop()


def test_gate_check_refuses_a_database_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "gate-demo-gate.sqlite"
    line = _one_line_mistake(_cli("gate-check", "粤B12345", "--lot", "demo-lot", "--db", str(missing)))
    assert f"no gate whitelist at {missing}" in line and "parkpass gate" in line
    assert list(tmp_path.iterdir()) == []  # nothing made up on the way


def test_gate_check_by_gate_reads_the_default_database_in_the_data_folder(tmp_path: Path) -> None:
    line = _one_line_mistake(
        _cli("gate-check", "粤B12345", "--lot", "demo-lot", "--gate", "demo-gate", env={"XDG_DATA_HOME": str(tmp_path)})
    )
    assert f"no gate whitelist at {tmp_path / 'parkpass' / 'gates' / 'demo-gate.sqlite'}" in line
    assert "parkpass gate --lot demo-lot --gate demo-gate" in line


def _whitelist(path: Path) -> None:
    store = WhitelistStore(path, "demo-lot")
    store.save(Grant("demo-lot", 1, "粤B12345", "card-demo", date(2026, 11, 4), date(2026, 12, 3), "active"))
    store.close()


def test_gate_check_exits_non_zero_when_the_gate_would_not_open(tmp_path: Path) -> None:
    db = tmp_path / "gate.sqlite"
    _whitelist(db)
    allowed = _cli("gate-check", "粤B12345", "--lot", "demo-lot", "--db", str(db), "--at", "2026-12-03")
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["allow"] is True, allowed.stderr
    for plate, day, reason in (("粤A00000", "2026-12-03", "unknown"), ("粤B12345", "2026-12-04", "expired")):
        denied = _cli("gate-check", plate, "--lot", "demo-lot", "--db", str(db), "--at", day)
        assert denied.returncode == 1, denied.stdout + denied.stderr
        assert json.loads(denied.stdout)["allow"] is False and json.loads(denied.stdout)["reason"] == reason
        assert denied.stderr == ""


def test_gate_check_refuses_a_whitelist_of_another_lot_or_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "gate.sqlite"
    _whitelist(db)
    other = _one_line_mistake(_cli("gate-check", "粤B12345", "--lot", "other-lot", "--db", str(db)))
    assert "holds no whitelist of lot other-lot" in other
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n" * 100)
    junk_check = _cli("gate-check", "粤B12345", "--lot", "demo-lot", "--db", str(junk))
    assert "not a gate database" in _one_line_mistake(junk_check)


def test_the_default_gate_database_is_outside_the_checkout() -> None:
    for environ in ({}, {"XDG_DATA_HOME": "relative/ignored"}, {"XDG_DATA_HOME": "/srv/data"}):
        path = default_db_path("demo-gate", environ).resolve()
        assert not path.is_relative_to(ROOT), path
    assert default_db_path("demo-gate", {}) == Path.home() / ".local/share/parkpass/gates/demo-gate.sqlite"
    assert default_db_path("g1", {"XDG_DATA_HOME": "/srv/data"}) == Path("/srv/data/parkpass/gates/g1.sqlite")
