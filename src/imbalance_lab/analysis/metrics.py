"""Vectorised classification metrics for imbalanced evaluation sets.

Every metric is computed with numpy array operations from a confusion matrix or
from the label / probability arrays, so one evaluation costs O(N + C^2) with no
Python loop over samples. The conventions follow scikit-learn so numbers can be
cross-checked against it:

* a ratio whose denominator is 0 (precision of a class never predicted, recall
  of a class absent from the labels, ...) is reported as ``0.0`` and announced
  with one :class:`UndefinedMetricWarning` (sklearn's ``zero_division=0``);
* macro averages run over all ``C`` classes (sklearn's ``average="macro"`` with
  ``labels=range(C)``);
* balanced accuracy averages recall over the classes present in the labels
  (``sklearn.metrics.balanced_accuracy_score``).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

__all__ = [
    "METRIC_NAMES_ALWAYS",
    "METRIC_NAMES_POSITIVE",
    "UndefinedMetricWarning",
    "accuracy",
    "balanced_accuracy",
    "classification_metrics",
    "confusion_matrix",
    "log_loss",
    "per_class_precision_recall_f1",
    "predict",
]

METRIC_NAMES_ALWAYS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "log_loss",
    "n",
)
"""Keys :func:`classification_metrics` always returns, in order."""

METRIC_NAMES_POSITIVE: tuple[str, ...] = (
    "precision",
    "recall",
    "f1",
    "tp",
    "fp",
    "tn",
    "fn",
    "specificity",
)
"""Keys :func:`classification_metrics` adds when a positive class is given, in order."""


class UndefinedMetricWarning(UserWarning):
    """A ratio had a zero denominator; its value is reported as 0.0.

    Mirrors ``sklearn.exceptions.UndefinedMetricWarning`` with
    ``zero_division=0``: the result stays a finite number so that aggregation
    over runs keeps working, but the caller is told which value is not real.
    """


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #


def _describe(arr: np.ndarray) -> str:
    """Short ``shape/dtype`` description of an array for error messages."""
    return f"shape {arr.shape} and dtype {arr.dtype}"


def _check_n_classes(n_classes: object) -> int:
    """Validate ``n_classes`` as an int >= 1 and return it as a Python int."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise ValueError(f"n_classes: expected an integer >= 1, got {n_classes!r}")
    return int(n_classes)


