"""The OpenAPI contract and the Flask app describe the same API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from openapi_spec_validator import validate

import domain.errors
import functions.http
from domain.renewal import Refusal
from functions.api import create_app
from infra.clock import SimClock
from tests import contract
from tests.fakes import fake_services, local_mounts


def _flask_operations() -> set[tuple[str, str]]:
    clock = SimClock()
    app = create_app(fake_services(datetime(2026, 11, 23, tzinfo=UTC), clock), local_mounts(clock))
    return {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith("/sim/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_spec_is_valid_openapi_3_1() -> None:
    validate(contract.spec())
    assert contract.spec()["openapi"].startswith("3.1")


def test_every_route_is_in_the_spec_and_every_spec_route_exists() -> None:
    assert _flask_operations() == contract.operations()


def test_every_domain_error_code_is_listed_once_in_the_spec() -> None:
    listed = contract.spec()["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(listed) == len(set(listed))
    codes = {
        obj.code
        for module in (domain.errors, functions.http)
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, domain.errors.DomainError) and obj is not domain.errors.DomainError
    }
    codes |= {reason.value for reason in Refusal}  # RenewalNotAllowed answers with the quote's reason
    assert codes - set(listed) == set()
