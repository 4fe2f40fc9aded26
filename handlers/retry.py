"""Waiting before trying a conditional write again, after someone else's write won the race.

Changes at one lot take its feed's next version, so changes at the same lot
at the same moment go one at a time; a short random wait, growing with each
attempt, keeps the losers from colliding again in step.
"""

from __future__ import annotations

import random
import time

MAX_ATTEMPTS = 8


def wait_before_retry(attempt: int) -> None:
    """About 5, 10, 20... ms (at most 160), jittered."""
    time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 5)))
