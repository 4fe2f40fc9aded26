"""How often an office login may be tried: counted before the password is checked, so parallel tries
cannot check more than allowed.

A lock that any stranger can set keeps the account's owner out for good (five tries every quarter of
an hour suffice), so nothing here locks: every key gets a few free tries, then each further try must wait
twice as long as the one before, up to a cap. The keys are chosen so that an attacker slows down first:
- the login name from one address (the guesser; the owner at their desk is another address),
- one address across logins (spraying one password over many accounts),
- the login name from everywhere (many addresses; reaching it alerts),
- the company, as the email's domain (a ceiling over all its logins; reaching it alerts).
The last two are ceilings against many addresses; an address this login succeeded from lately is known
and passes them, so an attack from elsewhere never keeps the account's owner out at their desk. Keys are by
login name and domain, whether an account exists or not, so an unknown email answers exactly as a known
one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    name: str
    """What the log calls it: account_address, address, account, tenant."""
    free: int
    """Tries before any wait."""
    first_wait: timedelta
    """The wait after the first try past the free ones; it doubles with each further try."""
    longest_wait: timedelta
    forget_after: timedelta
    """Tries older than this (counted from the last one) are forgotten."""
    alerts: bool = False
    """Reaching it is worth a person's attention, not just a log line."""

    def wait_after(self, tries: int) -> timedelta:
        """How long after the `tries`-th try the next may come."""
        if tries < self.free:
            return timedelta(0)
        doubled: timedelta = self.first_wait * 2 ** min(tries - self.free, 20)
        return min(doubled, self.longest_wait)


ACCOUNT_ADDRESS = Limit("account_address", 3, timedelta(seconds=30), timedelta(minutes=15), timedelta(hours=1))
ADDRESS = Limit("address", 20, timedelta(seconds=30), timedelta(minutes=30), timedelta(hours=1))
ACCOUNT = Limit("account", 5, timedelta(minutes=1), timedelta(minutes=30), timedelta(hours=6), alerts=True)
COMPANY = Limit("company", 100, timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=1), alerts=True)
KNOWN_FOR = timedelta(days=30)
"""How long an address a login succeeded from passes the ceilings."""


@dataclass(frozen=True)
class Tries:
    """What is stored per key: the tries since the last success (or since they were forgotten)."""

    count: int
    last: datetime
    next_at: datetime
    """No try before this."""


@dataclass(frozen=True)
class Turn:
    """One more try may be made: store `after` over `before` (None: nothing stored yet)."""

    before: Tries | None
    after: Tries
    expires_at: datetime
    """The store may drop the key after this (forgotten anyway)."""

    @property
    def reaches_limit(self) -> bool:
        """After this try the waits begin (the moment to alert on)."""
        return self.after.count == self.before_waits

    before_waits: int = 0


@dataclass(frozen=True)
class Wait:
    """No try now; the next one at `until`."""

    until: datetime


def take_turn(limit: Limit, stored: Tries | None, now: datetime) -> Turn | Wait:
    """The turn a try takes under `limit`, or how long it must wait."""
    seen = None if stored is None or now - stored.last >= limit.forget_after else stored
    if seen is not None and seen.count >= limit.free and now < seen.next_at:
        return Wait(seen.next_at)
    count = (seen.count if seen is not None else 0) + 1
    last = max(now, seen.last) if seen is not None else now  # a try counted by a container whose clock is ahead
    after = Tries(count, last, last + limit.wait_after(count))
    return Turn(stored, after, last + limit.forget_after + limit.longest_wait, limit.free)


def known(stored: Tries | None, now: datetime) -> bool:
    """The address's login succeeded within KNOWN_FOR."""
    return stored is not None and now - stored.last < KNOWN_FOR


def remember(stored: Tries | None, now: datetime) -> Turn:
    """A login succeeded from this address: known from now."""
    return Turn(stored, Tries(0, now, now), now + KNOWN_FOR)


def give_back(limit: Limit, stored: Tries | None, now: datetime) -> Turn | None:
    """A try that succeeded is not held against an address or a company: its turn is given back (None:
    nothing to give back)."""
    if stored is None or stored.count == 0 or now - stored.last >= limit.forget_after:
        return None
    count = stored.count - 1
    after = Tries(count, stored.last, stored.last + limit.wait_after(count))
    return Turn(stored, after, stored.last + limit.forget_after + limit.longest_wait, limit.free)
