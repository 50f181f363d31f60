"""The strategy interface: small objects that change the one trainer through hooks.

A strategy may change *which examples an epoch sees* (:meth:`Strategy.sample_epoch`)
and *how much each class counts in the loss* (:meth:`Strategy.loss_weights`).
The base class does the bookkeeping; a strategy overrides only its hook. Strategies
compose: an arm's list of strategies is applied in order, samplers one after the
other and loss weights multiplied (:class:`StrategyPipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from imbalance_lab.registry import Registry

STRATEGIES: Registry = Registry("strategy", fixed=("class_names",))
"""Strategies by name: classes constructed as ``cls(class_names, **params)``."""


def class_counts(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Images per class in ``labels`` (int64, length ``n_classes``)."""
    return torch.bincount(labels, minlength=n_classes)


class Strategy:
    """Base class: a strategy that changes nothing (override a hook to change something).

    Parameters
    ----------
    class_names : sequence of str
        The experiment's classes, in label order (passed by the library).
    """

    name: ClassVar[str]

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = tuple(class_names)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def loss_weights(self, train_counts: torch.Tensor) -> torch.Tensor | None:
        """Per-class loss weights given the arm's training counts per class, or ``None`` (all 1)."""
        return None

    def sample_epoch(self, stream: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Indices (into the training set) that one epoch visits, given the stream so far.

        ``stream`` holds training-set indices (initially each image once); ``labels``
        are the training set's labels. The trainer shuffles the result, so order
        does not matter here.
        """
        return stream

    def prepare(self, train_counts: torch.Tensor, positive: int | None) -> None:
        """Learn what the strategy needs from the arm's training set, once, before training."""

    def augment_batch(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Transform a batch of float images in [0, 1] (``generator`` lives on their device)."""
        return x

    def params(self) -> dict[str, Any]:
        """The parameters this strategy was built with (for provenance)."""
        return {}


class StrategyPipeline:
    """An arm's strategies applied in order: samplers chained, loss weights multiplied."""

    def __init__(self, steps: Sequence[Strategy]) -> None:
        self.steps = tuple(steps)

    def prepare(self, train_counts: torch.Tensor, positive: int | None) -> None:
        for step in self.steps:
            step.prepare(train_counts, positive)

    def augment_batch(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for step in self.steps:
            x = step.augment_batch(x, y, generator)
        return x

    def loss_weights(self, train_counts: torch.Tensor) -> torch.Tensor | None:
        weights = None
        for step in self.steps:
            w = step.loss_weights(train_counts)
            if w is not None:
                weights = w if weights is None else weights * w
        return weights

    def epoch_indices(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The shuffled training-set indices for one epoch."""
        stream = torch.arange(labels.shape[0])
        for step in self.steps:
            stream = step.sample_epoch(stream, labels, generator)
        return stream[torch.randperm(stream.shape[0], generator=generator)]


def build_pipeline(steps: Sequence[tuple[str, dict[str, Any]]], class_names: Sequence[str]) -> StrategyPipeline:
    """Build an arm's strategies from ``(name, params)`` pairs."""
    return StrategyPipeline([STRATEGIES.create(name, class_names, **params) for name, params in steps])
