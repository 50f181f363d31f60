"""The strategy interface: small objects that change the one trainer through hooks.

Every hook is handed an :class:`EpochContext` (the epoch, the number of epochs,
the arm's class counts and the positive class), so a strategy can switch on at an
epoch. A strategy overrides only the hooks it needs; the base class changes
nothing. The hooks, in the order the trainer calls them:

``prepare(ctx)``
    learn what the strategy needs from the arm's training counts, once.
``adapt_model(model)``
    change the model before training (LDAM's cosine classifier).
``sample_epoch(stream, labels, generator, ctx)``
    which training images an epoch visits.
``loss_weights(ctx)``
    per-class weights that multiply the loss, per epoch (DRW switches on late).
``augment_batch(x, y, generator, ctx)`` and ``mix_batch(x, targets, generator, ctx)``
    change a batch's images, and for mixing its targets (soft targets, B×C).
``class_losses(logits, features, targets, ctx)`` and ``batch_term(logits, targets, ctx)``
    own the loss: the B×C matrix of each example's loss were its target each
    class, and a batch-level term added once to the batch's loss (LADE's regulariser).
``head_losses(head_logits, features, targets, ctx)``
    the same matrix for a multi-head model (B×K×C logits, one set per head; by default the mean over
    heads of ``class_losses``): each expert its own loss (BalPoE), a diversity term (RIDE).
``views(x, y, generator, ctx)`` and ``view_losses(features, labels, model, ctx)``
    train on two augmented views of each batch: the strategy makes them (the arm's augmentations then
    apply to each), the trainer runs both through the model and adds the strategy's per-example term of
    the two views' features to the loss of the first view's logits (BCL's contrastive term; an auxiliary
    head the strategy adds in ``adapt_model`` is trained through it and unused at prediction).
``param_groups(params, weight_decay, ctx)``
    the parameters the optimiser trains, in groups with their own weight decay (weight balancing).
``optimizer_step(batch, ctx)``
    own a batch's step (:class:`StepBatch`): a forward/backward pass at any weights the strategy sets,
    as many as it needs, then the optimiser's step (SAM, ImbSAM).
``begin_stage(model, ctx)``
    see the model as a stage begins (MaxNorm takes its radius from the classifier's norms then).
``after_step(model, ctx)``
    change the weights after each optimiser step (MaxNorm's projection).
``stages()``
    later training stages (cRT re-trains the classifier).
``finish_model(model, ctx)``
    change the finished model (τ-normalisation).

An arm's list of strategies is one :class:`StrategyPipeline`: samplers apply in
order, loss weights multiply, augmentations chain. Some things only one strategy
of an arm may do (own the loss, mix batches, own the optimiser step, set the weight decay, add a stage, set
the classifier's norm); :func:`check_roles` refuses a second one (every pipeline is built through it; :func:`check_strategies`
says so as one spec line that names both).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.strategies.base import STRATEGIES, Stage, StrategyDeclaration, check_roles


def class_counts(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Images per class in ``labels`` (int64, length ``n_classes``)."""
    return torch.bincount(labels, minlength=n_classes)


@dataclass(frozen=True)
class EpochContext:
    """What every hook may know: where training is, and the arm's class counts.

    ``epoch`` counts from 1 within the stage (0 in :meth:`Strategy.prepare`);
    ``epochs`` is the stage's length; ``class_counts`` are the arm's training
    images per class (int64, CPU), whatever a sampler later does with them.
    """

    epoch: int
    epochs: int
    class_counts: torch.Tensor
    positive: int | None
    stage: str = "main"

    @property
    def n_classes(self) -> int:
        return int(self.class_counts.shape[0])

    @property
    def prior(self) -> torch.Tensor:
        """The training prior ``n_c / n`` (float32)."""
        counts = self.class_counts.to(torch.float64)
        return (counts / counts.sum()).to(torch.float32)

    def at(self, epoch: int) -> EpochContext:
        return EpochContext(epoch, self.epochs, self.class_counts, self.positive, self.stage)

    def deferred(self, start: float) -> bool:
        """Whether a deferred phase that starts after the fraction ``start`` of the epochs is on.

        The first deferred epoch is ``⌊start · epochs⌋ + 1`` (Cao et al. 2019 defer at
        epoch 160 of 200: ``start = 0.8``).
        """
        return self.epoch > epochs_before(start, self.epochs)


def epochs_before(start: float, epochs: int) -> int:
    """The epochs before a deferred phase that starts after the fraction ``start`` of ``epochs``: ``⌊start · epochs⌋``."""
    return int(start * epochs + 1e-9)


def backward(loss: torch.Tensor, retain_graph: bool = False) -> None:
    """Gradients of the scalar ``loss`` into the parameters' ``.grad`` (``loss.backward()``)."""
    torch.autograd.backward(loss, retain_graph=retain_graph)


