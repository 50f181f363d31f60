"""Everything for one evaluation set: :func:`classification_metrics`, the dictionary every run records
(its keys are :mod:`imbalance_lab.vocabulary`'s ``ALWAYS``, ``WITH_POSITIVE`` and ``SHOT``)."""

from __future__ import annotations

import warnings
from typing import cast

import numpy as np

from imbalance_lab.metrics.calibration import (
    brier,
    expected_calibration_error,
    log_loss,
)
from imbalance_lab.metrics.checks import (
    UndefinedMetricWarning,
    binary_positive,
    check_labels_probs,
    check_train_counts,
    safe_divide,
    warn_undefined,
)
from imbalance_lab.metrics.counts import (
    MCC_UNDEFINED,
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    fbeta_counts,
    mcc_and_undefined,
    per_class_precision_recall_f1,
    predict,
)
from imbalance_lab.metrics.long_tail import shot_accuracies
from imbalance_lab.metrics.ranking import ranking_summary, ranking_values
from imbalance_lab.vocabulary import SHOT


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
    y, p = check_labels_probs(labels, probs)
    n_classes = p.shape[1]
    counts = None
    if train_counts is not None:
        counts = check_train_counts(train_counts)
        if counts.shape[0] != n_classes:
            raise ValueError(f"train_counts: expected one count per class ({n_classes}), got {counts.shape[0]} counts")
    decisions = predict(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, decisions, n_classes)
    precision, recall, f1 = per_class_precision_recall_f1(cm)
    f2, _ = fbeta_counts(cm, 2.0)
    support = cm.sum(axis=1).astype(np.float64)  # the weights of the weighted averages
    mcc_value, mcc_undefined = mcc_and_undefined(cm)
    k_rank = binary_positive(positive, n_classes)
    ranking = ranking_values(y, p, k_rank)  # one sort for both roc_auc and pr_auc
    if mcc_undefined:
        warn_undefined([MCC_UNDEFINED], stacklevel=2)

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
        "roc_auc": ranking_summary("roc_auc", k_rank, ranking, stacklevel=3),
        "pr_auc": ranking_summary("average_precision", k_rank, ranking, stacklevel=3),
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
                f"Ill-defined metric set to 0.0: specificity for positive class {k} (no negative samples).",
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
                "specificity": float(safe_divide(tn, tn + fp)),
                "f2": float(f2[k]),
            }
        )
    if counts is not None:
        shots, problems = shot_accuracies(cm, counts)
        warn_undefined(problems, outcome="set to nan", stacklevel=2)
        out.update({key: cast(float, shots[key]) for key in SHOT})  # the accuracies; the class lists are not kept
    return out
