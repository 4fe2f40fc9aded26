"""Cold starts: a function's wiring loads only what it uses. The provider SDKs, the PDF and spreadsheet
libraries and the local stack's pieces stay out of a fresh process until something calls them."""

from __future__ import annotations

import json
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


def function_modules() -> dict[str, str]:
    """Each function in serverless.yml and the module its Lambda imports before it can answer."""
    config = serverless_config()
    modules = {}
    for name, function in config["functions"].items():
        module = function["handler"].rsplit(".", 1)[0]
        if module == "wsgi_handler":  # serverless-wsgi's handler imports the app named in custom.wsgi
            module = config["custom"]["wsgi"]["app"].rsplit(".", 1)[0]
        modules[name] = module.replace("/", ".")
    return modules


@pytest.mark.parametrize("module", sorted(set(function_modules().values())))
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


COLLECTOR_PROBE = """
import gc, json
passes = []
gc.callbacks.append(lambda phase, info: phase == "start" and passes.append(info["generation"]))
import {module}
print(json.dumps({{"passes": passes, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}}))
"""


@pytest.mark.parametrize("module", sorted(set(function_modules().values())))
def test_a_function_loads_with_the_collector_paused_and_leaves_it_on(module: str) -> None:
    # The collector's passes over the objects loading makes were a sixth of the API's cold start.
    run = subprocess.run(
        [sys.executable, "-c", COLLECTOR_PROBE.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert 2 not in seen["passes"] and len(seen["passes"]) < 10  # ~120 passes, one full, without the pause
    assert seen["enabled"] is True
    assert seen["frozen"] > 10_000  # what loading made is out of later full passes
