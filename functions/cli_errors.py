"""What the CLI says when the user got something wrong: one line saying what to do, never a traceback.

A bug still ends in a traceback: only mistakes someone can fix from the command
line (an option, a file, a store or API that is not there) are turned into a line.
"""

from __future__ import annotations

import argparse
import errno
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

MISTAKE = 2
"""The exit status of a user mistake (as argparse's)."""


class UserMistake(Exception):
    """One line saying what to do; the CLI prints it to stderr and exits with MISTAKE."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (with where to look) instead of the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(MISTAKE, f"{self.prog}: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class StoreInUse:
    """Where a command looked for its tables, to say so when they are not there."""

    endpoint: str | None
    """None: AWS DynamoDB in `region`."""
    region: str
    table_prefix: str
    api: str | None
    """Where a local stack was looked for (None: nowhere)."""


HOW_TO_POINT = "start the local stack (make dev) or pass --dynamodb-endpoint URL (or set PARKPASS_DYNAMODB_ENDPOINT)"


def explain(error: BaseException, store: StoreInUse | None = None, api: str | None = None) -> UserMistake | None:
    """The one line for an exception a user caused, or None for a bug (which keeps its traceback)."""
    if isinstance(error, UserMistake):
        return error
    for cause in _chain(error):
        mistake = _explain_one(cause, store, api)
        if mistake is not None:
            return mistake
    return None


def _explain_one(error: BaseException, store: StoreInUse | None, api: str | None) -> UserMistake | None:
    from domain.errors import DomainError

    if isinstance(error, DomainError):
        return UserMistake(str(error))
    if isinstance(error, sqlite3.DatabaseError):
        return UserMistake(f"not a gate database ({error}): pass the file `parkpass gate` keeps (--db)")
    if api is not None and _is_connection_error(error):
        return UserMistake(f"cannot reach the API at {api}: start the local stack (make dev) or pass --api URL")
    if store is not None:
        mistake = _store_mistake(error, store)
        if mistake is not None:
            return mistake
    if isinstance(error, FileNotFoundError):
        return UserMistake(f"no such file: {error.filename}")
    if isinstance(error, PermissionError):
        return UserMistake(f"not allowed to use {error.filename}: check its permissions")
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return UserMistake("the port is taken: pass another --port")
    return None


def _store_mistake(error: BaseException, store: StoreInUse) -> UserMistake | None:
    from botocore import exceptions as boto  # type: ignore[import-untyped]

    where = f"DynamoDB at {store.endpoint}" if store.endpoint else f"AWS DynamoDB in {store.region}"
    if isinstance(error, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ConnectionClosedError):
        if store.api is None:  # `parkpass dev`, which starts a store of its own when given none
            return UserMistake(f"cannot reach {where}: check --dynamodb-endpoint, or leave it out for the embedded one")
        return UserMistake(f"cannot reach {where}: {HOW_TO_POINT}")
    if isinstance(error, boto.NoCredentialsError | boto.PartialCredentialsError):
        if store.endpoint is not None:
            return UserMistake(f"no AWS credentials for {where}: set AWS_PROFILE or the AWS keys")
        return UserMistake(
            f"no --dynamodb-endpoint, no local stack at {store.api} with tables {store.table_prefix}-*, "
            f"and no AWS credentials for {where}: "
            f"{HOW_TO_POINT}, or set AWS credentials"
        )
    if isinstance(error, boto.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return UserMistake(
                f"no {store.table_prefix}-* tables in {where}: run `parkpass init-db` with the same options, "
                "or pass the --table-prefix they were made with"
            )
        if code in ("UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException"):
            return UserMistake(f"{where} refused these credentials ({code}): check the AWS profile or keys")
    return None


def _is_connection_error(error: BaseException) -> bool:
    import requests  # what the commands that call an API call it with

    return isinstance(error, requests.ConnectionError | requests.Timeout | ConnectionError)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it: pynamodb keeps botocore's error as `cause`, Python as __cause__/__context__."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(c for c in (getattr(e, "cause", None), e.__cause__, e.__context__) if isinstance(c, BaseException))
