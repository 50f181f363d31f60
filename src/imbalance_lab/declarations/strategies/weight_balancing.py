"""Weight balancing declared: ``weight_decay``, ``max_norm`` and the two-stage ``weight_balancing`` (its
stage included), with Alshammari et al.'s values as defaults."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, Stage, StrategyDeclaration

Decay = Annotated[float, Field(ge=0, le=10)]


@STRATEGIES.declare
class WeightDecayDeclaration(StrategyDeclaration):
    """Weight decay of the arm's own: ``λ‖w‖²/2`` on every trained parameter (its gradient ``λw``).

    Overrides ``training.weight_decay`` for this arm (the optimiser's decoupled
    form under ``adamw``), on every parameter as the paper's code does (batch-norm
    scales and biases too) unless ``norms_and_biases: false``, which decays the
    weights of convolutions and linear layers alone (one-dimensional parameters
    are left undecayed). Alshammari et al. find a tuned weight decay alone (5·10⁻³
    on CIFAR100-LT with SGD at lr 0.01) beats most long-tail losses.

    Parameters
    ----------
    value : float >= 0
        The weight decay λ (5e-3).
    norms_and_biases : bool
        Whether one-dimensional parameters (batch-norm scales and shifts, biases) decay too (true).

    References
    ----------
    Alshammari, S., Wang, Y.-X., Ramanan, D. and Kong, S. (2022). Long-tailed recognition via weight
    balancing. CVPR. arXiv:2203.14197.
    """

    name = "weight_decay"
    roles = frozenset({"weight_decay"})

    def __init__(self, class_names: Sequence[str], value: Decay = 5e-3, norms_and_biases: bool = True) -> None:
        super().__init__(class_names)
        self.value, self.norms_and_biases = value, norms_and_biases

    def params(self) -> dict[str, Any]:
        return {"value": self.value, "norms_and_biases": self.norms_and_biases}


@STRATEGIES.declare
class MaxNormDeclaration(StrategyDeclaration):
    """MaxNorm: after every step, each class's classifier weights projected into a ball, ``‖w_c‖ ≤ r``.

    Projected gradient descent: a row ``w_c`` with ``‖w_c‖₂ > r`` becomes
    ``w_c · r / ‖w_c‖₂``; the bias is left alone. The radius is relative (the
    authors' code): when the stage begins, ``r = min_c ‖w_c‖ + threshold ·
    (max_c ‖w_c‖ − min_c ‖w_c‖)`` over the classifier's rows then, so small
    weights may grow up to it and large ones are capped; ``absolute: true`` takes
    ``threshold`` as ``r`` itself. The authors' code projects once per epoch,
    after its training pass; this projects after each step, as projected gradient
    descent and the paper describe it.

    Parameters
    ----------
    threshold : float >= 0
        The radius, relative to the norms' spread when the stage begins (0.1), or absolute.
    absolute : bool
        Take ``threshold`` as the radius itself (false).

    References
    ----------
    Alshammari, S., Wang, Y.-X., Ramanan, D. and Kong, S. (2022). Long-tailed recognition via weight
    balancing. CVPR. arXiv:2203.14197.
    """

    name = "max_norm"
    roles = frozenset({"classifier_norm"})

    def __init__(
        self, class_names: Sequence[str], threshold: Annotated[float, Field(ge=0, le=1e6)] = 0.1, absolute: bool = False
    ) -> None:
        super().__init__(class_names)
        self.threshold, self.absolute = threshold, absolute
        self.radius = threshold if absolute else math.nan  # a relative radius is learned when the stage begins

    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "absolute": self.absolute}


@STRATEGIES.declare
class WeightBalancingDeclaration(StrategyDeclaration):
    """Weight balancing: features learned under a tuned weight decay, then the classifier re-balanced.

    Stage 1 (the main stage): the arm's loss (cross-entropy in the paper) with
    weight decay ``weight_decay`` on every parameter. Stage 2: the classifier
    alone (the backbone frozen, in eval mode), kept as trained, for
    ``stage_epochs`` more epochs with the class-balanced loss (effective-number
    weights ``w_c ∝ (1 − β)/(1 − β^n_c)``, ``Σ w_c = C``, on the cross-entropy),
    weight decay ``stage_weight_decay`` and ``max_norm`` at ``threshold``; the
    learning rate follows a cosine from ``lr`` (default ``training.lr``) to 0.

    The defaults are the paper's CIFAR100-LT values (its SGD at lr 0.01, momentum
    0.9, batch 64). Where the authors' code differs: its class-balanced loss is a
    binary cross-entropy on the softmax probabilities, weighted by those ``w_c``
    (a quirk of the re-implementation of Cui et al. it uses); here it is Cui et
    al.'s weighted softmax cross-entropy. Its frozen backbone stays in training
    mode, so batch-norm statistics keep moving in stage 2; here they are fixed.
    Its projection runs once per epoch (here after each step, see ``max_norm``).

    Parameters
    ----------
    weight_decay : float >= 0
        Stage 1's weight decay (5e-3).
    stage_epochs : int >= 1
        Stage 2's epochs (10).
    stage_weight_decay : float >= 0
        Stage 2's weight decay (0.1).
    threshold : float >= 0
        MaxNorm's relative radius (0.1).
    beta : float in [0, 1)
        The class-balanced loss's β (0.9999).
    lr : float > 0 or None
        Stage 2's learning rate (``None``: ``training.lr``).

    References
    ----------
    Alshammari, S., Wang, Y.-X., Ramanan, D. and Kong, S. (2022). Long-tailed recognition via weight
    balancing. CVPR. arXiv:2203.14197.
    """

    name = "weight_balancing"
    roles = frozenset({"weight_decay", "stage"})

    def __init__(
        self,
        class_names: Sequence[str],
        weight_decay: Decay = 5e-3,
        stage_epochs: Annotated[int, Field(ge=1, le=10_000)] = 10,
        stage_weight_decay: Decay = 0.1,
        threshold: Annotated[float, Field(ge=0, le=1e6)] = 0.1,
        beta: Annotated[float, Field(ge=0, lt=1)] = 0.9999,
        lr: Annotated[float, Field(gt=0, le=10)] | None = None,
    ) -> None:
        super().__init__(class_names)
        self.weight_decay, self.stage_epochs, self.stage_weight_decay = weight_decay, stage_epochs, stage_weight_decay
        self.threshold, self.beta, self.lr = threshold, beta, lr

    def stages(self) -> list[Stage]:
        return [
            Stage(
                "weight_balancing",
                self.stage_epochs,
                train="classifier",
                reset_classifier="keep",
                strategy=(("class_balanced", {"beta": self.beta}), ("max_norm", {"threshold": self.threshold})),
                lr=self.lr,
                weight_decay=self.stage_weight_decay,
            )
        ]

    def params(self) -> dict[str, Any]:
        return {
            "weight_decay": self.weight_decay,
            "stage_epochs": self.stage_epochs,
            "stage_weight_decay": self.stage_weight_decay,
            "threshold": self.threshold,
            "beta": self.beta,
            "lr": self.lr,
        }
