"""Re-weighting by the effective number of samples: ``class_balanced`` (always) and ``drw`` (deferred)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    Strategy,
    epochs_before,
)

Beta = Annotated[float, Field(ge=0, lt=1)]
Start = Annotated[float, Field(ge=0, lt=1)]


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


@STRATEGIES.register
class ClassBalanced(Strategy):
    """Class-balanced loss: weight each class by the inverse of its effective number of samples.

    ``w_c = (1 − β) / (1 − β^n_c)``, normalised so ``Σ_c w_c = C``; the weights
    multiply whatever loss the arm uses, so ``[class_balanced, focal]`` is the
    paper's class-balanced focal loss.

    Parameters
    ----------
    beta : float in [0, 1)
        ``0`` weighs every class 1; the paper's best CIFAR values are ``0.999`` to
        ``0.9999`` (the larger, the closer to inverse frequency).

    References
    ----------
    Cui, Y., Jia, M., Lin, T.-Y., Song, Y. and Belongie, S. (2019). Class-balanced
    loss based on effective number of samples. CVPR. arXiv:1901.05555.
    """

    name = "class_balanced"

    def __init__(self, class_names: Sequence[str], beta: Beta = 0.9999) -> None:
        super().__init__(class_names)
        self.beta = beta

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor:
        return effective_number_weights(ctx.class_counts, self.beta)

    def params(self) -> dict[str, Any]:
        return {"beta": self.beta}


@STRATEGIES.register
class DeferredReweighting(Strategy):
    """DRW: train unweighted first, then with class-balanced (effective-number) weights.

    Until the fraction ``start`` of the epochs every class weighs 1; from epoch
    ``⌊start · epochs⌋ + 1`` on, ``w_c = (1 − β) / (1 − β^n_c)`` normalised to
    ``Σ_c w_c = C`` (Cao et al. switch at epoch 160 of 200, when the learning
    rate first drops, with ``β = 0.9999``). ``[ldam, drw]`` is LDAM-DRW. As every
    class weight here, the batch loss is ``mean_i(w[y_i] · L_i)``; the authors'
    code passes the weights to PyTorch's cross-entropy, whose mean divides by
    ``Σ_i w[y_i]`` instead: a per-batch scale that SGD feels and Adam nearly
    does not.

    Parameters
    ----------
    start : float in [0, 1)
        The fraction of the epochs trained unweighted.
    beta : float in [0, 1)
        As in ``class_balanced``.

    References
    ----------
    Cao, K., Wei, C., Gaidon, A., Arechiga, N. and Ma, T. (2019). Learning
    imbalanced datasets with label-distribution-aware margin loss. NeurIPS.
    arXiv:1906.07413.
    """

    name = "drw"

    def __init__(self, class_names: Sequence[str], start: Start = 0.8, beta: Beta = 0.9999) -> None:
        super().__init__(class_names)
        self.start = start
        self.beta = beta

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor | None:
        return effective_number_weights(ctx.class_counts, self.beta) if ctx.deferred(self.start) else None

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs_before(self.start, epochs)  # unweighted until then

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "beta": self.beta}
