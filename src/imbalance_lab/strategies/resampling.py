"""Random over- and under-sampling of the training stream, redrawn on the resident tensors."""

from __future__ import annotations

import torch

from imbalance_lab.declarations.strategies.resampling import OversampleDeclaration, UndersampleDeclaration
from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    Strategy,
    class_counts,
)


def _positions_by_class(stream_labels: torch.Tensor, n_classes: int) -> list[torch.Tensor]:
    order = torch.argsort(stream_labels, stable=True)
    return list(torch.split(order, class_counts(stream_labels, n_classes).tolist()))


@STRATEGIES.implement
class Oversample(OversampleDeclaration, Strategy):
    """``oversample`` (:class:`~imbalance_lab.declarations.strategies.resampling.OversampleDeclaration`): each
    smaller class topped up in the epoch's stream."""

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


@STRATEGIES.implement
class Undersample(UndersampleDeclaration, Strategy):
    """``undersample`` (:class:`~imbalance_lab.declarations.strategies.resampling.UndersampleDeclaration`): each
    larger class cut down in the epoch's stream."""

    _once_seed: int | None = None  # with draw: once, learned from the run's generator on the first epoch

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        if self.draw == "once":
            if self._once_seed is None:
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
