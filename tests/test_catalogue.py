"""The shipped catalogue (what ``imbalance-lab list`` reads, without importing torch) is the registries' own
description. After adding or changing a registered strategy, model, source or decision rule, rewrite it with
``python tests/test_catalogue.py --write``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from imbalance_lab.catalogue import CATALOGUE_FILE, KINDS, catalogue
from imbalance_lab.data import SOURCES
from imbalance_lab.decisions import DECISION_RULES
from imbalance_lab.models import MODELS
from imbalance_lab.strategies import STRATEGIES


def described() -> dict[str, list[dict[str, Any]]]:
    registries = {"strategies": STRATEGIES, "models": MODELS, "sources": SOURCES, "decisions": DECISION_RULES}
    return {kind: registries[kind].describe() for kind in KINDS}


def test_the_catalogue_is_the_registries_description() -> None:
    shipped, registered = catalogue(), described()
    assert all(registered[kind] for kind in KINDS) and len(registered["strategies"]) >= 20
    assert shipped == registered, "the catalogue is out of date: run python tests/test_catalogue.py --write"


def test_list_prints_every_entry_without_importing_torch() -> None:
    probe = (
        "import sys\n"
        "from imbalance_lab.cli import main\n"
        "sys.argv = ['imbalance-lab', 'list', 'models']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "NO TORCH"
    models = described()["models"]
    assert [line.split()[0] for line in lines[:-1]] == [entry["name"] for entry in models]
    with_weights = [line.split()[0] for line in lines[:-1] if "pretrained: true" in line]
    assert with_weights == [entry["name"] for entry in models if entry["published_weights"]] != []


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    CATALOGUE_FILE.write_text(json.dumps(described(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written: {CATALOGUE_FILE}")
