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


def _modules(path: Path) -> set[str]:
    """Every module a file imports, in full, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_adapters_import_only_the_domain_and_the_ports_of_the_use_cases() -> None:
    offenders = {
        str(f.relative_to(ROOT)): sorted(
            m for m in _modules(f) if m.startswith("functions") or (m.startswith("handlers") and m != "handlers.ports")
        )
        for f in sorted((ROOT / "infra").rglob("*.py"))
    }
    assert {f: m for f, m in offenders.items() if m} == {}


WIRING = {"bootstrap.py", "dev_stack.py", "cli.py", "sim_routes.py", "demo.py", "publishing.py"}
"""Where ports meet adapters: only these build infra's adapters."""


def test_routes_and_lambda_entries_reach_adapters_only_through_the_wiring() -> None:
    allowed = {"infra.lazy", "infra.pdf"}  # loading request bodies on first use; drawing a receipt PDF
    offenders = {
        f.name: sorted(
            m for m in _modules(f) if (m.startswith("infra") and m not in allowed) or m.startswith("pynamodb")
        )
        for f in sorted((ROOT / "functions").glob("*.py"))
        if f.name not in WIRING
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_every_port_is_declared_in_one_place() -> None:
    elsewhere = {
        str(f.relative_to(ROOT)): [n.name for n in ast.walk(ast.parse(f.read_text())) if _is_protocol(n)]
        for f in sorted((ROOT / "handlers").glob("*.py"))
        if f.name != "ports.py"
    }
    assert {f: p for f, p in elsewhere.items() if p} == {}


def _is_protocol(node: ast.AST) -> bool:
    return isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
