"""``focal`` declared: the focal loss's focusing parameter, its two-class α and its form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class FocalDeclaration(StrategyDeclaration):
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

    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "alpha": self.alpha, "form": self.form}
