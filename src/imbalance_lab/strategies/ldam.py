"""``ldam``: the label-distribution-aware margin loss on a cosine classifier."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imbalance_lab.declarations.strategies.ldam import LDAMDeclaration
from imbalance_lab.models.base import CosineClassifier, ImageClassifier
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def ldam_margins(counts: torch.Tensor, max_margin: float) -> torch.Tensor:
    """``Δ_c ∝ n_c^(−1/4)``, scaled so the largest (the rarest class's) is ``max_margin``."""
    raw = counts.to(torch.float64).clamp(min=1) ** -0.25
    return (raw * (max_margin / raw.max())).to(torch.float32)


@STRATEGIES.implement
class LDAM(LDAMDeclaration, Strategy):
    """``ldam`` (:class:`~imbalance_lab.declarations.strategies.ldam.LDAMDeclaration`): the cosine classifier
    and the class losses with each class's margin, from the arm's counts."""

    _margins: torch.Tensor | None = None  # learned in prepare; no margins (zeros) before

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
        margins = torch.zeros(self.n_classes) if self._margins is None else self._margins
        # row c of `shifted`: the logits with s·Δ_c taken from the c-th only (B×C×C; C is small)
        shift = torch.diag((self.scale * margins).to(device=logits.device, dtype=logits.dtype))
        shifted = logits.unsqueeze(1) - shift
        return -F.log_softmax(shifted, dim=2).diagonal(dim1=1, dim2=2)
