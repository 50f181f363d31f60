"""``focal``: the focal loss, in its softmax (multi-class) and sigmoid (binary) forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

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


@STRATEGIES.register
class Focal(Strategy):
    """Focal loss: down-weight well-classified examples by ``(1 − p_t)^γ``.

    ``softmax`` (any number of classes): ``L_c = −α_c (1 − p_c)^γ log p_c`` with
    ``p = softmax(z)``. ``sigmoid`` (two classes): the binary focal loss on the
    logit ``d = z_pos − z_neg``, whose sigmoid is the model's softmax probability
    of the positive class, so training and prediction agree; equal to
    ``torchvision.ops.sigmoid_focal_loss(d, t, alpha, gamma)`` and to seed 003's
    ``tfa.losses.SigmoidFocalCrossEntropy`` on ``σ(d)``. ``γ = 0`` without ``α``
    is cross-entropy.

    Parameters
    ----------
    gamma : float >= 0
        The focusing parameter (2 in the paper).
    alpha : float in (0, 1) or None
        Two classes only: the weight of the positive class, ``1 − α`` the other's
        (the paper's and torchvision's ``0.25``). ``None`` (default): no α.
    form : ``"softmax"`` or ``"sigmoid"``

    References
    ----------
    Lin, T.-Y., Goyal, P., Girshick, R., He, K. and Dollár, P. (2017). Focal loss for
    dense object detection. ICCV. arXiv:1708.02002.
    """

    name = "focal"
    roles = frozenset({"loss"})

    def __init__(
        self,
        class_names: Sequence[str],
        gamma: Annotated[float, Field(ge=0, le=10)] = 2.0,
        alpha: Annotated[float, Field(gt=0, lt=1)] | None = None,
        form: Literal["softmax", "sigmoid"] = "softmax",
    ) -> None:
        super().__init__(class_names)
        if (form == "sigmoid" or alpha is not None) and self.n_classes != 2:
            what = "the sigmoid form" if form == "sigmoid" else "alpha"
            raise ValueError(
                f"{what} is for two classes, this experiment has {self.n_classes}; "
                "use form: softmax without alpha (weight classes with class_weight or class_balanced)"
            )
        self.gamma, self.alpha, self.form = gamma, alpha, form
        self._positive = 1

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

    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "alpha": self.alpha, "form": self.form}
