"""Routes that exist only in the local stack: moving the simulated clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from pydantic import AwareDatetime, BaseModel

from functions.http import parse_body
from infra.clock import SimClock
from infra.simulators.alipay import AlipaySimulator
from infra.simulators.wechat import WechatSimulator
from infra.simulators.wechatpay import WechatPaySimulator


@dataclass(frozen=True)
class LocalMounts:
    """What only the local stack mounts on the API."""

    clock: SimClock
    wechat: WechatSimulator
    wechatpay: WechatPaySimulator
    alipay: AlipaySimulator


class SetClock(BaseModel):
    now: AwareDatetime


def sim_blueprint(clock: SimClock) -> Blueprint:
    sim = Blueprint("sim", __name__, url_prefix="/sim")

    @sim.get("/clock")
    def read_clock() -> dict[str, Any]:
        return {"now": clock.now().isoformat()}

    @sim.post("/clock")
    def set_clock() -> dict[str, Any]:
        clock.set(parse_body(SetClock).now)
        return {"now": clock.now().isoformat()}

    return sim
