"""The demo's study written the way the seeds write it: a per-sample Dataset, a DataLoader, sklearn metrics.

This is the baseline `benchmarks/vs_seed_script.py` times `imbalance-lab run`
against. It trains seed 001's CNN (`get_model()`, written here in plain PyTorch
as a user of the seeds would: convolution with its ReLU, then pooling, and
`nn.Dropout`; the same architecture and initialisation as imbalance-lab's
`simple_cnn`) on the same images (the split indices come from imbalance-lab's
plan of `examples/cats_vs_dogs.yaml`, so both see the same pictures) for the
demo's six classic arms (balanced, unbalanced, weights 1:10 and
1:25, oversample, undersample) × SEEDS seeds × EPOCHS epochs, with Adam 1e-3 and
batch 32, and after every epoch scores the validation set (loss and metrics) as
the seeds do; at the end it scores the test set and prints each arm's mean test
recall, precision and F1. It writes nothing. Usage:

    .venv/bin/python benchmarks/seed_style_script.py [--seeds 5] [--epochs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, precision_score, recall_score
from torch import nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

ROOT = Path(__file__).resolve().parents[1]
ARMS = {  # name -> (dogs in training, class weights {cat, dog}, sampling)
    "balanced": (400, None, None),
    "unbalanced": (40, None, None),
    "weights_1_10": (40, (1.0, 10.0), None),
    "weights_1_25": (40, (1.0, 25.0), None),
    "oversample": (40, None, "oversample"),
    "undersample": (40, None, "undersample"),
}


class SilhouetteDataset(Dataset):
    """One image at a time, scaled to [-1, 1], as a torchvision-style dataset would hand it out."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(self.images[i]).float().div(255.0).mul(2.0).sub(1.0)
        return x, int(self.labels[i])


def seed_cnn() -> nn.Module:
    """Seed 001's ``get_model()`` in PyTorch, with two logits (softmax cross-entropy) for its sigmoid unit."""
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.15),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.15),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 3 * 3, 64),
        nn.ReLU(),
        nn.Dropout(0.4),
        nn.Linear(64, 2),
    )
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):  # Keras' he_uniform, zero biases
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return model


def load() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The demo's pool, val and test images and labels (cat 0, dog 1), from imbalance-lab's own split plan."""
    from imbalance_lab import load_spec
    from imbalance_lab.prepared import prepare_data

    spec = load_spec(ROOT / "examples" / "cats_vs_dogs.yaml")
    data = prepare_data(spec)
    sets = {}
    for name in ("val", "test"):
        subset = data.eval_set(name)
        sets[name] = (subset.images.numpy(), subset.labels.numpy())
    pool = data.subset(data.plan.sets["pool"])
    sets["pool"] = (pool.images.numpy(), pool.labels.numpy())
    return sets


def train_one(sets: dict, arm: str, seed: int, epochs: int) -> dict[str, float]:
    dogs, weights, sampling = ARMS[arm]
    images, labels = sets["pool"]
    keep = np.concatenate([np.flatnonzero(labels == 0)[:400], np.flatnonzero(labels == 1)[:dogs]])
    train = SilhouetteDataset(images[keep], labels[keep])
    torch.manual_seed(seed)
    model = seed_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    weight = torch.tensor(weights) if weights else None
    val = DataLoader(SilhouetteDataset(*sets["val"]), batch_size=256)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        if sampling == "oversample":
            w = np.where(train.labels == 1, 1.0 / dogs, 1.0 / 400)
            loader = DataLoader(train, batch_size=32, sampler=WeightedRandomSampler(w, 2 * 400, replacement=True))
        elif sampling == "undersample":
            cats = rng.permutation(np.flatnonzero(train.labels == 0))[:dogs]  # a fresh draw each epoch
            subset = torch.utils.data.Subset(train, np.concatenate([cats, np.flatnonzero(train.labels == 1)]).tolist())
            loader = DataLoader(subset, batch_size=32, shuffle=True)
        else:
            loader = DataLoader(train, batch_size=32, shuffle=True)
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y, weight=weight).backward()
            optimizer.step()
        score(model, val)  # the seeds watch validation loss and metrics every epoch
    return score(model, DataLoader(SilhouetteDataset(*sets["test"]), batch_size=256))


@torch.no_grad()
def score(model: torch.nn.Module, loader: DataLoader) -> dict[str, float]:
    model.eval()
    probs, labels = [], []
    for x, y in loader:
        probs.append(F.softmax(model(x), dim=1))
        labels.append(y)
    p, y = torch.cat(probs).numpy(), torch.cat(labels).numpy()
    pred = p.argmax(1)
    return {
        "loss": log_loss(y, p, labels=[0, 1]),
        "recall": recall_score(y, pred, zero_division=0),
        "precision": precision_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    start = time.perf_counter()
    sets = load()
    results = {arm: [train_one(sets, arm, seed, args.epochs) for seed in range(args.seeds)] for arm in ARMS}
    summary = {
        arm: {m: statistics.mean(r[m] for r in runs) for m in ("recall", "precision", "f1")}
        for arm, runs in results.items()
    }
    print(json.dumps({"wall_s": time.perf_counter() - start, "test": summary}))


if __name__ == "__main__":
    main()
