"""A positive class's metrics at every threshold of a sweep, from one sort, and the PR and ROC curves drawn
from those counts."""

from __future__ import annotations

import warnings

import numpy as np

from imbalance_lab.metrics.checks import (
    UndefinedMetricWarning,
    check_labels_probs,
    check_positive,
    check_thresholds,
    safe_divide,
    warn_undefined,
)


def _values_text(values: np.ndarray, limit: int = 6) -> str:
    """Render up to ``limit`` numbers as ``[0.5, 1]``, then ``... (n in total)``."""
    shown = ", ".join(f"{v:g}" for v in values[:limit].tolist())
    return f"[{shown}]" if values.size <= limit else f"[{shown}, ... ({values.size} in total)]"


def threshold_metrics(
    labels: np.ndarray, probs: np.ndarray, positive: int, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """Binary counts and rates of "predict positive iff ``probs[:, positive] >= t``" for many ``t``.

    The table behind a threshold choice for the minority class (precision /
    recall trade-off), computed from one sort of the scores and cumulative
    counts, so a sweep over thousands of thresholds costs one
    ``np.searchsorted``.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    positive : int
        The positive class; every other class is negative.
    thresholds : np.ndarray
        1-D array of finite thresholds, any order and range (``t <= 0``: all
        positive; ``t > 1``: none).

    Returns
    -------
    dict[str, np.ndarray]
        Arrays aligned with ``thresholds``: ``threshold`` (the thresholds as
        ``float64``), ``tp``, ``fp``, ``tn``, ``fn`` (``int64``) and
        ``precision``, ``recall``, ``f1``, ``specificity``,
        ``balanced_accuracy``, ``accuracy`` (``float64``). Each equals the
        sklearn metric of ``labels == positive`` against the decisions
        (``zero_division=0``); ``balanced_accuracy`` is the mean of recall and
        specificity over the classes present (``balanced_accuracy_score``).

    Raises
    ------
    ValueError
        If the inputs are invalid or ``positive`` is missing / out of range.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming each ill-defined metric (set to 0.0) and its thresholds.
    """
    y, p = check_labels_probs(labels, probs)
    k = check_positive(positive, p.shape[1], optional=False)
    t = check_thresholds(thresholds)
    scores = p[:, k]
    order = np.argsort(scores)
    positives_below = np.concatenate([[0], np.cumsum(y[order] == k)])  # among the i lowest scores
    n = int(y.shape[0])
    n_pos = int(positives_below[-1])
    n_neg = n - n_pos
    below = np.searchsorted(scores[order], t, side="left")  # samples scoring < t: predicted negative
    tp = (n_pos - positives_below[below]).astype(np.int64)
    predicted = (n - below).astype(np.int64)
    fp = predicted - tp
    fn = n_pos - tp
    tn = n_neg - fp

    precision = safe_divide(tp, predicted)
    recall = safe_divide(tp, n_pos)
    specificity = safe_divide(tn, n_neg)
    f1 = safe_divide(2 * tp, predicted + n_pos)
    present = (n_pos > 0) + (n_neg > 0)
    balanced = (recall * (n_pos > 0) + specificity * (n_neg > 0)) / present

    problems = []
    if (predicted == 0).any():
        problems.append(f"precision at threshold(s) {_values_text(t[predicted == 0])} (no predicted positives)")
    if n_pos == 0:
        problems.append(f"recall for positive class {k} at every threshold (no positive samples)")
        if (predicted == 0).any():
            problems.append(f"f1 at threshold(s) {_values_text(t[predicted == 0])} (no true nor predicted positives)")
    if n_neg == 0:
        problems.append(f"specificity for positive class {k} at every threshold (no negative samples)")
    warn_undefined(problems)
    return {
        "threshold": t,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "specificity": specificity,
        "balanced_accuracy": balanced,
        "accuracy": (tp + tn) / n,
    }


def _curve_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positives and negatives scored at least as high as each distinct score, from the highest down
    (``tp``, ``fp`` as float64): :func:`threshold_metrics` at every distinct score, the points of every
    threshold curve of one binary problem."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or s.shape != y.shape or not y.size:
        raise ValueError(
            f"labels and scores must be non-empty 1-D arrays of one length; got shapes {y.shape} and {s.shape}"
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0/1 (1 = positive); got values {np.unique(y)[:10].tolist()}")
    with warnings.catch_warnings():  # a rate with no positive or negative sample: the curves read counts only
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        counts = threshold_metrics(y.astype(np.int64), np.column_stack([1.0 - s, s]), 1, np.unique(s)[::-1])
    return counts["tp"].astype(np.float64), counts["fp"].astype(np.float64)


def precision_recall_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The precision–recall curve of one binary problem: ``(recall, precision)``, recall decreasing, one point
    per distinct score (the threshold ``score >= t``) and the end point ``(0, 1)``. ``labels`` are 0/1 with at
    least one 1 (else the curve is undefined: ``ValueError``); ``scores`` the positive class's score in
    ``[0, 1]``. The same points as scikit-learn's ``precision_recall_curve`` (checked in the tests)."""
    tps, fps = _curve_counts(labels, scores)
    if tps[-1] == 0:
        raise ValueError("the precision-recall curve needs at least one positive label")
    recall, precision = tps / tps[-1], tps / (tps + fps)  # every distinct score predicts one image at least
    return np.r_[recall[::-1], 0.0], np.r_[precision[::-1], 1.0]


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve of one binary problem: ``(fpr, tpr)`` from ``(0, 0)``, one point per distinct score, less
    the points inside a straight horizontal or vertical run (they draw nothing). ``labels`` are 0/1 with both
    values present (else ``ValueError``). The same points as scikit-learn's ``roc_curve`` with its default
    ``drop_intermediate=True`` (checked in the tests)."""
    tps, fps = _curve_counts(labels, scores)
    if tps[-1] == 0 or fps[-1] == 0:
        raise ValueError("the ROC curve needs both positive and negative labels")
    if fps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps = tps[keep], fps[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    return fps / fps[-1], tps / tps[-1]
