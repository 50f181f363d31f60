"""CIFAR-10-LT ρ = 100 with ResNet-32 on a GPU: time per run and accuracy beside Cao et al. 2019.

Runs `examples/cifar10_lt.yaml` (Cao et al.'s recipe: ResNet-32, SGD, 200 epochs,
milestones 160/180, warm-up 5, crop + flip) with `training.device: cuda`, the given
precision, optionally `torch.compile`, and `--workers` runs packed on the one GPU,
into a fresh directory; then reports each arm's seconds per run (the runs' own wall
time and their training epochs) and its balanced-test top-1 error beside the paper's
(Cao et al. 2019, Table 2, CIFAR-10 ρ = 100: ERM 29.64 %, LDAM-DRW 22.97 %).
Issue 10's goal: at most a minute per run on one H100-class GPU.

Needs the CIFAR-10 files (`--download` fetches them into `--root`). `--smoke` swaps
in small synthetic CIFAR-shaped images and 2 epochs so the script's path can be
checked anywhere, CPU included (its errors then mean nothing).
Usage:

    .venv/bin/python benchmarks/cifar10_lt_gpu.py [--arms cross_entropy ldam_drw ...|all] [--seeds 1] [--epochs 200]
        [--precision bf16] [--compile] [--workers 2] [--root DIR] [--download] [--smoke] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from _publish import publish

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("imbalance-lab")
PAPER_ERROR = {"cross_entropy": 29.64, "ldam_drw": 22.97}  # Cao et al. 2019, Table 2 (top-1 error, %)


def build(args: argparse.Namespace) -> dict:
    spec = yaml.safe_load((ROOT / "examples" / "cifar10_lt.yaml").read_text())
    spec["arms"] = [a for a in spec["arms"] if "all" in args.arms or a["name"] in args.arms]
    spec["seeds"] = args.seeds
    training = spec["training"]
    training.update(epochs=args.epochs, precision=args.precision, device="cpu" if args.smoke else "cuda")
    if args.epochs < 200:  # the recipe's milestones and warm-up, scaled to the epochs
        milestones = sorted({m for m in (int(args.epochs * 0.8), int(args.epochs * 0.9)) if 1 <= m < args.epochs})
        training["schedule"] = (
            {**training["schedule"], "milestones": milestones, "warmup_epochs": min(5, args.epochs // 40)}
            if milestones
            else "constant"
        )
    spec["execution"] = {"compile": args.compile, **({"workers": args.workers} if args.workers else {})}
    spec["tracking"] = {"mlflow": False}
    if args.smoke:
        spec["data"] = {
            "source": {"type": "synthetic", "n_per_class": 120, "n_classes": 10, "size": 32, "channels": 3},
            "classes": "all",
            "splits": {
                "pool": {"profile": "exponential", "n_max": 60, "ratio": 10},
                "val": {"balanced": 10},
                "test": {"balanced": 20},
            },
        }
        for arm in spec["arms"]:
            arm["train"] = {"profile": "exponential", "n_max": 60, "ratio": 10}
    else:
        spec["data"]["source"] = {
            **spec["data"]["source"],
            "download": args.download,
            **({"root": args.root} if args.root else {}),
        }
    return spec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arms", nargs="+", default=["cross_entropy", "ldam_drw"])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="bf16")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--root")
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.epochs, args.precision = min(args.epochs, 2), "fp32"
    elif not torch.cuda.is_available():
        sys.exit("benchmarks/cifar10_lt_gpu.py: no CUDA GPU here; run it on a GPU machine (or --smoke to check it)")

    out = Path(tempfile.mkdtemp(prefix="bench-cifar10-lt-"))
    (out / "spec.yaml").write_text(yaml.safe_dump(build(args), sort_keys=False))
    start = time.perf_counter()
    subprocess.run([str(EXE), "run", "--no-mlflow", str(out / "spec.yaml"), "--out", str(out / "r")], check=True)
    wall = time.perf_counter() - start
    per_arm: dict[str, list[dict]] = {}
    for path in sorted((out / "r").glob("runs/*/*/result.json")):
        result = json.loads(path.read_text())
        per_arm.setdefault(result["arm"], []).append(result)
    shutil.rmtree(out)

    device = "CPU (smoke check)" if args.smoke else torch.cuda.get_device_name(0)
    lines = [
        f"### CIFAR-10-LT ρ = 100, ResNet-32, on {device} ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.machine()}, torch {torch.__version__}; precision {args.precision}, "
        f"compile {'on' if args.compile else 'off'}, workers {args.workers or 'default'}.",
        f"Command: `.venv/bin/python benchmarks/cifar10_lt_gpu.py --arms {' '.join(args.arms)} --seeds {args.seeds} "
        f"--epochs {args.epochs} --precision {args.precision}{' --compile' if args.compile else ''}"
        f"{f' --workers {args.workers}' if args.workers else ''}{' --smoke' if args.smoke else ''}` "
        f"(whole command {wall:.0f} s).",
        "",
        "| arm | runs | s per run (median) | s in training epochs | test top-1 error % (mean) | Cao et al. 2019 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arm, results in per_arm.items():
        error = statistics.mean(100 * (1 - r["metrics"]["test"]["accuracy"]) for r in results)
        paper = f"{PAPER_ERROR[arm]:.2f}" if arm in PAPER_ERROR else ""
        lines.append(
            f"| {arm} | {len(results)} | {statistics.median(r['wall_time_s'] for r in results):.0f} | "
            f"{statistics.median(r['timing']['train_s'] for r in results):.0f} | {error:.2f} | {paper} |"
        )
    lines.append("")
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
