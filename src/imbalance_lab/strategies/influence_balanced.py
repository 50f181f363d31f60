"""``influence_balanced``: down-weight examples with a large influence on the decision boundary."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.influence_balanced import InfluenceBalancedDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy

EPSILON = 1e-3


@STRATEGIES.implement
class InfluenceBalanced(InfluenceBalancedDeclaration, Strategy):
    """``influence_balanced``
    (:class:`~imbalance_lab.declarations.strategies.influence_balanced.InfluenceBalancedDeclaration`): the
    inverse-frequency weights and each example's loss divided by its influence, once deferred."""

    def loss_weights(self, ctx: EpochContext) -> torch.Tensor | None:
        if self.class_weights == "none" or not ctx.deferred(self.start):
            return None
        inverse = 1.0 / ctx.class_counts.to(torch.float64).clamp(min=1)
        return (inverse * ctx.n_classes / inverse.sum()).to(torch.float32)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        ce = -F.log_softmax(logits, dim=1)
        if not ctx.deferred(self.start):
            return ce
        probs = F.softmax(logits, dim=1)
        # ‖p − e_c‖₁ for every candidate class c: Σ_k p_k − p_c + (1 − p_c) = 2 (1 − p_c)
        grad_norm = 2.0 * (1.0 - probs)
        feature_norm = features.float().abs().sum(dim=1, keepdim=True)
        return ce * self.alpha / (grad_norm * feature_norm + EPSILON)
