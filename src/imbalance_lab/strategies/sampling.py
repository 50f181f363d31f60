"""Sampling with replacement by class probabilities: class-balanced, square-root, progressive, deferred.

Each epoch draws as many images as the stream holds, with replacement: first a
class ``j`` with probability ``p_j``, then one of its images uniformly, i.e.
image ``i`` with probability ``p_{y_i} / n_{y_i}`` (Kang et al. 2020, eq. 1:
``p_j = n_j^q / Σ_i n_i^q``; ``q = 1`` is plain instance sampling, ``q = 0``
class-balanced, ``q = 1/2`` square-root).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from pydantic import Field

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


@STRATEGIES.register
class ClassBalancedSampling(_PowerSampling):
    """Class-balanced sampling: every class equally likely (``p_j = 1/C``), images drawn with replacement.

    References
    ----------
    Kang, B., Xie, S., Rohrbach, M., Yan, Z., Gordo, A., Feng, J. and Kalantidis, Y.
    (2020). Decoupling representation and classifier for long-tailed recognition. ICLR.
    arXiv:1910.09217.
    """

    name = "class_balanced_sampling"
    q = 0.0


@STRATEGIES.register
class SquareRootSampling(_PowerSampling):
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
    q = 0.5


@STRATEGIES.register
class ProgressiveSampling(Strategy):
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

    def sample_epoch(
        self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, ctx: EpochContext
    ) -> torch.Tensor:
        counts = class_counts(labels[stream], self.n_classes)
        lam = (ctx.epoch - 1) / (ctx.epochs - 1) if ctx.epochs > 1 else 1.0
        probs = (1 - lam) * power_probs(counts, 1.0) + lam * power_probs(counts, 0.0)
        return draw_by_class(stream, labels, probs, generator)


@STRATEGIES.register
class DeferredResampling(Strategy):
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

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "beta": self.beta}
