"""The layout's rules, checked on the source: arrows point inwards, no scans on request paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDKS = {
    "boto3",
    "botocore",
    "pynamodb",
    "wechatpy",
    "wechatpayv3",
    "alipay",
    "flask",
    "werkzeug",
    "moto",
    "paho",
    "amqtt",
}

FORBIDDEN = {
    "domain": SDKS | {"infra", "handlers", "functions", "requests", "os", "time", "random", "uuid", "socket"},
    "handlers": SDKS | {"infra", "functions", "requests"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_import_no_outer_layer_or_sdk(layer: str) -> None:
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & FORBIDDEN[layer])
        for f in files
        if _imports(f) & FORBIDDEN[layer]
    }
    assert offenders == {}


def test_domain_reads_no_clock() -> None:
    pattern = re.compile(r"\b(datetime\.now|date\.today|datetime\.utcnow|time\.time)\(")
    hits = [str(f.relative_to(ROOT)) for f in (ROOT / "domain").rglob("*.py") if pattern.search(f.read_text())]
    assert hits == []


def test_no_table_scan_on_a_request_path() -> None:
    hits = [
        str(f.relative_to(ROOT))
        for layer in ("domain", "handlers", "functions")
        for f in (ROOT / layer).rglob("*.py")
        if re.search(r"\.scan\(|[\"']Scan[\"']", f.read_text())
    ]
    assert hits == []