def _check_class_indices(name: str, values: np.ndarray, n_classes: int) -> np.ndarray:
    """Validate a 1-D, non-empty integer array of class indices in ``[0, n_classes)``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class indices, got {_describe(arr)}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one sample, got an empty array")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of class indices, got {_describe(arr)}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(
            f"{name}: expected class indices in [0, {n_classes}), got values in [{lo}, {hi}]"
        )
    return arr.astype(np.int64, copy=False)


def _check_probs(probs: np.ndarray) -> np.ndarray:
    """Validate an N x C (N >= 1, C >= 2) matrix of finite probabilities in [0, 1]."""
    arr = np.asarray(probs)
    if arr.ndim != 2:
        raise ValueError(f"probs: expected a 2-D array of shape (n_samples, n_classes), got {_describe(arr)}")
    if arr.shape[0] == 0:
        raise ValueError(f"probs: expected at least one sample (row), got {_describe(arr)}")
    if arr.shape[1] < 2:
        raise ValueError(f"probs: expected at least 2 class columns, got {_describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"probs: expected a real-valued array, got {_describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("probs: expected finite values, got NaN or infinity")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"probs: expected probabilities in [0, 1], got values in [{lo}, {hi}]")
    return arr


def _check_labels_probs(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a label vector against a probability matrix (shapes, range)."""
    p = _check_probs(probs)
    y = _check_class_indices("labels", labels, p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise ValueError(
            f"labels: expected one label per row of probs ({p.shape[0]}), got {y.shape[0]} labels"
        )
    return y, p


def _check_cm(cm: np.ndarray) -> np.ndarray:
    """Validate a square, non-negative, finite confusion matrix."""
    arr = np.asarray(cm)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"cm: expected a non-empty square 2-D confusion matrix, got {_describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"cm: expected a numeric array of counts, got {_describe(arr)}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("cm: expected finite non-negative counts, got a negative or non-finite entry")
    return arr


def _check_nonempty_cm(cm: np.ndarray) -> np.ndarray:
    """Validate a confusion matrix that must count at least one sample."""
    arr = _check_cm(cm)
    if arr.sum() == 0:
        raise ValueError("cm: expected at least one counted sample, got an all-zero confusion matrix")
    return arr


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Element-wise ``num / den`` as float64 with 0.0 where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------- #
# Decisions and counts
# --------------------------------------------------------------------------- #


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Count (true, predicted) class pairs into a C x C matrix.

    The base of every count-based metric here; built with one ``np.bincount``.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, n_classes)``.
    predictions : np.ndarray
        1-D integer array of predicted class indices, same length as ``labels``.
    n_classes : int
        Number of classes ``C``; classes with no samples get zero rows/columns.

    Returns
    -------
    np.ndarray
        ``int64`` array of shape ``(C, C)``; ``cm[i, j]`` counts samples of
        true class ``i`` predicted as class ``j``.

    Raises
    ------
    ValueError
        If an array is not 1-D, empty, not integer, out of range, or the lengths differ.
    """
    c = _check_n_classes(n_classes)
    y = _check_class_indices("labels", labels, c)
    yhat = _check_class_indices("predictions", predictions, c)
    if y.shape[0] != yhat.shape[0]:
        raise ValueError(
            f"predictions: expected the same length as labels ({y.shape[0]}), got {yhat.shape[0]}"
        )
    return np.bincount(y * c + yhat, minlength=c * c).reshape(c, c).astype(np.int64, copy=False)


def predict(
    probs: np.ndarray, *, positive: int | None = None, threshold: float | None = None
) -> np.ndarray:
    """Turn an N x C probability matrix into class decisions.

    Plain argmax by default; with a positive class and a threshold, the
    decision rule used to trade precision for recall on a minority class.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``, ``C >= 2``.
    positive : int, optional
        Index of the positive (minority) class. Without ``threshold`` it does
        not change the decisions (plain argmax).
    threshold : float, optional
        Decision threshold in ``[0, 1]`` for ``probs[:, positive]``. Rows with
        ``probs[i, positive] >= threshold`` are predicted ``positive``; the
        others get the argmax over the remaining classes. Requires ``positive``.

    Returns
    -------
    np.ndarray
        1-D ``int64`` array of length ``N``. Ties go to the lowest class index
        (``np.argmax`` semantics).

    Raises
    ------
    ValueError
        If ``probs`` is malformed, ``positive`` is out of range, ``threshold``
        is outside ``[0, 1]``, or ``threshold`` is given without ``positive``.
    """
    p = _check_probs(probs)
    n_classes = p.shape[1]
    if positive is not None:
        if isinstance(positive, bool) or not isinstance(positive, Integral) or not 0 <= positive < n_classes:
            raise ValueError(
                f"positive: expected a class index in [0, {n_classes}) or None, got {positive!r}"
            )
        positive = int(positive)
    if threshold is None:
        return np.argmax(p, axis=1).astype(np.int64, copy=False)
    if positive is None:
        raise ValueError(
            f"threshold: expected None when positive is None (a threshold needs a positive class), "
            f"got threshold={threshold!r}"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold: expected a number in [0, 1] or None, got {threshold!r}")
    others = p.copy()
    others[:, positive] = -np.inf
    fallback = np.argmax(others, axis=1)
    return np.where(p[:, positive] >= float(threshold), positive, fallback).astype(np.int64, copy=False)


# --------------------------------------------------------------------------- #
# Metrics from a confusion matrix
# --------------------------------------------------------------------------- #


def _classes_text(mask: np.ndarray) -> str:
    """Render the indices where ``mask`` is true as ``[0, 3]``."""
    return str(np.flatnonzero(mask).tolist())


def per_class_precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of every class, one-vs-rest.

    The per-class view that exposes how a model treats the minority classes,
    and the input of the macro averages.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)``, rows = true, columns = predicted.

    Returns
    -------
    precision, recall, f1 : np.ndarray
        ``float64`` arrays of length ``C``. ``f1 = 2 tp / (2 tp + fp + fn)``
        (equal to the harmonic mean of precision and recall where both exist).

    Raises
    ------
    ValueError
        If ``cm`` is not a square, non-negative, finite matrix.

    Warns
    -----
    UndefinedMetricWarning
        At most once per call, naming each ill-defined metric and its class
        indices: precision for classes never predicted, recall for classes
        absent from the true labels, F1 for classes absent from both. Those
        entries are 0.0.
    """
    m = _check_cm(cm)
    tp = np.diag(m).astype(np.float64)
    predicted = m.sum(axis=0).astype(np.float64)  # tp + fp
    actual = m.sum(axis=1).astype(np.float64)  # tp + fn
    f1_den = predicted + actual  # 2 tp + fp + fn

    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, actual)
    f1 = _safe_divide(2.0 * tp, f1_den)

    problems = []
    for metric, mask, why in (
        ("precision", predicted == 0, "no predicted samples"),
        ("recall", actual == 0, "no true samples"),
        ("f1", f1_den == 0, "no true nor predicted samples"),
    ):
        if mask.any():
            problems.append(f"{metric} for class(es) {_classes_text(mask)} ({why})")
    if problems:
        warnings.warn(
            "Ill-defined metric(s) set to 0.0: " + "; ".join(problems) + ".",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    return precision, recall, f1


def accuracy(cm: np.ndarray) -> float:
    """Fraction of samples predicted correctly.

    Reported for completeness; on imbalanced data it mostly reflects the
    majority class, hence :func:`balanced_accuracy`.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)`` counting at least one sample.

    Returns
    -------
    float
        ``trace(cm) / sum(cm)``.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or counts no samples.
    """
    m = _check_nonempty_cm(cm)
    return float(np.trace(m) / m.sum())


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean recall over the classes present in the true labels.

    Insensitive to class frequencies, so a majority-class predictor scores
    ``1 / (number of present classes)``. Same value as
    ``sklearn.metrics.balanced_accuracy_score`` (``adjusted=False``).

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)`` counting at least one sample.

    Returns
    -------
    float
        Mean of ``cm[i, i] / cm[i].sum()`` over the rows ``i`` with a non-zero sum.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or counts no samples.
    """
    m = _check_nonempty_cm(cm)
    actual = m.sum(axis=1).astype(np.float64)
    present = actual > 0
    return float(np.mean(np.diag(m)[present] / actual[present]))


# --------------------------------------------------------------------------- #
# Probability metric
# --------------------------------------------------------------------------- #


def log_loss(labels: np.ndarray, probs: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the true class (cross-entropy).

    The one proper scoring rule here: it judges the probabilities themselves,
    not only the decisions taken from them.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``. Rows are
        not renormalised.
    eps : float, default 1e-15
        Lower clip for ``probs[i, labels[i]]`` so a zero probability gives a
        large finite loss (``-log(eps)``) rather than infinity.

    Returns
    -------
    float
        ``mean(-log(clip(probs[i, labels[i]], eps, 1)))``; for rows that sum
        to 1 this equals ``sklearn.metrics.log_loss(labels, probs,
        labels=range(C))`` whenever no true-class probability is below ``eps``.

    Raises
    ------
    ValueError
        If the shapes or values of ``labels`` / ``probs`` are invalid, or
        ``eps`` is not in ``(0, 1)``.
    """
    if isinstance(eps, bool) or not isinstance(eps, Real) or not 0.0 < float(eps) < 1.0:
        raise ValueError(f"eps: expected a number in (0, 1), got {eps!r}")
    y, p = _check_labels_probs(labels, probs)
    true_p = p[np.arange(y.shape[0]), y]
    return float(-np.mean(np.log(np.clip(true_p, float(eps), 1.0))))


