"""Sharpness-aware minimisation: step with the gradient taken at the worst nearby weights.

``sam`` owns the optimiser step (the ``step`` role): each batch's gradient ``g``
at the weights ``w`` gives a perturbation ``ε = ρ · g / ‖g‖`` (the norm over every
trained parameter at once), the gradient is taken again at ``w + ε``, and the
optimiser steps from ``w`` with that second gradient. It composes with any loss,
class weight or sampler of the arm: both passes compute the arm's own loss.
``imbsam`` perturbs only for the tail classes' share of the loss. The second
pass leaves batch-norm running statistics as they were. A step costs about two
forward/backward passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    StepBatch,
    Strategy,
    backward,
    epochs_before,
    plain_step,
)

Rho = Annotated[float, Field(gt=0, le=10)]  # the radius of the ball the weights are perturbed within


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


@STRATEGIES.register
class SharpnessAware(Strategy):
    """SAM: step with the gradient at the worst weights within a ball of radius ρ (about two passes a step).

    Each step: ``g = ∇L(w)``, ``ε = ρ · g / ‖g‖₂`` (one norm over all trained
    parameters), ``g_SAM = ∇L(w + ε)``, then the optimiser's step from ``w`` with
    ``g_SAM`` (its momentum and weight decay as usual). With ``adaptive``, ASAM's
    scale-invariant ball: ``ε = ρ · w² ⊙ g / ‖w ⊙ g‖₂``. The second pass does not
    move batch-norm running statistics. Before ``start`` (a fraction of the
    epochs, as DRW's) steps are plain; Rangwani et al. (2022) switch SAM on with
    LDAM's deferred re-weighting. Costs about two passes a step.

    Parameters
    ----------
    rho : float > 0
        The ball's radius (0.05, Foret et al.'s CIFAR default; 0.5 to 2 for ASAM).
    adaptive : bool
        ASAM's element-wise scaled ball (false).
    start : float in [0, 1)
        Fraction of the main stage's epochs trained with plain steps first (0).

    References
    ----------
    Foret, P., Kleiner, A., Mobahi, H. and Neyshabur, B. (2021). Sharpness-aware minimization for
    efficiently improving generalization. ICLR. arXiv:2010.01412.
    Kwon, J., Kim, J., Park, H. and Choi, I. K. (2021). ASAM: adaptive sharpness-aware minimization for
    scale-invariant learning of deep neural networks. ICML. arXiv:2102.11600.
    Rangwani, H., Aithal, S. K., Mishra, M. and Babu, R. V. (2022). Escaping saddle points for effective
    generalization on class-imbalanced data. NeurIPS. arXiv:2212.13827.
    """

    name = "sam"
    roles = frozenset({"step"})

    def __init__(
        self,
        class_names: Sequence[str],
        rho: Rho = 0.05,
        adaptive: bool = False,
        start: Annotated[float, Field(ge=0, lt=1)] = 0.0,
    ) -> None:
        super().__init__(class_names)
        self.rho, self.adaptive, self.start = rho, adaptive, start

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

    def params(self) -> dict[str, Any]:
        return {"rho": self.rho, "adaptive": self.adaptive, "start": self.start}


@STRATEGIES.register
class ImbalancedSharpnessAware(Strategy):
    """ImbSAM: SAM on the tail classes' share of the loss only (about two passes a step).

    A class is tail when it has fewer than ``tail_below`` training images. With
    ``ℓ_i`` each example's loss and ``B`` the batch size, the head part
    ``L_h = Σ_{head} ℓ_i / B`` and the tail part ``L_t = Σ_{tail} ℓ_i / B`` add
    up to the batch's mean loss. The step: ``g_h = ∇L_h(w)``; ``ε = ρ · ∇L_t(w) /
    ‖∇L_t(w)‖₂``; ``g = g_h + ∇L_t(w + ε)``; the optimiser steps from ``w`` with
    ``g``. Head classes are fitted as usual and only the tail's minimum is
    flattened, where SAM's flat minima help generalisation most. A batch without
    tail examples (or with nothing else) takes SAM's or the plain step as fits.
    The authors' code later (2023-09) doubles the tail part (``tail_weight: 2``);
    the paper's sum is ``1``. The second pass does not move batch-norm running
    statistics.

    Parameters
    ----------
    rho : float > 0
        The ball's radius (0.05).
    tail_below : int >= 1
        Classes with fewer training images than this are tail (20, the authors' CIFAR100-LT value).
    tail_weight : float > 0
        The tail part's factor (1).

    References
    ----------
    Zhou, Y., Qu, Y., Xu, X. and Shen, H. T. (2023). ImbSAM: a closer look at sharpness-aware
    minimization in class-imbalanced recognition. ICCV. arXiv:2308.07815.
    """

    name = "imbsam"
    roles = frozenset({"step"})

    def __init__(
        self,
        class_names: Sequence[str],
        rho: Rho = 0.05,
        tail_below: Annotated[int, Field(ge=1)] = 20,
        tail_weight: Annotated[float, Field(gt=0, le=100)] = 1.0,
    ) -> None:
        super().__init__(class_names)
        self.rho, self.tail_below, self.tail_weight = rho, tail_below, tail_weight

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

    def params(self) -> dict[str, Any]:
        return {"rho": self.rho, "tail_below": self.tail_below, "tail_weight": self.tail_weight}
