"""Costs: the expected cost of decisions (binary or a cost matrix) and the Bayes decision of least expected
cost."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from imbalance_lab.decisions.checks import (
    check_cost_matrix,
    check_costs,
    check_labels,
    check_positive_label,
    check_prior,
    check_rate,
)
from imbalance_lab.metrics import (
    confusion_matrix,
)
from imbalance_lab.metrics.checks import (
    check_probs,
)


def expected_cost(
    labels: np.ndarray,
    predictions: np.ndarray,
    positive: int,
    cost_fn: float,
    cost_fp: float,
    deploy_prior: float | None = None,
) -> float:
    """Expected cost per case of binary decisions (correct decisions cost 0).

    Parameters
    ----------
    labels, predictions : np.ndarray
        1-D integer arrays of true and predicted class indices, same length;
        a case is positive when it equals ``positive``.
    positive : int
        The positive class index.
    cost_fn, cost_fp : float
        Cost of a missed positive and of a false alarm (>= 0, not both 0).
    deploy_prior : float, optional
        The positive-class rate of the deployment world in ``[0, 1]``: cost
        ``π' · FNR · c_fn + (1 − π') · FPR · c_fp``; both classes must occur in
        ``labels``. Without it, ``(fn · c_fn + fp · c_fp) / n``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the arrays or costs are invalid, or ``deploy_prior`` is given and a class is missing.
    """
    y = check_labels("labels", labels)
    yhat = check_labels("predictions", predictions, y.shape[0])
    k = check_positive_label(positive)
    c_fn, c_fp = check_costs(cost_fn, cost_fp)
    rate = check_rate(deploy_prior)
    is_pos, called = y == k, yhat == k
    n_pos = int(is_pos.sum())
    n_neg = int(y.shape[0]) - n_pos
    if rate is not None and (n_pos == 0 or n_neg == 0):
        raise ValueError(
            f"labels: expected samples of the positive class {k} and of another class to reweight to "
            f"deploy_prior={rate:g}, got {'none' if n_pos == 0 else 'only those'}; "
            "pass deploy_prior=None for the set's own rates"
        )
    fn, fp = int((is_pos & ~called).sum()), int((~is_pos & called).sum())
    return float(binary_cost(np.float64(fn), np.float64(fp), n_pos, n_neg, c_fn, c_fp, rate))


def expected_cost_matrix(
    labels: np.ndarray, predictions: np.ndarray, cost: np.ndarray, deploy_prior: np.ndarray | None = None
) -> float:
    """Expected cost per case under a cost matrix ``cost[true, predicted]``.

    ``Σ_i π'(i) · mean_{x of class i} cost[i, ŷ(x)]``: each true class's mean
    cost, weighted by the deployment prior.

    Parameters
    ----------
    labels, predictions : np.ndarray
        1-D integer arrays of class indices in ``[0, C)``, same length.
    cost : np.ndarray
        ``C x C`` matrix of finite costs, ``cost[i, j]`` for predicting ``j`` on class ``i``.
    deploy_prior : np.ndarray, optional
        ``C`` class frequencies >= 0 summing to 1; every class with a positive
        frequency must occur in ``labels``. Default: the set's own class
        frequencies (then the plain mean of ``cost[labels, predictions]``).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the arrays, ``cost`` or ``deploy_prior`` are invalid, or a class the
        prior weights is missing from ``labels``.
    """
    c = check_cost_matrix(cost)
    cm = confusion_matrix(labels, predictions, c.shape[0]).astype(np.float64)
    support = cm.sum(axis=1)
    if deploy_prior is None:
        return float((cm * c).sum() / support.sum())
    prior = check_prior("deploy_prior", deploy_prior, c.shape[0], strictly_positive=False)
    missing = np.flatnonzero((prior > 0) & (support == 0))
    if missing.size:
        raise ValueError(
            f"labels: expected a sample of every class deploy_prior weights, got none of class "
            f"{int(missing[0])}; give it a frequency of 0 or add its samples"
        )
    per_class = np.divide((cm * c).sum(axis=1), support, out=np.zeros_like(support), where=support > 0)
    return float(prior @ per_class)


def bayes_decision(probs: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """The decision of least expected cost: ``argmin_k Σ_j probs[:, j] · cost[j, k]``.

    With the 0-1 cost (``1 − identity``) this is the argmax; with calibrated
    posteriors it is the best decision under ``cost[true, predicted]``.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``.
    cost : np.ndarray
        ``C x C`` matrix of finite costs indexed ``[true, predicted]``.

    Returns
    -------
    np.ndarray
        1-D ``int64`` array of length ``N``; ties go to the lowest class index.

    Raises
    ------
    ValueError
        If ``probs`` or ``cost`` is malformed or their class counts differ.

    Examples
    --------
    >>> bayes_decision(np.array([[0.7, 0.3]]), np.array([[0.0, 1.0], [5.0, 0.0]]))
    array([1])
    """
    p = check_probs(probs)
    c = check_cost_matrix(cost, p.shape[1])
    return np.argmin(p @ c, axis=1).astype(np.int64)


_Counts = TypeVar("_Counts", np.ndarray, np.float64)  # one count, or one per candidate threshold


def binary_cost(
    fn: _Counts, fp: _Counts, n_pos: int, n_neg: int, cost_fn: float, cost_fp: float, rate: float | None
) -> _Counts:
    """Expected cost per case: the set's own ``(fn c_fn + fp c_fp) / n``, or reweighted to the positive ``rate``."""
    if rate is None:
        return (fn * cost_fn + fp * cost_fp) / (n_pos + n_neg)
    return rate * (fn / n_pos) * cost_fn + (1.0 - rate) * (fp / n_neg) * cost_fp
