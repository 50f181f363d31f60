"""Label-aware smoothing: label smoothing whose strength follows each class's training count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from imbalance_lab.strategies.base import STRATEGIES, EpochContext, Strategy

Smoothing = Annotated[float, Field(ge=0, lt=1)]


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


@STRATEGIES.register
class LabelAwareSmoothing(Strategy):
    """Label-aware smoothing: cross-entropy against targets smoothed by ``ε_y``, larger for frequent classes.

    The loss of an example of class ``y`` is ``(1 − ε_y)·(−log p_y) + ε_y·(1/C) Σ_k (−log p_k)``: label
    smoothing towards the uniform distribution, with ``ε_y`` running from ``tail`` for the rarest class
    to ``head`` for the most frequent along ``shape`` (see :func:`label_aware_factors`). Frequent classes,
    on which a network grows over-confident, are smoothed most, which improves calibration and accuracy
    on the tail. MiSLAS uses it in its second stage (classifier re-training) after mixup training;
    here it is a loss like any other (``[crt]``'s stage keeps cross-entropy).

    Parameters
    ----------
    head : float in [0, 1)
        The most frequent class's ε (0.3, MiSLAS's CIFAR-10-LT and ImageNet-LT value; 0.4 on CIFAR-100-LT).
    tail : float in [0, 1)
        The rarest class's ε (0.0; 0.1 on CIFAR-100-LT).
    shape : ``concave``, ``linear``, ``convex`` or ``exp``
        How ε runs between them (concave).
    power : float > 0
        The exponent of ``exp`` (2.0).

    References
    ----------
    Zhong, Z., Cui, J., Liu, S. and Jia, J. (2021). Improving calibration for long-tailed recognition.
    CVPR. arXiv:2104.00466.
    """

    name = "label_aware_smoothing"
    roles = frozenset({"loss"})

    def __init__(
        self,
        class_names: Sequence[str],
        head: Smoothing = 0.3,
        tail: Smoothing = 0.0,
        shape: Literal["concave", "linear", "convex", "exp"] = "concave",
        power: Annotated[float, Field(gt=0, le=10)] = 2.0,
    ) -> None:
        super().__init__(class_names)
        self.head, self.tail, self.shape, self.power = head, tail, shape, power
        self._eps = torch.zeros(len(class_names))

    def prepare(self, ctx: EpochContext) -> None:
        self._eps = label_aware_factors(ctx.class_counts, self.head, self.tail, self.shape, self.power).to(
            torch.float32
        )

    def class_losses(
        self, logits: torch.Tensor, features: torch.Tensor, targets: torch.Tensor, ctx: EpochContext
    ) -> torch.Tensor:
        nll = -F.log_softmax(logits, dim=1)
        eps = self._eps.to(device=logits.device, dtype=logits.dtype)
        return (1 - eps) * nll + eps * nll.mean(dim=1, keepdim=True)

    def params(self) -> dict[str, Any]:
        return {"head": self.head, "tail": self.tail, "shape": self.shape, "power": self.power}
