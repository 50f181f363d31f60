"""Losses that shift or scale the logits by the training prior before cross-entropy, declared.

``logit_adjusted`` (Menon et al. 2021), ``balanced_softmax`` (Ren et al. 2020)
and ``vs_loss`` (Kini et al. 2021) all train on modified logits and predict with
the plain ones, so the model learns scores fit for a balanced test set. With
``π_c = n_c / n``: logit-adjusted ``z_c + τ log π_c``; balanced softmax
``z_c + log n_c`` (the same as ``τ = 1``, since softmax ignores a shift common
to every class); VS ``Δ_c z_c + τ log π_c`` with ``Δ_c = (n_c / n_max)^γ``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Tau = Annotated[float, Field(ge=0, le=10)]


class AdjustedSoftmaxDeclaration(StrategyDeclaration):
    """Cross-entropy on ``scale_c · z_c + offset_c``: it owns the loss."""

    roles = frozenset({"loss"})


@STRATEGIES.declare
class LogitAdjustedDeclaration(AdjustedSoftmaxDeclaration):
    """Logit-adjusted loss: cross-entropy on ``z_c + τ · log π_c``; predictions use ``z``.

    Parameters
    ----------
    tau : float >= 0
        ``1`` (default) is Fisher-consistent for the balanced error; ``0`` is cross-entropy.

    References
    ----------
    Menon, A. K., Jayasumana, S., Rawat, A. S., Jain, H., Veit, A. and Kumar, S. (2021).
    Long-tail learning via logit adjustment. ICLR. arXiv:2007.07314.
    """

    name = "logit_adjusted"

    def __init__(self, class_names: Sequence[str], tau: Tau = 1.0) -> None:
        super().__init__(class_names)
        self.tau = tau

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau}


@STRATEGIES.declare
class BalancedSoftmaxDeclaration(AdjustedSoftmaxDeclaration):
    """Balanced softmax: cross-entropy on ``z_c + log n_c``; predictions use ``z``.

    The softmax of ``z + log n`` models the training distribution while ``z``
    models the balanced one. Equal to ``logit_adjusted`` with ``τ = 1``.

    References
    ----------
    Ren, J., Yu, C., Sheng, S., Ma, X., Zhao, H., Yi, S. and Li, H. (2020). Balanced
    meta-softmax for long-tailed visual recognition. NeurIPS. arXiv:2007.10740.
    """

    name = "balanced_softmax"


@STRATEGIES.declare
class VectorScalingDeclaration(AdjustedSoftmaxDeclaration):
    """Vector-scaling (VS) loss: cross-entropy on ``Δ_c · z_c + τ · log π_c``, ``Δ_c = (n_c / n_max)^γ``.

    The multiplicative ``Δ`` enlarges the minority classes' margins (it matters
    late in training, once the data are separated); the additive ``τ log π`` is
    the logit adjustment. ``γ = 0`` is ``logit_adjusted``; ``τ = 0`` is CDT (Ye et
    al. 2020).

    Parameters
    ----------
    gamma : float >= 0
        Exponent of the multiplicative term (0.3 in the authors' code; 0.2 on CIFAR-10-LT).
    tau : float >= 0
        Weight of the additive term (1.0).

    References
    ----------
    Kini, G. R., Paraskevas, O., Oymak, S. and Thrampoulidis, C. (2021). Label-imbalanced
    and group-sensitive classification under overparameterization. NeurIPS. arXiv:2103.01550.
    """

    name = "vs_loss"

    def __init__(
        self, class_names: Sequence[str], gamma: Annotated[float, Field(ge=0, le=5)] = 0.3, tau: Tau = 1.0
    ) -> None:
        super().__init__(class_names)
        self.gamma, self.tau = gamma, tau

    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "tau": self.tau}


@STRATEGIES.declare
class ClassDependentTemperatureDeclaration(AdjustedSoftmaxDeclaration):
    """CDT: cross-entropy on ``z_c / a_c``, ``a_c = (n_max / n_c)^γ``; predictions use ``z``.

    Each class's logit is cooled by its temperature ``a_c`` while training (rarer
    classes more), which counters the drift of minority features seen at test
    time; ``γ = 0`` is cross-entropy. The same as ``vs_loss`` with ``τ = 0``
    (``Δ_c = 1 / a_c``).

    Parameters
    ----------
    gamma : float >= 0
        The temperature exponent (0.2; the authors search γ in [0, 0.4] on CIFAR-10-LT).

    References
    ----------
    Ye, H.-J., Chen, H.-Y., Zhan, D.-C. and Chao, W.-L. (2020). Identifying and compensating for feature
    deviation in imbalanced deep learning. arXiv:2001.01385.
    """

    name = "cdt"

    def __init__(self, class_names: Sequence[str], gamma: Annotated[float, Field(ge=0, le=5)] = 0.2) -> None:
        super().__init__(class_names)
        self.gamma = gamma

    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma}
