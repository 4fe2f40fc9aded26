"""`parkpass`: run the local stack, create tables, seed demo data."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from functions.cli_errors import MISTAKE, OneLineParser, StoreInUse, UserMistake, explain
from functions.cli_store import choose_store, default_api
from infra.settings import DEFAULT_REGION, Secrets, Settings

if TYPE_CHECKING:
    from functions.bootstrap import Services

DEFAULT_PREFIX = "parkpass"
DENIED = 1
"""gate-check's exit status when the gate would not open."""


@dataclass
class _Run:
    """What a command used, so a mistake can say where it looked and a success what it used."""

    api: str | None = None
    store: StoreInUse | None = None
    notes: list[str] = field(default_factory=list)


def _iso_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone offset, e.g. 2026-12-05T10:00:00+08:00")
    return value


def _store_options(parser: argparse.ArgumentParser, *, finds_local_stack: bool = True) -> None:
    parser.add_argument(
        "--dynamodb-endpoint",
        help="DynamoDB endpoint URL (env PARKPASS_DYNAMODB_ENDPOINT); "
        + (
            "default: the local stack's found at --api, else AWS DynamoDB"
            if finds_local_stack
            else "default: start the embedded in-memory store"
        ),
    )
    parser.add_argument("--region", help=f"env AWS_REGION; default {DEFAULT_REGION} (or the local stack's)")
    parser.add_argument(
        "--table-prefix", help="tables are named PREFIX-lots, ... (env PARKPASS_TABLE_PREFIX; default parkpass)"
    )
    if finds_local_stack:
        parser.add_argument(
            "--api",
            default=default_api(),
            help="with no endpoint, use the DynamoDB of the local stack serving here "
            "(env PARKPASS_API; default http://127.0.0.1:8000)",
        )


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="parkpass", description="ParkPass monthly parking passes")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run the whole stack on loopback with demo data")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000, help="API port (0: any free port)")
    dev.add_argument(
        "--data-dir",
        type=Path,
        help="load the store from here on start; save it there within 2 s of each change and on stop",
    )
    dev.add_argument("--clock", type=_iso_instant, help="start the simulated clock at this instant")
    dev.add_argument("--mqtt-url", help="publish gate messages to this broker (default: start an embedded one)")
    dev.add_argument("--consumers", type=int, default=4, help="work consumers at once (default 4)")
    dev.add_argument("--wechat-latency-ms", type=int, default=0, help="the WeChat simulator answers after this long")
    dev.add_argument(
        "--wechat-rate-limit", type=int, help="messages a second the WeChat simulator takes; more are answered 45011"
    )
    dev.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="json: the JSON lines the Lambda functions write (default); text: one readable line each",
    )
    _store_options(dev, finds_local_stack=False)

    gate = commands.add_parser("gate", help="run a reference gate agent for one lot")
    gate.add_argument("--lot", required=True)
    gate.add_argument("--gate", required=True, help="the gate id issued by the property")
    gate.add_argument("--secret", help="the gate's secret (default, against make dev: the demo gate's)")
    gate.add_argument("--api", default=default_api(), help="the API (env PARKPASS_API; default: make dev's)")
    gate.add_argument("--mqtt-url", help="the broker (default, against make dev: its embedded one)")
    gate.add_argument("--public-key", help="Ed25519 key (base64) messages must verify with; default: ask the API once")
    gate.add_argument(
        "--db", type=Path, help="whitelist file (SQLite); default $XDG_DATA_HOME/parkpass/gates/<gate>.sqlite"
    )
    gate.add_argument("--port", type=int, default=8100, help="local check endpoint (0: none)")
    gate.add_argument("--timezone", default="Asia/Shanghai", help="the lot's time zone, for 'today'")

    gate_check = commands.add_parser(
        "gate-check", help="allow (exit 0) or deny (exit 1) a plate from a gate's whitelist, offline"
    )
    gate_check.add_argument("plate")
    gate_check.add_argument("--lot", required=True)
    whitelist = gate_check.add_mutually_exclusive_group(required=True)
    whitelist.add_argument("--gate", help="the gate whose whitelist `parkpass gate` keeps in its default file")
    whitelist.add_argument("--db", type=Path, help="the whitelist file `parkpass gate --db` keeps")
    gate_check.add_argument("--at", type=date.fromisoformat, help="the day to decide for (default: today)")
    gate_check.add_argument("--timezone", default="Asia/Shanghai")

    demo = commands.add_parser("demo", help="play the ParkPass story against a running `make dev`")
    demo.add_argument("--api", default=default_api(), help="the local stack (env PARKPASS_API)")

    rec = commands.add_parser(
        "reconcile",
        help="reconcile a day's WeChat Pay and Alipay statements with the ledger on the local stack "
        "(on AWS: invoke the reconcile function with {\"date\": ...})",
    )
    rec.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday in Beijing)")
    rec.add_argument("--api", default=default_api(), help="the local stack (env PARKPASS_API)")

    remind = commands.add_parser("reminders", help="expiry reminders")
    remind_commands = remind.add_subparsers(dest="action", required=True)
    remind_run = remind_commands.add_parser("run", help="send what has fallen due (what the 15-minute tick does)")
    remind_run.add_argument("--at", type=_iso_instant, help="as if it were this instant (default: now)")
    _store_options(remind_run)

    status = commands.add_parser(
        "fanout-status", help="a lot's gate feed (version, epoch) and the version each of its gates last reported"
    )
    status.add_argument("--lot", action="append", default=[], help="the lot (again for more)")
    _store_options(status)

    init_db = commands.add_parser("init-db", help="create the tables that are missing (idempotent)")
    _store_options(init_db)

    shard = commands.add_parser(
        "shard-reminders", help="once, at the deploy of sharded reminders: move reminders filed before to their shard"
    )
    _store_options(shard)

    admin = commands.add_parser("admin", help="the property office's staff accounts")
    admin_commands = admin.add_subparsers(dest="action", required=True)
    create = admin_commands.add_parser("create", help="create a staff account (the first tenant admin, say)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["tenant_admin", "lot_manager", "cashier", "collector"])
    create.add_argument("--lots", default="", help="comma-separated lot ids (managers and cashiers)")
    create.add_argument("--password", help="default: read from PARKPASS_ADMIN_PASSWORD or asked for")
    _store_options(create)

    imports = commands.add_parser("import-cards", help="import a lot's existing cards from CSV or XLSX")
    imports.add_argument("file", type=Path)
    imports.add_argument("--lot", required=True)
    imports.add_argument("--errors", type=Path, help="write the rows refused (row, message) to this CSV")
    _store_options(imports)

    recount = commands.add_parser(
        "recount-places", help="set a lot's places held to its cards that hold one (lots from before places counted)"
    )
    recount.add_argument("--lot", required=True)
    _store_options(recount)

    seed = commands.add_parser("seed-demo", help="write the demo lot, packages, owner and card if missing")
    seed.add_argument("--clock", type=_iso_instant, help="seed as if it were this instant")
    _store_options(seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Every user mistake ends in one line on stderr saying what to do, and exit status 2; a bug keeps its trace."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("PARKPASS_LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("pynamodb", "botocore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    run = _Run(api=args.api if args.command in ("gate", "demo") else None)
    try:
        status = _command(args, run)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        mistake = explain(error, run.store, run.api)
        if mistake is None:
            raise
        name = " ".join(filter(None, ("parkpass", args.command, getattr(args, "action", None))))
        print(f"{name}: {mistake}", file=sys.stderr)
        return MISTAKE
    for note in run.notes:
        print(f"note: {note}", file=sys.stderr)
    return status


def _command(args: argparse.Namespace, run: _Run) -> int:
    if args.command == "dev":
        return _dev(args, run)
    if args.command == "gate":
        return _gate(args)
    if args.command == "demo":
        from functions.demo import run_demo

        print(f"ParkPass demo against {args.api}")
        return run_demo(args.api)
    if args.command == "gate-check":
        return _gate_check(args)
    if args.command == "reconcile":
        return _reconcile(args.api, args.date)
    settings = _store_settings(args, run)
    from functions.bootstrap import bind_dynamodb, dynamodb_services
    from infra.dynamodb.tables import create_tables

    bind_dynamodb(settings)
    from infra.clock import SystemClock

    if args.command == "reminders":
        from functions import reminders
        from infra.clock import SimClock, SystemClock

        clock = SimClock(args.at) if args.at else SystemClock()
        report = reminders.run_here(dynamodb_services(settings, _secrets_or_throwaway(), clock))
        print(f"sent {len(report.sent)}, skipped {len(report.skipped)}, failed {len(report.failed)}")
        return 0
    if args.command == "fanout-status":
        return _fanout_status(args.lot, dynamodb_services(settings, _secrets_or_throwaway(), SystemClock()))
    if args.command == "admin":
        return _create_admin(args, dynamodb_services(settings, _secrets_or_throwaway(), SystemClock()))
    if args.command == "import-cards":
        return _import_cards(args, dynamodb_services(settings, _secrets_or_throwaway(), SystemClock()))
    if args.command == "recount-places":
        from handlers.recount_places import recount_places

        s = dynamodb_services(settings, _secrets_or_throwaway(), SystemClock())
        before, after = recount_places(args.lot, "system:recount", s.cards, s.lots, s.uow, s.clock)
        print(f"{args.lot}: places held {before} -> {after}" if before != after else f"{args.lot}: {after}, right")
        return 0
    if args.command == "shard-reminders":
        from infra.dynamodb.migrations import shard_reminders

        expiry, bills = shard_reminders()
        print(f"moved to their shards: {expiry} expiry reminders, {bills} bill reminders")
        return 0
    if args.command == "init-db":
        created = create_tables()
        print("created: " + (", ".join(created) if created else "nothing, every table exists"))
        return 0
    from handlers.seed_demo import opt_in_demo_reminders, seed_demo
    from infra.clock import SimClock

    s = dynamodb_services(settings, _secrets_or_throwaway(), SimClock(args.clock))
    result = seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    created = list(result.created)
    if opt_in_demo_reminders(s.cards, s.lots, s.reminder_prefs, s.reminders):
        created.append("reminders on for card-demo")
    print("seeded: " + (", ".join(created) if created else "nothing, the demo data exists"))
    return 0


def _store_settings(args: argparse.Namespace, run: _Run) -> Settings:
    """The store named by options or environment, else the running local stack's, else AWS DynamoDB."""
    choice = choose_store(
        args.dynamodb_endpoint,
        args.region,
        args.table_prefix,
        args.api,
        default_region=DEFAULT_REGION,
        default_prefix=DEFAULT_PREFIX,
    )
    run.store = StoreInUse(choice.endpoint, choice.region, choice.table_prefix, args.api)
    if choice.found is not None:
        run.notes.append(f"used the DynamoDB of the local stack at {choice.found.api}: {choice.endpoint}")
    elif choice.endpoint is None:
        run.notes.append(f"used AWS DynamoDB in {choice.region} (tables {choice.table_prefix}-*)")
    return Settings(choice.table_prefix, choice.region, choice.endpoint)


def _secrets_or_throwaway() -> Secrets:
    """The deployment's secrets when the environment has them; otherwise made up on the spot.

    Made-up ones suit commands against a local store: they can write no data that
    must be decrypted later, and their WeChat calls go nowhere real.
    """
    from infra.local_secrets import local_secrets
    from infra.settings import MissingSettings, secrets_from_env

    try:
        return secrets_from_env()
    except MissingSettings:
        return local_secrets(None).secrets("http://127.0.0.1")


def _dev(args: argparse.Namespace, run: _Run) -> int:
    from functions import observability
    from functions.dev_stack import DevStack, DevStackOptions
    from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD

    store = choose_store(
        args.dynamodb_endpoint,
        args.region,
        args.table_prefix,
        None,
        default_region=DEFAULT_REGION,
        default_prefix=DEFAULT_PREFIX,
    )
    if args.data_dir is not None and store.endpoint is not None:
        raise UserMistake("--data-dir snapshots the embedded store; an external DynamoDB keeps its own data")
    run.store = StoreInUse(store.endpoint, store.region, store.table_prefix, api=None)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    options = DevStackOptions(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        clock=args.clock,
        dynamodb_endpoint=store.endpoint,
        region=store.region,
        table_prefix=store.table_prefix,
        mqtt_url=args.mqtt_url,
        consumers=args.consumers,
        wechat_latency_ms=args.wechat_latency_ms,
        wechat_rate_limit=args.wechat_rate_limit,
    )
    _require_free_port(args.host, args.port)
    if args.log_format == "json":
        observability.json_logs()
    stack = DevStack(options).start()
    stack.keep_for_good()
    try:
        kind = "embedded, in memory" if store.endpoint is None else "external"
        if args.data_dir is not None:
            kind += f"; snapshot in {args.data_dir} ({stack.loaded_items} items loaded)"
        print(
            f"ParkPass local stack is up (clock {stack.clock.now().isoformat(timespec='seconds')})\n"
            f"  API          {stack.api_url}\n"
            f"  health       {stack.api_url}/healthz\n"
            f"  price list   {stack.api_url}/api/v1/lots/demo-lot/packages\n"
            f"  sim clock    {stack.api_url}/sim/clock\n"
            f"  DynamoDB     {stack.dynamodb_endpoint} ({kind})\n"
            f"  MQTT         {stack.mqtt_url} (topic parkpass/lots/<lot>/entitlements)\n"
            f"  gate key     {stack.api_url}/api/v1/gates/public-key (Ed25519)\n"
            f"  demo gate    {stack.demo_gate.id if stack.demo_gate else '-'} "
            f"secret {stack.demo_gate.secret if stack.demo_gate else '-'} (local demo only)\n"
            f"  admin page   {stack.api_url}/admin/  ({DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}, local demo only)\n"
            f"  demo data    lot demo-lot, openid demo-owner, card card-demo "
            f"({len(stack.seeded.created) if stack.seeded else 0} items written now)\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        stop.wait()
    finally:
        print("stopping...", flush=True)
        stack.stop()
    return 0


def _require_free_port(host: str, port: int) -> None:
    """Say so in one line before the server would (werkzeug prints a paragraph and exits)."""
    import socket

    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as e:
            raise UserMistake(f"{host}:{port} is taken ({e.strerror}): stop what runs there or pass --port N") from e


def _gate(args: argparse.Namespace) -> int:
    import base64
    import binascii
    import time
    from zoneinfo import ZoneInfo

    import requests
    from werkzeug.serving import make_server

    from domain.ids import checked_id
    from infra.gate_agent.agent import GateAgent, GateConfig, GateMisconfigured, WhitelistInUse
    from infra.gate_agent.http import check_app
    from infra.gate_agent.store import default_db_path

    api = args.api.rstrip("/")
    checked_id("lot_id", args.lot)
    db = args.db or default_db_path(checked_id("gate_id", args.gate))
    _require_free_port("127.0.0.1", args.port)
    if args.secret is None or args.mqtt_url is None:  # the local stack says where its broker and demo gate are
        answer = requests.get(f"{api}/sim/info", timeout=10)
        if answer.status_code != 200:
            raise UserMistake(f"{api} is not a local stack: pass the gate's --secret and --mqtt-url")
        local = answer.json()
        args.secret = args.secret or local["gate_secret"]
        args.mqtt_url = args.mqtt_url or local["mqtt_url"]
    if args.public_key is None:
        answer = requests.get(f"{api}/api/v1/gates/public-key", timeout=10)
        if answer.status_code != 200:
            raise UserMistake(f"{api} gives no gate public key ({answer.status_code}): pass --public-key")
        args.public_key = answer.json()["public_key"]
    try:
        key = base64.b64decode(args.public_key, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise UserMistake(
            "--public-key is not an Ed25519 public key (32 bytes, base64): copy it from /api/v1/gates/public-key"
        )
    # Gates keep their clock in step with the cloud's (the local stack's clock can be moved); a refusal for the
    # clock later corrects it again.
    offset = datetime.fromisoformat(requests.get(f"{api}/healthz", timeout=10).json()["time"]).timestamp() - time.time()
    db.parent.mkdir(parents=True, exist_ok=True)
    config = GateConfig(args.lot, args.gate, args.secret, api, args.mqtt_url, key, db, args.timezone)
    try:
        agent = GateAgent(config, now=lambda: time.time() + offset)
        agent.start()
    except (WhitelistInUse, GateMisconfigured) as e:
        raise UserMistake(str(e)) from e
    zone = ZoneInfo(args.timezone)

    def today() -> date:
        return datetime.fromtimestamp(agent.cloud_now(), zone).date()

    def passed(plate: str, entering: bool) -> None:
        agent.passage(plate, entering, datetime.fromtimestamp(agent.cloud_now(), UTC))

    app = check_app(agent.check, today, passed, agent.health, agent.decide)
    server = make_server("127.0.0.1", args.port, app) if args.port else None
    if server is not None:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"gate {args.gate} of {args.lot}: whitelist v{agent.version} in {config.db_path}; "
        + (f"check at http://127.0.0.1:{server.server_port}/check?plate=..., health at /health; " if server else "")
        + "Ctrl-C stops it.",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    if server is not None:
        server.shutdown()
    agent.stop()
    return 0


def _gate_check(args: argparse.Namespace) -> int:
    """Exit 0 when the gate would open, DENIED when not; a missing or foreign whitelist file is a mistake."""
    import json
    from zoneinfo import ZoneInfo

    from domain.ids import checked_id
    from domain.plate import normalise_plate
    from infra.gate_agent.http import decision_json
    from infra.gate_agent.store import default_db_path, read_whitelist

    db: Path = args.db or default_db_path(checked_id("gate_id", args.gate))
    if not db.is_file():
        run_gate = f"parkpass gate --lot {args.lot} --gate {args.gate or '<gate id>'}" + (
            f" --db {db}" if args.db else ""
        )
        raise UserMistake(f"no gate whitelist at {db}: run `{run_gate}` first (it keeps the whitelist there)")
    plate = normalise_plate(args.plate)
    whitelist = read_whitelist(db, args.lot)
    if whitelist.version == 0:
        raise UserMistake(f"{db} holds no whitelist of lot {args.lot}: check --lot, or let `parkpass gate` sync first")
    at = args.at or datetime.now(ZoneInfo(args.timezone)).date()
    decision = whitelist.check(plate, at)
    print(json.dumps(decision_json(plate, decision), ensure_ascii=False))
    return 0 if decision.allow else DENIED


def _reconcile(api: str, day: date | None) -> int:
    """The local stack runs what the daily Lambda does (its simulators hold the statements, its keys read them)."""
    import requests

    try:
        r = requests.post(f"{api}/sim/reconcile", json={"date": day.isoformat() if day else None}, timeout=120)
    except requests.RequestException as e:
        raise UserMistake(f"no local stack at {api} ({type(e).__name__}): start it with `make dev`") from None
    if r.status_code == 404:
        raise UserMistake(f"{api} is not a local stack: on AWS invoke the reconcile function")
    if r.status_code == 400:
        raise UserMistake(r.json()["error"]["message"])
    if r.status_code != 200:
        print(f"reconciliation failed: {r.status_code} {r.text[:300]}", file=sys.stderr)
        return 1
    for channel, c in r.json()["channels"].items():
        print(
            f"{channel}: {c['provider_lines']} statement lines, {c['ledger_lines']} ledger lines, "
            f"{c['differences']} differences ({c['repaired']} repaired)"
        )
    return 0


def _fanout_status(lots: list[str], s: Services) -> int:
    """What the gates have of each lot's feed. Publishing itself leaves no state to show: the stream's
    iterator age and the on-failure queue say whether the fan-out keeps up (docs/operations.md)."""
    if not lots:
        print("parkpass fanout-status: name the lot: --lot L (again for more)", file=sys.stderr)
        return 2
    unknown = [lot_id for lot_id in lots if s.lots.get(lot_id) is None]
    if unknown:
        print(f"parkpass fanout-status: no lot {', '.join(unknown)} in this store", file=sys.stderr)
        return 2
    for lot_id in lots:
        lot = s.lots.get(lot_id)
        assert lot is not None
        version = lot.entitlement_version
        print(f"{lot.id}: feed version {version}, epoch {lot.feed_epoch or '-'}")
        for gate, applied, at in s.gates.sync_states(lot.id):
            # Gates report at most every 30 s: "behind" right after a change is only a report not yet due.
            behind = "never reported" if applied is None else "current" if applied >= version else "behind"
            shown = applied if applied is not None else "-"
            print(f"  gate {gate}: reported version {shown} ({behind}) at {at or '-'}")
    return 0


def _create_admin(args: argparse.Namespace, s: Services) -> int:
    import getpass

    from domain.admin import Role
    from handlers.staff import create_staff

    password = args.password or os.environ.get("PARKPASS_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise UserMistake("no terminal to ask for the password on: pass --password or PARKPASS_ADMIN_PASSWORD")
        password = getpass.getpass("password: ")
    lots = {lot.strip() for lot in args.lots.split(",") if lot.strip()}
    made = create_staff(args.email, password, args.tenant, Role(args.role), lots, s.staff, s.passwords)
    print(
        f"{made.email}: {made.role.value} of {made.tenant_id}"
        + (f" at {', '.join(sorted(made.lot_ids))}" if made.lot_ids else "")
    )
    return 0


def _import_cards(args: argparse.Namespace, s: Services) -> int:
    """What the web page does, from a terminal: slices of 500 rows, a progress bar, the refused rows at the end."""
    import csv as csv_module

    from domain.admin import Role, Staff
    from functions.admin_office import read_table
    from handlers.import_cards import import_rows

    lot = s.lots.get(args.lot)
    if lot is None or lot.tenant_id is None:
        print(f"no lot {args.lot!r} (with a property company) in this store", file=sys.stderr)
        return 2
    rows = read_table(args.file.name, args.file.read_bytes())
    if any(row.get("phone", "").strip() for row in rows) and not os.environ.get("PARKPASS_DATA_KEY"):
        # Sealed with a made-up key, the phones could never be read or matched by the deployment.
        raise UserMistake(
            "the file has phones, sealed with the deployment's data key: set PARKPASS_DATA_KEY, "
            "or import the file on the admin page (导入)"
        )
    operator = Staff("cli@parkpass.local", lot.tenant_id, Role.TENANT_ADMIN, frozenset(), "-")
    created = existing = 0
    errors: list[tuple[int, str]] = []
    width = 40
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        report = import_rows(operator, lot.id, start + 2, part, s.cards, s.lots, s.uow, s.clock, s.sealer)
        created, existing = created + report.created, existing + report.existing
        errors += [(n, e.text("zh")) for n, e in report.errors]  # the office reads the refused rows
        done = min(start + 500, len(rows))
        bar = "#" * (width * done // max(len(rows), 1))
        print(f"\r[{bar:<{width}}] {done}/{len(rows)} rows", end="", flush=True)
    print(f"\nimported {created}, already there {existing}, refused {len(errors)}")
    if args.errors is not None:
        with args.errors.open("w", newline="", encoding="utf-8-sig") as f:
            writer = csv_module.writer(f)
            writer.writerow(["行号", "原因"])
            writer.writerows(errors)
    for n, message in errors[:20]:
        print(f"  row {n}: {message}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
