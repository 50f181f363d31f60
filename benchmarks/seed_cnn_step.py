"""What makes imbalance-lab's seed CNN train faster than the same network written plainly, side by side in one run.

The seed CNN (seed 001's `get_model()`, imbalance-lab's `simple_cnn` with its
dropout) trained on resident random tensors, forward + backward + Adam, batch 32,
28×28 grey, channels-last, one thread (the layout of the default worker), in
three builds of the same network with the same initial weights:

- `plain`: as a user writes it: convolution, ReLU, pooling, `nn.Dropout`;
- `pool first`: pooling before the ReLU (the same outputs and gradients bit for
  bit; the ReLU on a quarter of the values), `nn.Dropout`;
- `simple_cnn`: pooling first and imbalance-lab's `Dropout`, whose CPU mask takes
  16 random bits an element instead of a double from `bernoulli_`.

The builds are timed in turn, REPEATS times over, each for SECONDS; reported: the
median images/s and the ratios, and whether `pool first` trained bit for bit as
`plain` did. Also the dropout layer alone on the first block's output. Usage:

    .venv/bin/python benchmarks/seed_cnn_step.py [--seconds 8] [--repeats 3] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from _publish import publish

BATCH = 32


def builds() -> dict[str, nn.Module]:
    """The three builds of one network, with the same weights."""
    from imbalance_lab.models import MODELS

    torch.manual_seed(0)
    ours = MODELS.create("simple_cnn", 1, (28, 28), 2, dropout=0.15, head_dropout=0.4)
    pool_first = copy.deepcopy(ours)
    for module in [pool_first, *pool_first.modules()]:
        for name, child in module.named_children():
            if isinstance(child, nn.Dropout):
                setattr(module, name, nn.Dropout(child.p))
    plain = copy.deepcopy(pool_first)
    layers = list(plain.backbone)
    for i in range(len(layers) - 1):
        if isinstance(layers[i], nn.MaxPool2d) and isinstance(layers[i + 1], nn.ReLU):
            layers[i], layers[i + 1] = nn.ReLU(), layers[i]
    plain.backbone = nn.Sequential(*layers)
    return {"plain": plain, "pool first": pool_first, "simple_cnn": ours}


def train_for(model: nn.Module, seconds: float, steps: int | None = None) -> tuple[float, nn.Module]:
    """Images/s of forward+backward+Adam for ``seconds`` (or exactly ``steps`` steps), and the trained model."""
    model = copy.deepcopy(model).to(memory_format=torch.channels_last).train()
    torch.manual_seed(1)
    x = (torch.rand(BATCH, 1, 28, 28) * 2 - 1).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (BATCH,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    done, start = 0, time.perf_counter()
    while (steps is None and time.perf_counter() - start < seconds) or (steps is not None and done < steps):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        done += 1
    return done * BATCH / (time.perf_counter() - start), model


def dropout_us(layer: nn.Module, repeats: int = 300) -> float:
    """Microseconds of one forward+backward of ``layer`` on the first block's output (32×32×14×14, channels-last)."""
    x = torch.rand(BATCH, 32, 14, 14).contiguous(memory_format=torch.channels_last).requires_grad_()
    layer.train()
    layer(x).sum().backward()
    start = time.perf_counter()
    for _ in range(repeats):
        layer(x).sum().backward()
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    from imbalance_lab.models.base import Dropout

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = builds()
    for model in models.values():
        train_for(model, 1)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            rates[name].append(train_for(model, args.seconds)[0])
    same = [train_for(models[name], 0, steps=20)[1].state_dict() for name in ("plain", "pool first")]
    identical = all(torch.equal(same[0][key], same[1][key]) for key in same[0])
    median = {name: statistics.median(r) for name, r in rates.items()}
    drop_torch = statistics.median(dropout_us(nn.Dropout(0.15)) for _ in range(args.repeats))
    drop_ours = statistics.median(dropout_us(Dropout(0.15)) for _ in range(args.repeats))
    lines = [
        f"### The seed CNN's training step: what the model's build changes ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread, channels-last.",
        f"Command: `.venv/bin/python benchmarks/seed_cnn_step.py --seconds {args.seconds:g} --repeats {args.repeats}` "
        "(forward + backward + Adam on resident tensors, batch 32, 28×28; builds timed in turn; medians).",
        "",
        "| build | images/s | vs plain | runs |",
        "|---|---:|---:|---|",
    ]
    for name in models:
        lines.append(
            f"| `{name}` | {median[name]:,.0f} | {median[name] / median['plain']:.2f}× | "
            + ", ".join(f"{r:,.0f}" for r in rates[name])
            + " |"
        )
    lines += [
        "",
        f"`pool first` trained bit for bit as `plain` over 20 steps: **{'yes' if identical else 'NO'}**. "
        f"Dropout alone on the first block's output (32×32×14×14), forward + backward: `nn.Dropout` "
        f"{drop_torch:,.0f} µs, imbalance-lab's `Dropout` {drop_ours:,.0f} µs ({drop_torch / drop_ours:.1f}×).",
        "",
    ]
    publish("\n".join(lines), args.write)


if __name__ == "__main__":
    main()
