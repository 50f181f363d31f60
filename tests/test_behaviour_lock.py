"""Behaviour lock (issue 25): restructuring moves code, it never changes a result. Two demo runs and one long-tail
run must give the stored run hashes, metrics and logits bit for bit, and the report of a stored results
directory the stored tables (tests/golden/make_golden.py wrote them, from the code before the restructuring)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from imbalance_lab import api, run_one

GOLDEN = Path(__file__).parent / "golden"


def _golden_module():  # noqa: ANN202
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("key", list(json.loads((GOLDEN / "runs.json").read_text())))
def test_locked_runs_are_bit_identical(key: str) -> None:
    golden = _golden_module()
    expected = json.loads((GOLDEN / "runs.json").read_text())[key]
    example, epochs, arm, seed = key.split(":")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_one(golden.locked_spec(example, None if epochs == "None" else int(epochs)), arm, int(seed))
    finally:
        torch.set_num_threads(before)
    got = golden.describe(result)
    assert got["run_hash"] == expected["run_hash"]
    assert got["metrics"] == expected["metrics"]
    assert got["logits_sha256"] == expected["logits_sha256"]


def test_the_report_of_a_stored_directory_is_unchanged(tmp_path: Path) -> None:
    stored = tmp_path / "results"
    shutil.copytree(GOLDEN / "results", stored)
    assert len(list(stored.glob("runs/*/seed-*/result.json"))) == 8
    api.report(stored)
    for name in ("report.csv", "report.md"):
        assert (stored / name).read_text() == (GOLDEN / "results" / name).read_text(), name
