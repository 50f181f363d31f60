"""Training throughput of the one trainer: fp32 vs bf16 autocast (channels-last), side by side.

Runs the demo's `balanced` arm (800 Animal-MNIST images, 28×28) for a few epochs
in each precision, alternating, and reports images per second and the ratio.
Absolute numbers depend on the machine; the ratio measured in one run is what to
quote. Usage:

    .venv/bin/python benchmarks/train_throughput.py [--epochs 5] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from _publish import publish
from imbalance_lab import load_spec, run_one
from imbalance_lab.prepared import prepare_data

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()

    base = load_spec(ROOT / "examples" / "cats_vs_dogs.yaml")
    data = prepare_data(base)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": []}
    results = {}
    for _ in range(args.repeats):
        for precision in rates:
            spec = base.model_copy(
                update={"training": base.training.model_copy(update={"epochs": args.epochs, "precision": precision})}
            )
            start = time.perf_counter()
            result = run_one(spec, "balanced", 0, data=data)
            elapsed = time.perf_counter() - start
            images = sum(result.train_counts.values()) * args.epochs
            rates[precision].append(images / elapsed)
            results[precision] = result.metrics["test"]
    fp32, bf16 = statistics.median(rates["fp32"]), statistics.median(rates["bf16"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lines = [
        f"### Training throughput, simple_cnn on 28×28 Animal-MNIST ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, device {device}, torch {torch.__version__}.",
        f"Command: `.venv/bin/python benchmarks/train_throughput.py --epochs {args.epochs} --repeats {args.repeats}`",
        "(whole `run_one` calls: training, per-epoch validation and final scoring; median of the repeats).",
        "",
        "| precision | images/s (median) | runs |",
        "|---|---:|---|",
        f"| fp32 | {fp32:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['fp32'])} |",
        f"| bf16 autocast + channels-last | {bf16:,.0f} | {', '.join(f'{r:,.0f}' for r in rates['bf16'])} |",
        "",
        f"bf16 / fp32 = **{bf16 / fp32:.2f}×**. Test balanced accuracy after {args.epochs} epochs: "
        f"fp32 {results['fp32']['balanced_accuracy']:.3f}, bf16 {results['bf16']['balanced_accuracy']:.3f}.",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
