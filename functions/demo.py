"""`parkpass demo`: the story of ParkPass, played against a running local stack, step by step.

demo-owner logs in through the WeChat simulator, sees what each package buys,
renews, pays in the WeChat Pay simulator, and a gate agent on the embedded
broker lets 粤B12345 in with the new end date, then refuses a plate with no card.
Exit status 0 only if every step did what it should.
"""

from __future__ import annotations

import base64
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

PLATE, STRANGER = "粤B12345", "粤A00000"


class StepFailed(Exception):
    pass


def run_demo(api: str, say: Callable[[str], None] = print) -> int:
    api = api.rstrip("/")
    http = requests.Session()

    def call(method: str, path: str, **kw: Any) -> Any:
        r = http.request(method, api + path, timeout=10, **kw)
        if r.status_code >= 400:
            raise StepFailed(f"{method} {path} answered {r.status_code}: {r.text[:200]}")
        return r.json() if r.content else None

    step = 0

    def ok(text: str) -> None:
        nonlocal step
        step += 1
        say(f"  {step}. {text}")

    try:
        info = call("GET", "/sim/info")
        login = call("POST", "/api/v1/auth/login", json={"code": f"sim:demo-owner:{secrets.token_hex(4)}"})
        owner = {"Authorization": f"Bearer {login['token']}"}
        ok(f"demo-owner logged in through the WeChat simulator (owner {login['owner']['id']})")

        card = call("GET", "/api/v1/cards/card-demo", headers=owner)
        ok(f"card-demo for {', '.join(card['plates'])} ends {card['valid_until']} ({card['days_left']} days left)")

        offers = call("GET", "/api/v1/cards/card-demo/packages", headers=owner)["packages"]
        for o in offers:
            verdict = "allowed" if o["allowed"] else f"not allowed: {o['reason']} (limit {o['limit']})"
            say(
                f"       {o['name']}: ¥{o['amount_yuan']} -> {o['new_valid_from']} .. {o['new_valid_until']}, {verdict}"
            )
        chosen = next((o for o in offers if o["id"] == "demo-3m" and o["allowed"]), None) or next(
            (o for o in offers if o["allowed"]), None
        )
        if chosen is None:
            raise StepFailed("no package may be bought online now (the card is renewed up to the lot's limit)")
        ok(f"the packages show their exact new end dates; choosing {chosen['name']}")

        with _DemoGate(api, info) as gate:
            order = call(
                "POST",
                "/api/v1/cards/card-demo/renewals",
                json={
                    "package_id": chosen["id"],
                    "channel": "wechat",
                    "idempotency_key": f"demo-{secrets.token_hex(6)}",
                },
                headers=owner,
            )
            ok(f"order {order['order_id']}: ¥{order['amount_fen'] / 100:.2f}, wx.requestPayment parameters received")
            call("POST", "/sim/wechatpay/pay", json={"out_trade_no": order["out_trade_no"]})
            _wait(lambda: call("GET", f"/api/v1/orders/{order['order_id']}", headers=owner)["state"] == "paid")
            card = call("GET", "/api/v1/cards/card-demo", headers=owner)
            if card["valid_until"] != chosen["new_valid_until"]:
                raise StepFailed(f"the card ends {card['valid_until']}, the quote said {chosen['new_valid_until']}")
            ok(f"paid in the WeChat Pay simulator; the card now ends {card['valid_until']}, as quoted")

            today = _today(call)
            _wait(
                lambda: (
                    gate.entries().get(PLATE) is not None
                    and str(gate.entries()[PLATE].valid_until) == card["valid_until"]
                )
            )
            allowed = gate.check(PLATE, today)
            if not allowed.allow:
                raise StepFailed(f"the gate refused {PLATE}: {allowed.reason}")
            ok(f"the gate (MQTT {info['mqtt_url']}) lets {PLATE} in, valid until {allowed.valid_until}")
            refused = gate.check(STRANGER, today)
            if refused.allow:
                raise StepFailed(f"the gate let {STRANGER} in")
            ok(f"the gate refuses {STRANGER}: {refused.reason.value if refused.reason else '?'}")
    except (StepFailed, requests.RequestException, KeyError, TimeoutError) as e:
        say(f"  FAILED after step {step}: {e}")
        return 1
    say("the story played through.")
    return 0


class _DemoGate:
    """A reference gate agent for the demo lot, on a throwaway whitelist file."""

    def __init__(self, api: str, info: dict[str, Any]) -> None:
        from infra.gate_agent.agent import GateAgent, GateConfig

        self._dir = tempfile.TemporaryDirectory()
        key = base64.b64decode(requests.get(f"{api}/api/v1/gates/public-key", timeout=10).json()["public_key"])
        server_now = datetime.fromisoformat(requests.get(f"{api}/healthz", timeout=10).json()["time"]).timestamp()
        offset = server_now - time.time()
        config = GateConfig(
            info["lot_id"], info["gate_id"], info["gate_secret"], api, info["mqtt_url"], key,
            Path(self._dir.name) / "gate.sqlite",
        )  # fmt: skip
        self.agent = GateAgent(config, now=lambda: time.time() + offset)

    def __enter__(self) -> Any:
        self.agent.start()
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.agent.stop()
        self._dir.cleanup()


def _today(call: Callable[..., Any]) -> date:
    from zoneinfo import ZoneInfo

    now = datetime.fromisoformat(call("GET", "/healthz")["time"])
    return now.astimezone(ZoneInfo("Asia/Shanghai")).date()


def _wait(done: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("waited too long")
        time.sleep(0.1)
