"""The public API over HTTP against the local stack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.api_client import ApiClient, json_error


def test_demo_price_list_over_http(api: ApiClient) -> None:
    r = api.get("/api/v1/lots/demo-lot/packages")
    assert r.status_code == 200
    packages = r.json()["packages"]
    assert [(p["id"], p["price_fen"]) for p in packages] == [
        ("demo-1m", 300_00),
        ("demo-3m", 850_00),
        ("demo-12m", 3_200_00),
    ]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/lots/unknown-lot/packages", 404, "lot_not_found"),
        ("/api/v1/lots/bad%20id!/packages", 400, "invalid_id"),
        ("/api/v1/lots/" + "x" * 200 + "/packages", 400, "invalid_id"),
        ("/api/v1/lots/demo-lot/nothing", 404, "not_found"),
        ("/index.html", 404, "not_found"),
    ],
)
def test_bad_requests_get_the_json_error_shape(api: ApiClient, path: str, status: int, code: str) -> None:
    r = api.get(path)
    assert r.status_code == status
    assert json_error(r)["code"] == code


def test_sim_clock_travels_and_refuses_a_time_without_offset(api: ApiClient) -> None:
    r = api.post("/sim/clock", json={"now": "2026-12-05T10:00:00+08:00"})
    assert r.status_code == 200
    moved = datetime.fromisoformat(api.get("/healthz").json()["time"])
    assert abs((moved - datetime(2026, 12, 5, 2, 0, tzinfo=UTC)).total_seconds()) < 60

    r = api.post("/sim/clock", json={"now": "2026-12-05T10:00:00"})
    assert r.status_code == 400 and json_error(r)["code"] == "invalid_request"
