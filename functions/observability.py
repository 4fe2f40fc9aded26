"""Logs as JSON lines through Powertools' Logger, with the keys that let the engineer on call follow one payment
through every function: the correlation id (API Gateway's request id, or one made here), and the order, lot and
card where known.

Every `parkpass.*` logger is a child of the Logger's own (`parkpass`), so the handlers keep using the standard
library's logging and their lines come out as JSON with whatever this module has bound. Bound keys live in a
context variable: the local stack serves requests on threads, and a Lambda sandbox reuses its thread, so each
request or invocation starts from none.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model

SERVICE = "parkpass"
FOLLOWED = ("order_id", "lot_id", "card_id", "gate_id")
"""The ids a line carries when its request or event names them (ids only: never a phone, a plate or a token)."""

_logger: Logger | None = None
_cold = True

Handler = TypeVar("Handler", bound=Callable[..., Any])


def json_logs(stream: IO[str] | None = None, level: str | None = None) -> Logger:
    """The process's Logger (made on first use); with `stream`, its lines go there from now on (tests read them)."""
    global _logger
    if _logger is None:
        _logger = Logger(
            service=SERVICE,
            stream=stream or sys.stdout,
            level=level or os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
            utc=True,
        )
        _logger.append_keys(name="%(name)s")  # which part wrote it: parkpass.http, parkpass.fanout, ...
    elif stream is not None:
        handler = _logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return _logger


def on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def bind(**keys: object) -> None:
    """Add keys to every line until this request or invocation ends (None values are left out)."""
    if _logger is not None:
        _logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})


def begin(correlation_id: str | None = None, context: object | None = None) -> str:
    """A new request or invocation: drop the last one's keys, bind its correlation id (made here when none is
    given) and, on Lambda, the function's name, request id and whether this is its cold start."""
    global _cold
    correlation_id = correlation_id or uuid.uuid4().hex
    if _logger is not None:
        _logger.thread_safe_clear_keys()
        keys: dict[str, object] = {"correlation_id": correlation_id}
        if context is not None and hasattr(context, "aws_request_id"):
            keys |= build_lambda_context_model(context).__dict__ | {"cold_start": _cold}
            _cold = False
        _logger.thread_safe_append_keys(**keys)
    return correlation_id


def invocation(handler: Handler) -> Handler:
    """A Lambda entry whose lines carry the invocation's keys (the correlation id is Lambda's request id)."""

    @functools.wraps(handler)
    def logged(event: Any, context: Any) -> Any:
        begin(getattr(context, "aws_request_id", None), context)
        return handler(event, context)

    return logged  # type: ignore[return-value]


def lambda_request(environ: Mapping[str, Any]) -> tuple[str | None, object | None]:
    """API Gateway's request id and the Lambda context of a WSGI request (serverless-wsgi or zappa put them in
    the environ); (None, None) on the local stack."""
    event = environ.get("serverless.event") or environ.get("lambda.event") or {}
    context = environ.get("serverless.context") or environ.get("lambda.context")
    request_id = event.get("requestContext", {}).get("requestId") if isinstance(event, dict) else None
    return (str(request_id) if request_id else None), context


if on_lambda():
    json_logs()
