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

import copy
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.metrics import classification_metrics
from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.optimisers import Optimiser, make_optimiser
from imbalance_lab.prepared import LabelledImages
from imbalance_lab.spec import ExecutionSpec, ScheduleSpec, SelectSpec, TrainingSpec
from imbalance_lab.strategies import (
    EpochContext,
    Stage,
    StepBatch,
    StrategyPipeline,
    build_pipeline,
)
from imbalance_lab.strategies.distributed import World, interleave

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
    """uint8 [0, 255] -> float32 [0, 1]: what augmentation works on and every model takes (each
    normalises its own input, :class:`~imbalance_lab.models.base.InputNorm`)."""
    return images.float().div_(255.0)


def use_channels_last(memory_format: str, device_type: str, precision: str) -> bool:
    """``auto``: channels-last on CPU (measured faster there, docs/benchmarks.md) and under bf16/fp16 on a GPU."""
    if memory_format != "auto":
        return memory_format == "channels_last"
    return device_type == "cpu" or precision != "fp32"


@dataclass(frozen=True)
class Compute:
    """How a run's arithmetic is carried out: device, precision, memory layout and compilation.

    Only ``precision`` changes what is computed (it is part of the training
    spec and of the run hash); layout and compilation change the order of
    floating-point sums at most (they are execution settings, recorded in
    provenance).
    """

    device: torch.device
    precision: str = "fp32"  # fp32 | bf16 | fp16
    channels_last: bool = False
    compile: bool = False

    @classmethod
    def of(cls, training: TrainingSpec, execution: ExecutionSpec) -> Compute:
        """The spec's settings resolved for the device found here (``auto`` memory format: see ExecutionSpec)."""
        device = resolve_device(training.device)
        return cls(
            device,
            training.precision,
            use_channels_last(execution.memory_format, device.type, training.precision),
            execution.compile,
        )

    def autocast(self) -> torch.autocast:
        """Mixed precision for one step (entered per step: one context around a whole epoch
        would keep stale low-precision copies of the weights and stop learning)."""
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.precision != "fp32")

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """fp16 gradients underflow without loss scaling; bf16 and fp32 need none."""
        return torch.amp.GradScaler(self.device.type) if self.precision == "fp16" else None

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """A batch in the memory layout the model was prepared for."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def prepare(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device, in its memory layout, its backbone compiled if asked."""
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.compile:
            backbone = getattr(model, "backbone", model)
            backbone.compile()  # in place: parameter names and state dicts stay as they are
        return model

    def provenance(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "memory_format": "channels_last" if self.channels_last else "contiguous",
            "compile": self.compile,
        }


@torch.no_grad()
def _in_batches(
    model: nn.Module, n: int, batch_size: int, compute: Compute, forward: Callable[[slice], torch.Tensor]
) -> list[torch.Tensor]:
    """``forward`` of each batch of ``n`` items (float32), in eval mode under the compute's autocast."""
    model.eval()
    outs = []
    for i in range(0, n, batch_size):
        with compute.autocast():
            outs.append(forward(slice(i, i + batch_size)).float())
    return outs


def predict_logits(
    model: nn.Module, images: torch.Tensor, batch_size: int, compute: Compute | None = None, features: bool = False
) -> torch.Tensor:
    """Logits (float32, N×C, on the device) in eval mode; softmax gives the probabilities. With
    ``features``, ``images`` are the backbone's features and only the head runs."""
    compute = compute or Compute(images.device)
    if features:
        forward = lambda batch: model.forward_head(images[batch])  # noqa: E731
    else:
        forward = lambda batch: model(compute.layout(to_unit(images[batch])))  # noqa: E731
    return torch.cat(_in_batches(model, images.shape[0], batch_size, compute, forward))


def predict_features(model: ImageClassifier, images: torch.Tensor, batch_size: int, compute: Compute) -> torch.Tensor:
    """The backbone's features (float32, N×F, on the device) of uint8 images, in eval mode."""
    outs = _in_batches(
        model,
        images.shape[0],
        batch_size,
        compute,
        lambda batch: model.forward_features(compute.layout(to_unit(images[batch].to(compute.device)))),
    )
    return torch.cat(outs) if outs else torch.empty(0, model.num_features, device=compute.device)


