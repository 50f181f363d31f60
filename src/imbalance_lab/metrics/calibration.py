"""Probability quality: log loss, the Brier score and the expected calibration error."""

from __future__ import annotations

from numbers import Real

import numpy as np

from imbalance_lab.metrics.checks import (
    binary_positive,
    check_int_at_least_one,
    check_labels_probs,
)


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
    y, p = check_labels_probs(labels, probs)
    true_p = p[np.arange(y.shape[0]), y]
    return float(-np.mean(np.log(np.clip(true_p, float(eps), 1.0))))


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
    y, p = check_labels_probs(labels, probs)
    k = binary_positive(positive, p.shape[1])
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
    bins = check_int_at_least_one("n_bins", n_bins)
    y, p = check_labels_probs(labels, probs)
    confidence = p.max(axis=1)
    correct = (np.argmax(p, axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    gap = np.bincount(which, weights=correct, minlength=bins) - np.bincount(which, weights=confidence, minlength=bins)
    return float(np.abs(gap).sum() / y.shape[0])
