"""The HTTP edge over fakes: routes, JSON shapes and the one error shape."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from functions.api import create_app
from handlers.seed_demo import seed_demo
from infra.clock import SimClock
from tests.fakes import fake_services, local_mounts

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def client() -> FlaskClient:
    s = fake_services(NOW)
    seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
    return create_app(s).test_client()


def error_of(response: Any) -> dict[str, str]:
    assert response.is_json, response.data
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]  # type: ignore[no-any-return]


def test_healthz_answers_ok(client: FlaskClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_price_list_is_json_with_fen_and_exact_yuan(client: FlaskClient) -> None:
    r = client.get("/api/v1/lots/demo-lot/packages")
    assert r.status_code == 200
    body = r.get_json()
    assert body["lot"] == {"id": "demo-lot", "name": "示例花园 Demo Gardens", "timezone": "Asia/Shanghai"}
    assert [(p["duration"]["count"], p["price_fen"], p["price_yuan"]) for p in body["packages"]] == [
        (1, 30000, "300.00"),
        (3, 85000, "850.00"),
        (12, 320000, "3200.00"),
    ]
    assert "示例" in r.get_data(as_text=True)  # not \\u-escaped


def test_unknown_lot_is_a_json_404(client: FlaskClient) -> None:
    r = client.get("/api/v1/lots/nowhere/packages")
    assert r.status_code == 404 and error_of(r)["code"] == "lot_not_found"


@pytest.mark.parametrize("lot_id", ["bad!id", "%20x", "x" * 65, "_x"])
def test_malformed_lot_id_is_a_json_400(client: FlaskClient, lot_id: str) -> None:
    r = client.get(f"/api/v1/lots/{lot_id}/packages")
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_id"


def test_unknown_route_and_wrong_method_are_json(client: FlaskClient) -> None:
    r = client.get("/api/v1/nothing")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = client.post("/api/v1/lots/demo-lot/packages")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


def test_an_unexpected_failure_is_a_json_500_that_leaks_nothing() -> None:
    class BrokenLots:
        def get(self, lot_id: str) -> None:
            raise RuntimeError("secret connection string postgres://u:p@host")

        def add(self, lot: object) -> bool:
            return False

    s = fake_services(NOW)
    app = create_app(replace(s, lots=BrokenLots()))  # type: ignore[arg-type]
    r = app.test_client().get("/api/v1/lots/demo-lot/packages")
    assert r.status_code == 500
    assert error_of(r)["code"] == "internal_error"
    assert "secret" not in r.get_data(as_text=True)


def test_sim_routes_exist_only_in_the_local_stack(client: FlaskClient) -> None:
    assert client.post("/sim/clock", json={"now": "2026-12-05T10:00:00+08:00"}).status_code == 404
    assert client.get("/sim/wechat/messages").status_code == 404


def test_sim_clock_moves_the_clock_the_api_uses() -> None:
    clock = SimClock(NOW)
    app = create_app(fake_services(NOW, clock), local_mounts(clock))
    c = app.test_client()
    r = c.post("/sim/clock", json={"now": "2026-12-05T10:00:00+08:00"})
    assert r.status_code == 200
    moved = datetime.fromisoformat(c.get("/healthz").get_json()["time"])
    assert datetime(2026, 12, 5, 2, 0, tzinfo=UTC) <= moved < datetime(2026, 12, 5, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"now": "2026-12-05T10:00:00"}, "invalid_request"),  # no offset
        ({"now": "yesterday"}, "invalid_request"),
        ({}, "invalid_request"),
        ("not an object", "invalid_json"),
    ],
)
def test_sim_clock_refuses_bad_input_with_a_json_400(body: object, code: str) -> None:
    clock = SimClock(NOW)
    app = create_app(fake_services(NOW, clock), local_mounts(clock))
    r = app.test_client().post("/sim/clock", json=body)
    assert r.status_code == 400 and error_of(r)["code"] == code
    assert abs((clock.now() - NOW).total_seconds()) < 60
