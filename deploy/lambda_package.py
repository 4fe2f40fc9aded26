"""The Lambda package that `make package` builds with the Serverless Framework: its inputs, then checks of it.

    python deploy/lambda_package.py requirements build/lambda   # requirements.txt (+ wheels) from pyproject.toml
    python deploy/lambda_package.py check [.serverless]          # the package that `serverless package` wrote

`requirements` writes the list serverless-python-requirements installs for Lambda's arm64 from pyproject.toml's
[project] dependencies (never a copy kept by hand), with a --find-links line to wheels built here from the
dependencies PyPI has as source only: pip installs for another platform from wheels alone, and a pure-Python
wheel built here is the same on arm64.

`check` fails (exit 1, each problem on a line) unless: every function's handler module is in its zip, with the
rest of the application's packages; the application's bytecode is checked-hash and matches its source, and no
dependency's is timestamp-based (Lambda cannot write __pycache__, and its copy of the files never keeps the
mtimes a timestamp .pyc records, so either would be compiled again at every cold start); the unzipped size is
under Lambda's 250 MB; no deploy or development tool (zappa, pip, setuptools, ...) or project folder (tests,
docs, node_modules, ...) is shipped; the CloudFormation templates pass cfn-lint. It prints the sizes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Lambda's limit on a function's deployment package unzipped, layers included: "250 MB", in MiB.
MIB = 1024 * 1024
UNZIPPED_LIMIT = 250 * MIB

# Tools that deploy or build (zappa packages itself with whatever it deploys) and never run in a function.
DEPLOY_TOOLS = frozenset({"zappa", "pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel", "troposphere"})
# The project's development and local-stack tools.
DEV_TOOLS = frozenset(
    {"moto", "pytest", "_pytest", "xdist", "hypothesis", "amqtt", "playwright", "schemathesis", "cfnlint", "mypy"}
)
# Folders of the repository that are not the application.
PROJECT_FOLDERS = frozenset(
    {"tests", "docs", "bench", "deploy", "miniprogram-api", "node_modules", "build", "test-output", ".venv",
     ".parkpass", ".serverless", ".git", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)  # fmt: skip
# cfn-lint findings in what the Serverless Framework generates, not in serverless.yml: it adds DependsOn on a
# function's role (and an HTTP API route's integration) that the GetAtt/Ref already implies.
FRAMEWORK_FINDINGS = ["W3005"]

CHECKED_HASH = 0b11  # PEP 552 flags: hash-based, check the source


def pyproject(root: Path = ROOT) -> dict[str, Any]:
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def distribution_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def application_packages(root: Path = ROOT) -> list[str]:
    """The top-level packages pyproject.toml installs (tool.setuptools.packages.find include): what Lambda runs."""
    include = pyproject(root)["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in include})


# ---------------------------------------------------------------------------------------------------- requirements


def write_requirements(out: Path, root: Path = ROOT) -> list[str]:
    dependencies: list[str] = pyproject(root)["project"]["dependencies"]
    shipped_tools = [d for d in dependencies if distribution_name(d) in DEPLOY_TOOLS | DEV_TOOLS]
    if shipped_tools:
        raise SystemExit(
            f"pyproject.toml: {', '.join(shipped_tools)} would be shipped to Lambda: "
            "move deploy tools to the `deploy` extra, development tools to `dev`"
        )
    wheels = (out / "wheels").resolve()
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    requirements = out / "requirements.txt"
    requirements.write_text(
        "# Written by `make package` (deploy/lambda_package.py) from pyproject.toml's dependencies: do not edit.\n"
        f"--find-links {wheels}\n" + "".join(f"{d}\n" for d in dependencies)
    )
    # Wheels for this machine, of everything: kept are only the pure-Python ones (from PyPI or built here from a
    # source-only release); the platform ones are for this machine, not Lambda's, and pip would ignore them.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-qq", "--disable-pip-version-check",
         "--wheel-dir", str(wheels), "--requirement", str(requirements)],
        check=True,
    )  # fmt: skip
    for wheel in wheels.glob("*.whl"):
        if not wheel.name.endswith("-none-any.whl"):
            wheel.unlink()
    print(f"{requirements}: {len(dependencies)} dependencies from pyproject.toml; pure-Python wheels in {wheels}")
    return dependencies


# ----------------------------------------------------------------------------------------------------------- check


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def pyc_path(source: str) -> str:
    folder, _, name = source.rpartition("/")
    tag = sys.implementation.cache_tag  # cpython-311: checked below to be Lambda's python3.11
    return f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{tag}.pyc"


def top_level(name: str) -> str:
    first = name.split("/", 1)[0]
    if first.endswith((".dist-info", ".egg-info", ".data")):
        first = first.split("-", 1)[0]
    return first.removesuffix(".py").removesuffix(".pth").lower()


def check_zip(path: Path, handlers: dict[str, str], report: Report, root: Path = ROOT) -> None:
    """One zip: `handlers` maps each function packaged in it to its handler ("functions/fanout.handler")."""
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        files = {i.filename: i for i in infos}
        unzipped = sum(i.file_size for i in infos)

        by_top = Counter[str]()
        for info in infos:
            by_top[info.filename.split("/", 1)[0]] += info.file_size
        share = unzipped / UNZIPPED_LIMIT
        print(
            f"{path.relative_to(root) if path.is_relative_to(root) else path}: "
            f"{path.stat().st_size / MIB:.1f} MiB zipped, {unzipped / MIB:.1f} MiB unzipped "
            f"({share:.0%} of Lambda's {UNZIPPED_LIMIT / MIB:.0f} MiB), {len(infos)} files; "
            f"functions: {', '.join(handlers)}"
        )
        print("  largest: " + ", ".join(f"{name} {size / MIB:.1f} MiB" for name, size in by_top.most_common(8)))
        if unzipped >= UNZIPPED_LIMIT:
            report.problem(f"{path.name}: {unzipped} bytes unzipped, over Lambda's limit of {UNZIPPED_LIMIT}")

        # The handlers, and the WSGI app serverless-wsgi's handler loads.
        for function, handler in handlers.items():
            module = handler.rsplit(".", 1)[0]
            if f"{module}.py" not in files:
                report.problem(f"{path.name}: function {function}'s handler module {module}.py is not in the zip")
            if module == "wsgi_handler":
                if ".serverless-wsgi" not in files:
                    report.problem(f"{path.name}: serverless-wsgi's .serverless-wsgi (the app to load) is missing")
                    continue
                app = json.loads(archive.read(".serverless-wsgi"))["app"].rsplit(".", 1)[0]
                if f"{app}.py" not in files:
                    report.problem(f"{path.name}: the WSGI app {app}.py (function {function}) is not in the zip")

        # The whole application, as it is in the working tree.
        packages = application_packages(root)
        for package in packages:
            for source in sorted((root / package).rglob("*")):
                name = source.relative_to(root).as_posix()
                if source.is_file() and "__pycache__" not in source.parts and name not in files:
                    report.problem(f"{path.name}: {name} is in the application but not in the zip")

        # Bytecode: the application's checked-hash and current; nothing timestamp-based.
        same_python = sys.version_info[:2] == (3, 11)
        if not same_python:
            report.problem(f"check with Python 3.11 (Lambda's python3.11), not {sys.version.split()[0]}")
        without = []
        for name in files:
            if not name.endswith(".py"):
                continue
            ours = top_level(name) in packages
            cached = pyc_path(name)
            if cached not in files:
                if ours:
                    report.problem(f"{path.name}: {name} has no bytecode")
                else:
                    without.append(name)
                continue
            head = archive.read(cached)[:16]
            magic, flags = head[:4], struct.unpack("<I", head[4:8])[0]
            if same_python and magic != importlib.util.MAGIC_NUMBER:
                report.problem(f"{path.name}: {cached} is not Python 3.11's bytecode")
            elif flags == 0:
                report.problem(
                    f"{path.name}: {cached} is timestamp-based: Lambda would compile {name} at every cold start "
                    "(build with `make package`: it compiles with checked hashes)"
                )
            elif ours and flags != CHECKED_HASH:
                report.problem(f"{path.name}: {cached} is not checked-hash bytecode")
            elif ours and same_python and head[8:16] != importlib.util.source_hash(archive.read(name)):
                report.problem(f"{path.name}: {cached} is stale: compiled from another {name}")
        if without:
            report.notes.append(
                f"{path.name}: {len(without)} modules compiled at each cold start (no bytecode: "
                "serverless-python-requirements drops a top-level __pycache__): " + ", ".join(sorted(without))
            )

        # Nothing that only deploys, develops or tests.
        shipped = sorted({top_level(n) for n in files} & (DEPLOY_TOOLS | DEV_TOOLS | PROJECT_FOLDERS))
        for name in shipped:
            kind = "deploy tool" if name in DEPLOY_TOOLS else "dev tool" if name in DEV_TOOLS else "project folder"
            report.problem(f"{path.name}: ships {name} ({kind}), which Lambda never runs")


def lint_templates(folder: Path, region: str, report: Report) -> None:
    from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

    templates = sorted(folder.glob("cloudformation-template-*.json"))
    if not any(t.name == "cloudformation-template-update-stack.json" for t in templates):
        report.problem(f"{folder}: no cloudformation-template-update-stack.json: did `serverless package` run?")
    found = 0
    for template in templates:
        matches = lint(template.read_text(), config=ManualArgs(regions=[region], ignore_checks=FRAMEWORK_FINDINGS))
        found += len(matches)
        for match in matches:
            where = "/".join(str(part) for part in match.path)
            report.problem(f"cfn-lint {template.name}: {match.rule.id} {match.message} at {where}")
    names = ", ".join(t.name for t in templates)
    print(f"cfn-lint ({region}, ignoring {', '.join(FRAMEWORK_FINDINGS)}): {names}: {found or 'no'} findings")


def check(folder: Path, root: Path = ROOT) -> Report:
    """The package in `folder` (.serverless) of the service in `root`."""
    report = Report()
    state_file = folder / "serverless-state.json"
    if not state_file.exists():
        report.problem(f"{state_file} is missing: run `make package`")
        return report
    state = json.loads(state_file.read_text())
    service = state["service"]
    if service["provider"].get("runtime") != "python3.11" or service["provider"].get("architecture") != "arm64":
        report.problem("serverless.yml: the package is built for python3.11 on arm64; the provider says otherwise")

    # Which zip each function is in: the service's, unless a function is packaged on its own.
    zips: dict[Path, dict[str, str]] = {}
    for function, config in service["functions"].items():
        artifact = (config.get("package") or {}).get("artifact") or state["package"]["artifact"]
        zips.setdefault(folder / Path(artifact).name, {})[function] = config["handler"]
    for path, handlers in sorted(zips.items()):
        if not path.exists():
            report.problem(f"{path} is missing (functions {', '.join(handlers)})")
            continue
        check_zip(path, handlers, report, root)

    lint_templates(folder, service["provider"]["region"], report)
    return report


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    requirements = commands.add_parser("requirements", help="write requirements.txt and wheels for the package")
    requirements.add_argument("out", type=Path)
    checking = commands.add_parser("check", help="check the package `serverless package` wrote")
    checking.add_argument("folder", type=Path, nargs="?", default=ROOT / ".serverless")
    args = parser.parse_args(None if argv is None else list(argv))

    if args.command == "requirements":
        write_requirements(args.out)
        return 0
    report = check(args.folder)
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"PACKAGE PROBLEM: {problem}", file=sys.stderr)
    if report.problems:
        return 1
    print("package checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
