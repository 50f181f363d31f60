"""The one training loop, for every arm and strategy.

Data stay resident as uint8 tensors on the device; each epoch the arm's
strategies choose the indices, batches are gathered by indexing, and nothing
loops over single examples in Python (airbench's habit).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.analysis.metrics import classification_metrics
from imbalance_lab.spec import TrainingSpec
from imbalance_lab.splits import LabelledImages
from imbalance_lab.strategies import StrategyPipeline

EpochCallback = Callable[[int, dict[str, Any]], None]


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from imbalance_lab.errors import SpecError

        raise SpecError("training.device", "got 'cuda' but no CUDA GPU is available here; use 'auto' or 'cpu'")
    return torch.device(name)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1] (where augmentation works)."""
    return images.float().div_(255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """float [0, 1] -> [-1, 1], the model's input range."""
    return x.mul(2.0).sub_(1.0)


def scale_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return normalize(to_unit(images))


def make_optimizer(params: Any, cfg: TrainingSpec) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """Mixed precision for one step (entered per step: one context around a whole epoch
    would keep stale bf16 copies of the weights and stop learning)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def prepare_model(model: nn.Module, device: torch.device, precision: str) -> nn.Module:
    """Move to the device; channels-last memory layout where bf16 convolutions benefit."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if precision == "bf16" else model


@torch.no_grad()
def predict_probs(model: nn.Module, images: torch.Tensor, batch_size: int, precision: str = "fp32") -> torch.Tensor:
    """Softmax probabilities (float32, N×C, on the device) in eval mode."""
    model.eval()
    outs = []
    for i in range(0, images.shape[0], batch_size):
        with autocast(images.device, precision):
            logits = model(scale_images(images[i:i + batch_size]))
        outs.append(F.softmax(logits.float(), dim=1))
    return torch.cat(outs)


def quiet_metrics(labels: np.ndarray, probs: np.ndarray, positive: int | None) -> dict[str, float]:
    """Metrics without zero-division warnings (used for per-epoch history)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_metrics(labels, probs, positive=positive)


@dataclass(frozen=True)
class DeviceSet:
    """A set's images and labels moved to the training device once."""

    images: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def of(cls, data: LabelledImages, device: torch.device) -> DeviceSet:
        return cls(data.images.to(device), data.labels.to(device))


def fit(
    model: nn.Module,
    train: DeviceSet,
    val: DeviceSet,
    strategy: StrategyPipeline,
    cfg: TrainingSpec,
    generator: torch.Generator,
    n_classes: int,
    positive: int | None,
    on_epoch: EpochCallback | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` for ``cfg.epochs``; return the per-epoch history.

    Each history entry holds ``train`` (the optimised, strategy-weighted loss and
    metrics of the predictions made while training) and ``val`` (unweighted
    cross-entropy as ``loss``, i.e. the log loss, and metrics).
    """
    device = train.images.device
    optimizer = make_optimizer(model.parameters(), cfg)
    cpu_labels = train.labels.cpu()
    train_counts = torch.bincount(cpu_labels, minlength=n_classes)
    strategy.prepare(train_counts, positive)
    weights = strategy.loss_weights(train_counts)
    weights = weights.to(device) if weights is not None else None
    augment_seed = int(torch.randint(2**62, (1,), generator=generator))
    augment_generator = torch.Generator(device=device).manual_seed(augment_seed)
    val_labels = val.labels.cpu().numpy()
    history = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = strategy.epoch_indices(cpu_labels, generator).to(device)
        loss_sum = torch.zeros((), device=device)
        probs_seen = []
        for start in range(0, order.shape[0], cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            y = train.labels[idx]
            x = normalize(strategy.augment_batch(to_unit(train.images[idx]), y, augment_generator))
            with autocast(device, cfg.precision):
                logits = model(x).float()
            per_example = F.cross_entropy(logits, y, reduction="none")
            loss = (per_example * weights[y]).mean() if weights is not None else per_example.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * idx.shape[0]
            probs_seen.append(F.softmax(logits.detach().float(), dim=1))
        train_probs = torch.cat(probs_seen).cpu().numpy()
        train_log = quiet_metrics(train.labels[order].cpu().numpy(), train_probs, positive)
        train_log["loss"] = float(loss_sum) / order.shape[0]
        val_log = quiet_metrics(val_labels, predict_probs(model, val.images, cfg.eval_batch_size, cfg.precision).cpu().numpy(), positive)
        val_log["loss"] = val_log["log_loss"]
        entry = {"epoch": epoch, "train": train_log, "val": val_log}
        history.append(entry)
        if on_epoch is not None:
            on_epoch(epoch, entry)
    return history
