"""The house in layers (STYLE.md, issue 25): no module imports a layer above its own, not even inside a
function, and families stay apart (import-linter's contracts in pyproject.toml); no module imports another
module's private name; ruff's lint and format hold."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "imbalance_lab"


def test_no_module_imports_a_layer_above_its_own() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["type"] for c in contracts} == {"layers", "independence"}  # the layers, and families kept apart
    assert f"{len(contracts)} kept, 0 broken" in proc.stdout


def test_ruff_lint_and_format_pass() -> None:
    """ruff's lint rules and its formatter (pyproject.toml's [tool.ruff]) hold over the package, the tests, the
    benchmarks and the docs build."""
    paths = ["src", "tests", "benchmarks", "docs/_build"]
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-6000:] + lint.stderr[-2000:]
    form = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert form.returncode == 0, "files ruff format would change:\n" + form.stdout[-6000:] + form.stderr[-2000:]
    assert "already formatted" in form.stdout


def private_imports() -> list[str]:
    """Every ``from imbalance_lab.x import _name`` in the package whose ``x`` is not the importing module's own."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("imbalance_lab"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {node.module}.{alias.name}")
    return found


def test_no_module_imports_another_modules_private_name() -> None:
    files = list(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the scan reads the package
    assert private_imports() == []
