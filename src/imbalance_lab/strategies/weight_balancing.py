"""Weight balancing: keep the classes' weights in balance by weight decay and a cap on their norms.

Alshammari et al. (2022) observe that a naively trained classifier has larger
weight norms for frequent classes, and balance them two ways: ``weight_decay``
(tuned, much larger than usual) while the features are learned, then a
classifier re-trained with a class-balanced loss, weight decay and ``max_norm``,
a projection of each class's weight vector into a ball after every step.
``weight_balancing`` is their two-stage recipe with their values as defaults.
The strategies' names, parameters, docstrings and stage are declared in
:mod:`imbalance_lab.declarations.strategies.weight_balancing`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imbalance_lab.declarations.strategies.weight_balancing import (
    MaxNormDeclaration,
    WeightBalancingDeclaration,
    WeightDecayDeclaration,
)
from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


@STRATEGIES.implement
class WeightDecay(WeightDecayDeclaration, Strategy):
    """``weight_decay`` (:class:`~imbalance_lab.declarations.strategies.weight_balancing.WeightDecayDeclaration`):
    the optimiser's parameter groups with the arm's weight decay."""

    def param_groups(
        self, params: list[nn.Parameter], weight_decay: float, ctx: EpochContext
    ) -> list[dict[str, Any]] | None:
        if self.norms_and_biases:
            return [{"params": params, "weight_decay": self.value}]
        decayed = [p for p in params if p.ndim > 1]
        kept = [p for p in params if p.ndim <= 1]
        return [
            g
            for g in ({"params": decayed, "weight_decay": self.value}, {"params": kept, "weight_decay": 0.0})
            if g["params"]
        ]


def classifier_weight(model: nn.Module, who: str) -> torch.Tensor:
    """The C×F weight matrix of the model's classifier (one row per class)."""
    head = model.get_classifier() if isinstance(model, ImageClassifier) else None
    weight = getattr(head, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise TypeError(f"{who} needs a model whose classifier has one weight row per class")
    return weight


def max_norm_radius(row_norms: torch.Tensor, threshold: float) -> float:
    """The ball's radius from the classes' weight norms ``r_c`` when the stage begins:
    ``min_c r_c + threshold · (max_c r_c − min_c r_c)`` (the authors' ``MaxNorm_via_PGD``)."""
    low, high = float(row_norms.min()), float(row_norms.max())
    return low + threshold * (high - low)


@STRATEGIES.implement
class MaxNorm(MaxNormDeclaration, Strategy):
    """``max_norm`` (:class:`~imbalance_lab.declarations.strategies.weight_balancing.MaxNormDeclaration`): the
    radius from the classifier's rows when the stage begins, the projection after each step."""

    @torch.no_grad()
    def begin_stage(self, model: nn.Module, ctx: EpochContext) -> None:
        if not self.absolute:
            self.radius = max_norm_radius(classifier_weight(model, self.name).norm(dim=1), self.threshold)

    @torch.no_grad()
    def after_step(self, model: nn.Module, ctx: EpochContext) -> None:
        weight = classifier_weight(model, self.name)
        norms = weight.norm(dim=1, keepdim=True)
        weight.mul_(torch.where(norms > self.radius, self.radius / norms, torch.ones_like(norms)))


@STRATEGIES.implement
class WeightBalancing(WeightBalancingDeclaration, Strategy):
    """``weight_balancing``
    (:class:`~imbalance_lab.declarations.strategies.weight_balancing.WeightBalancingDeclaration`): stage 1's
    weight decay on every parameter (stage 2 is declared)."""

    def param_groups(
        self, params: list[nn.Parameter], weight_decay: float, ctx: EpochContext
    ) -> list[dict[str, Any]] | None:
        return [{"params": params, "weight_decay": self.weight_decay}]
