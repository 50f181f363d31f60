"""What each catalogue model costs to train here: forward + backward + optimiser step on resident
tensors, images/s, and what that means for the examples that use it.

Each model at its example's input (seed CNN 28×28 grey, batch 32; seed 004's ConvNet and the
CIFAR ResNets 32×32 RGB, batch 64 / 128; timm's resnet18 at 32×32 and 128×128 RGB, batch 32),
one process with all cores as threads, channels-last, fp32, timed in turn for SECONDS each
after a warm-up. Estimates: seconds per epoch of CIFAR-10-LT ρ = 100 (12,406 training
images) and of seed 004's 4:1 cats-vs-dogs set (6,000 images), and hours for Cao et al.'s
200 epochs of ResNet-32, from the measured rate (training steps only: validation and data
handling come on top).
Usage:

    .venv/bin/python benchmarks/models_cpu.py [--seconds 6] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from _publish import publish
from imbalance_lab.models import MODELS

CASES = [  # name, channels, side, batch, params
    ("simple_cnn", 1, 28, 32, {}),
    ("convnet_bn", 3, 32, 64, {}),
    ("resnet20", 3, 32, 128, {}),
    ("resnet32", 3, 32, 128, {}),
    ("resnet56", 3, 32, 128, {}),
    ("resnet18", 3, 32, 32, {}),
    ("resnet18", 3, 128, 32, {}),
]
CIFAR10_LT_TRAIN = 12_406
SEED_004_TRAIN = 6_000


def rate(name: str, channels: int, side: int, batch: int, params: dict, seconds: float) -> float:
    torch.manual_seed(0)
    model = MODELS.create(name, channels, (side, side), 10, **params).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, channels, side, side).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        done += batch
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    rows = []
    for name, channels, side, batch, params in CASES:
        r = rate(name, channels, side, batch, params, args.seconds)
        n_params = sum(p.numel() for p in MODELS.create(name, channels, (side, side), 10, **params).parameters())
        rows.append((name, channels, side, batch, n_params, r))
    lines = [
        f"### The catalogue's models: training cost on this machine ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {threads} cores, torch {torch.__version__}; "
        f"1 process × {threads} threads, channels-last, fp32.",
        f"Command: `.venv/bin/python benchmarks/models_cpu.py --seconds {args.seconds:g}` (forward + backward + SGD "
        "step on resident tensors; estimates are training steps only).",
        "",
        "| model | input | batch | parameters | images/s | s per CIFAR-10-LT epoch (12,406) | s per seed-004 epoch (6,000) |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {c}×{side}×{side} | {batch} | {n / 1e6:.2f} M | {r:,.0f} | {CIFAR10_LT_TRAIN / r:,.0f} | "
            f"{SEED_004_TRAIN / r:,.0f} |"
            for name, c, side, batch, n, r in rows
        ),
        "",
    ]
    resnet32 = next(r for name, *_, r in rows if name == "resnet32")
    lines += [
        f"Cao et al.'s CIFAR-10-LT recipe (ResNet-32, 200 epochs) would take about "
        f"{200 * CIFAR10_LT_TRAIN / resnet32 / 3600:.1f} hours of training steps per run here.",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
