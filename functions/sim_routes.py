"""Routes that exist only in the local stack: reading and moving the simulated clock, what the stack is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from pydantic import AwareDatetime, BaseModel
from werkzeug.exceptions import NotFound

from functions.http import parse_body
from infra.clock import SimClock
from infra.simulators.alipay import AlipaySimulator
from infra.simulators.invoices import InvoiceSimulator
from infra.simulators.wechat import WechatSimulator
from infra.simulators.wechatpay import WechatPaySimulator


@dataclass(frozen=True)
class LocalMounts:
    """What only the local stack mounts on the API."""

    clock: SimClock
    info: LocalInfo | None
    on_clock_moved: Callable[[], object] | None
    wechat: WechatSimulator
    wechatpay: WechatPaySimulator
    alipay: AlipaySimulator
    invoices: InvoiceSimulator
    reconcile: Callable[[date | None], dict[str, dict[str, int]]] | None = None
    """What the daily reconciliation Lambda does, for a day (None: yesterday): `parkpass reconcile`."""


@dataclass(frozen=True)
class LocalInfo:
    """What a demo or a local gate needs to join the local stack (local only: it includes a demo secret)."""

    mqtt_url: str
    gate_id: str
    gate_secret: str
    lot_id: str
    dynamodb_endpoint: str
    """So the CLI's store commands find this stack's tables with no options."""
    region: str
    table_prefix: str


DEMO_ZONE = ZoneInfo("Asia/Shanghai")
"""The demo lot's zone (every lot's default): what `today` means on the local stack."""


class SetClock(BaseModel):
    now: AwareDatetime


class Reconcile(BaseModel):
    date: dt.date | None = None


def sim_blueprint(
    clock: SimClock,
    info: LocalInfo | None,
    on_clock_moved: Callable[[], object] | None,
    reconcile: Callable[[date | None], dict[str, dict[str, int]]] | None = None,
) -> Blueprint:
    sim = Blueprint("sim", __name__, url_prefix="/sim")

    @sim.post("/reconcile")
    def reconcile_day() -> dict[str, Any]:
        """The daily reconciliation, now: `{"date": "YYYY-MM-DD"}` (default yesterday, Beijing)."""
        if reconcile is None:
            raise NotFound()
        day = parse_body(Reconcile).date
        return {"date": day.isoformat() if day else None, "channels": reconcile(day)}

    @sim.get("/info")
    def local_info() -> dict[str, Any]:
        return {"local": True, **(asdict(info) if info else {})}

    @sim.get("/clock")
    def read_clock() -> dict[str, Any]:
        return {"now": clock.now().isoformat()}

    @sim.get("/today")
    def today() -> tuple[str, int, dict[str, str]]:
        """Plain text, for shell examples: `$(curl -s .../sim/today)`."""
        day = clock.now().astimezone(DEMO_ZONE).date()
        return f"{day.isoformat()}\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @sim.post("/clock")
    def set_clock() -> dict[str, Any]:
        clock.set(parse_body(SetClock).now)
        if on_clock_moved is not None:  # what is due at the new time happens now, as after a real wait
            on_clock_moved()
        return {"now": clock.now().isoformat()}

    return sim
