"""The OpenAPI contract in miniprogram-api/openapi.yaml, as tests use it."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_PATH = Path(__file__).resolve().parents[1] / "miniprogram-api" / "openapi.yaml"
SPEC_URI = "urn:parkpass:openapi"
ANY_ROUTE_MAY_ANSWER = (404, 405, 413, 500, 503)
"""Unknown path, wrong method, a body over 64 KiB, a bug, not ready: the error shape, never listed per route."""


@functools.cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec(), default_specification=_draft()))


def _draft() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def operations() -> set[tuple[str, str]]:
    """(METHOD, path template) for every operation in the spec."""
    return {(m.upper(), p) for p, item in spec()["paths"].items() for m in item if m != "parameters"}


def template_for(path: str) -> str | None:
    for template in spec()["paths"]:
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
            return str(template)
    return None


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_response(method: str, path: str, status: int, body: Any) -> None:
    """Fail unless the spec lists this status for the operation and `body` fits its schema."""
    template = template_for(path)
    assert template is not None, f"{path} is not in the OpenAPI spec"
    responses = spec()["paths"][template][method.lower()]["responses"]
    if str(status) in responses:
        pointer = _pointer("paths", template, method.lower(), "responses", str(status))
    else:
        assert status in ANY_ROUTE_MAY_ANSWER, f"{method} {template} answered {status}, which the spec does not list"
        pointer = _pointer("components", "responses", "Error")
    response = _registry().resolver().lookup(SPEC_URI + pointer).contents
    if "$ref" in response:
        pointer = response["$ref"]
        response = _registry().resolver().lookup(SPEC_URI + pointer).contents
    if "content" not in response:
        assert body is None, f"{method} {template} -> {status} should have no body"
        return
    media = next(iter(response["content"]))
    schema_pointer = pointer + "/content/" + media.replace("/", "~1") + "/schema"
    validator = Draft202012Validator({"$ref": SPEC_URI + schema_pointer}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} -> {status}: " + "; ".join(e.message for e in errors)


def check_schema(name: str, value: Any) -> None:
    """Fail unless `value` fits components/schemas/<name> (a payload that is no HTTP answer: an MQTT message)."""
    validator = Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=_registry())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(e.message for e in errors)
