"""One run across 2 processes against one process, in training images per second, and what the all-reduce costs.

For each model (the seed CNN on 28×28 Animal-MNIST-sized images, a CIFAR ResNet-20 on 32×32 RGB), one arm of
synthetic images trains a few epochs (a) in one process with 2 torch threads (the local executor on a 2-core
machine), (b) in one process with 1 thread, and (c) across 2 processes of 1 thread each
(``execution.distributed: {processes: 2}``, gloo), alternated over the repeats; the rate is the run's own
(images stepped through over the seconds in its training epochs, so process start-up is left out; it is
reported beside). The all-reduce is then timed alone: 2 gloo processes summing a float32 vector of the
model's parameter count, as each training step does. Usage:

    .venv/bin/python benchmarks/distributed_throughput.py [--epochs 3] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from _publish import publish
from imbalance_lab.executors.distributed import train_across
from imbalance_lab.models import MODELS
from imbalance_lab.prepared import prepare_data
from imbalance_lab.runner import run_one
from imbalance_lab.spec import build_spec

MODELS_TRIED = {
    "seed CNN (simple_cnn), 28×28 grey": ({"name": "simple_cnn"}, 28, 1),
    "ResNet-20, 32×32 RGB": ({"name": "resnet20"}, 32, 3),
}


def spec(model: dict[str, Any], size: int, channels: int, epochs: int, **execution: Any) -> Any:
    raw = {
        "name": "ddp_bench",
        "data": {
            "source": {"type": "synthetic", "n_per_class": 1500, "n_classes": 4, "size": size, "channels": channels},
            "classes": "all",
            "splits": {
                "pool": dict.fromkeys("abcd", 1000),
                "val": dict.fromkeys("abcd", 100),
                "test": dict.fromkeys("abcd", 100),
            },
        },
        "arms": [{"name": "plain", "train": dict.fromkeys("abcd", 1000)}],
        "model": model,
        "training": {"epochs": epochs, "batch_size": 64},
        "seeds": 1,
    }
    if execution:
        raw["execution"] = execution
    return build_spec(raw)


def rate(result: Any) -> float:
    return result.timing["images_trained"] / result.timing["train_s"]


def _reduce(rank: int, init: str, numel: int, steps: int, out: Any) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2, timeout=datetime.timedelta(minutes=5))
    flat = torch.ones(numel)
    for _ in range(5):
        dist.all_reduce(flat)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        dist.all_reduce(flat)
    if rank == 0:
        out.put((time.perf_counter() - start) / steps)
    dist.destroy_process_group()


def allreduce_ms(numel: int, steps: int = 200) -> float:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        init = f"file://{tmp}/rdv"
        procs = [ctx.Process(target=_reduce, args=(r, init, numel, steps, out)) for r in range(2)]
        for p in procs:
            p.start()
        seconds = out.get(timeout=300)
        for p in procs:
            p.join()
    return 1000 * seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    rows = [
        "| model | parameters | 1 process × 2 threads | 1 process × 1 thread | 2 processes × 1 thread | 2 processes / 1 × 2 | "
        "all-reduce per step | steps/s at 2 processes | a run's start (2 processes) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, (model, size, channels) in MODELS_TRIED.items():
        one = spec(model, size, channels, args.epochs)
        two = spec(model, size, channels, args.epochs, distributed={"processes": 2, "threads": 1})
        data = prepare_data(one)
        params = sum(p.numel() for p in MODELS.create(model["name"], channels, (size, size), 4).parameters())
        rates: dict[str, list[float]] = {"2t": [], "1t": [], "ddp": []}
        start_costs = []
        for repeat in range(args.repeats):
            order = ("2t", "1t", "ddp") if repeat % 2 == 0 else ("ddp", "1t", "2t")
            for kind in order:
                if kind == "ddp":
                    began = time.perf_counter()
                    result = train_across(two, data, "plain", repeat)
                    start_costs.append(time.perf_counter() - began - result.wall_time_s)
                else:
                    torch.set_num_threads(2 if kind == "2t" else 1)
                    result = run_one(one, "plain", repeat, data=data)
                rates[kind].append(rate(result))
        med = {k: statistics.median(v) for k, v in rates.items()}
        reduce = allreduce_ms(params)
        steps = med["ddp"] / 64
        rows.append(
            f"| {label} | {params:,} | {med['2t']:,.0f} | {med['1t']:,.0f} | {med['ddp']:,.0f} | "
            f"{med['ddp'] / med['2t']:.2f}× | {reduce:.2f} ms | {steps:.1f} ({steps * reduce / 10:.1f} % of the time "
            f"in the all-reduce) | {statistics.median(start_costs):.1f} s |"
        )
    text = "\n".join(
        [
            f"### One run across 2 processes on a CPU ({time.strftime('%Y-%m-%d')})",
            "",
            f"Command: `.venv/bin/python benchmarks/distributed_throughput.py --epochs {args.epochs} --repeats "
            f"{args.repeats}`; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}; 4,000 training images of 4 classes, batch 64 (32 a process), Adam; training "
            "images per second (the run's own epochs, median of the repeats; each repeat a new seed).",
            "",
            *rows,
            "",
        ]
    )
    publish(text, args.write)


if __name__ == "__main__":
    main()
