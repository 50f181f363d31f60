"""Scores under other test priors: the test set reweighted to a class prior, exact for per-class counts.

A model's errors on the images of one class do not depend on how many images of
the other classes the test set holds, so the confusion matrix of a test set
whose classes follow a prior ``q`` is the observed one with each row ``c``
scaled by ``q_c / n_c`` (``n_c`` the test images of class ``c``): no test image
is drawn, and every count-based metric follows. Recall, and so balanced
accuracy, are unchanged by a prior; accuracy, precision and F1 move with it.
The priors of the test-agnostic protocol (Zhang et al. 2022, SADE): forward
long tails, ordered as the training classes (the most frequent training class
the most frequent at test), at imbalance ρ, the uniform prior, and backward
long tails (the order reversed).
"""

from __future__ import annotations

import numpy as np

from imbalance_lab.metrics.checks import check_cm
from imbalance_lab.metrics.counts import accuracy, balanced_accuracy, macro_fbeta, per_class_precision_recall_f1

RATIOS: tuple[float, ...] = (50.0, 25.0, 10.0, 5.0, 2.0)
PRIOR_METRICS: tuple[str, ...] = ("accuracy", "balanced_accuracy", "macro_f1", "macro_precision")


def long_tail_prior(train_counts: np.ndarray, ratio: float, backward: bool = False) -> np.ndarray:
    """The prior ``q_c ∝ ρ^(−r_c / (C − 1))`` of a long tail at imbalance ``ratio`` (ρ), with ``r_c`` the
    class's rank by training count (0 the most frequent; ties in class order); ``backward`` reverses the
    ranks. ``ρ = 1`` is uniform."""
    counts = np.asarray(train_counts)
    n = counts.shape[0]
    order = np.argsort(-counts, kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n)
    if backward:
        ranks = (n - 1) - ranks
    raw = float(ratio) ** (-ranks / max(n - 1, 1))
    return raw / raw.sum()


def protocol_priors(
    train_counts: np.ndarray, ratios: tuple[float, ...] = RATIOS
) -> list[tuple[str, float, np.ndarray]]:
    """The protocol's priors in order, each as ``(label, signed ρ, prior)``: forward long tails from the
    steepest, the uniform prior (ρ = 1), backward long tails to the steepest (negative ρ: backward)."""
    forward = [(f"forward {r:g}", float(r), long_tail_prior(train_counts, r)) for r in sorted(ratios, reverse=True)]
    uniform = [("uniform", 1.0, long_tail_prior(train_counts, 1.0))]
    backward = [(f"backward {r:g}", -float(r), long_tail_prior(train_counts, r, backward=True)) for r in sorted(ratios)]
    return forward + uniform + backward


def reweighted_confusion(cm: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``cm`` (rows true classes) with row ``c`` scaled to total ``q_c · N``: the expected confusion
    matrix of a test set of the same size whose classes follow ``prior``. A class with prior mass must
    have test images."""
    m = check_cm(cm).astype(np.float64)
    q = np.asarray(prior, dtype=np.float64)
    rows = m.sum(axis=1)
    if q.shape != rows.shape or np.any(q < 0) or not np.isclose(q.sum(), 1.0):
        raise ValueError(f"prior: expected {rows.shape[0]} non-negative values summing to 1, got {q}")
    if np.any((rows == 0) & (q > 0)):
        raise ValueError("prior: a class with prior mass has no test images, so its row cannot be reweighted")
    scale = np.divide(q * m.sum(), rows, out=np.zeros_like(q), where=rows > 0)
    return m * scale[:, None]


def prior_metrics(cm: np.ndarray, prior: np.ndarray) -> dict[str, float]:
    """The count-based metrics of :data:`PRIOR_METRICS` on the test set reweighted to ``prior``."""
    shifted = reweighted_confusion(cm, prior)
    precision, _, _ = per_class_precision_recall_f1(shifted)
    return {
        "accuracy": accuracy(shifted),
        "balanced_accuracy": balanced_accuracy(shifted),
        "macro_f1": macro_fbeta(shifted, 1.0),
        "macro_precision": float(np.mean(precision)),
    }


__all__ = ["PRIOR_METRICS", "RATIOS", "long_tail_prior", "prior_metrics", "protocol_priors", "reweighted_confusion"]
