"""``focal``: the focal loss, in its softmax (multi-class) and sigmoid (binary) forms."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.focal import FocalDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def sigmoid_focal(logit: torch.Tensor, target: torch.Tensor, gamma: float, alpha: float | None) -> torch.Tensor:
    """Element-wise sigmoid focal loss ``−α_t (1 − p_t)^γ log p_t`` of a logit and a 0/1 target.

    ``p_t = σ(z)`` for target 1, ``1 − σ(z)`` for 0; ``α_t = α`` for target 1 and
    ``1 − α`` for 0 (none when ``alpha`` is ``None``). The same values as
    ``torchvision.ops.sigmoid_focal_loss(..., reduction="none")``.
    """
    p = torch.sigmoid(logit)
    ce = F.binary_cross_entropy_with_logits(logit, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss


@STRATEGIES.implement
class Focal(FocalDeclaration, Strategy):
    """``focal`` (:class:`~imbalance_lab.declarations.strategies.focal.FocalDeclaration`): each class's focal
    loss, α given to the arm's positive class."""

    _positive: int = 1  # the positive class's index, from the arm in prepare

    def prepare(self, ctx: EpochContext) -> None:
        if ctx.positive is not None:
            self._positive = ctx.positive

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        pos = self._positive
        if self.form == "sigmoid":
            d = logits[:, pos] - logits[:, 1 - pos]
            as_positive = sigmoid_focal(d, torch.ones_like(d), self.gamma, self.alpha)
            as_negative = sigmoid_focal(d, torch.zeros_like(d), self.gamma, self.alpha)
            return torch.stack([as_negative, as_positive] if pos == 1 else [as_positive, as_negative], dim=1)
        log_p = F.log_softmax(logits, dim=1)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        if self.alpha is not None:
            alpha = torch.full((2,), 1 - self.alpha, dtype=loss.dtype, device=loss.device)
            alpha[pos] = self.alpha
            loss = loss * alpha
        return loss
