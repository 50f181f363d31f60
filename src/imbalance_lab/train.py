"""The one training loop, for every arm and strategy.

Data stay resident as uint8 tensors on the device; each epoch the arm's
strategies choose the indices, batches are gathered by indexing, and nothing
loops over single examples in Python (airbench's habit). Strategies change
training only through the hooks of :class:`~imbalance_lab.strategies.Strategy`,
each handed the epoch's :class:`~imbalance_lab.strategies.EpochContext`.

An arm trains in stages: the main one (``training.epochs`` under
``training.schedule``), then any stage its strategies add (cRT re-trains the
classifier alone), then its strategies may change the finished model
(τ-normalisation).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.analysis.metrics import classification_metrics
from imbalance_lab.data.prepared import LabelledImages
from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.spec import ScheduleSpec, TrainingSpec
from imbalance_lab.strategies import EpochContext, Stage, StrategyPipeline, build_pipeline

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


def make_optimizer(params: Iterable[nn.Parameter], cfg: TrainingSpec, lr: float | None = None) -> torch.optim.Optimizer:
    lr = cfg.lr if lr is None else lr
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """Mixed precision for one step (entered per step: one context around a whole epoch
    would keep stale bf16 copies of the weights and stop learning)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def prepare_model(model: nn.Module, device: torch.device, precision: str) -> nn.Module:
    """Move to the device; channels-last memory layout where bf16 convolutions benefit."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if precision == "bf16" else model


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int, precision: str = "fp32") -> torch.Tensor:
    """Logits (float32, N×C, on the device) in eval mode; softmax gives the probabilities."""
    model.eval()
    outs = []
    for i in range(0, images.shape[0], batch_size):
        with autocast(images.device, precision):
            logits = model(scale_images(images[i:i + batch_size]))
        outs.append(logits.float())
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


@dataclass(frozen=True)
class _StagePlan:
    """One stage as the loop runs it."""

    name: str
    epochs: int
    pipeline: StrategyPipeline
    head_only: bool
    reset_classifier: str
    lr: float
    schedule: ScheduleSpec


def _stage_plans(pipeline: StrategyPipeline, cfg: TrainingSpec, class_names: tuple[str, ...]) -> list[_StagePlan]:
    plans = [_StagePlan("main", cfg.epochs, pipeline, False, "keep", cfg.lr, cfg.schedule)]
    for stage in pipeline.stages():
        plans.append(_stage_plan(stage, cfg, class_names))
    return plans


def _stage_plan(stage: Stage, cfg: TrainingSpec, class_names: tuple[str, ...]) -> _StagePlan:
    return _StagePlan(stage.name, stage.epochs, build_pipeline(stage.strategy, class_names), stage.train == "classifier",
                      stage.reset_classifier, cfg.lr if stage.lr is None else stage.lr, ScheduleSpec(type="cosine"))


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit` returns: the per-epoch history and, when they are final, the last epoch's validation logits."""

    history: list[dict[str, Any]]
    val_logits: torch.Tensor | None  # None when a strategy changed the model after the last epoch


