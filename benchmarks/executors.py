"""The demo's runs under each executor layout against the raw forward+backward limit, side by side in one run.

Part (a) measures the seed CNN's raw forward+backward on resident tensors (the
demo's batch size, 32; 28×28 grey; Adam), in the layouts an executor can use on
this machine: one process with all cores as threads, and one single-thread
process per core together (contiguous and channels-last). Part (c) runs the same
grid of the demo spec (`examples/cats_vs_dogs.yaml`, the first ARMS arms × SEEDS
seeds, EPOCHS epochs) with `imbalance-lab run` under `--executor local` (all
cores as threads, then one thread), `--executor process` (one worker per core;
contiguous, then channels-last, the default) and `--executor ray` (a local
cluster; when Ray is installed), each into a fresh directory, alternating, and
reports wall time and training throughput.
Usage:

    .venv/bin/python benchmarks/executors.py [--arms 4] [--seeds 2] [--epochs 15] [--repeats 2] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
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
DEMO = yaml.safe_load((ROOT / "examples" / "cats_vs_dogs.yaml").read_text())
RAW_BATCH = DEMO["training"]["batch_size"]  # the demo's batch size (32)


def raw_rate(threads: int, channels_last: bool, seconds: float, result: object = None) -> float:
    """Images/s of forward+backward+step of the seed CNN on resident random tensors."""
    import torch.nn.functional as F

    from imbalance_lab.models import MODELS

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MODELS.create("simple_cnn", 1, (28, 28), 2, dropout=0.15, head_dropout=0.4)
    x = torch.rand(RAW_BATCH, 1, 28, 28)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (RAW_BATCH,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(5):  # warm-up
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        steps += 1
    rate = steps * RAW_BATCH / (time.perf_counter() - start)
    if result is not None:
        result.put(rate)  # type: ignore[attr-defined]
    return rate


def raw_parallel(processes: int, channels_last: bool, seconds: float) -> float:
    """Total images/s of ``processes`` single-thread processes training at once."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=raw_rate, args=(1, channels_last, seconds, queue)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    rates = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(rates)


