"""The metric vocabulary, in one place: every metric's name, its better direction, its range and what kind of
number it is, and the named groups the rest of the package uses (what a run records, what the report ranks,
what a bootstrap computes fast). Every other module reads it; a name it does not know is an error, never
"higher is better" by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Kind = Literal["rate", "score", "correlation", "count", "loss", "calibration", "cost"]


@dataclass(frozen=True)
class Metric:
    """One metric: ``higher_is_better``, the range ``[low, high]`` its values lie in, its ``kind``, and
    whether it needs a positive class (binary experiments only)."""

    name: str
    kind: Kind
    higher_is_better: bool = True
    low: float = 0.0
    high: float = 1.0
    binary_only: bool = False


def _metrics(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


_UNBOUNDED = math.inf

METRICS: dict[str, Metric] = _metrics(
    # what classification_metrics always records
    Metric("accuracy", "rate"),
    Metric("balanced_accuracy", "rate"),
    Metric("macro_precision", "rate"),
    Metric("macro_recall", "rate"),
    Metric("macro_f1", "score"),
    Metric("log_loss", "loss", higher_is_better=False, high=_UNBOUNDED),
    Metric("n", "count", high=_UNBOUNDED),
    Metric("weighted_precision", "rate"),
    Metric("weighted_recall", "rate"),
    Metric("weighted_f1", "score"),
    Metric("macro_f2", "score"),
    Metric("mcc", "correlation", low=-1.0),
    Metric("roc_auc", "score"),
    Metric("pr_auc", "score"),
    Metric("brier", "calibration", higher_is_better=False),
    Metric("ece", "calibration", higher_is_better=False),
    # with a positive class
    Metric("precision", "rate", binary_only=True),
    Metric("recall", "rate", binary_only=True),
    Metric("f1", "score", binary_only=True),
    Metric("tp", "count", high=_UNBOUNDED, binary_only=True),
    Metric("fp", "count", higher_is_better=False, high=_UNBOUNDED, binary_only=True),
    Metric("tn", "count", high=_UNBOUNDED, binary_only=True),
    Metric("fn", "count", higher_is_better=False, high=_UNBOUNDED, binary_only=True),
    Metric("specificity", "rate", binary_only=True),
    Metric("f2", "score", binary_only=True),
    # with training counts (long tails: Liu et al. 2019's groups)
    Metric("many_shot_accuracy", "rate"),
    Metric("medium_shot_accuracy", "rate"),
    Metric("few_shot_accuracy", "rate"),
    # per epoch only: the trainer's losses
    Metric("loss", "loss", higher_is_better=False, high=_UNBOUNDED),
    Metric("balanced_loss", "loss", higher_is_better=False, high=_UNBOUNDED),
    # with decisions.costs: expected cost per 1,000 cases at the deployment prior
    Metric("expected_cost", "cost", higher_is_better=False, high=_UNBOUNDED),
)

# what classification_metrics returns, in order
ALWAYS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "log_loss",
    "n",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
    "macro_f2",
    "mcc",
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
)
WITH_POSITIVE: tuple[str, ...] = ("precision", "recall", "f1", "tp", "fp", "tn", "fn", "specificity", "f2")
SHOT: tuple[str, ...] = ("many_shot_accuracy", "medium_shot_accuracy", "few_shot_accuracy")
PER_EPOCH: tuple[str, ...] = ("loss", "balanced_loss")  # besides what classification_metrics records
COST = "expected_cost"
COUNTS: tuple[str, ...] = ("tp", "fp", "tn", "fn", "n")
CALIBRATION: tuple[str, ...] = ("ece", "brier", "log_loss")

# what the report ranks and compares, in order (the first VERDICTS get a verdict)
HEADLINE_BINARY: tuple[str, ...] = (
    "recall",
    "precision",
    "f1",
    "f2",
    "balanced_accuracy",
    "pr_auc",
    "roc_auc",
    "mcc",
    "accuracy",
)
HEADLINE_MULTICLASS: tuple[str, ...] = (
    "balanced_accuracy",
    "macro_f1",
    "macro_recall",
    "macro_precision",
    "mcc",
    "roc_auc",
    "pr_auc",
    "accuracy",
)
VERDICTS = 5
"""How many of the headline set's metrics get a verdict (and, for grids, factor plots)."""

# what the selection study judges a kept epoch by
JUDGED_BINARY: tuple[str, ...] = ("balanced_accuracy", "f1", "recall", "precision", "pr_auc")
JUDGED_MULTICLASS: tuple[str, ...] = ("balanced_accuracy", "macro_f1", "accuracy")

# the summary table's columns
SUMMARY_BINARY: tuple[str, ...] = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "tp", "fp", "tn", "fn")
SUMMARY_MULTICLASS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1")

FAST: tuple[str, ...] = ("recall", "precision", "f1", "accuracy", "balanced_accuracy")
"""Binary metrics the paired bootstrap computes from confusion counts, without a metric call per resample."""


def metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name is an error that lists the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` is better (losses, costs, calibration errors, false
    positives and negatives are better smaller)."""
    return metric(name).higher_is_better


def metric_range(name: str) -> tuple[float, float]:
    """The values metric ``name`` can take: [-1, 1] for MCC; [0, ∞) for losses, expected costs and counts;
    [0, 1] for every other metric (rates, F-scores, AUCs, Brier score, ECE)."""
    found = metric(name)
    return found.low, found.high


def selectable(binary: bool) -> tuple[str, ...]:
    """Metrics an epoch can be chosen by (``training.select``, early stopping, the selection study's rules):
    the per-epoch losses and every recorded metric but the counts."""
    names = [*PER_EPOCH, *(m for m in ALWAYS if m != "n")]
    if binary:
        names += [m for m in WITH_POSITIVE if m not in COUNTS]
    return tuple(names)


def recorded(binary: bool) -> tuple[str, ...]:
    """The metrics every run records for every evaluation set (without the long-tail groups)."""
    return ALWAYS + (WITH_POSITIVE if binary else ())
