"""Sampling with replacement by class probabilities declared: class-balanced, square-root, progressive,
deferred (DRS's start and β)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class ClassBalancedSamplingDeclaration(StrategyDeclaration):
    """Class-balanced sampling: every class equally likely (``p_j = 1/C``), images drawn with replacement.

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y.
    (2020). Decoupling representation and classifier for long-tailed recognition. ICLR.
    arXiv:1910.09217.
    """

    name = "class_balanced_sampling"


@STRATEGIES.declare
class SquareRootSamplingDeclaration(StrategyDeclaration):
    """Square-root sampling: class ``j`` with probability ``∝ √n_j``, images drawn with replacement.

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y.
    (2020). Decoupling representation and classifier for long-tailed recognition. ICLR.
    arXiv:1910.09217.
    Mahajan, D. et al. (2018). Exploring the limits of weakly supervised pretraining.
    ECCV. arXiv:1805.00932.
    """

    name = "square_root_sampling"


@STRATEGIES.declare
class ProgressiveSamplingDeclaration(StrategyDeclaration):
    """Progressively-balanced sampling: from instance to class-balanced over the epochs.

    ``p_j(k) = (1 − λ_k) · n_j / n + λ_k / C`` with ``λ_k = (k − 1) / (K − 1)`` at
    epoch ``k`` of ``K``: the first epoch samples instances, the last is
    class-balanced (Kang et al. 2020, eq. 2, as in their code).

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y.
    (2020). Decoupling representation and classifier for long-tailed recognition. ICLR.
    arXiv:1910.09217.
    """

    name = "progressive_sampling"


@STRATEGIES.declare
class DeferredResamplingDeclaration(StrategyDeclaration):
    """DRS: plain epochs first, then images drawn with replacement by class-balanced weights.

    Until the fraction ``start`` of the epochs the stream is left as it is; from
    epoch ``⌊start · epochs⌋ + 1`` on, class ``j`` is drawn with probability
    ``∝ n_j · w_j``, ``w_j = (1 − β)/(1 − β^n_j)`` (each image weighted by its
    class's inverse effective number, as in Cao et al.'s code; ``β → 1`` is
    class-balanced).

    Parameters
    ----------
    start : float in [0, 1)
        The fraction of the epochs trained on the stream as it is.
    beta : float in [0, 1)
        Effective-number β (Cui et al. 2019).

    References
    ----------
    Cao, K., Wei, C., Gaidon, A., Arechiga, N. and Ma, T. (2019). arXiv:1906.07413.
    """

    name = "drs"

    def __init__(
        self,
        class_names: Sequence[str],
        start: Annotated[float, Field(ge=0, lt=1)] = 0.8,
        beta: Annotated[float, Field(ge=0, lt=1)] = 0.9999,
    ) -> None:
        super().__init__(class_names)
        self.start = start
        self.beta = beta

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "beta": self.beta}
