"""Every failure speaks zh-CN by default and English when asked, from one message table."""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
import string
from datetime import date
from typing import Any

import pytest
from flask import Flask, abort, request

import domain.errors
import functions.http
from domain.errors import DomainError, RenewalNotAllowed
from domain.messages import MESSAGES
from domain.renewal import Refusal
from functions.errors import json_app
from tests import contract

ROOT = pathlib.Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
ERROR_TYPES = {
    obj
    for module in (domain.errors, functions.http)
    for obj in vars(module).values()
    if isinstance(obj, type) and issubclass(obj, DomainError)
}
HTTP_CODES = {  # the codes the HTTP layer answers with, and how to provoke each
    "not_found": ("GET", "/nowhere", {}),
    "method_not_allowed": ("DELETE", "/boom/0", {}),
    "request_entity_too_large": ("POST", "/upload", {"data": b"x" * 2048}),
    "bad_request": ("POST", "/abort/400", {}),
    "unsupported_media_type": ("POST", "/abort/415", {}),
    "service_unavailable": ("POST", "/abort/503", {}),
    "internal_error": ("POST", "/crash", {}),
}


def _listed_codes() -> list[str]:
    return list(contract.spec()["components"]["schemas"]["ErrorCode"]["enum"])


def _an_error_for(code: str) -> DomainError:
    """An instance of the error that answers with `code`, its parameters filled with stand-ins."""
    if code in {r.value for r in Refusal} | {RenewalNotAllowed.code}:
        return RenewalNotAllowed(code, date(2027, 12, 1))
    kind = next(k for k in ERROR_TYPES if k.code == code)
    init = inspect.signature(kind.__init__)
    if "key" in init.parameters:  # DomainError's own: key and params
        return kind()
    return kind(*[60 if name == "retry_after_s" else "x-1" for name in list(init.parameters)[1:]])


def _raised_keys() -> dict[str, set[str]]:
    """Each message key the code raises with a literal, and the params it passes."""
    names = {k.__name__ for k in ERROR_TYPES if "key" in inspect.signature(k.__init__).parameters}
    found: dict[str, set[str]] = {}
    for base in ("domain", "handlers", "functions", "infra"):
        for path in (ROOT / base).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names):
                    continue
                if node.args:
                    first = node.args[0]
                    assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                        f"{path.relative_to(ROOT)}:{node.lineno}: raise {node.func.id} with a message key, not a text"
                    )
                    found.setdefault(first.value, set()).update(k.arg for k in node.keywords if k.arg)
    return found


def test_every_listed_code_has_a_chinese_and_an_english_message() -> None:
    for code in _listed_codes():
        zh, en = MESSAGES[code]
        assert CJK.search(zh), f"{code}: the zh-CN message is not Chinese: {zh!r}"
        assert en.strip() and not CJK.search(en), f"{code}: the English message is missing or not English"


def test_every_key_the_code_raises_is_in_the_table_in_both_languages_and_fills_in() -> None:
    raised = _raised_keys()
    assert len(raised) > 100  # the scan finds the raises (a broken scan would pass everything)
    for key, params in raised.items():
        assert key in MESSAGES, f"{key!r} is raised but has no message"
        zh, en = MESSAGES[key]
        assert CJK.search(zh), key
        for template in (zh, en):
            wanted = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert wanted <= params, f"{key!r}: the message uses {wanted - params} the raise does not pass"


def _app() -> Flask:
    app = json_app("messages", max_body=1024)

    @app.post("/boom/<int:n>")
    def boom(n: int) -> Any:
        raise _an_error_for(_listed_codes()[n])

    @app.post("/abort/<int:status>")
    def http_error(status: int) -> Any:
        abort(status)

    @app.post("/upload")
    def upload() -> Any:
        return {"size": len(request.get_data())}

    @app.post("/crash")
    def crash() -> Any:
        raise RuntimeError("a bug")

    return app


@pytest.mark.parametrize("code", _listed_codes())
def test_each_error_answers_in_chinese_by_default_and_in_english_when_asked(code: str) -> None:
    client = _app().test_client()
    method, path, extra = HTTP_CODES.get(code, ("POST", f"/boom/{_listed_codes().index(code)}", {}))
    answers = {
        lang: client.open(path, method=method, headers=headers, **extra).get_json()["error"]
        for lang, headers in {
            "default": {},
            "zh": {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"},
            "en": {"Accept-Language": "en"},
            "en-US": {"Accept-Language": "en-US,en;q=0.9"},
        }.items()
    }
    assert {a["code"] for a in answers.values()} == {code}
    assert CJK.search(answers["default"]["message"]) and answers["zh"] == answers["default"]
    assert not CJK.search(answers["en"]["message"]) and answers["en-US"] == answers["en"]
