"""The office's OpenAPI document (functions/admin_openapi.yaml) and the admin app describe the same API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from openapi_spec_validator import validate

import domain.errors
import functions.http
from domain.messages import MESSAGES
from domain.renewal import Refusal
from functions.admin import create_admin_app
from infra.clock import SimClock
from tests import admin_contract
from tests.fakes import fake_services


def _flask_operations() -> set[tuple[str, str]]:
    clock = SimClock()
    app = create_admin_app(fake_services(datetime(2026, 11, 23, tzinfo=UTC), clock))
    return {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_office_document_is_valid_openapi_3_1() -> None:
    validate(admin_contract.spec())
    assert admin_contract.spec()["openapi"].startswith("3.1")


def test_every_office_route_is_documented_and_every_documented_route_exists() -> None:
    served, documented = _flask_operations(), admin_contract.operations()
    assert served - documented == set(), "routes the document does not describe"
    assert documented - served == set(), "documented routes the admin app does not serve"


def test_request_bodies_are_the_pydantic_models_of_admin_bodies() -> None:
    schemas = admin_contract.spec()["components"]["schemas"]
    for name, schema in admin_contract.body_schemas().items():
        assert schemas.get(name) == schema, f"{name} differs from its model: run python -m tests.admin_contract"


def test_every_json_request_body_is_one_of_the_models() -> None:
    models = {f"#/components/schemas/{name}" for name in admin_contract.body_schemas()}
    for path, item in admin_contract.spec()["paths"].items():
        for method, op in item.items():
            json_body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if json_body is not None:
                assert json_body["schema"].get("$ref") in models, f"{method.upper()} {path}"


def test_only_the_page_and_login_are_open_and_every_other_route_answers_401() -> None:
    open_routes = {
        (m.upper(), p)
        for p, item in admin_contract.spec()["paths"].items()
        for m, op in item.items()
        if op.get("security") == []
    }
    assert open_routes == {("GET", "/admin/"), ("GET", "/admin/static/{name}"), ("POST", "/admin/api/v1/auth/login"),
                           ("GET", "/collect/"), ("GET", "/collect/static/{name}")}  # fmt: skip
    for path, item in admin_contract.spec()["paths"].items():
        for method, op in item.items():
            if (method.upper(), path) not in open_routes:
                assert "401" in op["responses"], f"{method.upper()} {path}"


def test_error_codes_are_listed_once_each_has_its_words_and_every_domain_code_is_listed() -> None:
    listed = admin_contract.spec()["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(listed) == len(set(listed))
    assert set(listed) - set(MESSAGES) == set(), "codes without zh-CN/English words in domain/messages.py"
    codes = {
        obj.code
        for module in (domain.errors, functions.http)
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, domain.errors.DomainError) and obj is not domain.errors.DomainError
    }
    codes |= {reason.value for reason in Refusal}
    assert codes - set(listed) == set()


def test_a_lot_and_a_package_as_the_office_sees_them_are_as_documented() -> None:
    from jsonschema import Draft202012Validator

    from domain.lot import Lot
    from domain.package import Duration, DurationUnit, Package
    from functions.admin_views import lot_json, package_json

    schemas = admin_contract.spec()["components"]["schemas"]
    package = Package("p1", "lot-1", "月卡", Duration(DurationUnit.MONTHS, 1), 300_00, True, 0)
    for name, shown in (
        ("OfficeLot", lot_json(Lot(id="lot-1", name="花园"))),
        ("OfficePackage", package_json(package)),
    ):
        assert set(schemas[name]["properties"]) == set(shown), name
        validator = Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}})
        assert [e.message for e in validator.iter_errors(shown)] == [], name
