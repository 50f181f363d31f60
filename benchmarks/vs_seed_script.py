"""`imbalance-lab run` against a seed-style script of the same study, side by side in one session.

Both train the seed CNN on the demo's images for its six classic arms (balanced,
unbalanced, weights 1:10 and 1:25, oversample, undersample) × SEEDS seeds ×
EPOCHS epochs and score validation every epoch and test at the end:
`benchmarks/seed_style_script.py` with a per-sample Dataset and DataLoader as
the seeds write it, and `imbalance-lab run --no-mlflow` with its default layout
(which also writes the runs, the summary and the report). Reported: wall times,
their ratio, and each side's mean test recall per arm (the same question must get
the same answer, within seed noise). Usage:

    .venv/bin/python benchmarks/vs_seed_script.py [--seeds 5] [--epochs 15] [--write docs/benchmarks.md]
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

import yaml

from _publish import publish

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("balanced", "unbalanced", "weights_1_10", "weights_1_25", "oversample", "undersample")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    spec = yaml.safe_load((ROOT / "examples" / "cats_vs_dogs.yaml").read_text())
    spec["arms"] = [arm for arm in spec["arms"] if arm["name"] in ARMS]
    spec["seeds"], spec["training"]["epochs"] = args.seeds, args.epochs
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "six_arms.yaml"
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        start = time.perf_counter()
        script = subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "seed_style_script.py"),
                "--seeds",
                str(args.seeds),
                "--epochs",
                str(args.epochs),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        script_wall = time.perf_counter() - start
        script_recall = {
            arm: v["recall"] for arm, v in json.loads(script.stdout.strip().splitlines()[-1])["test"].items()
        }
        start = time.perf_counter()
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("imbalance-lab")),
                "run",
                "--no-mlflow",
                str(spec_path),
                "--out",
                str(Path(tmp) / "out"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        ours_wall = time.perf_counter() - start
        layout = next(line for line in run.stdout.splitlines() if line.startswith("executor "))
        ours_recall = {}
        for arm in ARMS:
            runs = [json.loads(p.read_text()) for p in (Path(tmp) / "out" / "runs" / arm).glob("seed-*/result.json")]
            ours_recall[arm] = statistics.mean(r["metrics"]["test"]["recall"] for r in runs)
    lines = [
        f"### The demo's study: imbalance-lab against a seed-style script ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores.",
        f"Command: `.venv/bin/python benchmarks/vs_seed_script.py --seeds {args.seeds} --epochs {args.epochs}` "
        f"(6 arms × {args.seeds} seeds × {args.epochs} epochs, one after the other in one session).",
        "",
        "| | wall s | test recall per arm (mean over seeds) |",
        "|---|---:|---|",
        f"| seed-style script (per-sample Dataset + DataLoader, sklearn metrics) | {script_wall:.0f} | "
        + ", ".join(f"{a} {script_recall[a]:.3f}" for a in ARMS)
        + " |",
        f"| `imbalance-lab run --no-mlflow` ({layout.split(':')[0]}; runs, summary and report written) | {ours_wall:.0f} | "
        + ", ".join(f"{a} {ours_recall[a]:.3f}" for a in ARMS)
        + " |",
        "",
        f"imbalance-lab is **{script_wall / ours_wall:.2f}×** as fast as the script to the same answer.",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
