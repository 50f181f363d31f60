"""Sharpness-aware minimisation: step with the gradient taken at the worst nearby weights.

``sam`` owns the optimiser step (the ``step`` role): each batch's gradient ``g``
at the weights ``w`` gives a perturbation ``ε = ρ · g / ‖g‖`` (the norm over every
trained parameter at once), the gradient is taken again at ``w + ε``, and the
optimiser steps from ``w`` with that second gradient. It composes with any loss,
class weight or sampler of the arm: both passes compute the arm's own loss.
``imbsam`` perturbs only for the tail classes' share of the loss. The second
pass leaves batch-norm running statistics as they were. A step costs about two
forward/backward passes. The strategies' names, parameters and docstrings are declared in
:mod:`imbalance_lab.declarations.strategies.sharpness`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from imbalance_lab.declarations.strategies.sharpness import (
    ImbalancedSharpnessAwareDeclaration,
    SharpnessAwareDeclaration,
)
from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    StepBatch,
    Strategy,
    backward,
    epochs_before,
    plain_step,
)


def perturbation(
    grads: Sequence[torch.Tensor | None], weights: Sequence[torch.Tensor], rho: float, adaptive: bool
) -> list[torch.Tensor | None]:
    """SAM's ``ε = ρ · g / (‖g‖₂ + 10⁻¹²)``, the norm taken over every parameter's gradient together; with
    ``adaptive`` (ASAM, Kwon et al. 2021) ``ε = ρ · w² ⊙ g / (‖w ⊙ g‖₂ + 10⁻¹²)``. ``None`` where a parameter
    has no gradient."""
    scaled = [None if g is None else (w.abs() * g if adaptive else g) for g, w in zip(grads, weights, strict=True)]
    present = [t for t in scaled if t is not None]
    if not present:
        return [None for _ in grads]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in present]))
    scale = rho / (norm + 1e-12)
    return [
        None if g is None else (w.square() * g if adaptive else g) * scale for g, w in zip(grads, weights, strict=True)
    ]


@torch.no_grad()
def _shift(params: Sequence[torch.Tensor], eps: Sequence[torch.Tensor | None]) -> list[torch.Tensor | None]:
    """Add ``eps`` to ``params`` in place; return the weights as they were (to restore them exactly)."""
    kept = []
    for p, e in zip(params, eps, strict=True):
        kept.append(None if e is None else p.detach().clone())
        if e is not None:
            p.add_(e)
    return kept


@torch.no_grad()
def _restore(params: Sequence[torch.Tensor], kept: Sequence[torch.Tensor | None]) -> None:
    for p, w in zip(params, kept, strict=True):
        if w is not None:
            p.copy_(w)


def gradient_at_worst_nearby(
    batch: StepBatch, loss: torch.Tensor, again: Callable[[], torch.Tensor], rho: float, adaptive: bool
) -> None:
    """SAM's two passes, without the step: ``loss``'s gradient at the weights ``w`` gives ``ε``
    (:func:`perturbation`); ``again()`` (the loss recomputed) is differentiated at ``w + ε``, batch-norm running
    statistics kept, and ``w`` restored exactly, leaving that second gradient in the parameters' ``.grad``."""
    batch.zero_grad()
    backward(loss)
    kept = _shift(batch.params, perturbation(batch.gradients(), batch.params, rho, adaptive))
    batch.zero_grad()
    with batch.running_stats_kept():
        backward(again())
    _restore(batch.params, kept)


@STRATEGIES.implement
class SharpnessAware(SharpnessAwareDeclaration, Strategy):
    """``sam`` (:class:`~imbalance_lab.declarations.strategies.sharpness.SharpnessAwareDeclaration`): owns the
    step, two passes at ``w`` and ``w + ε`` once switched on."""

    def _on(self, ctx: EpochContext) -> bool:
        return ctx.stage != "main" or ctx.deferred(self.start)

    def optimizer_step(self, batch: StepBatch, ctx: EpochContext) -> torch.Tensor:
        if not self._on(ctx):
            return super().optimizer_step(batch, ctx)
        loss = batch.losses().mean()
        gradient_at_worst_nearby(batch, loss, lambda: batch.losses().mean(), self.rho, self.adaptive)
        batch.optimizer.step()
        return loss.detach()

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs_before(self.start, epochs)  # plain steps until then, exactly the trainer's own


@STRATEGIES.implement
class ImbalancedSharpnessAware(ImbalancedSharpnessAwareDeclaration, Strategy):
    """``imbsam``
    (:class:`~imbalance_lab.declarations.strategies.sharpness.ImbalancedSharpnessAwareDeclaration`): owns the
    step, SAM's two passes on the tail part of the batch's loss."""

    def optimizer_step(self, batch: StepBatch, ctx: EpochContext) -> torch.Tensor:
        tail_classes = ctx.class_counts < self.tail_below
        tail = tail_classes.to(batch.labels.device)[batch.labels]
        losses = batch.losses()
        weight = self.tail_weight
        if not bool(tail.any()):  # no tail example: the plain step
            return plain_step(batch, losses.mean())
        if bool(tail.all()):  # the tail part alone: SAM on the whole batch
            loss = losses.mean()
            gradient_at_worst_nearby(batch, weight * loss, lambda: weight * batch.losses().mean(), self.rho, False)
            batch.optimizer.step()
            return loss.detach()
        size = losses.shape[0]
        head_loss = (losses * ~tail).sum() / size
        batch.zero_grad()
        backward(head_loss, retain_graph=True)
        head_grads = [None if g is None else g.clone() for g in batch.gradients()]
        gradient_at_worst_nearby(
            batch,
            weight * (losses * tail).sum() / size,
            lambda: weight * (batch.losses() * tail).sum() / size,
            self.rho,
            False,
        )
        with torch.no_grad():
            for p, g in zip(batch.params, head_grads, strict=True):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad.add_(g)
        batch.optimizer.step()
        return (head_loss + (losses * tail).sum() / size).detach()
