"""The decision-rule registry and the contract of a rule: fitted on a validation set, applied to any set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from imbalance_lab.decisions.checks import check_logits, check_prior
from imbalance_lab.metrics.checks import (
    check_class_indices,
)
from imbalance_lab.registry import Registry

DECISION_RULES: Registry = Registry("decision rule")
"""Decision rules by name: ``DECISION_RULES.create(name, **params)`` builds one, ``.names()`` lists them."""


@dataclass(frozen=True)
class DecisionContext:
    """What a rule may know besides the validation predictions.

    ``train_prior``: the training class prior (``C`` entries > 0 summing to 1);
    ``deploy_prior``: the deployment class prior (``C`` entries >= 0 summing
    to 1), or ``"em"`` to estimate it on each set a prior correction is applied
    to; ``positive``: the positive class (default class 1 of a binary problem);
    ``cost_fn`` / ``cost_fp``: the costs of a missed positive and of a false alarm.
    """

    train_prior: Sequence[float] | np.ndarray | None = None
    deploy_prior: Sequence[float] | np.ndarray | Literal["em"] | None = None
    positive: int | None = None
    cost_fn: float | None = None
    cost_fp: float | None = None


@dataclass(frozen=True)
class FittedDecision:
    """A rule fitted on a validation set: ``apply(logits)`` gives probabilities whose argmax is the decision.

    ``rule`` is the registered name, ``params`` what was fitted or used (plain
    Python values), ``description`` one line for tables (see :meth:`describe`).
    """

    rule: str
    params: dict[str, Any]
    description: str
    n_classes: int
    transform: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    # for a rule that reads the set it is applied to (EM's prior): the transform of a set whose rows
    # stand for ``weights`` images each (the set reweighted to another class prior)
    weighted_transform: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def apply(self, logits: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The N x C probability matrix of ``logits`` (any set of the same classes) under this rule; with
        ``weights`` (N, > 0), of the set in which each row stands for its weight's worth of images: only a
        rule that reads the set (:attr:`reads_the_set`) answers differently."""
        z = check_logits(logits)
        if z.shape[1] != self.n_classes:
            raise ValueError(
                f"logits: expected {self.n_classes} class columns (as the validation set the "
                f"{self.rule} rule was fitted on), got {z.shape[1]}"
            )
        if weights is not None and self.weighted_transform is not None:
            return self.weighted_transform(z, np.asarray(weights, dtype=np.float64))
        return self.transform(z)

    @property
    def reads_the_set(self) -> bool:
        """Whether the probabilities of a row depend on the other rows of its set (EM's prior estimate)."""
        return self.weighted_transform is not None

    def describe(self) -> str:
        """One short line, e.g. ``threshold 0.231 (max F1 on val)``."""
        return self.description


def format_numbers(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values.tolist()) + "]"


class DecisionRule:
    """Base of the registered rules: validates the validation set and the context, then calls :meth:`_fit`.

    Constructors only store validated parameters; everything learned from the
    validation set is returned in the :class:`FittedDecision`.
    """

    name: ClassVar[str]

    def fit(
        self, val_labels: np.ndarray, val_logits: np.ndarray, context: DecisionContext | None = None
    ) -> FittedDecision:
        """Fit on a validation set's labels and logits (N x C); ``context`` holds priors, positive class, costs."""
        z = check_logits(val_logits, "val_logits")
        y = check_class_indices("val_labels", val_labels, z.shape[1])
        if y.shape[0] != z.shape[0]:
            raise ValueError(
                f"val_labels: expected one label per row of val_logits ({z.shape[0]}), got {y.shape[0]} labels"
            )
        return self._fit(y, z, context or DecisionContext())

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        raise NotImplementedError

    def _train_prior(self, context: DecisionContext, n_classes: int) -> np.ndarray:
        if context.train_prior is None:
            raise ValueError(
                f"context.train_prior: expected the training class prior for the {self.name} rule, "
                "got None; pass DecisionContext(train_prior=counts / counts.sum())"
            )
        return check_prior("context.train_prior", context.train_prior, n_classes, strictly_positive=True)
