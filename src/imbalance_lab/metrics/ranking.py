"""Ranking metrics: tie-aware ROC-AUC and average precision, one-vs-rest for every class from one sort."""

from __future__ import annotations

import numpy as np

from imbalance_lab.metrics.checks import (
    binary_positive,
    check_labels_probs,
    safe_divide,
    warn_undefined,
)
from imbalance_lab.metrics.counts import classes_text


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


RANKING_BLOCK = 1 << 22
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
    auc = safe_divide(rank_sum - 0.5 * n_pos * (n_pos + 1.0), n_pos * n_neg)
    pos_before = np.concatenate([np.zeros((pos.shape[0], 1)), np.cumsum(pos, axis=1)], axis=1)
    tp_at = n_pos[:, None] - np.take_along_axis(pos_before, start, axis=1)  # positives scoring >= this score
    precision_at = tp_at / (n - start)  # among all samples scoring >= this score
    ap = safe_divide((pos * precision_at).sum(axis=1), n_pos)
    return auc, ap, n_pos


def ranking_values(y: np.ndarray, p: np.ndarray, k: int | None) -> dict[str, np.ndarray]:
    """Per-class ``roc_auc``, ``average_precision``, ``n_pos`` and ``n_neg``: class ``k`` alone, or every class."""
    classes = np.arange(p.shape[1]) if k is None else np.array([k])
    block = max(1, RANKING_BLOCK // y.shape[0])
    parts = [
        _ovr_ranking(np.ascontiguousarray(p[:, c].T), c[:, None] == y[None, :])
        for c in np.array_split(classes, -(-classes.size // block))
    ]
    auc, ap, n_pos = (np.concatenate(values) for values in zip(*parts))
    return {"roc_auc": auc, "average_precision": ap, "n_pos": n_pos, "n_neg": y.shape[0] - n_pos}


def ranking_summary(which: str, k: int | None, values: dict[str, np.ndarray], stacklevel: int) -> float:
    """The binary value or one-vs-rest macro of ``which``, with the nan / fallback rules and their warning."""
    n_pos, n_neg, scores = values["n_pos"], values["n_neg"], values[which]
    why = np.where(n_pos == 0, "no positive samples", "no negative samples")
    # ROC AUC needs both positives and negatives; average precision only positives.
    scorable = (n_pos > 0) & (n_neg > 0) if which == "roc_auc" else n_pos > 0
    if k is not None:
        if scorable[0]:
            return float(scores[0])
        if which == "average_precision":  # sklearn's value: recall set to 1 everywhere, AP = 0
            warn_undefined([f"{which} for positive class {k} ({why[0]})"], stacklevel=stacklevel)
            return 0.0
        warn_undefined([f"{which} for positive class {k} ({why[0]})"], outcome="set to nan", stacklevel=stacklevel)
        return float("nan")
    if not scorable.any():
        reasons = ", ".join(sorted(set(why.tolist())))
        warn_undefined([f"{which} for every class ({reasons})"], outcome="set to nan", stacklevel=stacklevel)
        return float("nan")
    if not scorable.all():
        skipped = "; ".join(
            f"class(es) {classes_text(~scorable & (why == reason))} ({reason})"
            for reason in sorted(set(why[~scorable].tolist()))
        )
        warn_undefined(
            [f"{which} for {skipped}; macro average over class(es) {classes_text(scorable)} only"],
            outcome="left out of the average",
            stacklevel=stacklevel,
        )
    return float(scores[scorable].mean())


def _ranking_metric(labels: np.ndarray, probs: np.ndarray, positive: int | None, which: str) -> float:
    """Shared body of :func:`roc_auc` and :func:`average_precision`."""
    y, p = check_labels_probs(labels, probs)
    k = binary_positive(positive, p.shape[1])
    return ranking_summary(which, k, ranking_values(y, p, k), stacklevel=4)


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