def quiet_metrics(labels: np.ndarray, probs: np.ndarray, positive: int | None) -> dict[str, float]:
    """Metrics without zero-division warnings (used for per-epoch history)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_metrics(labels, probs, positive=positive)


@dataclass(frozen=True)
class DeviceSet:
    """A set's images and labels moved to the training device once; with ``features``, ``images`` holds
    the frozen backbone's features of the images (float32 N×F) and only the head runs on them."""

    images: torch.Tensor
    labels: torch.Tensor
    features: bool = False

    @classmethod
    def of(cls, data: LabelledImages, device: torch.device) -> DeviceSet:
        return cls(data.images.to(device), data.labels.to(device))

    @classmethod
    def of_features(cls, features: torch.Tensor, labels: torch.Tensor, device: torch.device) -> DeviceSet:
        return cls(features.to(device), labels.to(device), features=True)


def trains_on_features(
    model: ImageClassifier, pipeline: StrategyPipeline, cfg: TrainingSpec, class_names: tuple[str, ...]
) -> bool:
    """Whether every epoch of the arm could run the head alone on features computed once: the whole
    backbone is frozen (in eval mode, so an image's features never change) and no stage augments or
    mixes images."""
    if model.frozen != "backbone":
        return False
    return not any(
        plan.pipeline.augments or plan.pipeline.mixes or plan.pipeline.viewer is not None
        for plan in stage_plans(pipeline, cfg, class_names)
    )


def learning_rate(schedule: ScheduleSpec, epoch: int, epochs: int, lr: float) -> float:
    """The learning rate of ``epoch`` (from 1) of ``epochs`` under ``schedule`` (see :class:`ScheduleSpec`):
    a linear warm-up (``lr · e / warmup_epochs``), then constant, ``gamma`` per passed milestone, or a cosine
    from ``lr`` down to ``min_lr``."""
    if epoch <= schedule.warmup_epochs:
        return lr * epoch / schedule.warmup_epochs
    if schedule.type == "step":
        return lr * schedule.gamma ** sum(epoch > m for m in schedule.milestones)
    if schedule.type == "cosine":
        span = max(epochs - schedule.warmup_epochs, 1)
        progress = (epoch - 1 - schedule.warmup_epochs) / span
        return schedule.min_lr + (lr - schedule.min_lr) * (1 + math.cos(math.pi * progress)) / 2
    return lr


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
    weight_decay: float
    scales: bool = False  # the classifier fixed and one scale per class learned (LWS)


def stage_plans(pipeline: StrategyPipeline, cfg: TrainingSpec, class_names: tuple[str, ...]) -> list[_StagePlan]:
    plans = [_StagePlan("main", cfg.epochs, pipeline, False, "keep", cfg.lr, cfg.schedule, cfg.weight_decay)]
    for stage in pipeline.stages():
        plans.append(_stage_plan(stage, cfg, class_names))
    return plans


