"""Label-aware smoothing declared: the head's and the tail's smoothing and the shape between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Smoothing = Annotated[float, Field(ge=0, lt=1)]


@STRATEGIES.declare
class LabelAwareSmoothingDeclaration(StrategyDeclaration):
    """Label-aware smoothing: cross-entropy against targets smoothed by ``ε_y``, larger for frequent classes.

    The loss of an example of class ``y`` is ``(1 − ε_y)·(−log p_y) + ε_y·(1/C) Σ_k (−log p_k)``: label
    smoothing towards the uniform distribution, with ``ε_y`` running from ``tail`` for the rarest class
    to ``head`` for the most frequent along ``shape`` (see :func:`imbalance_lab.strategies.smoothing.label_aware_factors`). Frequent classes,
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

    def params(self) -> dict[str, Any]:
        return {"head": self.head, "tail": self.tail, "shape": self.shape, "power": self.power}
