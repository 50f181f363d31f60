"""``influence_balanced`` declared: the influence-balanced loss's scale, start and class weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class InfluenceBalancedDeclaration(StrategyDeclaration):
    """Influence-balanced loss: after a normal start, each example's loss is divided by its influence.

    Until the fraction ``start`` of the epochs: plain cross-entropy. Then the
    loss of example ``i`` is ``w_y · CE_i · α / (‖p_i − y_i‖₁ · ‖h_i‖₁ + ε)``,
    where ``p`` is the softmax output, ``h`` the classifier's input features and
    ``ε = 0.001``: ``‖p − y‖₁ ‖h‖₁`` bounds the norm of the loss's gradient with
    respect to the classifier weights, the example's influence. The factor is not
    detached (as the authors' code). ``w`` are inverse-frequency weights
    normalised to ``Σ_c w_c = C`` (the paper's ``λ_k``), or none.

    Parameters
    ----------
    alpha : float > 0
        The scale ``α`` (1000 in the authors' training scripts).
    start : float in [0, 1)
        The fraction of the epochs trained with plain cross-entropy (0.5: epoch 100 of 200).
    class_weights : ``"inverse"`` or ``"none"``

    References
    ----------
    Park, S., Lim, J., Jeon, Y. and Choi, J. Y. (2021). Influence-balanced loss for
    imbalanced visual classification. ICCV. arXiv:2110.02444.
    """

    name = "influence_balanced"
    roles = frozenset({"loss"})

    def __init__(
        self,
        class_names: Sequence[str],
        alpha: Annotated[float, Field(gt=0, le=1e6)] = 1000.0,
        start: Annotated[float, Field(ge=0, lt=1)] = 0.5,
        class_weights: Literal["inverse", "none"] = "inverse",
    ) -> None:
        super().__init__(class_names)
        self.alpha, self.start, self.class_weights = alpha, start, class_weights

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "start": self.start, "class_weights": self.class_weights}
