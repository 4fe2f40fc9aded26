"""Request parsing shared by the routes: bodies are validated by pydantic models at the edge."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from flask import request

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


def request_lang() -> str:
    """"en" when the request asks for English (?lang=en, or Accept-Language prefers it), else "zh" (the default)."""
    asked = request.args.get("lang", "")
    if asked in ("en", "zh"):
        return asked
    best = request.accept_languages.best_match(("zh-CN", "zh", "en"))
    return "en" if best == "en" else "zh"


class InvalidJson(InvalidInput):
    code = "invalid_json"


class InvalidBody(InvalidInput):
    code = "invalid_request"


MAX_DEPTH = 8
"""No body here nests deeper; a deeper one is refused before anything looks at it."""


def parse_body(model: type[M]) -> M:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # thousands of nested brackets: json gives up, and so do we
        data = None
    if not isinstance(data, dict):
        raise InvalidJson("invalid_json")
    if _depth(data) > MAX_DEPTH:
        raise InvalidJson("json_depth", most=MAX_DEPTH)
    from pydantic import ValidationError  # loaded already: `model` is a pydantic model

    try:
        return model.model_validate(data)
    except ValidationError as e:
        # Pydantic's own text can echo the input back; name only the field and the rule.
        raise InvalidBody(
            "invalid_request",
            fields=", ".join(dict.fromkeys(".".join(str(p) for p in err["loc"]) or "body" for err in e.errors())),
            detail="; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in e.errors()),
        ) from None


def _depth(value: object, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)
