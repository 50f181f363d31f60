"""Multi-expert strategies declared: ``balpoe`` (one logit-adjustment strength per expert) and ``ride``
(experts trained with LDAM-DRW, pushed apart)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Experts = Annotated[int, Field(ge=1, le=16)]


@STRATEGIES.declare
class BalancedProductOfExpertsDeclaration(StrategyDeclaration):
    """BalPoE: experts trained with logit adjustment at strengths λ_k, their logits averaged.

    Expert ``k``'s loss is cross-entropy on ``z_k + λ_k · log π`` (π the training
    prior): its logits fit the test prior ``∝ π^(1 − λ_k)``. The arm's loss is the
    mean over experts; the model predicts the mean of the experts' logits, which
    fits ``π^(1 − λ̄)``: balanced when ``λ̄ = 1`` (a product of experts). The
    default λ = (0, 1, 2) is the authors' CIFAR setting (their ImageNet-LT one
    is (0, 1.25, 2.5)); they also train with mixup (``[balpoe, mixup]``) and
    cosine classifiers. Expert 1 is the model's own classifier, the others fresh
    heads of the same kind.

    Parameters
    ----------
    lambdas : list of float
        One logit-adjustment strength per expert ((0, 1, 2)); their mean sets the prior predicted for.

    References
    ----------
    Sanchez Aimar, E., Jonnarth, A., Felsberg, M. and Kuhlmann, M. (2023). Balanced product of calibrated
    experts for long-tailed recognition. CVPR. arXiv:2206.05260.
    """

    name = "balpoe"
    roles = frozenset({"loss", "classifier_norm"})

    def __init__(
        self,
        class_names: Sequence[str],
        lambdas: Annotated[tuple[Annotated[float, Field(ge=-10, le=10)], ...], Field(min_length=1, max_length=16)] = (
            0.0,
            1.0,
            2.0,
        ),
    ) -> None:
        super().__init__(class_names)
        self.lambdas = [float(x) for x in lambdas]

    def params(self) -> dict[str, Any]:
        return {"lambdas": self.lambdas}


@STRATEGIES.declare
class RoutingDiverseExpertsDeclaration(StrategyDeclaration):
    """RIDE (without its router): experts trained with LDAM-DRW, pushed apart by a diversity term.

    Each expert ``i`` has a cosine classifier (logits ``s · cos θ``) and the loss
    is the sum over experts of ``LDAM-DRW(z_i, y) + w · T̄² · KL(p̄ ‖ p_i)``, with
    ``p_i = softmax(z_i / T_c)`` and ``p̄ = softmax(z̄ / T_c)`` of the experts' mean
    logits ``z̄`` (held fixed: no gradient through it). ``w`` is negative, so the
    experts are rewarded for disagreeing with their consensus. From ``start`` on
    (DRW's switch), the class weights are the effective-number ones (β = 0.9999,
    ``Σ w_c = C``) on the LDAM term only, and the temperatures become
    distribution-aware, ``T_c = T · β_c``, ``β_c = (α C π_c + 1 − α) / max_c'(α C π_c' + 1 − α)``
    (frequent classes hotter); before, ``T_c = T``. ``T̄`` is the mean of ``T_c``.
    The model predicts the mean of the experts' logits (the router, an optional
    second stage in the paper that skips experts for easy images, is not built).

    Parameters
    ----------
    experts : int >= 1
        How many experts (3).
    diversity : float
        ``w``, the diversity term's weight (−0.2; the authors use −0.45 on CIFAR-100-LT).
    temperature : float > 0
        ``T`` (1.0).
    alpha : float in [0, 1]
        How much the temperatures follow the prior after ``start`` (0.05).
    start : float in [0, 1)
        DRW's switch as a fraction of the epochs (0.8: epoch 160 of 200).
    max_margin : float > 0
        LDAM's largest margin (0.5).
    scale : float > 0
        The cosine classifiers' ``s`` (30).

    References
    ----------
    Wang, X., Lian, L., Miao, Z., Liu, Z. and Yu, S. X. (2021). Long-tailed recognition by routing diverse
    distribution-aware experts. ICLR. arXiv:2010.01809.
    """

    name = "ride"
    roles = frozenset({"loss", "classifier_norm"})

    def __init__(
        self,
        class_names: Sequence[str],
        experts: Experts = 3,
        diversity: Annotated[float, Field(ge=-10, le=10)] = -0.2,
        temperature: Annotated[float, Field(gt=0, le=100)] = 1.0,
        alpha: Annotated[float, Field(ge=0, le=1)] = 0.05,
        start: Annotated[float, Field(ge=0, lt=1)] = 0.8,
        max_margin: Annotated[float, Field(gt=0, le=5)] = 0.5,
        scale: Annotated[float, Field(gt=0, le=1000)] = 30.0,
    ) -> None:
        super().__init__(class_names)
        self.experts, self.diversity, self.temperature, self.alpha = experts, diversity, temperature, alpha
        self.start, self.max_margin, self.scale = start, max_margin, scale

    def params(self) -> dict[str, Any]:
        return {
            "experts": self.experts,
            "diversity": self.diversity,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "start": self.start,
            "max_margin": self.max_margin,
            "scale": self.scale,
        }
