"""`make package`: the Lambda package builds here without AWS credentials and passes its checks.

The checks (deploy/lambda_package.py) are first shown to catch what they are for, on small packages made here;
then the real package is built once, as `make package` does in CI (about a minute warm, a minute and a half cold).
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deploy import lambda_package
from deploy.lambda_package import check, distribution_name

ROOT = Path(__file__).resolve().parents[2]

PYPROJECT = """
[project]
name = "svc"
version = "0"
dependencies = ["flask>=3"]

[tool.setuptools.packages.find]
include = ["app*"]
"""
TEMPLATE = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}


def _pyc(tmp: Path, source: str, mode: py_compile.PycInvalidationMode) -> bytes:
    path = tmp / "compile_me.py"
    path.write_text(source)
    cfile = tmp / "compiled.pyc"
    py_compile.compile(str(path), str(cfile), doraise=True, invalidation_mode=mode)
    return cfile.read_bytes()


class Service:
    """A service folder with a packaged zip, as `serverless package` leaves it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources = {
            "app/__init__.py": "",
            "app/handler.py": "def handler(event, context):\n    return None\n\napp = None\n",
            "flask/__init__.py": "VERSION = 3\n",  # a dependency
        }
        self.extra: dict[str, bytes] = {".serverless-wsgi": b'{"app": "app/handler.app"}', "wsgi_handler.py": b""}
        self.functions = {"worker": "app/handler.handler", "api": "wsgi_handler.handler"}
        self.bytecode = py_compile.PycInvalidationMode.CHECKED_HASH
        self.compiled_from: dict[str, str] = {}  # a module's bytecode made from other source than the zip's
        self.template: dict[str, Any] = TEMPLATE
        (root / "pyproject.toml").write_text(PYPROJECT)
        for name in ("app/__init__.py", "app/handler.py"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(self.sources[name])

    def build(self) -> Path:
        folder = self.root / ".serverless"
        folder.mkdir(exist_ok=True)
        with zipfile.ZipFile(folder / "svc.zip", "w") as archive:
            for name, source in self.sources.items():
                archive.writestr(name, source)
                cached = lambda_package.pyc_path(name)
                archive.writestr(cached, _pyc(self.root, self.compiled_from.get(name, source), self.bytecode))
            for name, data in self.extra.items():
                archive.writestr(name, data)
        state = {
            "service": {
                "provider": {"runtime": "python3.11", "architecture": "arm64", "region": "cn-north-1"},
                "functions": {name: {"handler": handler} for name, handler in self.functions.items()},
            },
            "package": {"artifact": "svc.zip"},
        }
        (folder / "serverless-state.json").write_text(json.dumps(state))
        (folder / "cloudformation-template-update-stack.json").write_text(json.dumps(self.template))
        return folder

    def problems(self) -> list[str]:
        return check(self.build(), self.root).problems


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service(tmp_path)


def test_a_complete_package_passes_and_its_sizes_are_printed(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert service.problems() == []
    out = capsys.readouterr().out
    assert "svc.zip: " in out and "MiB unzipped" in out and "of Lambda's 250 MiB" in out
    assert "functions: worker, api" in out
    assert "cfn-lint (cn-north-1, ignoring W3005): cloudformation-template-update-stack.json: no findings" in out


def test_deploy_and_dev_tools_and_project_folders_are_refused(service: Service) -> None:
    for name in ("zappa/__init__.py", "pip/__init__.py", "setuptools/__init__.py", "moto/__init__.py"):
        service.sources[name] = ""
    service.extra["tests/test_x.py"] = b""
    service.extra["node_modules/x/index.js"] = b""
    service.extra["zappa-0.63.0.dist-info/METADATA"] = b""
    problems = "\n".join(service.problems())
    for shipped in ("zappa (deploy tool)", "pip (deploy tool)", "setuptools (deploy tool)", "moto (dev tool)"):
        assert f"ships {shipped}" in problems
    assert "ships tests (project folder)" in problems and "ships node_modules (project folder)" in problems


def test_a_handler_module_or_wsgi_app_missing_from_the_zip_is_refused(service: Service) -> None:
    service.functions["jobs"] = "app/jobs.handler"
    service.extra[".serverless-wsgi"] = b'{"app": "app/web.app"}'
    assert sorted(service.problems()) == [
        "svc.zip: function jobs's handler module app/jobs.py is not in the zip",
        "svc.zip: the WSGI app app/web.py (function api) is not in the zip",
    ]


def test_an_application_file_left_out_of_the_zip_is_refused(service: Service) -> None:
    (service.root / "app" / "page.html").write_text("<p>")
    assert service.problems() == ["svc.zip: app/page.html is in the application but not in the zip"]


def test_timestamp_or_stale_bytecode_is_refused(service: Service) -> None:
    service.bytecode = py_compile.PycInvalidationMode.TIMESTAMP
    problems = service.problems()
    assert len(problems) == 3 and all("is timestamp-based" in p for p in problems)  # app and dependency alike

    service.bytecode = py_compile.PycInvalidationMode.CHECKED_HASH
    service.compiled_from["app/handler.py"] = "def handler(event, context):\n    return 1\n"  # edited since
    assert service.problems() == [
        "svc.zip: app/__pycache__/handler.cpython-311.pyc is stale: compiled from another app/handler.py"
    ]


def test_a_package_over_lambdas_unzipped_limit_is_refused(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lambda_package, "UNZIPPED_LIMIT", 10)
    [problem] = service.problems()
    assert problem.startswith("svc.zip: ") and "unzipped, over Lambda's limit of 10" in problem


def test_a_template_cfn_lint_finds_fault_with_is_refused(service: Service) -> None:
    service.template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "soon"}}},
    }
    assert service.problems() == [
        "cfn-lint cloudformation-template-update-stack.json: E3012 'soon' is not of type 'integer' "
        "at Resources/Queue/Properties/VisibilityTimeout"
    ]


def test_the_package_ships_pyprojects_dependencies_and_no_deploy_tool(tmp_path: Path) -> None:
    project = lambda_package.pyproject()["project"]
    assert "zappa" not in {distribution_name(d) for d in project["dependencies"]}
    assert "zappa" in {distribution_name(d) for d in project["optional-dependencies"]["deploy"]}
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.replace('["flask>=3"]', '["flask>=3", "zappa>=0.63"]'))
    with pytest.raises(SystemExit, match=r"zappa>=0\.63 would be shipped to Lambda: move deploy tools to the `deploy`"):
        lambda_package.write_requirements(tmp_path / "out", tmp_path)


@pytest.mark.timeout(600)
def test_make_package_builds_the_lambda_package_without_credentials_and_it_passes_its_checks() -> None:
    # The whole build: npm ci (first time), pip for manylinux2014_aarch64, `serverless package`, the checks.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"))}
    run = subprocess.run(["make", "package"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=590)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "package checks passed" in run.stdout
    sizes = next(line for line in run.stdout.splitlines() if line.startswith(".serverless/parkpass.zip: "))
    print(sizes)  # shown with -rP; e.g. 47.1 MiB zipped, 110.4 MiB unzipped (44% of Lambda's 250 MiB)
