"""Sharpness-aware minimisation declared: ``sam`` and ``imbsam``, which own the optimiser step (the ``step``
role), their radius and when they switch on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Rho = Annotated[float, Field(gt=0, le=10)]  # the radius of the ball the weights are perturbed within


@STRATEGIES.declare
class SharpnessAwareDeclaration(StrategyDeclaration):
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

    def params(self) -> dict[str, Any]:
        return {"rho": self.rho, "adaptive": self.adaptive, "start": self.start}


@STRATEGIES.declare
class ImbalancedSharpnessAwareDeclaration(StrategyDeclaration):
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

    def params(self) -> dict[str, Any]:
        return {"rho": self.rho, "tail_below": self.tail_below, "tail_weight": self.tail_weight}
