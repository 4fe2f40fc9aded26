"""Settings kept in SSM Parameter Store, read by the functions at run time.

On AWS a function's environment names its secrets' parameters instead of
holding them (`PARKPASS_TOKEN_SECRET_PARAM=/parkpass/prod/token-secret`): the
values never appear in the function's configuration or the CloudFormation
template, and packaging needs no AWS credentials. The environment the wiring
reads is the process's own with each `NAME_PARAM` answered as `NAME`, read
through Powertools' SSM provider (one batched GetParameters, decrypted) and
kept for MAX_AGE_S, so a rotated value reaches a warm container within five
minutes. The local stack and the tests set `NAME` directly and read nothing.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

SUFFIX = "_PARAM"
MAX_AGE_S = 300.0

Fetch = Callable[[list[str]], tuple[dict[str, str], list[str]]]
"""Parameter names -> (values by name, names that could not be read)."""


def fetch_from_ssm(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Reads the parameters, decrypted, in batches of ten; AWS_ENDPOINT_URL_SSM points it at an emulator."""
    # max_age=0: ParameterEnvironment keeps the values (the provider's cache would outlive its by the call's time,
    # and it never keeps a parameter that is absent, such as an optional one, which would be read on every call).
    answer: dict[str, Any] = _ssm().get_parameters_by_name(
        {name: {} for name in names}, decrypt=True, max_age=0, raise_on_error=False
    )
    failed = [str(n) for n in answer.pop("_errors", [])]
    return {name: str(value) for name, value in answer.items()}, failed


@functools.cache
def _ssm() -> Any:
    """One client per container: its connection is reused by every later read (Powertools loads on first use)."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider()


class ParameterEnvironment:
    """`environ` with its parameters' values filled in, read again when older than `max_age_s`."""

    def __init__(
        self,
        environ: Mapping[str, str],
        fetch: Fetch = fetch_from_ssm,
        monotonic: Callable[[], float] = time.monotonic,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self._environ, self._fetch, self._monotonic, self._max_age_s = environ, fetch, monotonic, max_age_s
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._values: dict[str, str] = {}
        self.unreadable: dict[str, str] = {}
        """Setting -> the parameter that could not be read (missing, or not allowed): for the error message."""

    def current(self) -> dict[str, str]:
        wanted = {k.removesuffix(SUFFIX): v for k, v in self._environ.items() if k.endswith(SUFFIX) and v}
        plain = {k: v for k, v in self._environ.items() if not k.endswith(SUFFIX)}
        if not wanted:
            return plain
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._max_age_s:
                values, failed = self._fetch(sorted(set(wanted.values())))
                self._values = {setting: values[name] for setting, name in wanted.items() if name in values}
                self.unreadable = {setting: name for setting, name in wanted.items() if name in failed}
                self._read_at = now
            return {**plain, **self._values}


_process = ParameterEnvironment(os.environ)


def runtime_environ() -> dict[str, str]:
    """This process's environment with its SSM parameters read (at most every five minutes)."""
    return _process.current()


def unreadable_parameters() -> dict[str, str]:
    return dict(_process.unreadable)
