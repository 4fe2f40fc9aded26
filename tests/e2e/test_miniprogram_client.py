"""The mini-program's own client (miniprogram-api/parkpass.js), run by Node against the local stack."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from functions.dev_stack import DevStack

CLIENT_TEST = Path(__file__).resolve().parents[2] / "miniprogram-api" / "test" / "client.test.js"


def test_js_client_logs_in_calls_the_api_refreshes_and_logs_in_again(local_stack: DevStack) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test; `make test` installs it"
    run = subprocess.run(
        [node, str(CLIENT_TEST), local_stack.api_url, "js-client"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "client ok" in run.stdout
