"""Why the seed CNN's defaults hid inverse weighting on a long tail: a plain PyTorch loop with knobs.

The same images as the long-tail benchmark (Animal-MNIST, 10 classes, exponential
profile from 600 with ratio 100, balanced test set of 300 per class), trained by a
plain, hand-written loop (no imbalance-lab trainer), with one knob at a time:

* ``dropout``: seed 000's 0.15 after the first two conv blocks and 0.4 in the head, or none;
* ``init``: seed 000's He-uniform weights with zero biases, or PyTorch's default init;
* ``scale``: inputs in [-1, 1] or in [0, 1].

Each configuration is trained with plain cross-entropy and with inverse class
weights, over several seeds; the balanced accuracy on the balanced test set is
printed as mean ± std. Usage:

    .venv/bin/python benchmarks/long_tail_defaults.py [--seeds 3] [--epochs 30] [--configs all]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.prepared import prepare_data
from imbalance_lab.spec import build_spec

SPEC = {
    "name": "long_tail_defaults",
    "data": {
        "source": "animal_mnist",
        "classes": "all",
        "splits": {"pool": {"balanced": 600}, "val": {"balanced": 50}, "test": {"balanced": 300}},
    },
    "arms": [{"name": "lt", "train": {"profile": "exponential", "n_max": 600, "ratio": 100}}],
}

CONFIGS = {
    "seed000": {"dropout": True, "init": "he", "scale": "pm1"},  # imbalance-lab's simple_cnn before issue 8
    "no_dropout": {"dropout": False, "init": "he", "scale": "pm1"},
    "torch_init": {"dropout": False, "init": "torch", "scale": "pm1"},
    "unit_scale": {"dropout": False, "init": "he", "scale": "unit"},
    "plain": {"dropout": False, "init": "torch", "scale": "unit"},  # what a plain script usually does
    "dropout_torch_init": {"dropout": True, "init": "torch", "scale": "pm1"},
}


def make_cnn(n_classes: int, dropout: bool, init: str) -> nn.Module:
    layers: list[nn.Module] = []
    c_in = 1
    for i, c_out in enumerate((32, 64, 128)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        if dropout and i < 2:
            layers.append(nn.Dropout(0.15))
        c_in = c_out
    layers += [nn.Flatten(), nn.Linear(128 * 3 * 3, 64), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(0.4))
    layers.append(nn.Linear(64, n_classes))
    model = nn.Sequential(*layers)
    if init == "he":
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    return model


def train_once(
    x: torch.Tensor,
    y: torch.Tensor,
    xt: torch.Tensor,
    yt: torch.Tensor,
    cfg: dict,
    weighted: bool,
    seed: int,
    epochs: int,
) -> float:
    torch.manual_seed(seed)
    n_classes = int(y.max()) + 1
    model = make_cnn(n_classes, cfg["dropout"], cfg["init"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    counts = torch.bincount(y, minlength=n_classes).double()
    weights = (counts.sum() / (n_classes * counts)).float() if weighted else None
    scale = (lambda t: t.float() / 255 * 2 - 1) if cfg["scale"] == "pm1" else (lambda t: t.float() / 255)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for i in range(0, len(y), 64):
            idx = order[i : i + 64]
            per_example = F.cross_entropy(model(scale(x[idx])), y[idx], reduction="none")
            loss = (per_example * weights[y[idx]]).mean() if weights is not None else per_example.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(scale(xt)).argmax(1)
    recall = [(pred[yt == c] == c).float().mean().item() for c in range(n_classes)]
    return float(np.mean(recall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--configs", default="all", help="comma-separated names among: " + ", ".join(CONFIGS))
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = build_spec(SPEC)
    data = prepare_data(spec)
    train = data.train_set(spec.arms[0])
    test = data.eval_set("test")
    names = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    print(
        f"train counts {torch.bincount(train.labels).tolist()}, test {len(test)} images, {args.epochs} epochs, {args.seeds} seeds"
    )
    print("| config | dropout | init | inputs | CE balanced acc. | inverse weights balanced acc. |")
    print("|---|---|---|---|---:|---:|")
    for name in names:
        cfg = CONFIGS[name]
        start = time.perf_counter()
        cells = []
        for weighted in (False, True):
            accs = [
                train_once(train.images, train.labels, test.images, test.labels, cfg, weighted, s, args.epochs)
                for s in range(args.seeds)
            ]
            cells.append(f"{statistics.mean(accs):.3f} ± {statistics.stdev(accs) if len(accs) > 1 else 0:.3f}")
        print(
            f"| {name} | {'seed 000' if cfg['dropout'] else 'none'} | {cfg['init']} | "
            f"{'[-1, 1]' if cfg['scale'] == 'pm1' else '[0, 1]'} | {cells[0]} | {cells[1]} |  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
