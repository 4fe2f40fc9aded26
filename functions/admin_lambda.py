"""Lambda entry of the admin function: an API Gateway HTTP API event (payload 2.0) through the admin Flask app.

The office's traffic is light; a plain translation with werkzeug is enough and
keeps the admin function out of the mini-program API's package settings.
"""

from __future__ import annotations

import base64
from typing import Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from functions import admin


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    http = event["requestContext"]["http"]
    headers = event.get("headers") or {}
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    builder = EnvironBuilder(
        path=event.get("rawPath") or "/",
        query_string=event.get("rawQueryString") or "",
        method=http["method"],
        headers=headers,
        data=body,
        base_url=f"https://{headers.get('host', 'localhost')}",
    )
    try:
        environ = builder.get_environ()
        environ["lambda.event"], environ["lambda.context"] = event, context  # as zappa does: for the logs' keys
        app_iter, status, response_headers = run_wsgi_app(admin.app, environ, buffered=True)
        data = b"".join(app_iter)
    finally:
        builder.close()
    return {
        "statusCode": int(status.split()[0]),
        "headers": dict(response_headers),
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }
