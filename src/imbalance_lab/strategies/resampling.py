"""Random over- and under-sampling of the training stream, redrawn on the resident tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import torch
from pydantic import Field

from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    Strategy,
    class_counts,
)

Ratio = Annotated[float, Field(gt=0, le=1)]


def _positions_by_class(stream_labels: torch.Tensor, n_classes: int) -> list[torch.Tensor]:
    order = torch.argsort(stream_labels, stable=True)
    return list(torch.split(order, class_counts(stream_labels, n_classes).tolist()))


@STRATEGIES.register
class Oversample(Strategy):
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

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        stream_labels = labels[stream]
        counts = class_counts(stream_labels, self.n_classes)
        target = int(round(self.ratio * int(counts.max())))
        parts = [stream]
        for c, positions in enumerate(_positions_by_class(stream_labels, self.n_classes)):
            extra = target - int(counts[c])
            if extra > 0 and positions.numel() > 0:
                picks = torch.randint(positions.numel(), (extra,), generator=generator)
                parts.append(stream[positions[picks]])
        return torch.cat(parts)

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio}


@STRATEGIES.register
class Undersample(Strategy):
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
        self._once_seed: int | None = None

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        if self.draw == "once":
            if self._once_seed is None:  # learned from the run's generator on the first epoch
                self._once_seed = int(torch.randint(2**62, (1,), generator=generator))
            generator = torch.Generator().manual_seed(self._once_seed)
        stream_labels = labels[stream]
        counts = class_counts(stream_labels, self.n_classes)
        present = counts[counts > 0]
        cap = int(round(int(present.min()) / self.ratio))
        parts = []
        for positions in _positions_by_class(stream_labels, self.n_classes):
            if positions.numel() > cap:
                positions = positions[torch.randperm(positions.numel(), generator=generator)[:cap]]
            parts.append(stream[positions])
        return torch.cat(parts)

    def params(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "draw": self.draw}
