"""Random over- and under-sampling declared: the target class ratio, and for undersampling when it draws."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from imbalance_lab.declarations.strategies.base import STRATEGIES, StrategyDeclaration

Ratio = Annotated[float, Field(gt=0, le=1)]


@STRATEGIES.declare
class OversampleDeclaration(StrategyDeclaration):
    """Draw minority images again, with replacement, until the epoch reaches a class ratio.

    Every class with fewer than ``ratio · n_max`` images in the stream keeps all
    its images and is topped up to ``round(ratio · n_max)`` with images drawn
    uniformly with replacement, afresh each epoch. ``ratio=1`` gives the 50/50
    stream of seed 000's ``sample_from_datasets(..., weights=[0.5, 0.5])``.

    Parameters
    ----------
    ratio : float in (0, 1]
        Target size of each smaller class relative to the largest one.

    References
    ----------
    Buda, M., Maki, A. and Mazurowski, M. A. (2018). A systematic study of the
    class imbalance problem in convolutional neural networks. Neural Networks 106.
    arXiv:1710.05381.
    """

    name = "oversample"

    def __init__(self, class_names: Sequence[str], ratio: Ratio = 1.0) -> None:
        super().__init__(class_names)
        self.ratio = ratio

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio}


@STRATEGIES.declare
class UndersampleDeclaration(StrategyDeclaration):
    """Keep a random subset of each larger class, so the epoch reaches a class ratio.

    Every class with more than ``n_min / ratio`` images in the stream is reduced
    to ``round(n_min / ratio)`` images drawn without replacement.

    Parameters
    ----------
    ratio : float in (0, 1]
        Target size of the smallest class relative to each reduced class.
    draw : ``"each_epoch"`` or ``"once"``
        ``each_epoch`` (default) draws a fresh subset every epoch, so over the run
        the model sees all of the majority class; ``once`` keeps the same subset
        for the whole run (a fixed smaller training set).

    References
    ----------
    Buda, M., Maki, A. and Mazurowski, M. A. (2018). arXiv:1710.05381.
    """

    name = "undersample"

    def __init__(
        self,
        class_names: Sequence[str],
        ratio: Ratio = 1.0,
        draw: Literal["each_epoch", "once"] = "each_epoch",
    ) -> None:
        super().__init__(class_names)
        self.ratio = ratio
        self.draw = draw

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "draw": self.draw}
