"""Lambda entry for fan-out: on the entitlements table's stream (and every minute, as the retry).

The stream only wakes it; what to publish is always read from the unpublished
index, so a failed run leaves the events there for the next one.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.bootstrap import publisher_from_env, services_from_env
from handlers.fan_out import publish_pending

log = logging.getLogger("parkpass.fanout")


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    s = services_from_env()
    if s.signer is None:
        raise RuntimeError("set PARKPASS_GATE_SIGNING_KEY: gates accept signed messages only")
    sent = publish_pending(s.feed, publisher_from_env(), s.signer, s.clock.now().isoformat())
    log.info("fan-out published %d", sent)
    return {"published": sent}
