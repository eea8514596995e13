"""The structure of `app/` as docs/architecture.md describes it, checked from the code itself.

- Imports run one way (the import-linter contract in pyproject.toml): no cycle between
  packages, no import from a lower layer to a higher one, imports inside functions included.
- Every table has one package that writes it: a model is built (`Model(...)`) or targeted by
  INSERT/UPDATE/DELETE only inside the package that defines it. (Attribute writes on loaded
  rows are not visible to this reading; the services' docstrings say whose rows they touch.)
- What differs between the databases is asked of `app.dialect` only, and what the application
  holds (`app.state`) is read through `app.http.state` only.
- The pages never import the API: both stand on the request plumbing of `app.http` (also a
  layer of the import-linter contract: `app.web | app.api`).
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.db import Base

APP = Path(__file__).resolve().parent.parent / "app"


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(APP.rglob("*.py")):
        dotted = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
        out[dotted] = ast.parse(path.read_text(), str(path))
    return out


def _package(module: str) -> str:
    """`app.cases.service` -> `app.cases`; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_imports_follow_the_layers() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint), "--no-cache"], cwd=APP.parent, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def _model_owners() -> dict[str, str]:
    importlib.import_module("app.models")  # every model registered
    owners = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        owners[cls.__name__] = _package(cls.__module__)
    return owners


WRITE_CALLS = {"insert", "update", "delete"}


def _written_models(tree: ast.Module, models: set[str]) -> list[tuple[str, int]]:
    """(model, line) for each `Model(...)` construction and each INSERT/UPDATE/DELETE of a model."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in models:
            found.append((name, node.lineno))
        elif name in WRITE_CALLS:
            for arg in node.args:
                target = arg.id if isinstance(arg, ast.Name) else None
                if target in models:
                    found.append((target, node.lineno))
    return found


def test_every_table_is_written_by_the_package_that_owns_it() -> None:
    owners = _model_owners()
    wrong = []
    for module, tree in _modules().items():
        for model, line in _written_models(tree, set(owners)):
            if _package(module) != owners[model]:
                wrong.append(f"{module}:{line} writes {model} (owned by {owners[model]})")
    assert wrong == []


def test_the_ownership_check_sees_a_write() -> None:
    tree = ast.parse("session.add(Case(id=1))\nsession.execute(delete(CheckIn).where(x))")
    assert [m for m, _ in _written_models(tree, {"Case", "CheckIn"})] == ["Case", "CheckIn"]


def _source_lines_with(pattern: str) -> list[str]:
    hits = []
    for path in sorted(APP.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                hits.append(f"{path.relative_to(APP.parent)}:{n}")
    return hits


def test_only_app_dialect_asks_which_database_it_is() -> None:
    hits = [h for h in _source_lines_with(r"dialect\.name\b") if not h.startswith("app/dialect.py")]
    assert hits == []


@pytest.mark.parametrize("allowed", [{"app/main.py", "app/http/state.py", "app/http/transactions.py"}])
def test_only_the_dependencies_read_what_the_application_holds(allowed: set[str]) -> None:
    hits = [h for h in _source_lines_with(r"app\.state\b") if h.split(":")[0] not in allowed]
    assert hits == []


def test_pages_never_import_the_api() -> None:
    found = []
    for name, tree in _modules().items():
        if not name.startswith("app.web"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and (node.module + ".").startswith("app.api."):
                found.append(f"{name}: {node.module}")
            elif isinstance(node, ast.ImportFrom) and node.module == "app" and any(a.name == "api" for a in node.names):
                found.append(f"{name}: app.api")
            elif isinstance(node, ast.Import) and any((a.name + ".").startswith("app.api.") for a in node.names):
                found.append(f"{name}: {node.names[0].name}")
    assert found == []