def _stage_plan(stage: Stage, cfg: TrainingSpec, class_names: tuple[str, ...]) -> _StagePlan:
    return _StagePlan(
        stage.name,
        stage.epochs,
        build_pipeline(stage.strategy, class_names),
        stage.train != "all",
        stage.reset_classifier,
        cfg.lr if stage.lr is None else stage.lr,
        ScheduleSpec(type="cosine"),
        cfg.weight_decay if stage.weight_decay is None else stage.weight_decay,
        stage.train == "scales",
    )


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit` returns: the per-epoch history and, when they are final, the last epoch's validation logits."""

    history: list[dict[str, Any]]
    val_logits: torch.Tensor | None  # None when a strategy changed the model after the last epoch
    images_trained: int = 0  # training images this call stepped through (not a resumed prefix's)
    train_s: float = 0.0  # seconds in those training epochs (steps and the epoch's training metrics)
    selected_epoch: int | None = None  # the epoch whose weights the model holds (the last unless a rule chose)
    stopped_epoch: int | None = None  # the epoch after which early stopping ended training, if it did
    epoch_logits: dict[str, torch.Tensor] | None = None  # set -> E×N×C logits of every epoch (on the CPU), if recorded


class _Monitor:
    """Follows one metric of one evaluation set over the epochs: the best value and when it was reached."""

    def __init__(self, rule: SelectSpec, min_delta: float = 0.0) -> None:
        self.rule, self.min_delta = rule, min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None

    def update(self, entry: dict[str, Any]) -> bool:
        """Record the epoch; True when it is the best so far (by more than ``min_delta``)."""
        value = entry[self.rule.set][self.rule.metric]
        if value is None or not math.isfinite(value):
            return False
        if self.best is None or (value - self.best if self.rule.maximise else self.best - value) > self.min_delta:
            self.best, self.best_epoch = float(value), int(entry["epoch"])
            return True
        return False


def balanced_log_loss(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The mean over the classes present of each class's mean cross-entropy: every class counts alike,
    whatever the set's composition (docs/validation.md)."""
    losses = F.cross_entropy(logits.float(), labels, reduction="none")
    means = [losses[labels == c].mean() for c in torch.unique(labels)]
    return float(torch.stack(means).mean())


def epoch_log(logits: torch.Tensor, labels: torch.Tensor, positive: int | None) -> dict[str, float]:
    """One evaluation set's per-epoch entry: the metrics, ``loss`` (the log loss) and ``balanced_loss``."""
    log = quiet_metrics(labels.cpu().numpy(), F.softmax(logits, dim=1).cpu().numpy(), positive)
    log["loss"] = log["log_loss"]
    log["balanced_loss"] = balanced_log_loss(logits, labels.to(logits.device))
    return log


@dataclass(frozen=True)
class Snapshot:
    """A run's whole state at the end of main-stage epoch ``epoch``: going on from it gives, bit for bit,
    what training on without stopping gives (model, optimiser, loss scaler, every random stream, history)."""

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scaler: dict[str, Any] | None
    generator: torch.Tensor
    augment_generator: torch.Tensor
    global_rng: torch.Tensor
    device_rng: torch.Tensor | None
    history: list[dict[str, Any]]
    val_logits: torch.Tensor
    arm: str = ""  # the run it was taken from, for provenance

    @classmethod
    def take(
        cls,
        epoch: int,
        model: nn.Module,
        optimizer: Optimiser,
        scaler: torch.amp.GradScaler | None,
        generator: torch.Generator,
        augment_generator: torch.Generator,
        history: list[dict[str, Any]],
        val_logits: torch.Tensor,
    ) -> Snapshot:
        device = val_logits.device
        return cls(
            epoch=epoch,
            model={k: v.detach().clone() for k, v in model.state_dict().items()},
            optimizer=copy.deepcopy(optimizer.state_dict()),
            scaler=copy.deepcopy(scaler.state_dict()) if scaler is not None else None,
            generator=generator.get_state(),
            augment_generator=augment_generator.get_state(),
            global_rng=torch.get_rng_state(),
            device_rng=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            history=copy.deepcopy(history),
            val_logits=val_logits.clone(),
        )

    def restore_random(self, generator: torch.Generator, augment_generator: torch.Generator) -> None:
        generator.set_state(self.generator)
        augment_generator.set_state(self.augment_generator)
        torch.set_rng_state(self.global_rng)
        if self.device_rng is not None:
            torch.cuda.set_rng_state(self.device_rng, self.val_logits.device)


SnapshotCallback = Callable[[Snapshot], None]


@dataclass(frozen=True)
class RunPlan:
    """Everything one run's training needs besides the model, as one object (what :func:`fit` takes).

    ``train`` and ``val`` are the arm's training set and the validation set on the device; ``pipeline`` the
    arm's strategies (``pipeline.adapt_model`` already applied to the model); ``training`` the spec's
    training section; ``generator`` the run's seeded generator (epoch order, resampling); ``positive`` the
    positive class's label (binary) or ``None``. ``monitor`` sets are scored into every history entry (a
    selection or stopping rule reads them); the logits of ``record`` sets at every epoch come back in
    ``epoch_logits`` (the selection study, :mod:`imbalance_lab.analysis.selection`). ``resume`` goes on from
    a snapshot of the main stage (taken by a run whose training is the same up to then: see
    ``Strategy.plain_epochs``); a :class:`Snapshot` is taken at the end of each main-stage epoch in
    ``snapshot_at``.
    """

    train: DeviceSet
    val: DeviceSet
    pipeline: StrategyPipeline
    training: TrainingSpec
    generator: torch.Generator
    class_names: tuple[str, ...]
    positive: int | None
    compute: Compute | None = None
    monitor: dict[str, DeviceSet] | None = None
    record: dict[str, DeviceSet] | None = None
    resume: Snapshot | None = None
    snapshot_at: frozenset[int] = frozenset()
    world: World | None = None  # one run across several processes: this one's rank (execution.distributed)


def fit(
    model: ImageClassifier,
    run: RunPlan,
    on_epoch: EpochCallback | None = None,
    on_snapshot: SnapshotCallback | None = None,
) -> Fitted:
    """Train ``model`` through every stage of the arm; return the per-epoch history.

    Each history entry holds ``train`` (the optimised, strategy-weighted loss and
    metrics of the predictions made while training, on the unmixed labels) and
    ``val`` (unweighted cross-entropy as ``loss``, i.e. the log loss, and
    metrics); entries of a later stage also name it (``stage``) and every entry
    records its learning rate (``lr``). ``pipeline.adapt_model`` must already have
    been applied to ``model``. The last epoch's validation logits come back too,
    so the final scoring does not predict the validation set a second time.

    A run resumed from a snapshot (``run.resume``) takes the snapshot's history as its first entries;
    each snapshot taken (``run.snapshot_at``) is handed to ``on_snapshot``. A selection or stopping rule
    (``training.select``, ``training.early_stopping``) is for arms that train in one stage and keep the
    model as trained: the spec refuses it for any other arm (``ExperimentSpec``, when it is read),
    so the stop here ends the one stage there is.
    """
    train, val, pipeline, cfg, generator = run.train, run.val, run.pipeline, run.training, run.generator
    class_names, positive, resume, snapshot_at = run.class_names, run.positive, run.resume, run.snapshot_at
    monitor, record = run.monitor, run.record
    device = train.images.device
    compute = run.compute or Compute(device, cfg.precision)
    cpu_labels = train.labels.cpu()
    counts = torch.bincount(cpu_labels, minlength=len(class_names))
    augment_generator = torch.Generator(device=device)
    if resume is None:
        augment_generator.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
    history: list[dict[str, Any]] = copy.deepcopy(resume.history) if resume is not None else []
    val_logits = resume.val_logits.clone() if resume is not None else None
    images_trained, train_s = 0, 0.0
    selector = _Monitor(cfg.select) if isinstance(cfg.select, SelectSpec) else None
    stopper = _Monitor(cfg.stopping, cfg.stopping.min_delta) if cfg.stopping is not None else None
    best: tuple[dict[str, torch.Tensor], torch.Tensor] | None = None  # the selected epoch's weights, val logits
    stopped = None
    recorded: dict[str, list[torch.Tensor]] = {name: [] for name in record or {}}
    for plan in stage_plans(pipeline, cfg, class_names):
        ctx = EpochContext(0, plan.epochs, counts, positive, plan.name)
        plan.pipeline.prepare(ctx)
        if plan.reset_classifier != "keep":
            model.reset_classifier(zero=plan.reset_classifier == "zero")
        if plan.scales:
            model.learn_class_scales()
        resumed = resume if plan.name == "main" else None
        if resumed is not None:
            model.load_state_dict(resumed.model)
        plan.pipeline.begin_stage(model, ctx)
        params = model.head_parameters() if plan.head_only else model.trainable_parameters()
        groups = plan.pipeline.param_groups(params, plan.weight_decay, ctx)
        optimizer = make_optimiser(
            params if groups is None else groups, cfg.optimizer, plan.lr, plan.weight_decay, cfg.momentum, device.type
        )
        scaler = compute.grad_scaler()
        first = 1
        if resumed is not None:
            optimizer.load_state_dict(resumed.optimizer)
            if scaler is not None and resumed.scaler is not None:
                scaler.load_state_dict(resumed.scaler)
            resumed.restore_random(generator, augment_generator)
            first = resumed.epoch + 1
        for epoch in range(first, plan.epochs + 1):
            ctx = ctx.at(epoch)
            lr = learning_rate(plan.schedule, epoch, plan.epochs, plan.lr)
            if plan.schedule.type != "constant" or plan.schedule.warmup_epochs:
                for group in optimizer.param_groups:
                    group["lr"] = lr
            started = time.perf_counter()
            train_log, images = _train_epoch(
                model,
                train,
                cpu_labels,
                plan,
                optimizer,
                scaler,
                ctx,
                generator,
                augment_generator,
                cfg,
                positive,
                compute,
                run.world,
            )
            train_s += time.perf_counter() - started
            images_trained += images
            val_logits = predict_logits(model, val.images, cfg.eval_batch_size, compute, features=val.features)
            entry: dict[str, Any] = {
                "epoch": len(history) + 1,
                "lr": lr,
                "train": train_log,
                "val": epoch_log(val_logits, val.labels, positive),
            }
            epoch_logits = {"val": val_logits}
            for name, subset in (monitor or {}).items():  # a selection or stopping rule's own evaluation set
                epoch_logits[name] = predict_logits(
                    model, subset.images, cfg.eval_batch_size, compute, features=subset.features
                )
                entry[name] = epoch_log(epoch_logits[name], subset.labels, positive)
            for name, subset in (record or {}).items():
                if name not in epoch_logits:
                    epoch_logits[name] = predict_logits(
                        model, subset.images, cfg.eval_batch_size, compute, features=subset.features
                    )
                recorded[name].append(epoch_logits[name].float().cpu())
            if plan.name != "main":
                entry["stage"] = plan.name
            history.append(entry)
            if selector is not None and selector.update(entry):
                best = ({k: v.detach().clone() for k, v in model.state_dict().items()}, val_logits.clone())
            if on_epoch is not None:
                on_epoch(entry["epoch"], entry)
            if plan.name == "main" and epoch in snapshot_at and on_snapshot is not None:
                on_snapshot(
                    Snapshot.take(epoch, model, optimizer, scaler, generator, augment_generator, history, val_logits)
                )
            if stopper is not None:
                stopper.update(entry)
                if stopper.best_epoch is not None and entry["epoch"] - stopper.best_epoch >= stopper.rule.patience:
                    stopped = entry["epoch"]
                    break
    pipeline.finish_model(model, EpochContext(cfg.epochs, cfg.epochs, counts, positive))
    selected = len(history)
    if best is not None:  # the chosen epoch's weights are the ones scored
        model.load_state_dict(best[0])
        val_logits, selected = best[1], int(selector.best_epoch)  # type: ignore[union-attr]
    return Fitted(
        history,
        None if pipeline.changes_finished_model else val_logits,
        images_trained,
        train_s,
        selected,
        stopped,
        {name: torch.stack(seq) for name, seq in recorded.items()} if record else None,
    )


def _train_epoch(
    model: ImageClassifier,
    train: DeviceSet,
    cpu_labels: torch.Tensor,
    plan: _StagePlan,
    optimizer: Optimiser,
    scaler: torch.amp.GradScaler | None,
    ctx: EpochContext,
    generator: torch.Generator,
    augment_generator: torch.Generator,
    cfg: TrainingSpec,
    positive: int | None,
    compute: Compute,
    world: World | None = None,
) -> tuple[dict[str, float], int]:
    """One epoch's training steps: the epoch's training log and the number of images stepped through.

    With a ``world`` of several processes each takes its share of every global batch (the one process's
    batch, :mod:`imbalance_lab.strategies.distributed`), its loss is the sum of its examples' losses over the
    global batch's size, the gradients are summed over the ranks before each step, and the training log is
    of the whole epoch, in the global stream's order."""
    device = train.images.device
    pipeline = plan.pipeline
    weights = pipeline.loss_weights(ctx)
    weights = weights.to(device) if weights is not None else None
    head_only = plan.head_only or model.frozen == "backbone"  # no gradient through the backbone
    if plan.head_only:
        model.train_head_only()
    else:
        model.train()
    order = pipeline.epoch_indices(cpu_labels, generator, ctx).to(device)
    loss_sum = torch.zeros((), device=device)
    probs_seen = []
    trained = [p for group in optimizer.param_groups for p in group["params"]]
    multi_head = model.multi_head
    viewer = pipeline.viewer if not train.features else None
    for start in range(0, order.shape[0], cfg.batch_size):
        idx = order[start : start + cfg.batch_size]
        n_global = idx.shape[0]
        if world is not None:
            idx = world.share(idx)
            if idx.shape[0] == 0:  # fewer images left than ranks: this rank only takes part in the sum
                optimizer.zero_grad(set_to_none=True)
                world.sync_gradients(trained)
                optimizer.step()
                probs_seen.append(torch.empty(0, ctx.n_classes, device=device))
                continue
        y = train.labels[idx]
        if train.features:  # the frozen backbone's features, computed once
            x, soft_targets = train.images[idx], None
        elif viewer is not None:  # two views of the batch, stacked: the first view's rows first
            x = compute.layout(pipeline.view_batch(to_unit(train.images[idx]), y, augment_generator, ctx))
            soft_targets = None
        else:
            x = to_unit(train.images[idx])
            if pipeline.augments:
                x = pipeline.augment_batch(x, y, augment_generator, ctx)
            x, soft_targets = pipeline.mix_batch(x, y, augment_generator, ctx)
            x = compute.layout(x)  # in [0, 1]: the model normalises its own input

        def forward_losses(x: torch.Tensor = x, y: torch.Tensor = y, soft: Any = soft_targets) -> Any:
            """Each example's loss and the logits, at the weights the model holds now."""
            with compute.autocast():
                if train.features:
                    features = x
                elif head_only:
                    with torch.no_grad():
                        features = model.forward_features(x)
                else:
                    features = model.forward_features(x)
                if multi_head:
                    head_logits = model.forward_heads(features).float()
                    logits = model.combine_heads(head_logits)
                else:
                    head_logits, logits = None, model.forward_head(features).float()
            if viewer is None:
                return pipeline.per_example_loss(logits, features, y, soft, weights, ctx, head_logits), logits
            n = y.shape[0]  # the first view's loss, plus the viewing strategy's term of both views' features
            first_heads = head_logits[:n] if head_logits is not None else None
            losses = pipeline.per_example_loss(logits[:n], features[:n], y, None, weights, ctx, first_heads)
            return losses + viewer.view_losses(features.float(), y, model, ctx), logits[:n]

        if pipeline.step_owner is not None:  # the strategy's step (the spec refuses fp16's loss scaling here)
            batch = StepBatch(y, trained, optimizer, model, forward_losses)
            loss = pipeline.step_owner.optimizer_step(batch, ctx)
            logits = batch.logits
        else:
            losses, logits = forward_losses()
            loss = losses.mean() if world is None else losses.sum() / n_global
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                if world is not None:
                    world.sync_gradients(trained)
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                if world is not None:
                    world.sync_gradients(trained)
                scaler.step(optimizer)
                scaler.update()
        if pipeline.projects:
            pipeline.after_step(model, ctx)
        loss_sum += loss.detach() * (idx.shape[0] if world is None else n_global)
        probs_seen.append(F.softmax(logits.detach().float(), dim=1))
    if world is None:
        train_probs = torch.cat(probs_seen).cpu().numpy()
    else:  # every rank's parts, batch by batch in the global order
        loss_sum = world.sum(loss_sum)
        train_probs = interleave(world.gather([p.cpu().numpy() for p in probs_seen]))
    train_log = quiet_metrics(train.labels[order].cpu().numpy(), train_probs, positive)
    train_log["loss"] = float(loss_sum) / order.shape[0]
    return train_log, order.shape[0]
