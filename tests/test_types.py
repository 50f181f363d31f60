"""mypy is clean on the lower layers of the house (STYLE.md, issue 25), so the package's ``py.typed`` tells the
truth. What is checked, and how strictly, is pyproject.toml's ``[tool.mypy]``; the layers are its import-linter
contract."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def layers_below(top: str) -> set[str]:
    """The modules of the import-linter layers below layer ``top`` (``a : b`` and ``a | b`` alike)."""
    [contract] = [c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    layers = [layer.replace("|", ":").split(":") for layer in contract["layers"]]  # top first
    names = [[name.strip() for name in layer] for layer in layers]
    top_index = next(i for i, layer in enumerate(names) if top in layer)
    return {name for layer in names[top_index + 1 :] for name in layer}


def test_mypy_checks_the_spec_and_every_module_below_it() -> None:
    config = PYPROJECT["tool"]["mypy"]
    checked = {name.removeprefix("imbalance_lab.") for name in config.get("modules", []) + config.get("packages", [])}
    bottom_four = layers_below("spec") | {"spec"}
    assert {"errors", "metrics", "stats", "models", "strategies", "decisions", "data", "spec"} <= bottom_four
    assert sorted(bottom_four - checked) == []


def test_mypy_is_clean_on_the_lower_layers() -> None:
    # the default cache (.mypy_cache) keeps a second run to a few seconds; a cold run is about half a minute
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = proc.stdout[-12000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, f"mypy (pyproject.toml's [tool.mypy]) found problems:\n{output}"
    assert "Success: no issues found" in proc.stdout, output