class Optimiser(Protocol):
    """What a step owner uses of the trainer's optimiser (:mod:`imbalance_lab.optimisers`' on a CPU, torch's
    elsewhere): its parameter groups, a step and clearing the gradients."""

    param_groups: list[dict[str, Any]]

    def step(self) -> Any: ...

    def zero_grad(self, set_to_none: bool = True) -> None: ...


def plain_step(batch: StepBatch, loss: torch.Tensor) -> torch.Tensor:
    """The trainer's own step on ``batch`` from its mean ``loss``: gradients cleared, computed, the optimiser
    stepped; the loss back, detached."""
    batch.zero_grad()
    backward(loss)
    batch.optimizer.step()
    return loss.detach()


@dataclass
class StepBatch:
    """One batch's training step, handed to the strategy that owns the step (:meth:`Strategy.optimizer_step`).

    The batch is fixed (its images, augmentation, mixing and targets); :meth:`losses` runs the model on it at
    the weights the parameters hold now, as often as the strategy needs. ``params`` are the parameters the
    optimiser trains (those of its groups), ``optimizer`` steps them, ``labels`` are the batch's labels.
    """

    labels: torch.Tensor
    params: list[nn.Parameter]
    optimizer: Optimiser
    model: nn.Module
    forward_losses: Callable[[], tuple[torch.Tensor, torch.Tensor]]  # -> each example's loss (B,), logits
    logits: torch.Tensor | None = field(default=None)  # the first pass's logits (the epoch's training metrics)

    def losses(self) -> torch.Tensor:
        """Each example's loss (B,) at the current weights, with its graph: the arm's loss (owner, class
        weights, soft targets) as the default step computes it."""
        losses, logits = self.forward_losses()
        if self.logits is None:
            self.logits = logits.detach()
        return losses

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def gradients(self) -> list[torch.Tensor | None]:
        """Each trained parameter's gradient now (``None`` where it has none)."""
        return [p.grad for p in self.params]

    @contextlib.contextmanager
    def running_stats_kept(self) -> Iterator[None]:
        """A pass inside leaves the batch-norm running statistics as they were (a second pass at perturbed
        weights must not count the batch twice)."""
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        kept = [
            (m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None) for m in norms
        ]
        for m in norms:
            m.momentum = 0.0
        try:
            yield
        finally:
            for m, (momentum, tracked) in zip(norms, kept, strict=True):
                m.momentum = momentum
                if tracked is not None and m.num_batches_tracked is not None:
                    m.num_batches_tracked.copy_(tracked)


