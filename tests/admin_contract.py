"""The office's OpenAPI contract in functions/admin_openapi.yaml, as tests use it.

Its request-body schemas are the pydantic models' own (functions/admin_bodies.py, titles left out); when a
model changes, `python -m tests.admin_contract` writes them again over the generated block at the end of the
document (everything after MARKER).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parents[1] / "functions" / "admin_openapi.yaml"
MARKER = "    # --- tests/unit/test_admin_contract.py holds them equal"


@functools.cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def operations() -> set[tuple[str, str]]:
    """(METHOD, path template) for every operation in the document."""
    return {(m.upper(), p) for p, item in spec()["paths"].items() for m in item if m != "parameters"}


def _untitled(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _untitled(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    return schema


def _flat(schema: dict[str, Any]) -> dict[str, Any]:
    """A nested model is its own component in the document: its copy under `$defs` goes."""
    schema.pop("$defs", None)
    return schema


def body_schemas() -> dict[str, dict[str, Any]]:
    """Each request-body model of the admin function as JSON Schema, named as the document names it."""
    from pydantic import BaseModel

    from functions import admin_bodies

    return {
        name: _untitled(_flat(model.model_json_schema(ref_template="#/components/schemas/{model}")))
        for name, model in vars(admin_bodies).items()
        if isinstance(model, type)
        and issubclass(model, admin_bodies.Body)
        and model is not admin_bodies.Body
        and issubclass(model, BaseModel)
    }


def write_body_schemas() -> None:
    """Write the models' schemas over the document's generated block."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    head, marker, _ = text.partition(MARKER)
    assert marker, f"{SPEC_PATH} has lost its marker line: {MARKER.strip()}"
    dumped = yaml.safe_dump(body_schemas(), allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)
    rest = marker + text.partition(MARKER)[2].split("\n", 1)[0] + "\n"
    SPEC_PATH.write_text(head + rest + "".join("    " + line for line in dumped.splitlines(True)), encoding="utf-8")


if __name__ == "__main__":
    write_body_schemas()
