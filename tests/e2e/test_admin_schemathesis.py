"""Property-based hostile input for the office: schemathesis generates requests (valid and invalid) from
functions/admin_openapi.yaml and sends them to a local stack of this module's own as the demo company's
administrator. No request may cause a 5xx; every answer must fit the document, content type included.

Generated ids rarely name anything, so most ids are swapped for the demo lot's, card's and order's (chosen
by the generated value, so the run stays the same): the handlers behind the 404s get the generated bodies
too. Logging out is left out (it would end the session the run uses); login is tried with generated
accounts only, never the administrator's."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from functions.dev_stack import DevStack
from handlers.seed_demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_CARD_ID, DEMO_LOT_ID
from tests.admin_contract import SPEC_PATH
from tests.e2e.api_client import ApiClient
from tests.e2e.conftest import DEMO_DAY, start_stack

schema = schemathesis.openapi.from_path(SPEC_PATH).exclude(path="/admin/api/v1/auth/logout")


@pytest.fixture(scope="module")
def office(moto_server: str) -> Iterator[tuple[DevStack, dict[str, str], dict[str, str]]]:
    """One stack for the run: the demo data, the administrator's token, and ids that exist in it."""
    stack = start_stack(moto_server, clock=DEMO_DAY)
    api = ApiClient(stack.api_url)
    login = {"email": DEMO_ADMIN_EMAIL, "password": DEMO_ADMIN_PASSWORD}
    admin = {"Authorization": f"Bearer {api.post('/admin/api/v1/auth/login', json=login).json()['token']}"}
    paid = api.post(
        f"/admin/api/v1/cards/{DEMO_CARD_ID}/payments",
        json={"package_id": "demo-1m", "channel": "cash", "idempotency_key": "fuzz-cash-1"},
        headers=admin,
    )
    assert paid.status_code == 201, paid.text
    ids = {"lot_id": DEMO_LOT_ID, "card_id": DEMO_CARD_ID, "order_id": paid.json()["order_id"], "package_id": "demo-1m"}
    yield stack, admin, ids
    stack.stop()


def _aimed(case: schemathesis.Case, ids: dict[str, str]) -> None:
    """Two generated ids in three become the demo's own, by the generated value's hash."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in ids and zlib.crc32(str(value).encode()) % 3:
            case.path_parameters[name] = ids[name]  # type: ignore[index]


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_generated_office_request_breaks_the_office_api(
    case: schemathesis.Case, office: tuple[DevStack, dict[str, str], dict[str, str]]
) -> None:
    stack, admin, ids = office
    _aimed(case, ids)
    if case.operation.path == "/admin/api/v1/auth/login" and isinstance(case.body, dict):
        assert case.body.get("email") != DEMO_ADMIN_EMAIL  # wrong tries would make the run's own logins wait
    case.call_and_validate(
        base_url=stack.api_url,
        headers=admin,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        timeout=20,
    )
