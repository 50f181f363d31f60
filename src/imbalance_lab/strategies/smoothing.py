"""Label-aware smoothing: label smoothing whose strength follows each class's training count (declared in
:mod:`imbalance_lab.declarations.strategies.smoothing`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from imbalance_lab.declarations.strategies.smoothing import LabelAwareSmoothingDeclaration
from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy


def label_aware_factors(counts: torch.Tensor, head: float, tail: float, shape: str, power: float) -> torch.Tensor:
    """Each class's smoothing ``ε_c`` (float64) from its count ``n_c``, between ``tail`` (the smallest class,
    ``n_K``) and ``head`` (the largest, ``n_1``), with ``t_c = (n_c − n_K) / (n_1 − n_K)``:
    concave ``ε_K + (ε_1 − ε_K) sin(π t / 2)``, linear ``ε_K + (ε_1 − ε_K) t``, convex
    ``ε_1 + (ε_1 − ε_K) sin(3π/2 + π t / 2)``, exp ``ε_K + (ε_1 − ε_K) t^p`` (Zhong et al. 2021, eq. 5);
    every class ``head`` when all counts are equal."""
    n = counts.to(torch.float64)
    spread = n.max() - n.min()
    if spread == 0:
        return torch.full_like(n, head)
    t = (n - n.min()) / spread
    if shape == "concave":
        return tail + (head - tail) * torch.sin(t * math.pi / 2)
    if shape == "linear":
        return tail + (head - tail) * t
    if shape == "convex":
        return head + (head - tail) * torch.sin(1.5 * math.pi + t * math.pi / 2)
    return tail + (head - tail) * t**power


@STRATEGIES.implement
class LabelAwareSmoothing(LabelAwareSmoothingDeclaration, Strategy):
    """``label_aware_smoothing``
    (:class:`~imbalance_lab.declarations.strategies.smoothing.LabelAwareSmoothingDeclaration`): each class's
    ε from the arm's counts, in the loss matrix."""

    _eps: torch.Tensor | None = None  # each class's ε, learned from the arm's counts in prepare (0 until then)

    def prepare(self, ctx: EpochContext) -> None:
        self._eps = label_aware_factors(ctx.class_counts, self.head, self.tail, self.shape, self.power).to(
            torch.float32
        )

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        nll = -F.log_softmax(logits, dim=1)
        eps = (torch.zeros(self.n_classes) if self._eps is None else self._eps).to(
            device=logits.device, dtype=logits.dtype
        )
        return (1 - eps) * nll + eps * nll.mean(dim=1, keepdim=True)
