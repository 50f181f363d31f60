"""Features once against training through a frozen backbone, side by side in one run.

The demo's data (Animal-MNIST cats vs dogs), ARMS of its arms × SEEDS seeds × EPOCHS
epochs, a frozen backbone under a new head, no augmentation: `imbalance-lab run`
with `execution.feature_cache: false` (every epoch runs the backbone forward on
every batch) and with it on (each image's features once, into a fresh cache, then
the head alone), each into a fresh directory, alternating. Two backbones: timm's
resnet18 at 64×64 (initialised, not pretrained: offline there are no published
weights, and the compute is the same), and the seed CNN trained by
examples/animal_mnist_pretrain.yaml on the other eight classes (trained here first
when missing). Reports wall times, the speed-up, and how far the two paths'
test-set probabilities and metrics are apart.
Usage:

    .venv/bin/python benchmarks/feature_cache.py [--arms 4] [--seeds 2] [--epochs 10] [--repeats 1] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from _publish import publish

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("imbalance-lab")


def run(spec: dict, cache: Path | None) -> tuple[float, Path]:
    out = Path(tempfile.mkdtemp(prefix="bench-features-"))
    spec = {**spec, "execution": {"feature_cache": cache is not None}}
    (out / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {**os.environ, "IMBALANCE_LAB_CACHE": str(cache or out / "unused")}
    start = time.perf_counter()
    subprocess.run(
        [str(EXE), "run", "--no-mlflow", str(out / "spec.yaml"), "--out", str(out / "r")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return time.perf_counter() - start, out / "r"


def probs_and_metrics(root: Path) -> tuple[dict[str, np.ndarray], dict[str, dict[str, float]]]:
    probs, metrics = {}, {}
    for path in sorted(root.glob("runs/*/*/result.json")):
        key = f"{path.parent.parent.name}/{path.parent.name}"
        with np.load(path.parent / "predictions.npz") as npz:
            probs[key] = npz["test_probs"]
        metrics[key] = json.loads(path.read_text())["metrics"]["test"]
    return probs, metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    weights = ROOT / "results" / "animal_mnist_pretrain" / "runs" / "all" / "seed-0" / "model.pt"
    if not weights.exists():
        subprocess.run(
            [str(EXE), "run", "--no-mlflow", "examples/animal_mnist_pretrain.yaml"],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
    demo = yaml.safe_load((ROOT / "examples" / "cats_vs_dogs.yaml").read_text())
    base = {
        **demo,
        "arms": [a for a in demo["arms"] if "augment" not in json.dumps(a)][: args.arms],
        "seeds": args.seeds,
        "training": {**demo["training"], "epochs": args.epochs},
        "tracking": {"mlflow": False},
    }
    base.pop("output", None)
    backbones = {
        "resnet18 at 64×64 (initialised), frozen": {
            "name": "resnet18",
            "freeze": "backbone",
            "params": {"input_size": 64},
        },
        "seed CNN trained on the other eight classes, frozen": {
            "name": "simple_cnn",
            "freeze": "backbone",
            "pretrained": str(weights),
        },
    }
    rows = []
    for label, model in backbones.items():
        spec = {**base, "model": model}
        through, once, farthest, metric_gap = [], [], 0.0, 0.0
        for _ in range(args.repeats):
            wall, slow_dir = run(spec, None)
            through.append(wall)
            cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
            wall, fast_dir = run(spec, cache)
            once.append(wall)
            (slow_probs, slow_metrics), (fast_probs, fast_metrics) = (
                probs_and_metrics(slow_dir),
                probs_and_metrics(fast_dir),
            )
            assert slow_probs.keys() == fast_probs.keys()
            farthest = max(farthest, max(float(np.abs(slow_probs[k] - fast_probs[k]).max()) for k in slow_probs))
            metric_gap = max(
                metric_gap,
                max(
                    abs(slow_metrics[k][m] - fast_metrics[k][m])
                    for k in slow_metrics
                    for m in ("recall", "precision", "f1", "balanced_accuracy")
                ),
            )
            for folder in (slow_dir.parent, fast_dir.parent, cache):
                shutil.rmtree(folder)
        rows.append((label, statistics.median(through), statistics.median(once), farthest, metric_gap))

    runs = args.arms * args.seeds
    lines = [
        f"### Features once: a frozen backbone's features cached, against training through it ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}.",
        f"Command: `.venv/bin/python benchmarks/feature_cache.py --arms {args.arms} --seeds {args.seeds} "
        f"--epochs {args.epochs} --repeats {args.repeats}` (the demo's first {args.arms} arms × {args.seeds} seeds × "
        f"{args.epochs} epochs, {runs} runs; `imbalance-lab run`, default executor; medians, alternating in one session).",
        "",
        "| backbone | through the backbone, wall s | features once, wall s | speed-up | largest test-probability difference | largest metric difference |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {slow:.1f} | {fast:.1f} | {slow / fast:.1f}× | {gap:.1e} | {mgap:.3f} |"
            for label, slow, fast, gap, mgap in rows
        ),
        "",
        "Features once: each image's features computed in one pass into a fresh cache (included in the time), "
        "then only the head trains per arm and seed. Metric difference: recall, precision, F1 and balanced accuracy "
        "of every run on the test set.",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
