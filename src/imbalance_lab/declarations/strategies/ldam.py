"""``ldam`` declared: the label-distribution-aware margin loss's largest margin and logit scale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class LDAMDeclaration(StrategyDeclaration):
    """LDAM loss: cross-entropy with the true class's cosine lowered by a margin ``Δ_y ∝ n_y^(−1/4)``.

    The model's classifier becomes a cosine classifier, logits ``s · cos θ_c``
    (features and class weights L2-normalised, as the authors' ``NormedLinear``),
    and the loss of an example of class ``y`` is cross-entropy on those logits
    with ``s · Δ_y`` subtracted from the ``y``-th: ``−log softmax(s(cos θ − Δ_y e_y))_y``.
    Predictions use ``s · cos θ`` without margins. Combine with ``drw`` for LDAM-DRW.

    Parameters
    ----------
    max_margin : float > 0
        The rarest class's margin, ``C`` in ``Δ_c = C / n_c^(1/4)`` (0.5).
    scale : float > 0
        ``s``, the logit scale of the cosine classifier (30).

    References
    ----------
    Cao, K., Wei, C., Gaidon, A., Arechiga, N. and Ma, T. (2019). Learning imbalanced
    datasets with label-distribution-aware margin loss. NeurIPS. arXiv:1906.07413.
    """

    name = "ldam"
    roles = frozenset({"loss", "classifier_norm"})

    def __init__(
        self,
        class_names: Sequence[str],
        max_margin: Annotated[float, Field(gt=0, le=5)] = 0.5,
        scale: Annotated[float, Field(gt=0, le=1000)] = 30.0,
    ) -> None:
        super().__init__(class_names)
        self.max_margin, self.scale = max_margin, scale

    def params(self) -> dict[str, Any]:
        return {"max_margin": self.max_margin, "scale": self.scale}
