"""One JSON error shape for every failure: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    UpstreamUnavailable,
)
from domain.messages import MESSAGES, text
from functions import observability
from functions.http import request_lang
from handlers.ports import Metrics

log = logging.getLogger("parkpass.api")
requests_log = logging.getLogger("parkpass.request")
security = logging.getLogger("parkpass.security")

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (InvalidInput, 400),
    (Conflict, 409),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (UpstreamUnavailable, 502),
)


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def error_with_details(e: DomainError, **details: object) -> tuple[Response, int]:
    """A domain error's answer that also shows what is there already, as `error.details` (e.g. the order a
    cancel found paid, the invoice asked for first)."""
    status = next((s for kind, s in _STATUS if isinstance(e, kind)), 400)
    return jsonify(error={"code": e.code, "message": e.text(request_lang()), "details": details}), status


def _http_code(e: HTTPException) -> str:
    return (e.name or "error").lower().replace(" ", "_").replace("'", "")


LOGINS = {"/api/v1/auth/login": "owner", "/admin/api/v1/auth/login": "office"}
"""The login routes (as their rules read) and who logs in there, for the login metrics."""


def _login_metric(e: DomainError) -> tuple[str, str] | None:
    """("LoginFailures" | "LoginLocks", who) when `e` refuses a login: a wrong password or code, or a turn to wait."""
    rule = request.url_rule.rule if request.url_rule is not None else ""
    who = LOGINS.get(rule)
    if who is None:
        return None
    if isinstance(e, RateLimited):
        return "LoginLocks", who
    if isinstance(e, Unauthenticated) or e.code.startswith("login_code"):
        return "LoginFailures", who
    return None


def install_error_handlers(app: Flask, metrics: Metrics | None = None) -> None:
    @app.errorhandler(DomainError)
    def domain_error(e: DomainError) -> tuple[Response, int]:
        status = next((s for kind, s in _STATUS if isinstance(e, kind)), 400)
        counted = _login_metric(e) if metrics is not None else None
        if metrics is not None and counted is not None:
            metrics.count(counted[0], who=counted[1])
        response, status = error_response(status, e.code, e.text(request_lang()))
        if status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{e.code}"'
        if isinstance(e, RateLimited):
            response.headers["Retry-After"] = str(e.retry_after_s)
            security.warning("429: caller=%r path=%r", (request.remote_addr or "?")[:64], request.path[:120])
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[Response, int]:
        status, code, lang = e.code or 500, _http_code(e), request_lang()
        known = code if code in MESSAGES else "bad_request" if status < 500 else "internal_error"
        return error_response(status, code, text(known, lang, {}))

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_response(500, "internal_error", text("internal_error", request_lang(), {}))


def json_app(name: str, max_body: int, metrics: Metrics | None = None) -> Flask:
    """A Flask app that answers JSON as it is (Chinese readable, keys in order) and errors in the one shape."""
    app = Flask(name)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # plates and names stay readable
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = max_body
    install_error_handlers(app, metrics)
    app.before_request(_begin)
    app.url_value_preprocessor(_bind_ids)
    app.after_request(_hardened)
    app.after_request(_logged)
    return app


def _begin() -> None:
    g.started = time.perf_counter()
    g.correlation_id = observability.begin(*observability.lambda_request(request.environ))


def _bind_ids(endpoint: str | None, values: dict[str, object] | None) -> None:
    observability.bind(**{k: v for k, v in (values or {}).items() if k in observability.FOLLOWED})


def _logged(response: Response) -> Response:
    """One line per request: its route (the rule, never the query string: tokens travel there), status and time;
    the answer names its correlation id so an owner's or a provider's complaint can be found in the logs."""
    correlation_id = g.get("correlation_id")
    if correlation_id is not None:
        response.headers["X-Request-Id"] = correlation_id
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        millis = round((time.perf_counter() - g.started) * 1000, 1)
        requests_log.info(
            "%s %s %d", request.method, rule, response.status_code,
            extra={"route": rule, "method": request.method, "status": response.status_code, "ms": millis},
        )  # fmt: skip
    return response


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Scripts only from our own files (the office page has no inline script); the receipt and claim pages keep
their styles inline; nothing may frame a page of ours."""


def _hardened(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