# --------------------------------------------------------------------------- #
# Everything for one evaluation set
# --------------------------------------------------------------------------- #


def classification_metrics(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    positive: int | None = None,
    threshold: float | None = None,
) -> dict[str, float]:
    """All scalar metrics of one evaluation set in a flat dict.

    The single entry point used to record a run's results: plain Python
    numbers, so the dict serialises to JSON as-is.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``, ``C = probs.shape[1]``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    positive : int, optional
        Index of the positive (minority) class; adds its one-vs-rest metrics.
    threshold : float, optional
        Decision threshold for ``positive``; see :func:`predict`.

    Returns
    -------
    dict[str, float]
        Keys :data:`METRIC_NAMES_ALWAYS` (``n`` is an ``int``), followed, when
        ``positive`` is given, by :data:`METRIC_NAMES_POSITIVE` (``tp``,
        ``fp``, ``tn``, ``fn`` are ``int``; ``specificity = tn / (tn + fp)``).
        Decisions come from ``predict(probs, positive=positive, threshold=threshold)``;
        ``log_loss`` uses the probabilities directly.

    Raises
    ------
    ValueError
        If the inputs are invalid (see :func:`predict` and :func:`log_loss`).

    Warns
    -----
    UndefinedMetricWarning
        Once for the per-class metrics (see :func:`per_class_precision_recall_f1`)
        and once more if the specificity is undefined (no negative samples).
    """
    y, p = _check_labels_probs(labels, probs)
    n_classes = p.shape[1]
    decisions = predict(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, decisions, n_classes)
    precision, recall, f1 = per_class_precision_recall_f1(cm)

    out: dict[str, float] = {
        "accuracy": accuracy(cm),
        "balanced_accuracy": balanced_accuracy(cm),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "log_loss": log_loss(y, p),
        "n": int(y.shape[0]),
    }
    if positive is None:
        return out

    k = int(positive)  # already validated by predict
    tp = int(cm[k, k])
    fp = int(cm[:, k].sum()) - tp
    fn = int(cm[k, :].sum()) - tp
    tn = int(cm.sum()) - tp - fp - fn
    if tn + fp == 0:
        warnings.warn(
            f"Ill-defined metric set to 0.0: specificity for positive class {k} "
            "(no negative samples).",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    out.update(
        {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
            "specificity": float(_safe_divide(tn, tn + fp)),
        }
    )
    return out
