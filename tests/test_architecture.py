"""The house in layers (STYLE.md, issue 25): no module imports a layer above its own, not even inside a
function (import-linter's contract in pyproject.toml), and no module imports another module's private name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "imbalance_lab"


def test_no_module_imports_a_layer_above_its_own() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


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
