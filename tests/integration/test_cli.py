"""`parkpass init-db` and `parkpass seed-demo` against a DynamoDB endpoint, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from domain.card import CardState
from domain.reminder import slots_for
from functions.bootstrap import Services
from infra.dynamodb.tables import LotItem
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
    dynamo_services.reminders.schedule(slots_for(card, lot))  # not opted in: due reminders are skipped
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


def test_recount_places_sets_a_lot_counted_before_the_one_commit_path_from_its_cards(
    dynamodb: str, dynamo_services: Services
) -> None:
    _parkpass("seed-demo", "--clock", "2026-11-23T02:00:00+00:00", endpoint=dynamodb)
    LotItem(lot_id="demo-lot").update(actions=[LotItem.held.set(0)])  # as an earlier version left it
    assert _parkpass("recount-places", "--lot", "demo-lot", endpoint=dynamodb).strip() == "demo-lot: places held 0 -> 1"
    assert dynamo_services.lots.get("demo-lot").held == 1  # type: ignore[union-attr]
    assert _parkpass("recount-places", "--lot", "demo-lot", endpoint=dynamodb).strip() == "demo-lot: 1, right"