def fit(
    model: ImageClassifier,
    train: DeviceSet,
    val: DeviceSet,
    pipeline: StrategyPipeline,
    cfg: TrainingSpec,
    generator: torch.Generator,
    class_names: tuple[str, ...],
    positive: int | None,
    on_epoch: EpochCallback | None = None,
) -> Fitted:
    """Train ``model`` through every stage of the arm; return the per-epoch history.

    Each history entry holds ``train`` (the optimised, strategy-weighted loss and
    metrics of the predictions made while training, on the unmixed labels) and
    ``val`` (unweighted cross-entropy as ``loss``, i.e. the log loss, and
    metrics); entries of a later stage also name it (``stage``) and every entry
    records its learning rate (``lr``). ``pipeline.adapt_model`` must already have
    been applied to ``model``. The last epoch's validation logits come back too,
    so the final scoring does not predict the validation set a second time.
    """
    device = train.images.device
    cpu_labels = train.labels.cpu()
    counts = torch.bincount(cpu_labels, minlength=len(class_names))
    augment_seed = int(torch.randint(2**62, (1,), generator=generator))
    augment_generator = torch.Generator(device=device).manual_seed(augment_seed)
    val_labels = val.labels.cpu().numpy()
    history: list[dict[str, Any]] = []
    val_logits = None
    for plan in _stage_plans(pipeline, cfg, class_names):
        ctx = EpochContext(0, plan.epochs, counts, positive, plan.name)
        plan.pipeline.prepare(ctx)
        if plan.reset_classifier != "keep":
            model.reset_classifier(zero=plan.reset_classifier == "zero")
        params = model.head_parameters() if plan.head_only else list(model.parameters())
        optimizer = make_optimizer(params, cfg, plan.lr)
        for epoch in range(1, plan.epochs + 1):
            ctx = ctx.at(epoch)
            lr = plan.schedule.lr_at(epoch, plan.epochs, plan.lr)
            if plan.schedule.type != "constant" or plan.schedule.warmup_epochs:
                for group in optimizer.param_groups:
                    group["lr"] = lr
            train_log = _train_epoch(model, train, cpu_labels, plan, optimizer, ctx, generator, augment_generator, cfg,
                                     positive)
            val_logits = predict_logits(model, val.images, cfg.eval_batch_size, cfg.precision)
            val_probs = F.softmax(val_logits, dim=1)
            val_log = quiet_metrics(val_labels, val_probs.cpu().numpy(), positive)
            val_log["loss"] = val_log["log_loss"]
            entry: dict[str, Any] = {"epoch": len(history) + 1, "lr": lr, "train": train_log, "val": val_log}
            if plan.name != "main":
                entry["stage"] = plan.name
            history.append(entry)
            if on_epoch is not None:
                on_epoch(entry["epoch"], entry)
    pipeline.finish_model(model, EpochContext(cfg.epochs, cfg.epochs, counts, positive))
    return Fitted(history, None if pipeline.changes_finished_model else val_logits)


def _train_epoch(
    model: ImageClassifier,
    train: DeviceSet,
    cpu_labels: torch.Tensor,
    plan: _StagePlan,
    optimizer: torch.optim.Optimizer,
    ctx: EpochContext,
    generator: torch.Generator,
    augment_generator: torch.Generator,
    cfg: TrainingSpec,
    positive: int | None,
) -> dict[str, float]:
    device = train.images.device
    pipeline = plan.pipeline
    weights = pipeline.loss_weights(ctx)
    weights = weights.to(device) if weights is not None else None
    if plan.head_only:
        model.train_head_only()
    else:
        model.train()
    order = pipeline.epoch_indices(cpu_labels, generator, ctx).to(device)
    loss_sum = torch.zeros((), device=device)
    probs_seen = []
    for start in range(0, order.shape[0], cfg.batch_size):
        idx = order[start:start + cfg.batch_size]
        y = train.labels[idx]
        x = to_unit(train.images[idx])
        if pipeline.augments:
            x = pipeline.augment_batch(x, y, augment_generator, ctx)
        x, soft_targets = pipeline.mix_batch(x, y, augment_generator, ctx)
        x = normalize(x)
        with autocast(device, cfg.precision):
            if plan.head_only:
                with torch.no_grad():
                    features = model.forward_features(x)
            else:
                features = model.forward_features(x)
            logits = model.forward_head(features).float()
        loss = pipeline.per_example_loss(logits, features, y, soft_targets, weights, ctx).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * idx.shape[0]
        probs_seen.append(F.softmax(logits.detach().float(), dim=1))
    train_probs = torch.cat(probs_seen).cpu().numpy()
    train_log = quiet_metrics(train.labels[order].cpu().numpy(), train_probs, positive)
    train_log["loss"] = float(loss_sum) / order.shape[0]
    return train_log
