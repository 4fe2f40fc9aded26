"""Request parsing shared by the routes: bodies are validated by pydantic models at the edge."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel

from domain.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


class InvalidJson(InvalidInput):
    code = "invalid_json"


def parse_body(model: type[M]) -> M:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidJson("the body must be a JSON object (Content-Type: application/json)")
    return model.model_validate(data)
