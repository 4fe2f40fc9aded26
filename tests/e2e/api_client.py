"""A small HTTP client for end-to-end tests: the API as a mini-program would see it."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.contract import check_response, template_for


class ApiClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send, then hold the answer to the OpenAPI contract (local-only /sim routes aside)."""
        response = self.http.request(method, self.base_url + path, timeout=10, **kwargs)
        route = urlsplit(response.url).path
        if not route.startswith("/sim/") and template_for(route) is not None:
            body = response.json() if "json" in response.headers.get("Content-Type", "") else response.text or None
            check_response(method, route, response.status_code, body)
        return response

    def wait_until_healthy(self, deadline_s: float) -> float:
        """Poll /healthz until it answers 200; answer the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            try:
                if self.get("/healthz").status_code == 200:
                    return time.monotonic() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.base_url} not healthy after {deadline_s} s")


def json_error(response: requests.Response) -> dict[str, str]:
    """The error of a response in the one error shape, or an assertion failure."""
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]  # type: ignore[no-any-return]
