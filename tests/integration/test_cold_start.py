"""Cold starts: a function's wiring loads only what it uses. The provider SDKs, the PDF and spreadsheet
libraries and the local stack's pieces stay out of a fresh process until something calls them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverless_yml import serverless_config

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("wechatpy", "wechatpayv3", "alipay", "reportlab", "openpyxl", "amqtt", "moto", "PIL")

PROBE = """
import json, sys
import {module}
from functions.bootstrap import dynamodb_services
from infra.clock import SystemClock
from infra.local_secrets import local_secrets
from infra.settings import Settings
secrets = local_secrets(None).secrets("http://127.0.0.1:9")  # every provider configured
s = dynamodb_services(Settings("probe", "cn-north-1", "http://127.0.0.1:9"), secrets, SystemClock())
loaded = [m for m in {heavy!r} if m in sys.modules]
s.wechatpay.notice  # first use of the WeChat Pay gateway
print(json.dumps({{"before": loaded, "after": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _function_modules() -> dict[str, str]:
    """Each function in serverless.yml and the module its Lambda imports before it can answer."""
    config = serverless_config()
    modules = {}
    for name, function in config["functions"].items():
        module = function["handler"].rsplit(".", 1)[0]
        if module == "wsgi_handler":  # serverless-wsgi's handler imports the app named in custom.wsgi
            module = config["custom"]["wsgi"]["app"].rsplit(".", 1)[0]
        modules[name] = module.replace("/", ".")
    return modules


@pytest.mark.parametrize("module", sorted(set(_function_modules().values())))
def test_wiring_a_function_loads_no_sdk_until_it_is_used(module: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["before"] == []
    assert "wechatpayv3" in seen["after"]  # and it does load when used


BUDGET = 1.5
"""A function may take at most this many times as long to import as `import boto3, flask` (issue #10)."""
ROUNDS = 5


def _import_seconds(statement: str, env: dict[str, str]) -> float:
    """Wall time of `statement` in a fresh process, the interpreter's own start-up left out."""
    probe = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return float(run.stdout.split()[-1])


def _heaviest_modules(statement: str, env: dict[str, str]) -> list[tuple[int, str]]:
    """The modules `statement` spends most of its own time on, in microseconds (`python -X importtime`)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    own = []
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:") :].split("|")
            own.append((int(self_us), name.strip()))
    return sorted(own, reverse=True)[:8]


def test_each_function_imports_within_its_cold_start_budget(tmp_path: Path) -> None:
    # A deployment package carries compiled bytecode (`make lambda-bytecode`; Lambda's file system is
    # read-only, so without it every cold start compiles every module again). Measure that case: bytecode
    # in a cache of this test's own, written by a first round that is not timed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    statements = {"baseline": "import boto3, flask"} | {
        name: f"import {module}" for name, module in _function_modules().items()
    }
    for statement in statements.values():
        _import_seconds(statement, env)

    best: dict[str, float] = {}
    for _ in range(ROUNDS):  # interleaved, so a busy moment slows the baseline and the functions alike
        for name, statement in statements.items():
            best[name] = min(best.get(name, float("inf")), _import_seconds(statement, env))

    baseline = best.pop("baseline")
    ratios = {name: round(seconds / baseline, 2) for name, seconds in best.items()}
    print(f"import boto3, flask: {baseline:.3f} s; each function's import as a multiple of it: {ratios}")
    over = {name: (ratio, _heaviest_modules(statements[name], env)) for name, ratio in ratios.items() if ratio > BUDGET}
    assert not over, f"over {BUDGET}x of {baseline:.3f} s (ratio, heaviest modules in us): {over}"
