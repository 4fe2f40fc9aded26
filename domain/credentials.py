"""What an office account's email and password must be: checked when an account is made or a password is set.

A password has at least 12 characters (at most 128), no control or invisible characters, characters of at
least two of three kinds (letters, digits, everything else: symbols and spaces, so a passphrase of words
counts), at least 6 different characters, is not one of the commonly used passwords (also with digits or
symbols added before or after it: `Password2024!` is `password`) and is not the login email itself.

An email is a plain address: letters, digits and `. _ % + -` before the @ (no dot first, last or twice),
a domain of dot-separated labels of letters, digits and `-` ending in a top-level name of letters (or an
`xn--` IDN), at most 254 characters. No quotes, angle brackets, spaces or comments: RFC 5322 allows them,
but nobody's office email needs them, and they are how an address turns into markup.

`common_passwords.txt` beside this module is data shipped with the code (the 5,000 most common passwords
of Royce Williams' list as Django ships it, and its longer entries; BSD licence): nothing is downloaded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from functools import cache
from importlib import resources

from domain.errors import InvalidInput, WeakPassword

MIN_PASSWORD = 12
MAX_PASSWORD = 128
MIN_DISTINCT = 6
MIN_KINDS = 2
MAX_EMAIL = 254

_LOCAL = r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TOP = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
_ADDRESS = re.compile(rf"(?P<local>{_LOCAL})@(?:{_LABEL}\.)+{_TOP}")
_EDGES = " 0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-case, read once per container."""
    text = resources.files("domain").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def new_account_email(email: str) -> str:
    """The login of a new account, lower-cased, if it is a plain address; else `staff_email_format`."""
    address = email.strip().lower()
    match = _ADDRESS.fullmatch(address)
    if len(address) > MAX_EMAIL or match is None or len(match["local"]) > 64:
        raise InvalidInput("staff_email_format", most=MAX_EMAIL)
    return address


def check_password(password: str, email: str, common: Container[str] | None = None) -> None:
    """Refuse a password a person should not be given, with the first rule it breaks."""
    if any(unicodedata.category(c).startswith("C") for c in password):
        raise WeakPassword("password_control")
    if len(password) < MIN_PASSWORD:
        raise WeakPassword("password_short", least=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise WeakPassword("password_long", most=MAX_PASSWORD)
    if _kinds(password) < MIN_KINDS:
        raise WeakPassword("password_kinds")
    if len(set(password)) < MIN_DISTINCT:
        raise WeakPassword("password_repetitive", least=MIN_DISTINCT)
    known = common_passwords() if common is None else common
    lowered = password.lower()
    if lowered in known or lowered.strip(_EDGES) in known:
        raise WeakPassword("password_common")
    login = email.strip().lower()
    if lowered in (login, login.partition("@")[0]):
        raise WeakPassword("password_is_email")


def _kinds(password: str) -> int:
    letters = any(c.isalpha() for c in password)
    digits = any(c.isdigit() for c in password)
    others = any(not c.isalnum() for c in password)
    return letters + digits + others
