"""Re-weighting by the effective number of samples: ``class_balanced`` (always) and ``drw`` (deferred)."""

from __future__ import annotations

import torch

from imbalance_lab.declarations.strategies.effective_number import (
    ClassBalancedDeclaration,
    DeferredReweightingDeclaration,
)
from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    Strategy,
    epochs_before,
)


def effective_number_weights(counts: torch.Tensor, beta: float) -> torch.Tensor:
    """``w_c = (1 − β) / (1 − β^n_c)``, scaled so the weights sum to the number of classes.

    The inverse of the effective number of samples ``E_n = (1 − β^n) / (1 − β)``
    (Cui et al. 2019, arXiv:1901.05555, eq. 3 and their code's normalisation
    ``Σ_c w_c = C``). ``β = 0`` gives all ones; ``β → 1`` approaches ``1/n_c``. A
    class with no training image gets the weight of a class with one.
    """
    n = counts.to(torch.float64).clamp(min=1)
    raw = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), n))
    return (raw * counts.shape[0] / raw.sum()).to(torch.float32)


@STRATEGIES.implement
class ClassBalanced(ClassBalancedDeclaration, Strategy):
    """``class_balanced`` (:class:`~imbalance_lab.declarations.strategies.effective_number.ClassBalancedDeclaration`):
    the effective-number weights as loss weights, every epoch."""

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor:
        return effective_number_weights(ctx.class_counts, self.beta)


@STRATEGIES.implement
class DeferredReweighting(DeferredReweightingDeclaration, Strategy):
    """``drw`` (:class:`~imbalance_lab.declarations.strategies.effective_number.DeferredReweightingDeclaration`):
    the effective-number weights as loss weights from its switch on."""

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor | None:
        return effective_number_weights(ctx.class_counts, self.beta) if ctx.deferred(self.start) else None

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs_before(self.start, epochs)  # unweighted until then
