"""Adaptive seeds on the demo question: how many seeds, and how much training, until the recall and F1
verdicts are settled, against the fixed 5-seed design (issue 14).

The demo's ten arms (examples/cats_vs_dogs.yaml, without its decisions) run as
``seeds: {min: 3, max: MAX, metric: recall}`` and then ``metric: f1`` in one
results directory: a run is the same run whichever design asks for it (its hash
is the arm's and the seed's), so the designs share their runs and are timed
side by side from each run's own training time (``wall_time_s``). The fixed
design's row counts seeds 0-4 of every arm; its verdicts are the report's
(a paired two-level bootstrap, Holm over the arms: fixed-sample tests, valid
only if one looks once).

    .venv/bin/python benchmarks/adaptive_seeds.py [--max 20] [--out results/adaptive_seeds_benchmark]
        [--write docs/sequential.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import yaml

from _publish import publish
from imbalance_lab.api import report, run

ROOT = Path(__file__).resolve().parents[1]


class Lines:
    def experiment_started(self, total_runs: int, already_done: int) -> None: ...
    def run_started(self, arm: str, seed: int, epochs: int) -> None: ...
    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict) -> None: ...
    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None: ...

    def message(self, text: str) -> None:
        if text.startswith(("round", "settled", "stopped")):
            print(f"  {text}", flush=True)


def run_seconds(out: Path, items: set[tuple[str, int]]) -> float:
    total = 0.0
    for arm, seed in items:
        result = json.loads((out / "runs" / arm / f"seed-{seed}" / "result.json").read_text())
        total += result["wall_time_s"]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "adaptive_seeds_benchmark")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    demo = yaml.safe_load((ROOT / "examples" / "cats_vs_dogs.yaml").read_text())
    demo.pop("decisions", None)
    demo["tracking"] = {"mlflow": False}
    started = time.perf_counter()
    rows = []
    fixed_items = {(arm["name"], seed) for arm in demo["arms"] for seed in range(5)}
    for metric in ("recall", "f1"):
        spec = {**demo, "seeds": {"min": 3, "max": args.max, "metric": metric, "margin": 0.02}}
        print(f"seeds until {metric} is settled:", flush=True)
        run(spec, args.out, progress=Lines())
        analysis, _ = report(args.out)
        state = analysis.rounds
        items = set(state.scheduled)
        decided = {arm: d for arm, d in state.decisions.items()}
        calls = {s: sum(d.state == s for d in decided.values()) for s in ("better", "worse", "equivalent", "undecided")}
        when = sorted(d.decided_at for d in decided.values() if d.decided_at is not None)
        rows.append((metric, state, len(items), run_seconds(args.out, items), calls, when))
        print(f"  {state.describe()}; runs {len(items)}", flush=True)
    # the fixed 5-seed design's verdicts, from its own runs (seeds 0-4, most of them already stored)
    run({**demo, "seeds": 5}, args.out, progress=Lines())
    analysis5, _ = report(args.out)
    fixed_seconds = run_seconds(args.out, fixed_items)
    lines = [
        f"### Adaptive seeds on the demo question ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"{time.perf_counter() - started:.0f} s wall for everything not already stored.",
        f"Command: `.venv/bin/python benchmarks/adaptive_seeds.py --max {args.max}`. The demo's ten arms, reference "
        "`unbalanced`, test set; seconds are the runs' own training and scoring time summed (the designs share "
        "their runs).",
        "",
        "| design | seeds per arm | runs | run seconds | better / worse / equivalent / undecided | decided after (seeds) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for metric in ("recall", "f1"):
        c5 = analysis5.sets["test"].comparisons[metric]
        better = sum(c.significant and c.mean_diff > 0 for c in c5)
        worse = sum(c.significant and c.mean_diff < 0 for c in c5)
        lines.append(
            f"| fixed, 5 seeds, {metric} (bootstrap + Holm, one look) | 5 | {len(fixed_items)} | "
            f"{fixed_seconds:.0f} | {better} / {worse} / – / {len(c5) - better - worse} not significant | – |"
        )
    for metric, state, n_runs, seconds, calls, when in rows:
        per_arm = {}
        for arm, seed in state.scheduled:
            per_arm[arm] = max(per_arm.get(arm, 0), seed + 1)
        spread = f"{min(per_arm.values())}–{max(per_arm.values())}"
        lines.append(
            f"| adaptive until {metric} settled (max {args.max}) | {spread} | {n_runs} | {seconds:.0f} | "
            f"{calls['better']} / {calls['worse']} / {calls['equivalent']} / {calls['undecided']} | "
            f"{', '.join(map(str, when)) or '–'} |"
        )
    lines.append("")
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