class Strategy(StrategyDeclaration):
    """Base class: a strategy that changes nothing (override a hook to change something).

    A strategy subclasses its declaration (:class:`~imbalance_lab.declarations.strategies.StrategyDeclaration`:
    the name, parameters, class checks, roles and stages a spec sees) and adds the hooks the trainer calls.

    Parameters
    ----------
    class_names : sequence of str
        The experiment's classes, in label order (passed by the library).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A strategy that overrides :meth:`finish_model` must declare ``changes_finished_model``: the spec reads
        the declaration (no rule may choose an epoch for such an arm) and the trainer the same flag."""
        super().__init_subclass__(**kwargs)
        if cls.finish_model is not Strategy.finish_model and not cls.changes_finished_model:
            raise TypeError(
                f"strategy {cls.__name__} overrides finish_model: set changes_finished_model = True on its declaration"
            )

    def prepare(self, ctx: EpochContext) -> None:
        """Learn what the strategy needs from the arm's training counts, once, before training."""

    def adapt_model(self, model: nn.Module) -> nn.Module:
        """Change the model before training (default: unchanged)."""
        return model

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        """Indices (into the training set) that one epoch visits, given the stream so far.

        ``stream`` holds training-set indices (initially each image once); ``labels``
        are the training set's labels. The trainer shuffles the result, so order
        does not matter here.
        """
        return stream

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor | None:
        """Per-class loss weights for this epoch, or ``None`` (all 1)."""
        return None

    def augment_batch(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        """Transform a batch of float images in [0, 1] (``generator`` lives on their device)."""
        return x

    def mix_batch(
        self, x: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch: images and soft targets (B×C, rows summing to 1) in, mixed ones out."""
        return x, targets

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        """The loss owner's B×C matrix: each example's loss were its target class ``c``.

        ``features`` are the classifier's inputs (B×F); ``targets`` the batch's
        targets (B×C, one-hot or mixed), for losses with a batch-level term. The
        trainer takes each example's entry at its label (or, for soft targets
        ``t``, ``Σ_c t_c · w_c · L_c``), so class weights and mixing work with any
        loss. Only strategies with the ``loss`` role override this.
        """
        return -F.log_softmax(logits, dim=1)

    def views(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Two augmented views of a batch of float images in [0, 1]. Only strategies with the ``views``
        role override this."""
        return x, x

    def view_losses(
        self, features: torch.Tensor, labels: torch.Tensor, model: nn.Module, ctx: EpochContext
    ) -> torch.Tensor:
        """Each example's term (B,) from its two views' features (``features``: 2B×F, the first view's
        rows first); added to the loss of the first view's logits."""
        return torch.zeros(labels.shape[0], device=features.device, dtype=features.dtype)

    def head_losses(
        self, head_logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        """The loss owner's B×C matrix for a multi-head model from every head's logits (B×K×C): by default
        each head's :meth:`class_losses`, averaged over the heads."""
        per_head = [self.class_losses(head_logits[:, k], features, targets, ctx) for k in range(head_logits.shape[1])]
        return torch.stack(per_head).mean(dim=0)

    def batch_term(self, logits: torch.Tensor, targets: torch.Tensor, ctx: EpochContext) -> torch.Tensor | None:
        """The loss owner's batch-level term (a scalar added once to the batch's mean loss), or ``None``."""
        return None

    def param_groups(
        self, params: list[nn.Parameter], weight_decay: float, ctx: EpochContext
    ) -> list[dict[str, Any]] | None:
        """The optimiser's parameter groups (``{"params": [...], "weight_decay": w}``) for ``params``, the
        parameters a stage trains, whose weight decay is otherwise ``weight_decay``; ``None``: one group.
        Only strategies with the ``weight_decay`` role override this."""
        return None

    def optimizer_step(self, batch: StepBatch, ctx: EpochContext) -> torch.Tensor:
        """One batch's step: compute gradients (``batch.losses()``, as many passes as needed) and step
        ``batch.optimizer``; return the batch's mean loss at the weights it started from (detached). Only
        strategies with the ``step`` role override this; this default is the trainer's own step."""
        return plain_step(batch, batch.losses().mean())

    def begin_stage(self, model: nn.Module, ctx: EpochContext) -> None:
        """See the model as the stage this strategy belongs to begins, before its first step (default: nothing)."""

    def after_step(self, model: nn.Module, ctx: EpochContext) -> None:
        """Change the weights after every optimiser step (a projection), in place (default: nothing)."""

    def finish_model(self, model: nn.Module, ctx: EpochContext) -> None:
        """Change the finished model in place, after every stage (default: nothing; a strategy that changes it
        declares ``changes_finished_model``, which :meth:`__init_subclass__` holds it to)."""

    def plain_epochs(self, epochs: int) -> int | None:
        """Main-stage epochs at whose end training is exactly what it would be without this strategy.

        ``0`` (the default): it may change training from the start. ``epochs``:
        it changes nothing in the main stage (it adds a stage or changes the
        finished model). ``None``: it changes nothing at all. An arm whose other
        strategies start late trains its first epochs as the arm without them
        would, so the two share those epochs (trained once, branched from a
        snapshot). Override only when it is exact: the strategy draws no random
        numbers and changes no model, weight, loss or sample until then.
        """
        return 0


def _is_overridden(step: Strategy, hook: str) -> bool:
    return getattr(type(step), hook) is not getattr(Strategy, hook)


class StrategyPipeline:
    """An arm's strategies applied in order: samplers chained, loss weights multiplied."""

    def __init__(self, steps: Sequence[Strategy]) -> None:
        self.steps = tuple(steps)
        check_roles(self.steps)
        owners = [s for s in self.steps if "loss" in s.roles]
        self.loss_owner: Strategy | None = owners[0] if owners else None
        self.mixes = any(_is_overridden(s, "mix_batch") for s in self.steps)
        self._augments = [s for s in self.steps if _is_overridden(s, "augment_batch")]
        self.step_owner: Strategy | None = next((s for s in self.steps if "step" in s.roles), None)
        self.viewer: Strategy | None = next((s for s in self.steps if "views" in s.roles), None)
        self._projections = [s for s in self.steps if _is_overridden(s, "after_step")]

    def prepare(self, ctx: EpochContext) -> None:
        for step in self.steps:
            step.prepare(ctx)

    def adapt_model(self, model: nn.Module) -> nn.Module:
        for step in self.steps:
            model = step.adapt_model(model)
        return model

    def epoch_indices(self, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext) -> torch.Tensor:
        """The shuffled training-set indices for one epoch."""
        stream = torch.arange(labels.shape[0])
        for step in self.steps:
            stream = step.sample_epoch(stream, labels, generator, ctx)
        return stream[torch.randperm(stream.shape[0], generator=generator)]

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor | None:
        weights = None
        for step in self.steps:
            w = step.loss_weights(ctx)
            if w is not None:
                weights = w if weights is None else weights * w
        return weights

    @property
    def augments(self) -> bool:
        return bool(self._augments)

    def augment_batch(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        for step in self._augments:
            x = step.augment_batch(x, y, generator, ctx)
        return x

    def view_batch(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        """The viewing strategy's two views of a batch, each through the arm's augmentations, stacked (2B)."""
        if self.viewer is None:
            raise RuntimeError("view_batch needs a strategy that makes views")
        first, second = self.viewer.views(x, y, generator, ctx)
        if self.augments:
            first, second = self.augment_batch(first, y, generator, ctx), self.augment_batch(second, y, generator, ctx)
        return torch.cat([first, second])

    def mix_batch(
        self, x: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Mixed images and soft targets, or the images and ``None`` when no strategy mixes."""
        if not self.mixes:
            return x, None
        targets = F.one_hot(labels, ctx.n_classes).to(x.dtype)
        for step in self.steps:
            x, targets = step.mix_batch(x, targets, generator, ctx)
        return x, targets

    def per_example_loss(
        self,
        logits: torch.Tensor,
        features: torch.Tensor,
        labels: torch.Tensor,
        soft_targets: torch.Tensor | None,
        weights: torch.Tensor | None,
        ctx: EpochContext,
        head_logits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Each example's loss (B,), weighted by its class's weight.

        Hard labels: ``w[y] · L[y]``; soft targets ``t``: ``Σ_c t_c · w_c · L_c``,
        which is mixup's ``λ·w[a]·L[a] + (1 − λ)·w[b]·L[b]`` for any loss ``L``.
        The owner's batch term, unweighted, is added to every example, so the
        batch mean gains it once. Without a loss owner and mixing this is
        ``w[y] · cross_entropy``, computed as plain PyTorch cross-entropy. A multi-head model's
        ``head_logits`` (B×K×C) go to the owner's ``head_losses`` (cross-entropy per head, averaged,
        without an owner); ``logits`` are then the combined ones.
        """
        if head_logits is None and self.loss_owner is None and soft_targets is None:
            per_example = F.cross_entropy(logits, labels, reduction="none")
            return per_example * weights[labels] if weights is not None else per_example
        owner = self.loss_owner
        targets = soft_targets if soft_targets is not None else F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        if head_logits is not None:
            losses = (
                owner.head_losses(head_logits, features, targets, ctx)
                if owner
                else -F.log_softmax(head_logits, dim=2).mean(dim=1)
            )
        else:
            losses = owner.class_losses(logits, features, targets, ctx) if owner else -F.log_softmax(logits, dim=1)
        if soft_targets is None:
            per_example = losses.gather(1, labels[:, None]).squeeze(1)
            per_example = per_example * weights[labels] if weights is not None else per_example
        else:
            t = soft_targets if weights is None else soft_targets * weights
            per_example = (t * losses).sum(dim=1)
        term = owner.batch_term(logits, targets, ctx) if owner else None
        return per_example if term is None else per_example + term

    def param_groups(
        self, params: list[nn.Parameter], weight_decay: float, ctx: EpochContext
    ) -> list[dict[str, Any]] | None:
        """The weight-decay owner's parameter groups, or ``None`` (one group at ``weight_decay``)."""
        for step in self.steps:
            if "weight_decay" in step.roles:
                return step.param_groups(params, weight_decay, ctx)
        return None

    @property
    def projects(self) -> bool:
        return bool(self._projections)

    def begin_stage(self, model: nn.Module, ctx: EpochContext) -> None:
        for step in self.steps:
            step.begin_stage(model, ctx)

    def after_step(self, model: nn.Module, ctx: EpochContext) -> None:
        for step in self._projections:
            step.after_step(model, ctx)

    def stages(self) -> list[Stage]:
        return [stage for step in self.steps for stage in step.stages()]

    def finish_model(self, model: nn.Module, ctx: EpochContext) -> None:
        for step in self.steps:
            step.finish_model(model, ctx)

    @property
    def changes_finished_model(self) -> bool:
        """Whether some strategy changes the model after the last epoch (so that epoch's predictions are not final)."""
        return any(step.changes_finished_model for step in self.steps)


def build_pipeline(steps: Sequence[tuple[str, dict[str, Any]]], class_names: Sequence[str]) -> StrategyPipeline:
    """Build an arm's strategies from ``(name, params)`` pairs."""
    return StrategyPipeline([STRATEGIES.create(name, class_names, **params) for name, params in steps])


__all__ = [
    "STRATEGIES",
    "EpochContext",
    "StepBatch",
    "Strategy",
    "StrategyPipeline",
    "backward",
    "build_pipeline",
    "class_counts",
    "plain_step",
]
