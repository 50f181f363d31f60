"""``class_weight``: weight each class's loss (the Keras ``class_weight`` of seeds 000/001)."""

from __future__ import annotations

import torch

from imbalance_lab.declarations.strategies.class_weight import ClassWeightDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


@STRATEGIES.implement
class ClassWeight(ClassWeightDeclaration, Strategy):
    """``class_weight`` (:class:`~imbalance_lab.declarations.strategies.class_weight.ClassWeightDeclaration`):
    its weights as loss weights, from the arm's counts for ``inverse`` and ``sqrt_inverse``."""

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor:
        counts = ctx.class_counts.to(torch.float64)
        if self.weights == "inverse":
            return (counts.sum() / (self.n_classes * counts.clamp(min=1))).to(torch.float32)
        if self.weights == "sqrt_inverse":
            raw = counts.clamp(min=1).rsqrt()
            return (raw * counts.sum() / (raw * counts).sum()).to(torch.float32)
        return torch.tensor([self.weights[c] for c in self.class_names], dtype=torch.float32)
