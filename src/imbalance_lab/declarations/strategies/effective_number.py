"""Re-weighting by the effective number of samples declared: ``class_balanced`` (always) and ``drw``
(deferred)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Beta = Annotated[float, Field(ge=0, lt=1)]
Start = Annotated[float, Field(ge=0, lt=1)]


@STRATEGIES.declare
class ClassBalancedDeclaration(StrategyDeclaration):
    """Class-balanced loss: weight each class by the inverse of its effective number of samples.

    ``w_c = (1 − β) / (1 − β^n_c)``, normalised so ``Σ_c w_c = C``; the weights
    multiply whatever loss the arm uses, so ``[class_balanced, focal]`` is the
    paper's class-balanced focal loss.

    Parameters
    ----------
    beta : float in [0, 1)
        ``0`` weighs every class 1; the paper's best CIFAR values are ``0.999`` to
        ``0.9999`` (the larger, the closer to inverse frequency).

    References
    ----------
    Cui, Y., Jia, M., Lin, T.-Y., Song, Y. and Belongie, S. (2019). Class-balanced
    loss based on effective number of samples. CVPR. arXiv:1901.05555.
    """

    name = "class_balanced"

    def __init__(self, class_names: Sequence[str], beta: Beta = 0.9999) -> None:
        super().__init__(class_names)
        self.beta = beta

    def params(self) -> dict[str, Any]:
        return {"beta": self.beta}


@STRATEGIES.declare
class DeferredReweightingDeclaration(StrategyDeclaration):
    """DRW: train unweighted first, then with class-balanced (effective-number) weights.

    Until the fraction ``start`` of the epochs every class weighs 1; from epoch
    ``⌊start · epochs⌋ + 1`` on, ``w_c = (1 − β) / (1 − β^n_c)`` normalised to
    ``Σ_c w_c = C`` (Cao et al. switch at epoch 160 of 200, when the learning
    rate first drops, with ``β = 0.9999``). ``[ldam, drw]`` is LDAM-DRW. As every
    class weight here, the batch loss is ``mean_i(w[y_i] · L_i)``; the authors'
    code passes the weights to PyTorch's cross-entropy, whose mean divides by
    ``Σ_i w[y_i]`` instead: a per-batch scale that SGD feels and Adam nearly
    does not.

    Parameters
    ----------
    start : float in [0, 1)
        The fraction of the epochs trained unweighted.
    beta : float in [0, 1)
        As in ``class_balanced``.

    References
    ----------
    Cao, K., Wei, C., Gaidon, A., Arechiga, N. and Ma, T. (2019). Learning
    imbalanced datasets with label-distribution-aware margin loss. NeurIPS.
    arXiv:1906.07413.
    """

    name = "drw"

    def __init__(self, class_names: Sequence[str], start: Start = 0.8, beta: Beta = 0.9999) -> None:
        super().__init__(class_names)
        self.start = start
        self.beta = beta

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "beta": self.beta}
