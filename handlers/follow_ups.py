"""Follow-on actions after a commit (tell the owner, offer a freed place, reverse an invoice).

A plan carries them as domain events; the use case that committed it hands them
here with a handler for each kind. Each handler is idempotent, so a retry of
the whole use case, or of one handler, does no harm; a handler that keeps
failing is logged with its event, never silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from handlers.retry import wait_before_retry

ATTEMPTS = 3
log = logging.getLogger("parkpass.follow_ups")

Handlers = Mapping[type, Callable[[Any], object]]


def run_follow_ups(events: tuple[object, ...], handlers: Handlers) -> list[object]:
    """Handle each event after the commit; answers the events that failed every attempt."""
    failed = []
    for event in events:
        handle = handlers.get(type(event))
        if handle is None:
            continue
        for attempt in range(ATTEMPTS):
            try:
                handle(event)
                break
            except Exception:
                if attempt == ATTEMPTS - 1:
                    log.exception("follow-up %r failed %d times; left for the next run", event, ATTEMPTS)
                    failed.append(event)
                else:
                    wait_before_retry(attempt)
    return failed