PEAK = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_grid(spec_path: Path, layout: list[str]) -> tuple[float, int, float, float, float]:
    """Wall seconds of `imbalance-lab run` on the spec into a fresh directory, the training images it saw,
    the peak resident memory (MB) of its largest process (driver or worker), the runs' own seconds, summed,
    and the seconds of their training epochs (steps and per-epoch training metrics), summed."""
    out = Path(tempfile.mkdtemp(prefix="bench-executors-"))
    exe = Path(sys.executable).with_name("imbalance-lab")
    start = time.perf_counter()
    peak = subprocess.run(
        [sys.executable, "-c", PEAK, str(exe), "run", "--no-mlflow", str(spec_path), "--out", str(out / "r"), *layout],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    wall = time.perf_counter() - start
    images, busy, training = 0, 0.0, 0.0
    for path in (out / "r").glob("runs/*/*/result.json"):
        result = json.loads(path.read_text())
        images += result["timing"]["images_trained"]
        busy += result["wall_time_s"]
        training += result["timing"]["train_s"]
    shutil.rmtree(out)
    return wall, images, int(peak.strip().splitlines()[-1]) / 1024, busy, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arms", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--raw-seconds", type=float, default=8.0)
    parser.add_argument("--write", type=Path, default=None, help="append a results section to this Markdown file")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))

    raw = {
        f"1 process × {cores} threads": lambda: raw_rate(cores, False, args.raw_seconds),
        f"1 process × {cores} threads, channels-last": lambda: raw_rate(cores, True, args.raw_seconds),
        f"{cores} processes × 1 thread": lambda: raw_parallel(cores, False, args.raw_seconds),
        f"{cores} processes × 1 thread, channels-last": lambda: raw_parallel(cores, True, args.raw_seconds),
    }
    raw_rates: dict[str, list[float]] = {name: [] for name in raw}
    for _ in range(args.repeats):
        for name, measure in raw.items():
            raw_rates[name].append(measure())

    spec = DEMO
    spec["arms"] = spec["arms"][: args.arms]
    spec["seeds"] = args.seeds
    spec["training"] = {**spec.get("training", {}), "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, contiguous_path = Path(tmp) / "grid.yaml", Path(tmp) / "grid-contiguous.yaml"
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        contiguous_path.write_text(
            yaml.safe_dump({**spec, "execution": {"memory_format": "contiguous"}}, sort_keys=False)
        )
        # name -> (spec, command-line layout, runs training at once)
        layouts = {
            f"local, 1 process × {cores} threads": (spec_path, ["--executor", "local"], 1),
            "local, 1 process × 1 thread": (spec_path, ["--executor", "local", "--threads", "1"], 1),
            f"process, {cores} workers × 1 thread, contiguous (before channels-last)": (
                contiguous_path,
                ["--executor", "process"],
                cores,
            ),
            f"process, {cores} workers × 1 thread, channels-last (the default here)": (
                spec_path,
                ["--executor", "process"],
                cores,
            ),
        }
        if importlib.util.find_spec("ray") is not None:
            layouts[f"ray, local cluster, {cores} tasks × 1 thread"] = (spec_path, ["--executor", "ray"], cores)
        walls: dict[str, list[float]] = {name: [] for name in layouts}
        peaks: dict[str, list[float]] = {name: [] for name in layouts}
        in_run: dict[str, list[float]] = {name: [] for name in layouts}
        in_training: dict[str, list[float]] = {name: [] for name in layouts}
        images = 0
        for _ in range(args.repeats):
            for name, (path, layout, parallel) in layouts.items():
                wall, images, peak, busy, training = run_grid(path, layout)
                walls[name].append(wall)
                peaks[name].append(peak)
                in_run[name].append(images / busy * parallel)
                in_training[name].append(images / training * parallel)
        # memory against the number of runs: the same grid with twice the seeds, once per executor
        spec["seeds"] = 2 * args.seeds
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        doubled = {
            name: run_grid(path, layout)[2]
            for name, (path, layout, _) in layouts.items()
            if "1 thread" not in name or "default" in name
        }

    best_raw = max(statistics.median(v) for v in raw_rates.values())
    base = statistics.median(walls[f"local, 1 process × {cores} threads"])
    lines = [
        f"### Executors on the demo's grid ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}.",
        f"Command: `.venv/bin/python benchmarks/executors.py --arms {args.arms} --seeds {args.seeds} "
        f"--epochs {args.epochs} --repeats {args.repeats}` (medians of the repeats, measured alternately in one session).",
        "",
        f"(a) Raw forward+backward+Adam step of the seed CNN, batch {RAW_BATCH}, 28×28, resident tensors:",
        "",
        "| layout | images/s (median) | repeats |",
        "|---|---:|---|",
        *(
            f"| {name} | {statistics.median(r):,.0f} | {', '.join(f'{x:,.0f}' for x in r)} |"
            for name, r in raw_rates.items()
        ),
        "",
        f"(c) `imbalance-lab run` on {args.arms} arms × {args.seeds} seeds × {args.epochs} epochs "
        f"({images:,} training images in all; wall time includes start-up, data, validation, scoring, the report):",
        "",
        "| executor | wall s (median) | training images/s | vs local × threads | vs best raw | in runs: images/s | in runs vs best raw | "
        "in training epochs: images/s | in training epochs vs best raw | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {statistics.median(w):.1f} | {images / statistics.median(w):,.0f} | "
            f"{base / statistics.median(w):.2f}× | {images / statistics.median(w) / best_raw:.0%} | "
            f"{statistics.median(in_run[name]):,.0f} | {statistics.median(in_run[name]) / best_raw:.0%} | "
            f"{statistics.median(in_training[name]):,.0f} | {statistics.median(in_training[name]) / best_raw:.0%} | "
            f"{max(peaks[name]):,.0f} |"
            for name, w in walls.items()
        ),
        "",
        "Training images/s: training images (epochs × training set, summed over the runs) / the command's wall time. "
        "In runs: the same images / the runs' own time (each run's `wall_time_s`, from its first epoch to its "
        "scores, validation every epoch included) × the runs training at once: what the trainer reaches once "
        "workers are up. In training epochs: the same images / the seconds of the runs' training epochs (each "
        "run's `timing.train_s`: the steps, the batches' conversion and the epoch's training metrics; not the "
        "per-epoch validation pass) × the runs training at once: the figure comparable with the raw step.",
        "",
        "Memory against the number of runs (peak resident MB of the largest process, driver or worker): "
        + "; ".join(
            f"{name}: {max(peaks[name]):,.0f} MB with {args.arms * args.seeds} runs, {doubled[name]:,.0f} MB "
            f"with {2 * args.arms * args.seeds}"
            for name in doubled
        )
        + ".",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
