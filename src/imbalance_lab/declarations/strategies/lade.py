"""``lade`` declared: the weight of the LADER regulariser and the regulariser of its estimate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration


@STRATEGIES.declare
class LADEDeclaration(StrategyDeclaration):
    """LADE: cross-entropy on ``z + log π_s`` plus ``α`` times the LADER regulariser.

    LADE-CE is the balanced-softmax loss (``π_s`` the training prior). LADER
    pushes ``z_c`` towards the log-likelihood ratio for a uniform target prior,
    estimated on each batch with the Donsker–Varadhan bound (regularised as the
    authors' code, ``λ = 0.1``)::

        first_c  = mean of z_c over the batch's examples of class c (0 if none)
        second_c = log mean_i exp(z_ic − log π_s,c + log(1/C))   (over the whole batch)
        LADER    = −Σ_c π_s,c · (first_c − second_c − λ · second_c²)

    With mixed (soft) targets ``first_c`` is the target-weighted mean. LADER is a
    batch-level term, added once to the batch's mean loss and not multiplied by
    class weights. Predictions use ``z`` (the uniform target prior shifts every
    logit alike).

    Parameters
    ----------
    alpha : float >= 0
        Weight of LADER (0.1 on CIFAR-100, ImageNet-LT and Places-LT).
    remine_lambda : float >= 0
        The regulariser ``λ`` of the estimate (0.1).

    References
    ----------
    Hong, Y., Han, S., Choi, K., Seo, S., Kim, B. and Chang, B. (2021). Disentangling
    label distribution for long-tailed visual recognition. CVPR. arXiv:2012.00321.
    """

    name = "lade"
    roles = frozenset({"loss"})

    def __init__(
        self,
        class_names: Sequence[str],
        alpha: Annotated[float, Field(ge=0, le=10)] = 0.1,
        remine_lambda: Annotated[float, Field(ge=0, le=10)] = 0.1,
    ) -> None:
        super().__init__(class_names)
        self.alpha, self.remine_lambda = alpha, remine_lambda

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "remine_lambda": self.remine_lambda}
