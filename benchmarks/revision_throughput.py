"""Training throughput of this checkout against an earlier revision, side by side in one run.

Checks out ``--base`` (default: the last commit before the strategy seams of
issue 8) into a temporary git worktree, then alternates whole ``run_one`` calls
of the demo's plain arms (``balanced``: 800 images; ``unbalanced``: 440) in
fresh subprocesses, one per revision per repeat, in alternating order (ABBA),
so both see the same machine state. Reports images per second (median of the repeats) and the ratio
this / base. Usage:

    .venv/bin/python benchmarks/revision_throughput.py [--base 33d8ab5] [--epochs 5] [--repeats 5] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _publish import head_revision, publish, revision_tree

ROOT = Path(__file__).resolve().parents[1]
BEFORE_SEAMS = "33d8ab5"

CHILD = """
import json, sys, time
import torch
from imbalance_lab import load_spec, run_one
try:
    from imbalance_lab.prepared import prepare_data
except ImportError:  # revisions before issue 25
    try:
        from imbalance_lab.data.prepared import prepare_data
    except ImportError:  # revisions before issue 8
        from imbalance_lab.splits import prepare_data
base = load_spec(sys.argv[1])
spec = base.model_copy(update={"training": base.training.model_copy(update={"epochs": int(sys.argv[2])})})
warm_up = base.model_copy(update={"training": base.training.model_copy(update={"epochs": 1})})
data = prepare_data(spec)
run_one(warm_up, "unbalanced", 0, data=data)  # the first call pays one-off initialisation
out = {}
for arm in ("balanced", "unbalanced"):
    start = time.perf_counter()
    result = run_one(spec, arm, 0, data=data)
    out[arm] = sum(result.train_counts.values()) * spec.training.epochs / (time.perf_counter() - start)
print(json.dumps(out))
"""


def measure(tree: Path, epochs: int) -> dict[str, float]:
    """Images/s of the two plain arms, run by the code and the demo spec of the checkout at ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree / "examples" / "cats_vs_dogs.yaml"), str(epochs)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default=BEFORE_SEAMS, help="git revision to compare with")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()

    head = head_revision(ROOT)
    with tempfile.TemporaryDirectory() as tmp, revision_tree(ROOT, args.base, Path(tmp)) as base_tree:
        trees = {"base": base_tree, "this": ROOT}
        rates: dict[str, dict[str, list[float]]] = {t: {"balanced": [], "unbalanced": []} for t in trees}
        for repeat in range(args.repeats):
            order = list(trees.items()) if repeat % 2 == 0 else list(trees.items())[::-1]  # ABBA: no order bias
            for tree, path in order:
                for arm, rate in measure(path, args.epochs).items():
                    rates[tree][arm].append(rate)
    rows = []
    for arm in ("balanced", "unbalanced"):
        base, this = (statistics.median(rates[t][arm]) for t in ("base", "this"))
        rows.append(
            f"| `{arm}` | {base:,.0f} | {this:,.0f} | **{this / base:.2f}×** | "
            f"{', '.join(f'{r:,.0f}' for r in rates['base'][arm])} / {', '.join(f'{r:,.0f}' for r in rates['this'][arm])} |"
        )
    lines = [
        f"### Throughput of the plain arms: {head} against {args.base} ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, CPU, Python {platform.python_version()}.",
        f"Command: `.venv/bin/python benchmarks/revision_throughput.py --base {args.base} --epochs {args.epochs} "
        f"--repeats {args.repeats}` (whole `run_one` calls of the demo's arms with strategy `none`, {args.epochs} epochs, "
        "each revision in a fresh subprocess, in ABBA order; images/s, median of the repeats).",
        "",
        f"| arm | {args.base} img/s | {head} img/s | this / base | runs (base / this) |",
        "|---|---:|---:|---:|---|",
        *rows,
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
