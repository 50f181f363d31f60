"""Decisions and the metrics of a confusion matrix: per-class precision, recall and F-beta, accuracy,
balanced accuracy, specificity, MCC (each checked against ``sklearn.metrics`` in tests)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from imbalance_lab.metrics.checks import (
    check_beta,
    check_class_indices,
    check_cm,
    check_n_classes,
    check_nonempty_cm,
    check_positive,
    check_probs,
    safe_divide,
    warn_undefined,
)


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
    c = check_n_classes(n_classes)
    y = check_class_indices("labels", labels, c)
    yhat = check_class_indices("predictions", predictions, c)
    if y.shape[0] != yhat.shape[0]:
        raise ValueError(f"predictions: expected the same length as labels ({y.shape[0]}), got {yhat.shape[0]}")
    return np.bincount(y * c + yhat, minlength=c * c).reshape(c, c).astype(np.int64, copy=False)


def predict(probs: np.ndarray, *, positive: int | None = None, threshold: float | None = None) -> np.ndarray:
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
    p = check_probs(probs)
    positive = check_positive(positive, p.shape[1])
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


def classes_text(mask: np.ndarray) -> str:
    """Render the indices where ``mask`` is true as ``[0, 3]``."""
    return str(np.flatnonzero(mask).tolist())


def class_counts(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``tp``, predicted (``tp + fp``) and true (``tp + fn``) counts of a confusion matrix, as float64."""
    return np.diag(m).astype(np.float64), m.sum(axis=0).astype(np.float64), m.sum(axis=1).astype(np.float64)


def _precision_recall_f1(
    tp: np.ndarray, predicted: np.ndarray, actual: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from counts, 0.0 where undefined, without warning."""
    return safe_divide(tp, predicted), safe_divide(tp, actual), safe_divide(2.0 * tp, predicted + actual)


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
    tp, predicted, actual = class_counts(check_cm(cm))
    problems = []
    for metric, mask, why in (
        ("precision", predicted == 0, "no predicted samples"),
        ("recall", actual == 0, "no true samples"),
        ("f1", predicted + actual == 0, "no true nor predicted samples"),
    ):
        if mask.any():
            problems.append(f"{metric} for class(es) {classes_text(mask)} ({why})")
    warn_undefined(problems)
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
    m = check_nonempty_cm(cm)
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
    m = check_nonempty_cm(cm)
    actual = m.sum(axis=1).astype(np.float64)
    present = actual > 0
    return float(np.mean(np.diag(m)[present] / actual[present]))


def fbeta_counts(m: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-class F-beta and the mask of classes where it is undefined (no true nor predicted samples)."""
    tp, predicted, actual = class_counts(m)
    beta2 = beta * beta
    den = beta2 * actual + predicted  # (1 + b^2) tp + b^2 fn + fp, sklearn's arithmetic
    return safe_divide((1.0 + beta2) * tp, den), den == 0


def _fbeta_warned(cm: np.ndarray, beta: float) -> np.ndarray:
    """Validated per-class F-beta, warning (at the public caller's caller) about undefined classes."""
    m = check_cm(cm)
    b = check_beta(beta)
    fbeta, undefined = fbeta_counts(m, b)
    if undefined.any():
        warn_undefined(
            [f"f-beta (beta={b:g}) for class(es) {classes_text(undefined)} (no true nor predicted samples)"],
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
    m = check_nonempty_cm(cm)
    fbeta, _ = fbeta_counts(m, check_beta(beta))
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
    tp, predicted, actual = class_counts(check_nonempty_cm(cm))
    unpredicted = (predicted == 0) & (actual > 0)
    if unpredicted.any():
        warn_undefined([f"precision for class(es) {classes_text(unpredicted)} (no predicted samples)"])
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
    m = check_cm(cm)
    tp, predicted, actual = class_counts(m)
    negatives = float(m.sum()) - actual  # tn + fp
    fp = predicted - tp
    undefined = negatives == 0
    if undefined.any():
        warn_undefined([f"specificity for class(es) {classes_text(undefined)} (no negative samples)"])
    return safe_divide(negatives - fp, negatives)


MCC_UNDEFINED = "mcc (a single class in the labels or in the predictions)"


def mcc_and_undefined(m: np.ndarray) -> tuple[float, bool]:
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
    value, undefined = mcc_and_undefined(check_nonempty_cm(cm))
    if undefined:
        warn_undefined([MCC_UNDEFINED])
    return value
