"""Sampling with replacement by class probabilities: class-balanced, square-root, progressive, deferred.

Each epoch draws as many images as the stream holds, with replacement: first a
class ``j`` with probability ``p_j``, then one of its images uniformly, i.e.
image ``i`` with probability ``p_{y_i} / n_{y_i}`` (Kang et al. 2020, eq. 1:
``p_j = n_j^q / Σ_i n_i^q``; ``q = 1`` is plain instance sampling, ``q = 0``
class-balanced, ``q = 1/2`` square-root). The strategies' names, parameters and
docstrings are declared in :mod:`imbalance_lab.declarations.strategies.sampling`.
"""

from __future__ import annotations

import torch

from imbalance_lab.declarations.strategies.sampling import (
    ClassBalancedSamplingDeclaration,
    DeferredResamplingDeclaration,
    ProgressiveSamplingDeclaration,
    SquareRootSamplingDeclaration,
)
from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    Strategy,
    class_counts,
    epochs_before,
)
from imbalance_lab.strategies.effective_number import effective_number_weights


def draw_by_class(
    stream: torch.Tensor, labels: torch.Tensor, class_probs: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """``len(stream)`` draws with replacement: class ``j`` with probability ``class_probs[j]``, then an image of it.

    Classes absent from the stream cannot be drawn; the others' probabilities are
    renormalised.
    """
    stream_labels = labels[stream]
    counts = class_counts(stream_labels, class_probs.shape[0]).to(torch.float64)
    probs = torch.where(counts > 0, class_probs.to(torch.float64), 0.0)
    per_image = (probs / counts.clamp(min=1))[stream_labels]
    picks = torch.multinomial(per_image, stream.shape[0], replacement=True, generator=generator)
    return stream[picks]


def power_probs(counts: torch.Tensor, q: float) -> torch.Tensor:
    """``p_j = n_j^q / Σ_i n_i^q`` over the classes with images (0 for empty classes)."""
    n = counts.to(torch.float64)
    raw = torch.where(n > 0, n.clamp(min=1) ** q, 0.0)
    return raw / raw.sum()


class _PowerSampling(Strategy):
    q: float

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        return draw_by_class(
            stream, labels, power_probs(class_counts(labels[stream], self.n_classes), self.q), generator
        )


@STRATEGIES.implement
class ClassBalancedSampling(ClassBalancedSamplingDeclaration, _PowerSampling):
    """``class_balanced_sampling``
    (:class:`~imbalance_lab.declarations.strategies.sampling.ClassBalancedSamplingDeclaration`): ``q = 0``."""

    q = 0.0


@STRATEGIES.implement
class SquareRootSampling(SquareRootSamplingDeclaration, _PowerSampling):
    """``square_root_sampling``
    (:class:`~imbalance_lab.declarations.strategies.sampling.SquareRootSamplingDeclaration`): ``q = 1/2``."""

    q = 0.5


@STRATEGIES.implement
class ProgressiveSampling(ProgressiveSamplingDeclaration, Strategy):
    """``progressive_sampling``
    (:class:`~imbalance_lab.declarations.strategies.sampling.ProgressiveSamplingDeclaration`): each epoch's
    draw between instance and class-balanced sampling."""

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        counts = class_counts(labels[stream], self.n_classes)
        lam = (ctx.epoch - 1) / (ctx.epochs - 1) if ctx.epochs > 1 else 1.0
        probs = (1 - lam) * power_probs(counts, 1.0) + lam * power_probs(counts, 0.0)
        return draw_by_class(stream, labels, probs, generator)


@STRATEGIES.implement
class DeferredResampling(DeferredResamplingDeclaration, Strategy):
    """``drs`` (:class:`~imbalance_lab.declarations.strategies.sampling.DeferredResamplingDeclaration`): the
    stream as it is, then drawn by effective-number weights."""

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        if not ctx.deferred(self.start):
            return stream
        counts = class_counts(labels[stream], self.n_classes)
        mass = counts.to(torch.float64) * effective_number_weights(counts, self.beta).to(torch.float64)
        return draw_by_class(stream, labels, mass / mass.sum(), generator)

    def plain_epochs(self, epochs: int) -> int | None:
        return epochs_before(self.start, epochs)  # the stream untouched, no random draw, until then
