"""``ldam``: the label-distribution-aware margin loss on a cosine classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from imbalance_lab.models.base import CosineClassifier, ImageClassifier
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def ldam_margins(counts: torch.Tensor, max_margin: float) -> torch.Tensor:
    """``Δ_c ∝ n_c^(−1/4)``, scaled so the largest (the rarest class's) is ``max_margin``."""
    raw = counts.to(torch.float64).clamp(min=1) ** -0.25
    return (raw * (max_margin / raw.max())).to(torch.float32)


@STRATEGIES.register
class LDAM(Strategy):
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
        self._margins = torch.zeros(self.n_classes)

    def adapt_model(self, model: nn.Module) -> nn.Module:
        if not isinstance(model, ImageClassifier):
            raise TypeError(f"ldam needs a model with a replaceable classifier, got {type(model).__name__}")
        model.set_classifier(CosineClassifier(model.num_features, model.n_outputs, self.scale))
        return model

    def prepare(self, ctx: EpochContext) -> None:
        self._margins = ldam_margins(ctx.class_counts, self.max_margin)

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        # row c of `shifted`: the logits with s·Δ_c taken from the c-th only (B×C×C; C is small)
        shift = torch.diag((self.scale * self._margins).to(device=logits.device, dtype=logits.dtype))
        shifted = logits.unsqueeze(1) - shift
        return -F.log_softmax(shifted, dim=2).diagonal(dim1=1, dim2=2)

    def params(self) -> dict[str, Any]:
        return {"max_margin": self.max_margin, "scale": self.scale}
