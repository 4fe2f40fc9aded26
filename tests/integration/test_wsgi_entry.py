"""`functions.api.app`, as zappa and serverless-wsgi load it: wired from the environment alone."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from functions.bootstrap import Services
from handlers.seed_demo import seed_demo
from tests.conftest import TEST_REGION

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, sys
module = importlib.import_module("functions.api")
app = getattr(module, "app")
r = app.test_client().get("/api/v1/lots/demo-lot/packages")
local_only = sorted(set(sys.modules) & {"moto", "functions.dev_stack", "functions.sim_routes"})
print(json.dumps({"status": r.status_code, "body": r.get_json(), "local_only": local_only}))
"""


def test_wsgi_app_reads_its_tables_from_the_environment(dynamodb: str, dynamo_services: Services) -> None:
    s = dynamo_services
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    env = {
        **os.environ,
        "PARKPASS_DYNAMODB_ENDPOINT": dynamodb,
        "PARKPASS_TABLE_PREFIX": "test",
        "AWS_REGION": TEST_REGION,
        "PARKPASS_TOKEN_SECRET": "t" * 32,
        "PARKPASS_DATA_KEY": base64.b64encode(bytes(32)).decode(),
        "PARKPASS_WECHAT_APPID": "wx-appid",
        "PARKPASS_WECHAT_SECRET": "wx-secret",
    }
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    assert [p["id"] for p in answer["body"]["packages"]] == ["demo-1m", "demo-3m", "demo-12m"]
    assert answer["local_only"] == []  # the Lambda cold start pays for none of the local stack
