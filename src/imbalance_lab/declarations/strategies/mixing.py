"""Mixing a batch with a shuffled copy of itself, declared: mixup, CutMix and Remix.

Each batch draws one ``λ ~ Beta(α, α)`` and one permutation from the run's
augmentation generator, so a run is reproducible under its seed; the targets
become soft, and the arm's loss is ``λ·L(y_a) + (1 − λ)·L(y_b)``. Only one
strategy of an arm may mix batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Alpha = Annotated[float, Field(gt=0, le=100)]


class MixingDeclaration(StrategyDeclaration):
    """A mixing of batches with ``λ ~ Beta(α, α)``: it holds the ``mixing`` role."""

    roles = frozenset({"mixing"})

    def __init__(self, class_names: Sequence[str], alpha: Alpha = 1.0) -> None:
        super().__init__(class_names)
        self.alpha = alpha

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@STRATEGIES.declare
class MixupDeclaration(MixingDeclaration):
    """mixup: train on convex combinations ``λ x_a + (1 − λ) x_b`` with targets ``λ y_a + (1 − λ) y_b``.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)``, one per batch (1.0: uniform).

    References
    ----------
    Zhang, H., Cisse, M., Dauphin, Y. N. and Lopez-Paz, D. (2018). mixup: Beyond
    empirical risk minimization. ICLR. arXiv:1710.09412.
    """

    name = "mixup"


@STRATEGIES.declare
class CutMixDeclaration(MixingDeclaration):
    """CutMix: paste a box of a partner image; targets mixed by the pasted area.

    With probability ``p`` a batch is mixed: ``λ ~ Beta(α, α)``, a box of sides
    ``√(1 − λ)`` of the image's at a uniform centre (clipped to the image) is
    replaced by the partner's, and ``λ`` becomes the kept fraction of the area.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)`` (1.0).
    p : float in [0, 1]
        Probability that a batch is mixed (0.5, the authors' CIFAR setting).

    References
    ----------
    Yun, S., Han, D., Oh, S. J., Chun, S., Choe, J. and Yoo, Y. (2019). CutMix:
    Regularization strategy to train strong classifiers with localizable features.
    ICCV. arXiv:1905.04899.
    """

    name = "cutmix"

    def __init__(
        self, class_names: Sequence[str], alpha: Alpha = 1.0, p: Annotated[float, Field(ge=0, le=1)] = 0.5
    ) -> None:
        super().__init__(class_names, alpha)
        self.p = p

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "p": self.p}


@STRATEGIES.declare
class RemixDeclaration(MixingDeclaration):
    """Remix: mixup's images, with the label pushed to the minority class of a lopsided pair.

    Images mix as mixup (``λ ~ Beta(α, α)``). For a pair ``(a, b)`` with training
    counts ``n_a, n_b`` the target weight of ``a`` is ``0`` when ``n_a / n_b ≥ κ``
    and ``λ < τ`` (the rarer ``b`` keeps enough of the image: the label is all
    ``b``), ``1`` when ``n_a / n_b ≤ 1/κ`` and ``1 − λ < τ``, and ``λ`` otherwise.

    Parameters
    ----------
    alpha : float > 0
        ``λ ~ Beta(α, α)`` (1.0).
    kappa : float >= 1
        How lopsided a pair must be (3).
    tau : float in [0, 1]
        How much of the image the rarer class must keep (0.5).

    References
    ----------
    Chou, H.-P., Chang, S.-C., Pan, J.-Y., Wei, W. and Juan, D.-C. (2020). Remix:
    Rebalanced mixup. ECCV Workshops. arXiv:2007.03943.
    """

    name = "remix"

    def __init__(
        self,
        class_names: Sequence[str],
        alpha: Alpha = 1.0,
        kappa: Annotated[float, Field(ge=1, le=1e6)] = 3.0,
        tau: Annotated[float, Field(ge=0, le=1)] = 0.5,
    ) -> None:
        super().__init__(class_names, alpha)
        self.kappa, self.tau = kappa, tau

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "kappa": self.kappa, "tau": self.tau}
