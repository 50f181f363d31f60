"""Vectorised classification metrics for imbalanced evaluation sets.

Every metric is computed with numpy array operations from a confusion matrix or
from the label / probability arrays, so one evaluation costs O(C N log N + C^2) (one
sort per class for the ranking metrics) with no Python loop over samples (nor over
thresholds in :func:`threshold_metrics`).
The conventions follow scikit-learn so numbers can be cross-checked against it:

* a ratio whose denominator is 0 (precision of a class never predicted, recall
  of a class absent from the labels, ...) is reported as ``0.0`` and announced
  with one :class:`UndefinedMetricWarning` (sklearn's ``zero_division=0``);
* macro averages run over all ``C`` classes (sklearn's ``average="macro"`` with
  ``labels=range(C)``); weighted averages weight each class by its number of
  true samples (``average="weighted"``);
* balanced accuracy averages recall over the classes present in the labels
  (``sklearn.metrics.balanced_accuracy_score``);
* ranking metrics (:func:`roc_auc`, :func:`average_precision`) follow sklearn
  on a binary task (ROC AUC ``nan`` without positives or negatives, average
  precision 0.0 without positives); their one-vs-rest macro averages skip the
  classes that cannot be scored (where sklearn returns ``nan`` or raises) and
  are ``nan`` when none can, each time with one :class:`UndefinedMetricWarning`;
* "binary" means a positive class: the one given, or class 1 when ``C == 2``.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from imbalance_lab.vocabulary import SHOT

__all__ = [
    "FEW_SHOT_BELOW",
    "MANY_SHOT_ABOVE",
    "UndefinedMetricWarning",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "brier",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "fbeta_per_class",
    "log_loss",
    "macro_fbeta",
    "mcc",
    "per_class_precision_recall_f1",
    "predict",
    "roc_auc",
    "shot_group_accuracy",
    "specificity_per_class",
    "threshold_metrics",
    "weighted_fbeta",
    "weighted_precision_recall_f1",
]

MANY_SHOT_ABOVE: int = 100
"""A class with more than this many training images is "many-shot" (Liu et al. 2019)."""

FEW_SHOT_BELOW: int = 20
"""A class with fewer than this many training images is "few-shot"; the rest are "medium"."""


class UndefinedMetricWarning(UserWarning):
    """A metric had a zero denominator or could not be computed.

    Mirrors ``sklearn.exceptions.UndefinedMetricWarning`` with
    ``zero_division=0``: the result stays a finite number (``0.0``) so that
    aggregation over runs keeps working, but the caller is told which value is
    not real. Ranking metrics that cannot score any class report ``nan``
    instead (as sklearn's ``roc_auc_score`` does), also with this warning.
    """


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #


def _describe(arr: np.ndarray) -> str:
    """Short ``shape/dtype`` description of an array for error messages."""
    return f"shape {arr.shape} and dtype {arr.dtype}"


def _check_int_at_least_one(name: str, value: object) -> int:
    """Validate ``value`` (the argument ``name``) as an int >= 1 and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


def _check_n_classes(n_classes: object) -> int:
    """Validate ``n_classes`` as an int >= 1 and return it as a Python int."""
    return _check_int_at_least_one("n_classes", n_classes)


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


def _check_positive(positive: object, n_classes: int, *, optional: bool = True) -> int | None:
    """Validate a positive class index in ``[0, n_classes)`` (``None`` allowed when ``optional``)."""
    if positive is None and optional:
        return None
    if isinstance(positive, bool) or not isinstance(positive, Integral) or not 0 <= positive < n_classes:
        allowed = " or None" if optional else ""
        raise ValueError(f"positive: expected a class index in [0, {n_classes}){allowed}, got {positive!r}")
    return int(positive)


def _binary_positive(positive: object, n_classes: int) -> int | None:
    """The positive class of a binary task: ``positive`` if given, class 1 when ``C == 2``, else ``None``."""
    k = _check_positive(positive, n_classes)
    if k is None and n_classes == 2:
        return 1
    return k


def _check_beta(beta: object) -> float:
    """Validate the F-beta weight as a positive finite number."""
    if isinstance(beta, bool) or not isinstance(beta, Real) or not 0.0 < float(beta) < np.inf:
        raise ValueError(f"beta: expected a positive finite number, got {beta!r}")
    return float(beta)


def _check_thresholds(thresholds: object) -> np.ndarray:
    """Validate a non-empty 1-D array of finite real thresholds (any order, any range)."""
    arr = np.asarray(thresholds)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"thresholds: expected a non-empty 1-D array of numbers, got {_describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"thresholds: expected a real-valued array, got {_describe(arr)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("thresholds: expected finite values, got NaN or infinity")
    return arr


def _check_train_counts(train_counts: object) -> np.ndarray:
    """Validate per-class training counts: a non-empty 1-D array of non-negative integers."""
    arr = np.asarray(train_counts)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"train_counts: expected a non-empty 1-D array with one count per class, got {_describe(arr)}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"train_counts: expected integer counts, got {_describe(arr)}")
    if int(arr.min()) < 0:
        raise ValueError(f"train_counts: expected non-negative counts, got a minimum of {int(arr.min())}")
    return arr.astype(np.int64, copy=False)


def _warn_undefined(problems: list[str], outcome: str = "set to 0.0", stacklevel: int = 2) -> None:
    """Emit one :class:`UndefinedMetricWarning` listing every problem (nothing if none).

    ``stacklevel`` counts from the caller of this helper, as in ``warnings.warn``.
    """
    if problems:
        warnings.warn(
            f"Ill-defined metric(s) {outcome}: " + "; ".join(problems) + ".",
            UndefinedMetricWarning,
            stacklevel=stacklevel + 1,
        )


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
    positive = _check_positive(positive, p.shape[1])
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


def _class_counts(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``tp``, predicted (``tp + fp``) and true (``tp + fn``) counts of a confusion matrix, as float64."""
    return np.diag(m).astype(np.float64), m.sum(axis=0).astype(np.float64), m.sum(axis=1).astype(np.float64)


def _precision_recall_f1(
    tp: np.ndarray, predicted: np.ndarray, actual: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from counts, 0.0 where undefined, without warning."""
    return _safe_divide(tp, predicted), _safe_divide(tp, actual), _safe_divide(2.0 * tp, predicted + actual)


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
    tp, predicted, actual = _class_counts(_check_cm(cm))
    problems = []
    for metric, mask, why in (
        ("precision", predicted == 0, "no predicted samples"),
        ("recall", actual == 0, "no true samples"),
        ("f1", predicted + actual == 0, "no true nor predicted samples"),
    ):
        if mask.any():
            problems.append(f"{metric} for class(es) {_classes_text(mask)} ({why})")
    _warn_undefined(problems)
    return _precision_recall_f1(tp, predicted, actual)


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


def _fbeta_counts(m: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F-beta and the mask of classes where it is undefined (no true nor predicted samples)."""
    tp, predicted, actual = _class_counts(m)
    beta2 = beta * beta
    den = beta2 * actual + predicted  # (1 + b^2) tp + b^2 fn + fp, sklearn's arithmetic
    return _safe_divide((1.0 + beta2) * tp, den), den == 0


def _fbeta_warned(cm: np.ndarray, beta: float) -> np.ndarray:
    """Validated per-class F-beta, warning (at the public caller's caller) about undefined classes."""
    m = _check_cm(cm)
    b = _check_beta(beta)
    fbeta, undefined = _fbeta_counts(m, b)
    if undefined.any():
        _warn_undefined(
            [f"f-beta (beta={b:g}) for class(es) {_classes_text(undefined)} (no true nor predicted samples)"],
            stacklevel=3,
        )
    return fbeta


def fbeta_per_class(cm: np.ndarray, beta: float) -> np.ndarray:
    """F-beta score of every class, one-vs-rest.

    ``beta > 1`` weighs recall more than precision (``beta = 2``: missing a
    minority sample costs as much as four false alarms), the usual choice when
    the rare class is the one that matters.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)``, rows = true, columns = predicted.
    beta : float
        Positive finite weight of recall relative to precision.

    Returns
    -------
    np.ndarray
        ``float64`` array of length ``C``:
        ``(1 + beta^2) tp / ((1 + beta^2) tp + beta^2 fn + fp)``, equal to
        ``sklearn.metrics.fbeta_score(..., average=None, labels=range(C),
        zero_division=0)``. ``beta = 1`` gives the F1 of
        :func:`per_class_precision_recall_f1`.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or ``beta`` is not a positive finite number.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming the classes absent from both the labels and the
        predictions; their score is 0.0.
    """
    return _fbeta_warned(cm, beta)


def macro_fbeta(cm: np.ndarray, beta: float) -> float:
    """Unweighted mean of :func:`fbeta_per_class` over all ``C`` classes.

    sklearn's ``fbeta_score(..., average="macro", labels=range(C), zero_division=0)``.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)``.
    beta : float
        Positive finite weight of recall relative to precision.

    Returns
    -------
    float
        The macro F-beta; undefined classes count as 0.0.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or ``beta`` is invalid.

    Warns
    -----
    UndefinedMetricWarning
        As :func:`fbeta_per_class`.
    """
    return float(_fbeta_warned(cm, beta).mean())


def weighted_fbeta(cm: np.ndarray, beta: float) -> float:
    """Mean of :func:`fbeta_per_class` weighted by each class's number of true samples.

    sklearn's ``fbeta_score(..., average="weighted", labels=range(C), zero_division=0)``.
    Dominated by the majority classes, so reported next to the macro average,
    never instead of it.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)`` counting at least one sample.
    beta : float
        Positive finite weight of recall relative to precision.

    Returns
    -------
    float
        ``sum_c support_c F_c / N``. Never warns: a class whose F-beta is
        undefined has no true samples and so zero weight.

    Raises
    ------
    ValueError
        If ``cm`` is malformed, counts no samples, or ``beta`` is invalid.
    """
    m = _check_nonempty_cm(cm)
    fbeta, _ = _fbeta_counts(m, _check_beta(beta))
    return float(np.average(fbeta, weights=m.sum(axis=1).astype(np.float64)))


def weighted_precision_recall_f1(cm: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 averaged over classes weighted by their true samples.

    sklearn's ``precision_recall_fscore_support(..., average="weighted",
    labels=range(C), zero_division=0)``. The weighted recall equals the accuracy.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)`` counting at least one sample.

    Returns
    -------
    precision, recall, f1 : float
        Weighted means of the per-class values of :func:`per_class_precision_recall_f1`.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or counts no samples.

    Warns
    -----
    UndefinedMetricWarning
        Once, only for what changes the value: the precision of classes that
        occur in the labels but are never predicted (counted as 0.0). Ill-defined
        recall / F1 belong to classes with zero weight and are not reported.
    """
    tp, predicted, actual = _class_counts(_check_nonempty_cm(cm))
    unpredicted = (predicted == 0) & (actual > 0)
    if unpredicted.any():
        _warn_undefined([f"precision for class(es) {_classes_text(unpredicted)} (no predicted samples)"])
    precision, recall, f1 = (float(np.average(v, weights=actual)) for v in _precision_recall_f1(tp, predicted, actual))
    return precision, recall, f1


def specificity_per_class(cm: np.ndarray) -> np.ndarray:
    """Specificity (true-negative rate) of every class, one-vs-rest.

    ``tn / (tn + fp)``: how rarely the other classes are mistaken for this
    one; the partner of recall in balanced accuracy for a binary task.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)``, rows = true, columns = predicted.

    Returns
    -------
    np.ndarray
        ``float64`` array of length ``C``; equal to ``tn / (tn + fp)`` read
        from ``sklearn.metrics.multilabel_confusion_matrix(..., labels=range(C))``.

    Raises
    ------
    ValueError
        If ``cm`` is malformed.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming the classes without negative samples (every counted
        sample belongs to them); their specificity is 0.0.
    """
    m = _check_cm(cm)
    tp, predicted, actual = _class_counts(m)
    negatives = float(m.sum()) - actual  # tn + fp
    fp = predicted - tp
    undefined = negatives == 0
    if undefined.any():
        _warn_undefined([f"specificity for class(es) {_classes_text(undefined)} (no negative samples)"])
    return _safe_divide(negatives - fp, negatives)


_MCC_UNDEFINED = "mcc (a single class in the labels or in the predictions)"


def _mcc(m: np.ndarray) -> tuple[float, bool]:
    """Matthews correlation of a non-empty confusion matrix, and whether it is undefined."""
    t_sum = m.sum(axis=1).astype(np.float64)
    p_sum = m.sum(axis=0).astype(np.float64)
    n = float(t_sum.sum())
    cov_ytyp = float(np.trace(m)) * n - float(t_sum @ p_sum)
    cov_ypyp = n * n - float(p_sum @ p_sum)
    cov_ytyt = n * n - float(t_sum @ t_sum)
    den = cov_ypyp * cov_ytyt
    if den == 0:
        return 0.0, True
    return float(cov_ytyp / np.sqrt(den)), False


def mcc(cm: np.ndarray) -> float:
    """Matthews correlation coefficient, multi-class form (Gorodkin 2004).

    A single number in ``[-1, 1]`` that stays informative under imbalance:
    a majority-class predictor scores 0.

    Parameters
    ----------
    cm : np.ndarray
        Confusion matrix of shape ``(C, C)`` counting at least one sample.

    Returns
    -------
    float
        ``(n tr(cm) - t.p) / sqrt((n^2 - p.p) (n^2 - t.t))`` with ``t`` / ``p``
        the true / predicted class counts, equal to
        ``sklearn.metrics.matthews_corrcoef``; 0.0 when the denominator is 0
        (a single class in the labels or in the predictions), as sklearn.

    Raises
    ------
    ValueError
        If ``cm`` is malformed or counts no samples.

    Warns
    -----
    UndefinedMetricWarning
        When the value is undefined and reported as 0.0 (sklearn returns 0.0
        silently).

    References
    ----------
    Gorodkin, J. (2004). Comparing two K-category assignments by a K-category
    correlation coefficient. Computational Biology and Chemistry 28(5-6).
    """
    value, undefined = _mcc(_check_nonempty_cm(cm))
    if undefined:
        _warn_undefined([_MCC_UNDEFINED])
    return value


# --------------------------------------------------------------------------- #
# Probability metrics
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


def _tie_groups(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort each row ascending and locate its runs of equal scores.

    Returns ``order`` (``argsort`` along the last axis) and, for each sorted
    position, the first and last sorted index of its run of tied scores
    (``start``, ``end``), all of the shape of ``scores`` (classes x samples).
    """
    order = np.argsort(scores, axis=1)  # the order inside a run of ties never matters below
    s = np.take_along_axis(scores, order, axis=1)
    n = s.shape[1]
    idx = np.arange(n)
    first = np.ones(s.shape, dtype=bool)
    first[:, 1:] = s[:, 1:] != s[:, :-1]
    last = np.ones(s.shape, dtype=bool)
    last[:, :-1] = first[:, 1:]
    start = np.maximum.accumulate(np.where(first, idx, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return order, start, end


_RANKING_BLOCK = 1 << 22
"""Most scores (classes x samples) ranked at once, bounding the memory of the one-vs-rest metrics."""


def _ovr_ranking(scores: np.ndarray, is_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC AUC and average precision of each row of ``scores`` against the same row of ``is_pos``.

    Both arrays are classes x samples. Returns ``(auc, ap, n_pos)`` per row,
    0.0 where undefined.

    ROC AUC is the Mann-Whitney statistic with average ranks for ties (equal to
    the trapezoidal area under sklearn's ROC curve). Average precision is
    sklearn's step-wise sum: at each distinct threshold (sorted descending,
    ties form one threshold) the recall gained times the precision there, i.e.
    the mean over positives of the precision at their own score.
    """
    n = scores.shape[1]
    order, start, end = _tie_groups(scores)
    pos = np.take_along_axis(is_pos, order, axis=1).astype(np.float64)
    n_pos = pos.sum(axis=1)
    n_neg = n - n_pos
    rank_sum = ((0.5 * (start + end) + 1.0) * pos).sum(axis=1)  # average ranks, 1-based
    auc = _safe_divide(rank_sum - 0.5 * n_pos * (n_pos + 1.0), n_pos * n_neg)
    pos_before = np.concatenate([np.zeros((pos.shape[0], 1)), np.cumsum(pos, axis=1)], axis=1)
    tp_at = n_pos[:, None] - np.take_along_axis(pos_before, start, axis=1)  # positives scoring >= this score
    precision_at = tp_at / (n - start)  # among all samples scoring >= this score
    ap = _safe_divide((pos * precision_at).sum(axis=1), n_pos)
    return auc, ap, n_pos


def _ranking_values(y: np.ndarray, p: np.ndarray, k: int | None) -> dict[str, np.ndarray]:
    """Per-class ``roc_auc``, ``average_precision``, ``n_pos`` and ``n_neg``: class ``k`` alone, or every class."""
    classes = np.arange(p.shape[1]) if k is None else np.array([k])
    block = max(1, _RANKING_BLOCK // y.shape[0])
    parts = [
        _ovr_ranking(np.ascontiguousarray(p[:, c].T), c[:, None] == y[None, :])
        for c in np.array_split(classes, -(-classes.size // block))
    ]
    auc, ap, n_pos = (np.concatenate(values) for values in zip(*parts))
    return {"roc_auc": auc, "average_precision": ap, "n_pos": n_pos, "n_neg": y.shape[0] - n_pos}


def _ranking_summary(which: str, k: int | None, values: dict[str, np.ndarray], stacklevel: int) -> float:
    """The binary value or one-vs-rest macro of ``which``, with the nan / fallback rules and their warning."""
    n_pos, n_neg, scores = values["n_pos"], values["n_neg"], values[which]
    why = np.where(n_pos == 0, "no positive samples", "no negative samples")
    # ROC AUC needs both positives and negatives; average precision only positives.
    scorable = (n_pos > 0) & (n_neg > 0) if which == "roc_auc" else n_pos > 0
    if k is not None:
        if scorable[0]:
            return float(scores[0])
        if which == "average_precision":  # sklearn's value: recall set to 1 everywhere, AP = 0
            _warn_undefined([f"{which} for positive class {k} ({why[0]})"], stacklevel=stacklevel)
            return 0.0
        _warn_undefined([f"{which} for positive class {k} ({why[0]})"], outcome="set to nan", stacklevel=stacklevel)
        return float("nan")
    if not scorable.any():
        reasons = ", ".join(sorted(set(why.tolist())))
        _warn_undefined([f"{which} for every class ({reasons})"], outcome="set to nan", stacklevel=stacklevel)
        return float("nan")
    if not scorable.all():
        skipped = "; ".join(
            f"class(es) {_classes_text(~scorable & (why == reason))} ({reason})"
            for reason in sorted(set(why[~scorable].tolist()))
        )
        _warn_undefined(
            [f"{which} for {skipped}; macro average over class(es) {_classes_text(scorable)} only"],
            outcome="left out of the average",
            stacklevel=stacklevel,
        )
    return float(scores[scorable].mean())


def _ranking_metric(labels: np.ndarray, probs: np.ndarray, positive: int | None, which: str) -> float:
    """Shared body of :func:`roc_auc` and :func:`average_precision`."""
    y, p = _check_labels_probs(labels, probs)
    k = _binary_positive(positive, p.shape[1])
    return _ranking_summary(which, k, _ranking_values(y, p, k), stacklevel=4)


def roc_auc(labels: np.ndarray, probs: np.ndarray, positive: int | None = None) -> float:
    """Area under the ROC curve: binary, or one-vs-rest macro over the classes.

    Threshold-free: the probability that a random positive scores above a
    random negative (ties count one half), so it is unaffected by the class
    ratio and by the choice of decision threshold.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]`` (rows need
        not sum to 1, unlike sklearn's multi-class check).
    positive : int, optional
        Score ``probs[:, positive]`` for ``labels == positive`` against the
        rest. Defaults to class 1 when ``C == 2``; for ``C > 2`` without it,
        the macro average of the one-vs-rest AUCs.

    Returns
    -------
    float
        Binary: ``sklearn.metrics.roc_auc_score(labels == positive,
        probs[:, positive])``, ``nan`` when the labels hold only positives or
        only negatives (as sklearn). One-vs-rest: equal to ``roc_auc_score(labels,
        probs, multi_class="ovr", average="macro", labels=range(C))`` when
        every class occurs in the labels (and not all samples are one class);
        otherwise the macro over the classes that have both positives and
        negatives (sklearn returns ``nan`` there), ``nan`` if there is none.

    Raises
    ------
    ValueError
        If ``labels`` / ``probs`` are invalid or ``positive`` is out of range.

    Warns
    -----
    UndefinedMetricWarning
        Once, when the binary value is ``nan``, when classes are left out of
        the macro (naming them), or when no class can be scored.

    Notes
    -----
    Computed from average ranks per column (Mann-Whitney U), one sort per
    column: O(N log N) per class, no loop over thresholds.
    """
    return _ranking_metric(labels, probs, positive, "roc_auc")


def average_precision(labels: np.ndarray, probs: np.ndarray, positive: int | None = None) -> float:
    """Area under the precision-recall curve (average precision): binary or one-vs-rest macro.

    Unlike ROC AUC it moves with the class ratio, which makes it the more
    telling ranking score for a rare positive class.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    positive : int, optional
        As in :func:`roc_auc`: the positive class (class 1 when ``C == 2``);
        without it and ``C > 2``, the one-vs-rest macro average.

    Returns
    -------
    float
        ``sum_k (R_k - R_{k-1}) P_k`` over the distinct scores in descending
        order (tied scores are one threshold), i.e.
        ``sklearn.metrics.average_precision_score(labels == positive,
        probs[:, positive])``; 1.0 when every sample is positive and 0.0 when
        none is (sklearn's value). One-vs-rest: equal to
        ``average_precision_score(labels, probs, average="macro")`` when every
        class occurs in the labels; otherwise (sklearn raises) the macro over
        the classes that occur in the labels.

    Raises
    ------
    ValueError
        If ``labels`` / ``probs`` are invalid or ``positive`` is out of range.

    Warns
    -----
    UndefinedMetricWarning
        Once, when the binary task has no positive sample (value 0.0) or when
        classes without positives are left out of the macro (naming them).
    """
    return _ranking_metric(labels, probs, positive, "average_precision")


def brier(labels: np.ndarray, probs: np.ndarray, positive: int | None = None) -> float:
    """Brier score: mean squared error of the probabilities against the outcomes.

    A proper scoring rule like :func:`log_loss` but bounded, so a single
    confident mistake cannot dominate it.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    positive : int, optional
        Score only ``probs[:, positive]`` against ``labels == positive``.
        Defaults to class 1 when ``C == 2``.

    Returns
    -------
    float
        Binary: ``mean((probs[:, k] - [labels == k])^2)`` in ``[0, 1]``, equal
        to ``sklearn.metrics.brier_score_loss(labels == k, probs[:, k])``.
        Multi-class (``C > 2``, no ``positive``): Brier's (1950) original score
        ``mean_i sum_c (probs[i, c] - [labels[i] == c])^2`` in ``[0, 2]``.

    Raises
    ------
    ValueError
        If ``labels`` / ``probs`` are invalid or ``positive`` is out of range.

    Notes
    -----
    sklearn >= 1.7 ``brier_score_loss(labels, probs, labels=range(C))`` with
    its default ``scale_by_half="auto"`` returns the same number in both
    cases: the unscaled multi-class sum for ``C > 2``, and half of it (the
    binary score of class 1) for ``C == 2``.

    References
    ----------
    Brier, G. W. (1950). Verification of forecasts expressed in terms of
    probability. Monthly Weather Review 78(1).
    """
    y, p = _check_labels_probs(labels, probs)
    k = _binary_positive(positive, p.shape[1])
    if k is not None:
        return float(np.mean((p[:, k] - (y == k)) ** 2))
    diff = p.copy()
    diff[np.arange(y.shape[0]), y] -= 1.0
    return float(np.mean(np.sum(diff * diff, axis=1)))


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error of the top-class confidence (Guo et al. 2017).

    How far the model's confidence is from its accuracy: resampling and
    re-weighting for imbalance tend to shift the probabilities, which this
    makes visible.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    n_bins : int, default 15
        Number of equal-width confidence bins on ``[0, 1]``.

    Returns
    -------
    float
        ``sum_b (|B_b| / N) |acc(B_b) - conf(B_b)|`` where the confidence is
        ``max_c probs[i, c]``, a sample is correct when its argmax (ties: the
        lowest index, as :func:`predict`) equals its label, and bin ``b``
        holds the confidences in ``(b / n_bins, (b + 1) / n_bins]`` (edges from
        ``np.linspace(0, 1, n_bins + 1)``; the first bin also holds 0). Empty
        bins contribute nothing.

    Raises
    ------
    ValueError
        If ``labels`` / ``probs`` are invalid or ``n_bins`` is not an int >= 1.

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On Calibration of
    Modern Neural Networks. ICML. arXiv:1706.04599.
    """
    bins = _check_int_at_least_one("n_bins", n_bins)
    y, p = _check_labels_probs(labels, probs)
    confidence = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    gap = np.bincount(which, weights=correct, minlength=bins) - np.bincount(which, weights=confidence, minlength=bins)
    return float(np.abs(gap).sum() / y.shape[0])


# --------------------------------------------------------------------------- #
# Threshold sweep
# --------------------------------------------------------------------------- #


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
    y, p = _check_labels_probs(labels, probs)
    k = _check_positive(positive, p.shape[1], optional=False)
    t = _check_thresholds(thresholds)
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

    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, n_pos)
    specificity = _safe_divide(tn, n_neg)
    f1 = _safe_divide(2 * tp, predicted + n_pos)
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
    _warn_undefined(problems)
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


# --------------------------------------------------------------------------- #
# Long-tail groups
# --------------------------------------------------------------------------- #


def _shot_groups(train_counts: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the many / medium / few-shot classes by training count."""
    return {
        "many": train_counts > MANY_SHOT_ABOVE,
        "medium": (train_counts >= FEW_SHOT_BELOW) & (train_counts <= MANY_SHOT_ABOVE),
        "few": train_counts < FEW_SHOT_BELOW,
    }


def _shot_accuracies(cm: np.ndarray, train_counts: np.ndarray) -> tuple[dict[str, float | list[int]], list[str]]:
    """Group accuracies and class lists from a confusion matrix, plus the problems to warn about."""
    tp, _, actual = _class_counts(cm)
    recall = _safe_divide(tp, actual)
    out: dict[str, float | list[int]] = {}
    problems = []
    groups = _shot_groups(train_counts)
    for group, members in groups.items():
        scored = members & (actual > 0)
        out[f"{group}_shot_accuracy"] = float(recall[scored].mean()) if scored.any() else float("nan")
        if members.any() and not scored.any():
            problems.append(
                f"{group}_shot_accuracy (its class(es) {_classes_text(members)} do not occur in the labels)"
            )
    for group, members in groups.items():
        out[f"{group}_shot_classes"] = np.flatnonzero(members).tolist()
    return out, problems


def shot_group_accuracy(
    labels: np.ndarray, predictions: np.ndarray, train_counts: np.ndarray
) -> dict[str, float | list[int]]:
    """Accuracy on the many-, medium- and few-shot classes of a long-tailed training set.

    The split of Liu et al. (2019): a class is "many-shot" with more than
    :data:`MANY_SHOT_ABOVE` (100) training images, "few-shot" with fewer than
    :data:`FEW_SHOT_BELOW` (20), "medium-shot" otherwise (20 to 100 inclusive).
    Shows whether a method helps the tail or only moves accuracy around.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``, ``C = len(train_counts)``.
    predictions : np.ndarray
        1-D integer array of predicted class indices, same length as ``labels``.
    train_counts : np.ndarray
        1-D integer array: number of training images of each class.

    Returns
    -------
    dict
        ``many_shot_accuracy``, ``medium_shot_accuracy``, ``few_shot_accuracy``
        (floats): the mean per-class recall over the group's classes that
        occur in ``labels`` (each class counts equally, as in balanced
        accuracy; a group's classes absent from the evaluation set are left
        out), ``nan`` when the group has no class or none of them occurs in
        ``labels``; then ``many_shot_classes``, ``medium_shot_classes``,
        ``few_shot_classes``: the class indices of each group (lists of int,
        from ``train_counts`` alone).

    Raises
    ------
    ValueError
        If ``train_counts`` is not a non-empty 1-D array of non-negative
        integers, or ``labels`` / ``predictions`` are invalid for ``C`` classes.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming each group that has classes but none in ``labels`` (its
        accuracy is ``nan``). An empty group is ``nan`` without a warning.

    References
    ----------
    Liu, Z., Miao, Z., Zhan, X., Wang, J., Gong, B., Yu, S. X. (2019).
    Large-Scale Long-Tailed Recognition in an Open World. CVPR.
    arXiv:1904.05160.
    """
    counts = _check_train_counts(train_counts)
    cm = confusion_matrix(labels, predictions, counts.shape[0])
    out, problems = _shot_accuracies(cm, counts)
    _warn_undefined(problems, outcome="set to nan")
    return out


# --------------------------------------------------------------------------- #
# Everything for one evaluation set
# --------------------------------------------------------------------------- #


def classification_metrics(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    positive: int | None = None,
    threshold: float | None = None,
    train_counts: np.ndarray | None = None,
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
    train_counts : np.ndarray, optional
        Training images per class (length ``C``); adds the many / medium /
        few-shot accuracies of :func:`shot_group_accuracy`.

    Returns
    -------
    dict[str, float]
        Keys :data:`~imbalance_lab.vocabulary.ALWAYS` (``n`` is an ``int``), followed, when
        ``positive`` is given, by :data:`~imbalance_lab.vocabulary.WITH_POSITIVE` (``tp``,
        ``fp``, ``tn``, ``fn`` are ``int``; ``specificity = tn / (tn + fp)``),
        followed, when ``train_counts`` is given, by :data:`~imbalance_lab.vocabulary.SHOT`.
        Decisions come from ``predict(probs, positive=positive, threshold=threshold)``
        and feed every count-based metric (``*_precision``, ``*_recall``,
        ``*_f1``, ``macro_f2``, ``f2``, ``mcc``, the shot accuracies).
        ``log_loss`` and ``brier`` use the probabilities, ``roc_auc`` and
        ``pr_auc`` (average precision) their ranking, all three of the positive
        class when ``positive`` is given (or class 1 when ``C == 2``), else the
        one-vs-rest macro / multi-class Brier score. ``ece`` always judges the
        argmax confidence (15 bins), whatever the threshold. ``roc_auc``,
        ``pr_auc`` and the shot accuracies may be ``nan`` (see their functions).

    Raises
    ------
    ValueError
        If the inputs are invalid (see :func:`predict`, :func:`log_loss` and
        :func:`shot_group_accuracy`), or ``train_counts`` does not have ``C`` entries.

    Warns
    -----
    UndefinedMetricWarning
        Once for the per-class metrics (see :func:`per_class_precision_recall_f1`;
        the F2 and weighted scores are undefined exactly where F1 / precision
        are, so they add no warning), once more if the specificity is
        undefined (no negative samples), and once each for an undefined
        ``mcc``, ``roc_auc``, ``pr_auc`` or shot-group accuracy.
    """
    y, p = _check_labels_probs(labels, probs)
    n_classes = p.shape[1]
    counts = None
    if train_counts is not None:
        counts = _check_train_counts(train_counts)
        if counts.shape[0] != n_classes:
            raise ValueError(
                f"train_counts: expected one count per class ({n_classes}), got {counts.shape[0]} counts"
            )
    decisions = predict(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, decisions, n_classes)
    precision, recall, f1 = per_class_precision_recall_f1(cm)
    f2, _ = _fbeta_counts(cm, 2.0)
    support = cm.sum(axis=1).astype(np.float64)  # the weights of the weighted averages
    mcc_value, mcc_undefined = _mcc(cm)
    k_rank = _binary_positive(positive, n_classes)
    ranking = _ranking_values(y, p, k_rank)  # one sort for both roc_auc and pr_auc
    if mcc_undefined:
        _warn_undefined([_MCC_UNDEFINED], stacklevel=2)

    out: dict[str, float] = {
        "accuracy": accuracy(cm),
        "balanced_accuracy": balanced_accuracy(cm),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "log_loss": log_loss(y, p),
        "n": int(y.shape[0]),
        "weighted_precision": float(np.average(precision, weights=support)),
        "weighted_recall": float(np.average(recall, weights=support)),
        "weighted_f1": float(np.average(f1, weights=support)),
        "macro_f2": float(f2.mean()),
        "mcc": mcc_value,
        "roc_auc": _ranking_summary("roc_auc", k_rank, ranking, stacklevel=3),
        "pr_auc": _ranking_summary("average_precision", k_rank, ranking, stacklevel=3),
        "brier": brier(y, p, positive),
        "ece": expected_calibration_error(y, p),
    }
    if positive is not None:
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
                "f2": float(f2[k]),
            }
        )
    if counts is not None:
        shots, problems = _shot_accuracies(cm, counts)
        _warn_undefined(problems, outcome="set to nan", stacklevel=2)
        out.update({key: shots[key] for key in SHOT})
    return out
