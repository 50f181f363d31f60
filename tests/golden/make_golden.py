"""Write the behaviour lock's golden files (tests/test_behaviour_lock.py): run it only when a change is meant to
change results, and say so in the commit.

    .venv/bin/python tests/golden/make_golden.py

It stores, from the code as it is now:
- ``runs.json``: the run hash, the metrics of every evaluation set and a SHA-256 of the logits of two demo runs
  (examples/cats_vs_dogs.yaml) and one long-tail run (examples/animal_mnist_long_tail.yaml, 4 epochs), each
  trained with one torch thread;
- ``results/``: a small finished results directory (the tests' tiny spec with decision rules and costs, 4 arms ×
  2 seeds × 2 epochs) and its report tables (``report.csv``, ``report.md``) as the report writes them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

LOCKED_RUNS = [  # (example, epochs or None for the example's own, arm, seed)
    ("cats_vs_dogs.yaml", None, "ldam_drw", 0),
    ("cats_vs_dogs.yaml", None, "weights_and_oversample", 1),
    ("animal_mnist_long_tail.yaml", 4, "logit_adjusted", 0),
]


def locked_spec(example: str, epochs: int | None):  # noqa: ANN201  (an ExperimentSpec)
    from imbalance_lab import load_spec

    spec = load_spec(ROOT / "examples" / example)
    if epochs is not None:
        spec = spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": epochs})})
    return spec


def describe(result) -> dict:  # noqa: ANN001  (a RunResult)
    """What the lock compares: the run hash, every set's metrics (as result.json stores them), the logits' digest."""
    stored = json.loads(json.dumps(result.to_json()))
    logits = hashlib.sha256()
    for name in sorted(result.predictions):
        logits.update(name.encode())
        logits.update(result.predictions[name].logits.tobytes())
    return {"run_hash": stored["run_hash"], "metrics": stored["metrics"], "logits_sha256": logits.hexdigest()}


def results_spec() -> dict:
    from helpers import TINY_SPEC

    spec = copy.deepcopy(TINY_SPEC)
    spec["training"]["epochs"] = 2
    spec["decisions"] = {"rules": [{"threshold": {"by": "max_f1"}}, "temperature"], "costs": {"false_negative": 5}}
    return spec


def main() -> None:
    from imbalance_lab import api, run_one

    torch.set_num_threads(1)
    runs = {}
    for example, epochs, arm, seed in LOCKED_RUNS:
        runs[f"{example}:{epochs}:{arm}:{seed}"] = describe(run_one(locked_spec(example, epochs), arm, seed))
    (HERE / "runs.json").write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
    results = HERE / "results"
    shutil.rmtree(results, ignore_errors=True)
    api.run(results_spec(), results, executor="local", threads=1)
    api.report(results)
    for name in ("summary.csv", "summary.md", "report.html", ".lock", ".state.lock"):
        (results / name).unlink(missing_ok=True)
    print(f"written: {HERE / 'runs.json'}, {results}")


if __name__ == "__main__":
    main()
