"""Decision rules fitted on a validation set's predictions and applied to any other set's.

A trained model's stored logits are not the end of the story on imbalanced data:
the decision taken from them can be moved without retraining. This module holds
those post-hoc rules as pure numpy functions:

* **prior shift** -- :func:`logit_adjust` (Menon et al. 2021),
  :func:`prior_correction` and its EM estimate of an unknown deployment prior
  :func:`em_deployment_prior` (Saerens et al. 2002);
* **threshold moving** for a positive class -- :func:`threshold_max_fbeta`,
  :func:`threshold_for_recall`, :func:`threshold_for_precision`,
  :func:`threshold_min_cost`, and :func:`threshold_as_probs`, which turns a
  thresholded decision back into a probability matrix whose argmax is that
  decision, so every metric in :mod:`imbalance_lab.metrics` works on it;
* **costs** -- :func:`expected_cost`, :func:`expected_cost_matrix` and the Bayes
  decision :func:`bayes_decision`;
* **calibration** -- temperature scaling (:func:`fit_temperature`,
  :func:`apply_temperature`, Guo et al. 2017) and :func:`calibration_report`.

:data:`DECISION_RULES` registers the four fit-then-apply rules (``logit_adjust``,
``prior_correction``, ``threshold``, ``temperature``) with one interface:
``rule.fit(val_labels, val_logits, context)`` returns a :class:`FittedDecision`
whose ``apply(logits)`` gives an N x C probability matrix whose argmax is the decision.

Conventions shared by every function here:

* invalid arguments raise ``ValueError`` in one line naming the argument, what
  was expected, what was given and, where it helps, how to fix it (as in
  :mod:`imbalance_lab.metrics`);
* a threshold ``t`` means "predict the positive class when its score is ``>= t``"
  (as :func:`~imbalance_lab.metrics.predict`); the candidate
  thresholds of a set are its distinct scores ``u_0 < u_1 < ...``, and the
  threshold returned for candidate ``u_k`` is the midpoint of the thresholds that
  decide the set as ``u_k`` does: ``(u_{k-1} + u_k) / 2``, ``u_0 / 2`` for the
  lowest (and ``(u_max + 1) / 2`` for "never positive" in
  :func:`threshold_min_cost`), a margin either side for images not in the set;
* when several candidates are equally good (values within :data:`TIE_TOLERANCE`,
  relative, of the best), the **largest** is chosen: the fewest positive calls
  that reach the best value;
* a prior is a 1-D array with one entry per class summing to 1 (within
  :data:`PRIOR_SUM_TOLERANCE`); a training prior must be > 0 everywhere, a
  deployment prior may have zeros.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field
from scipy import optimize, special

from imbalance_lab.metrics import (
    brier,
    confusion_matrix,
    expected_calibration_error,
    log_loss,
    threshold_metrics,
)
from imbalance_lab.metrics.checks import (
    binary_positive,
    check_beta,
    check_class_indices,
    check_positive,
    check_probs,
    describe,
)
from imbalance_lab.registry import Registry

__all__ = [
    "DECISION_RULES",
    "PRIOR_SUM_TOLERANCE",
    "PROB_EPS",
    "TEMPERATURE_BOUNDS",
    "TIE_TOLERANCE",
    "CalibrationReport",
    "DecisionContext",
    "DecisionRule",
    "EstimatedPrior",
    "FittedDecision",
    "LogitAdjust",
    "PriorCorrection",
    "Temperature",
    "Threshold",
    "apply_temperature",
    "bayes_decision",
    "calibration_report",
    "em_deployment_prior",
    "expected_cost",
    "expected_cost_matrix",
    "fit_temperature",
    "logit_adjust",
    "prior_correction",
    "threshold_as_probs",
    "threshold_for_precision",
    "threshold_for_recall",
    "threshold_max_fbeta",
    "threshold_min_cost",
]

TIE_TOLERANCE: float = 1e-12
"""Scores (F-beta, cost) within this relative distance of the best count as ties; targets are met within it too."""

PRIOR_SUM_TOLERANCE: float = 1e-6
"""How far from 1 the sum of a prior may be."""

PROB_EPS: float = 1e-12
""":func:`threshold_as_probs` clips scores and thresholds to ``[PROB_EPS, 1 - PROB_EPS]`` before taking logits."""

TEMPERATURE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
"""The interval :func:`fit_temperature` searches for ``T``."""

_ABOVE_HALF = float(np.nextafter(0.5, 1.0))
_BELOW_HALF = float(np.nextafter(0.5, 0.0))


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #


def _check_real(name: str, value: object, *, low: float = -math.inf, high: float = math.inf,
                low_open: bool = False, high_open: bool = False) -> float:
    """Validate a finite real number in an interval and return it as a float."""
    ok = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: expected a finite number in {left}{low:g}, {high:g}{right}, got {value!r}")
    return float(value)


def _check_logits(logits: object, name: str = "logits") -> np.ndarray:
    """Validate an N x C (N >= 1, C >= 2) matrix of finite real scores."""
    arr = np.asarray(logits)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        raise ValueError(f"{name}: expected a 2-D array of shape (n_samples >= 1, n_classes >= 2), "
                         f"got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return arr


def _check_prior(name: str, prior: object, n_classes: int, *, strictly_positive: bool) -> np.ndarray:
    """Validate a class prior: ``n_classes`` finite entries (> 0 or >= 0) summing to 1."""
    arr = np.asarray(prior)
    if arr.ndim != 1 or arr.shape[0] != n_classes:
        raise ValueError(f"{name}: expected a 1-D array with one entry per class ({n_classes}), got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real class frequencies, got {describe(arr)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite class frequencies, got NaN or infinity")
    lowest = float(arr.min())
    if lowest < 0.0 or (strictly_positive and lowest == 0.0):
        bound = "> 0 (every class must occur in training)" if strictly_positive else ">= 0"
        raise ValueError(f"{name}: expected every class frequency {bound}, got a minimum of {lowest:g}")
    total = float(arr.sum())
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        raise ValueError(f"{name}: expected class frequencies summing to 1, got a sum of {total:g}; "
                         "divide the counts by their total")
    return arr


def _check_labels(name: str, labels: object, n_samples: int | None = None) -> np.ndarray:
    """Validate a non-empty 1-D array of non-negative integer class labels (of length ``n_samples``)."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of class indices, got {describe(arr)}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of class indices, got {describe(arr)}")
    if int(arr.min()) < 0:
        raise ValueError(f"{name}: expected class indices >= 0, got a minimum of {int(arr.min())}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name}: expected one entry per sample ({n_samples}), got {arr.shape[0]}")
    return arr.astype(np.int64, copy=False)


def _check_scores(scores: object) -> np.ndarray:
    """Validate a non-empty 1-D array of positive-class probabilities in [0, 1]."""
    arr = np.asarray(scores)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"scores: expected a non-empty 1-D array of positive-class probabilities, "
                         f"got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"scores: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores: expected finite values, got NaN or infinity")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"scores: expected probabilities in [0, 1], got values in [{lo:g}, {hi:g}]")
    return arr


def _check_positive_label(positive: object) -> int:
    if isinstance(positive, bool) or not isinstance(positive, Integral) or positive < 0:
        raise ValueError(f"positive: expected the class index (an integer >= 0) of the positive class, "
                         f"got {positive!r}")
    return int(positive)


def _check_costs(cost_fn: object, cost_fp: object) -> tuple[float, float]:
    c_fn = _check_real("cost_fn", cost_fn, low=0.0)
    c_fp = _check_real("cost_fp", cost_fp, low=0.0)
    if c_fn == 0.0 and c_fp == 0.0:
        raise ValueError("cost_fn: expected at least one of cost_fn, cost_fp to be > 0, got both 0")
    return c_fn, c_fp


def _check_rate(deploy_prior: object) -> float | None:
    """Validate the positive-class rate of the deployment world (``None`` keeps the set's own)."""
    if deploy_prior is None:
        return None
    return _check_real("deploy_prior", deploy_prior, low=0.0, high=1.0)


def _check_cost_matrix(cost: object, n_classes: int | None = None) -> np.ndarray:
    arr = np.asarray(cost)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(f"cost: expected a square C x C matrix (C >= 2) indexed [true, predicted], "
                         f"got {describe(arr)}")
    if n_classes is not None and arr.shape[0] != n_classes:
        raise ValueError(f"cost: expected a {n_classes} x {n_classes} matrix (one row and column per class), "
                         f"got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"cost: expected real costs, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("cost: expected finite costs, got NaN or infinity")
    return arr


def _check_temperature(temperature: object) -> float:
    return _check_real("temperature", temperature, low=0.0, low_open=True)


# --------------------------------------------------------------------------- #
# Prior shift
# --------------------------------------------------------------------------- #


def logit_adjust(logits: np.ndarray, prior: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Post-hoc logit adjustment: ``logits - tau * log(prior)``.

    Subtracting the log training prior undoes the pull of a frequent class on
    the argmax; with ``tau = 1`` the argmax targets the balanced error (every
    class weighted equally), as a correction to a uniform deployment prior.

    Parameters
    ----------
    logits : np.ndarray
        Array of shape ``(N, C)``, ``C >= 2``, of finite scores.
    prior : np.ndarray
        Training class prior: ``C`` entries > 0 summing to 1.
    tau : float, default 1.0
        Strength of the adjustment, ``>= 0``; ``0`` leaves the logits unchanged.

    Returns
    -------
    np.ndarray
        ``float64`` array of shape ``(N, C)``.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix, ``prior`` is not a valid
        training prior for ``C`` classes, or ``tau`` is negative or not finite.

    References
    ----------
    Menon, A. K., Jayasumana, S., Rawat, A. S., Jain, H., Veit, A., Kumar, S.
    (2021). Long-tail learning via logit adjustment. ICLR. arXiv:2007.07314.
    (post-hoc correction, their eq. 9)

    Examples
    --------
    >>> logit_adjust(np.array([[1.0, 1.0]]), np.array([0.5, 0.5]), tau=0.0)
    array([[1., 1.]])
    """
    z = _check_logits(logits)
    pi = _check_prior("prior", prior, z.shape[1], strictly_positive=True)
    t = _check_real("tau", tau, low=0.0)
    return z - t * np.log(pi)


def prior_correction(probs: np.ndarray, train_prior: np.ndarray, deploy_prior: np.ndarray) -> np.ndarray:
    """Move posteriors from the training prior to a deployment prior.

    Bayes' rule with the class-conditional densities held fixed:
    ``p'(y|x) ∝ p(y|x) · π'(y) / π(y)``, renormalised per row. With calibrated
    posteriors this is the posterior the model would have given had it been
    trained at the deployment prior.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` with probabilities in ``[0, 1]``; each row
        must have a positive sum (rows need not sum to 1, they are renormalised).
    train_prior : np.ndarray
        The prior the model was trained at: ``C`` entries > 0 summing to 1.
    deploy_prior : np.ndarray
        The deployment prior: ``C`` entries >= 0 summing to 1.

    Returns
    -------
    np.ndarray
        ``float64`` array of shape ``(N, C)``, rows summing to 1. With
        ``deploy_prior == train_prior`` the rows of ``probs`` renormalised.

    Raises
    ------
    ValueError
        If ``probs`` is malformed, a prior is invalid, or a row has no weight
        left after the correction (all of its mass on classes of deployment prior 0).

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural
    Computation 14(1). (their eq. 2.4)

    Examples
    --------
    >>> prior_correction(np.array([[0.6, 0.4]]), np.array([0.8, 0.2]), np.array([0.5, 0.5])).round(4)
    array([[0.2727, 0.7273]])
    """
    p = check_probs(probs)
    pi = _check_prior("train_prior", train_prior, p.shape[1], strictly_positive=True)
    pi_new = _check_prior("deploy_prior", deploy_prior, p.shape[1], strictly_positive=False)
    return _reweight(p, pi_new / pi)


def _reweight(p: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Rows of ``p * ratio``, renormalised; a row left with no weight is an error."""
    weighted = p * ratio
    total = weighted.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(total[:, 0] <= 0.0)
    if empty.size:
        raise ValueError(f"probs: expected every row to keep a positive weight after the correction, got row "
                         f"{int(empty[0])} with none (all its probability on classes of deployment prior 0)")
    return weighted / total


@dataclass(frozen=True)
class EstimatedPrior:
    """A deployment prior estimated by EM: the prior, the EM updates made and whether they converged."""

    prior: np.ndarray
    n_iter: int
    converged: bool


def em_deployment_prior(
    probs: np.ndarray, train_prior: np.ndarray, tol: float = 1e-6, max_iter: int = 1000
) -> EstimatedPrior:
    """Estimate the class prior of an unlabelled set from the model's posteriors (EM).

    Alternates the E-step ``p_s = prior_correction(probs, train_prior, π_s)``
    and the M-step ``π_{s+1} = mean over the rows of p_s``, starting from
    ``π_0 = train_prior``. Each step does not decrease the likelihood of the
    set under the mixture ``Σ_y π(y) p(x|y)``, whose maximum it approaches.
    With calibrated posteriors of a known mixture, the fixed point is the
    set's true class prior.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, C)`` of the model's posteriors on the unlabelled set.
    train_prior : np.ndarray
        The prior the model was trained at: ``C`` entries > 0 summing to 1.
    tol : float, default 1e-6
        Stop when no class frequency moves by more than ``tol`` in one update.
    max_iter : int, default 1000
        Most EM updates.

    Returns
    -------
    EstimatedPrior
        ``prior`` (``C`` floats summing to 1), ``n_iter`` (the updates made; the
        last one moved less than ``tol`` when ``converged``) and ``converged``.

    Raises
    ------
    ValueError
        If ``probs`` / ``train_prior`` are invalid (see :func:`prior_correction`),
        ``tol`` is not > 0 or ``max_iter`` not an integer >= 1.

    Warns
    -----
    RuntimeWarning
        When ``max_iter`` updates end without converging.

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural
    Computation 14(1). (their eqs. 2.9-2.10)
    """
    p = check_probs(probs)
    pi = _check_prior("train_prior", train_prior, p.shape[1], strictly_positive=True)
    tolerance = _check_real("tol", tol, low=0.0, low_open=True)
    if isinstance(max_iter, bool) or not isinstance(max_iter, Integral) or max_iter < 1:
        raise ValueError(f"max_iter: expected an integer >= 1, got {max_iter!r}")
    estimate = pi.copy()
    change = math.inf
    for step in range(1, int(max_iter) + 1):
        updated = _reweight(p, estimate / pi).mean(axis=0)
        change = float(np.abs(updated - estimate).max())
        estimate = updated
        if change < tolerance:
            return EstimatedPrior(_frozen(estimate), step, True)
    warnings.warn(f"EM did not converge in {max_iter} updates (last change {change:.3g} >= tol {tolerance:g}); "
                  "raise max_iter or tol", RuntimeWarning, stacklevel=2)
    return EstimatedPrior(_frozen(estimate), int(max_iter), False)


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64)
    arr.flags.writeable = False
    return arr


# --------------------------------------------------------------------------- #
# Thresholds for a positive class
# --------------------------------------------------------------------------- #


def _sweep(labels: object, scores: object, positive: object) -> dict[str, np.ndarray]:
    """Counts of "positive iff score >= t" at every distinct score ``t`` (ascending), via
    :func:`~imbalance_lab.metrics.threshold_metrics`; both classes must occur."""
    s = _check_scores(scores)
    y = _check_labels("labels", labels, s.shape[0])
    k = _check_positive_label(positive)
    is_pos = y == k
    if not is_pos.any() or is_pos.all():
        missing = f"no sample of class {k}" if not is_pos.any() else f"only samples of class {k}"
        raise ValueError(f"labels: expected samples of the positive class {k} and of another class to fit a "
                         f"threshold, got {missing}; use a validation set with both")
    binary = np.column_stack([1.0 - s, s])
    return threshold_metrics(is_pos.astype(np.int64), binary, 1, np.unique(s))


def _between(thresholds: np.ndarray, index: int) -> float:
    """The middle of the thresholds that decide this set as candidate ``index`` does.

    "positive iff score >= u_k" and "score >= t" decide every image of the set alike for any ``t``
    in ``(u_{k-1}, u_k]`` (``u`` the ascending candidates; ``[0, u_0]`` for the first): the set cannot
    tell them apart. The candidate itself sits on an image's score, at the edge of that interval;
    its midpoint leaves the most room either side for new images (a margin, as in an SVM).
    """
    low = float(thresholds[index - 1]) if index > 0 else 0.0
    high = float(thresholds[index])
    middle = (low + high) / 2.0
    return middle if middle > low else high  # neighbours one float apart: the midpoint rounds onto the lower one


def _largest_best(values: np.ndarray, thresholds: np.ndarray) -> float:
    """Among the candidates within :data:`TIE_TOLERANCE` (relative) of the maximum, the largest, placed at
    the middle of the thresholds equivalent to it (:func:`_between`)."""
    best = float(values.max())
    ties = np.flatnonzero(values >= best - TIE_TOLERANCE * max(1.0, abs(best)))
    return _between(thresholds, int(ties[-1]))


def threshold_max_fbeta(labels: np.ndarray, scores: np.ndarray, positive: int, beta: float = 1.0) -> float:
    """The threshold with the highest F-beta of the positive class on this set.

    Parameters
    ----------
    labels : np.ndarray
        1-D integer array of true class indices; ``labels == positive`` are the positives.
    scores : np.ndarray
        1-D array of positive-class probabilities in ``[0, 1]``, one per label.
    positive : int
        The positive class index; it and at least one other class must occur in ``labels``.
    beta : float, default 1.0
        Weight of recall against precision (``2`` favours recall, ``0.5`` precision).

    Returns
    -------
    float
        For the distinct score ``u_k`` maximising
        ``F_β = (1 + β²) tp / ((1 + β²) tp + β² fn + fp)`` of "positive iff
        score >= u_k" (ties, within :data:`TIE_TOLERANCE`, go to the largest),
        the midpoint ``(u_{k-1} + u_k) / 2`` of the thresholds deciding the set
        alike (``u_0 / 2`` for the lowest score).

    Raises
    ------
    ValueError
        If the arrays are malformed, ``positive`` or another class is missing
        from ``labels``, or ``beta`` is not a positive finite number.

    Examples
    --------
    >>> threshold_max_fbeta(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6]), positive=1)  # best 0.3
    0.2
    """
    b2 = check_beta(beta) ** 2
    sweep = _sweep(labels, scores, positive)
    tp, fp, fn = sweep["tp"], sweep["fp"], sweep["fn"]
    fbeta = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)  # fp + tp >= 1 at every distinct score
    return _largest_best(fbeta, sweep["threshold"])


def threshold_for_recall(labels: np.ndarray, scores: np.ndarray, positive: int, target: float) -> float:
    """The largest threshold whose recall of the positive class reaches ``target`` on this set.

    Recall only falls as the threshold rises, so this is the threshold that
    meets the target with the fewest positive calls (the best precision it allows).

    Parameters
    ----------
    labels, scores, positive
        As in :func:`threshold_max_fbeta`.
    target : float
        Recall to reach, in ``(0, 1]`` (met within :data:`TIE_TOLERANCE`).

    Returns
    -------
    float
        The midpoint ``(u_{k-1} + u_k) / 2`` below the largest distinct score
        ``u_k`` that reaches ``target`` (``u_0 / 2`` for the lowest score, whose
        recall 1 reaches every target).

    Raises
    ------
    ValueError
        As :func:`threshold_max_fbeta`, or ``target`` outside ``(0, 1]``.

    Examples
    --------
    >>> threshold_for_recall(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6]), positive=1, target=0.5)  # 0.6
    0.5
    """
    goal = _check_real("target", target, low=0.0, high=1.0, low_open=True)
    sweep = _sweep(labels, scores, positive)
    met = np.flatnonzero(sweep["recall"] >= goal - TIE_TOLERANCE)
    return _between(sweep["threshold"], int(met[-1]))


def threshold_for_precision(labels: np.ndarray, scores: np.ndarray, positive: int, target: float) -> float:
    """The smallest threshold whose precision of the positive class reaches ``target`` on this set.

    Precision need not rise with the threshold; the smallest threshold that
    meets the target keeps the most recall.

    Parameters
    ----------
    labels, scores, positive
        As in :func:`threshold_max_fbeta`.
    target : float
        Precision to reach, in ``(0, 1]`` (met within :data:`TIE_TOLERANCE`).

    Returns
    -------
    float
        The midpoint ``(u_{k-1} + u_k) / 2`` below the smallest distinct score
        ``u_k`` that reaches ``target`` (``u_0 / 2`` for the lowest score).

    Raises
    ------
    ValueError
        As :func:`threshold_max_fbeta`, ``target`` outside ``(0, 1]``, or no
        threshold reaches ``target`` (the message gives the best precision reachable).

    Examples
    --------
    >>> threshold_for_precision(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6]), positive=1, target=0.6)  # 0.3
    0.2
    """
    goal = _check_real("target", target, low=0.0, high=1.0, low_open=True)
    sweep = _sweep(labels, scores, positive)
    precision = sweep["precision"]
    met = np.flatnonzero(precision >= goal - TIE_TOLERANCE)
    if met.size == 0:
        raise ValueError(f"target: expected a precision reachable on this set (at most {float(precision.max()):.4g} "
                         f"here), got {goal:g}; lower the target")
    return _between(sweep["threshold"], int(met[0]))


def _binary_cost(fn: np.ndarray, fp: np.ndarray, n_pos: int, n_neg: int, cost_fn: float, cost_fp: float,
                 rate: float | None) -> np.ndarray:
    """Expected cost per case: the set's own ``(fn c_fn + fp c_fp) / n``, or reweighted to the positive ``rate``."""
    if rate is None:
        return (fn * cost_fn + fp * cost_fp) / (n_pos + n_neg)
    return rate * (fn / n_pos) * cost_fn + (1.0 - rate) * (fp / n_neg) * cost_fp


def threshold_min_cost(
    labels: np.ndarray,
    scores: np.ndarray,
    positive: int,
    cost_fn: float,
    cost_fp: float,
    deploy_prior: float | None = None,
) -> float:
    """The threshold with the lowest expected cost per case on this set.

    Parameters
    ----------
    labels, scores, positive
        As in :func:`threshold_max_fbeta`.
    cost_fn, cost_fp : float
        Cost of a missed positive and of a false alarm (>= 0, not both 0).
    deploy_prior : float, optional
        The positive-class rate of the deployment world, in ``[0, 1]``. Given,
        the set's positives and negatives are reweighted to it:
        ``π' · FNR · c_fn + (1 − π') · FPR · c_fp``. Without it the set's own
        rates: ``(fn · c_fn + fp · c_fp) / n``.

    Returns
    -------
    float
        For the best candidate ``u_k`` (the distinct scores and, when every
        score is below 1, ``1.0``: no positive call on this set; ties, within
        :data:`TIE_TOLERANCE`, relative, go to the largest), the midpoint
        ``(u_{k-1} + u_k) / 2`` of the thresholds deciding the set alike
        (``u_0 / 2`` for the lowest score, ``(u_max + 1) / 2`` for "never
        positive"). When some score equals 1, "never positive" is not a
        candidate (no threshold in ``[0, 1]`` expresses it under ">=").

    Raises
    ------
    ValueError
        As :func:`threshold_max_fbeta`, or the costs / ``deploy_prior`` are invalid.

    Examples
    --------
    >>> threshold_min_cost(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6]), 1, cost_fn=5, cost_fp=1)  # 0.3
    0.2
    >>> threshold_min_cost(np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6]), 1, cost_fn=0, cost_fp=1)  # tie, 1.0
    0.8
    """
    c_fn, c_fp = _check_costs(cost_fn, cost_fp)
    rate = _check_rate(deploy_prior)
    sweep = _sweep(labels, scores, positive)
    thresholds, fn, fp = sweep["threshold"], sweep["fn"], sweep["fp"]
    n_pos, n_neg = int(sweep["tp"][0] + fn[0]), int(sweep["tn"][0] + fp[0])
    if thresholds[-1] < 1.0:  # "never positive": every positive missed, no false alarm
        thresholds = np.append(thresholds, 1.0)
        fn, fp = np.append(fn, n_pos), np.append(fp, 0)
    cost = _binary_cost(fn, fp, n_pos, n_neg, c_fn, c_fp, rate)
    return _largest_best(-cost, thresholds)


def threshold_as_probs(probs: np.ndarray, positive: int, threshold: float) -> np.ndarray:
    """A binary probability matrix whose argmax is the thresholded decision, ranking kept.

    ``logit(q) = logit(p) − logit(threshold)`` for the positive column (the
    other is ``1 − q``), so ``q >= 0.5`` exactly where ``p >= threshold``. The
    transform is monotone, so ROC AUC and average precision are unchanged and
    every metric of :mod:`imbalance_lab.metrics` can be computed on
    the thresholded decision without a threshold argument.

    Parameters
    ----------
    probs : np.ndarray
        Array of shape ``(N, 2)`` with probabilities in ``[0, 1]``.
    positive : int
        The positive column, ``0`` or ``1``.
    threshold : float
        In ``[0, 1]``; "positive iff ``probs[:, positive] >= threshold``".

    Returns
    -------
    np.ndarray
        ``float64`` array of shape ``(N, 2)``.

    Notes
    -----
    Scores and the threshold are clipped to ``[PROB_EPS, 1 − PROB_EPS]``
    (:data:`PROB_EPS` ``= 1e-12``) before taking logits, so 0, 1 and the
    thresholds 0 and 1 give finite logits. The decision itself is always
    ``probs[:, positive] >= threshold`` on the unclipped values: rows that the
    clipping (or rounding of the sigmoid) would leave at exactly 0.5 are moved
    one float step above 0.5 (decided positive) or below it (negative), so
    ``np.argmax`` agrees whatever the column order. Strict order is kept
    between scores in ``[PROB_EPS, 1 − PROB_EPS]`` whose shifted logits stay
    within about ±36 (beyond, float64 rounds the sigmoid to 0 or 1 and such
    scores tie); order is never reversed.

    Raises
    ------
    ValueError
        If ``probs`` is not N x 2, ``positive`` is not 0 or 1, or ``threshold`` is outside ``[0, 1]``.

    Examples
    --------
    >>> threshold_as_probs(np.array([[0.2, 0.8]]), positive=1, threshold=0.2).round(4)  # 16/17 = 0.9412
    array([[0.0588, 0.9412]])
    """
    p = check_probs(probs)
    if p.shape[1] != 2:
        raise ValueError(f"probs: expected 2 class columns (a binary problem), got shape {p.shape}; "
                         "for more classes use metrics.predict(probs, positive=..., threshold=...)")
    k = check_positive(positive, 2, optional=False)
    t = _check_real("threshold", threshold, low=0.0, high=1.0)
    score = p[:, k]
    clipped_t = min(max(t, PROB_EPS), 1.0 - PROB_EPS)
    shift = special.logit(np.clip(score, PROB_EPS, 1.0 - PROB_EPS)) - special.logit(clipped_t)
    q = special.expit(shift)
    q = np.where(score >= t, np.maximum(q, _ABOVE_HALF), np.minimum(q, _BELOW_HALF))
    out = np.empty_like(p)
    out[:, k] = q
    out[:, 1 - k] = 1.0 - q
    return out


# --------------------------------------------------------------------------- #
# Costs
# --------------------------------------------------------------------------- #


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
    y = _check_labels("labels", labels)
    yhat = _check_labels("predictions", predictions, y.shape[0])
    k = _check_positive_label(positive)
    c_fn, c_fp = _check_costs(cost_fn, cost_fp)
    rate = _check_rate(deploy_prior)
    is_pos, called = y == k, yhat == k
    n_pos = int(is_pos.sum())
    n_neg = int(y.shape[0]) - n_pos
    if rate is not None and (n_pos == 0 or n_neg == 0):
        raise ValueError(f"labels: expected samples of the positive class {k} and of another class to reweight to "
                         f"deploy_prior={rate:g}, got {'none' if n_pos == 0 else 'only those'}; "
                         "pass deploy_prior=None for the set's own rates")
    fn, fp = int((is_pos & ~called).sum()), int((~is_pos & called).sum())
    return float(_binary_cost(np.float64(fn), np.float64(fp), n_pos, n_neg, c_fn, c_fp, rate))


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
    c = _check_cost_matrix(cost)
    cm = confusion_matrix(labels, predictions, c.shape[0]).astype(np.float64)
    support = cm.sum(axis=1)
    if deploy_prior is None:
        return float((cm * c).sum() / support.sum())
    prior = _check_prior("deploy_prior", deploy_prior, c.shape[0], strictly_positive=False)
    missing = np.flatnonzero((prior > 0) & (support == 0))
    if missing.size:
        raise ValueError(f"labels: expected a sample of every class deploy_prior weights, got none of class "
                         f"{int(missing[0])}; give it a frequency of 0 or add its samples")
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
    c = _check_cost_matrix(cost, p.shape[1])
    return np.argmin(p @ c, axis=1).astype(np.int64)


# --------------------------------------------------------------------------- #
# Temperature scaling
# --------------------------------------------------------------------------- #


def _mean_nll(z: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return float(-special.log_softmax(z / temperature, axis=1)[np.arange(y.shape[0]), y].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` minimising the mean NLL of ``softmax(logits / T)`` on this set.

    One scalar that rescales the confidence without changing any argmax, the
    simplest calibration that works on modern networks.

    Parameters
    ----------
    logits : np.ndarray
        Array of shape ``(N, C)``, ``C >= 2``, of finite scores.
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.

    Returns
    -------
    float
        ``T`` in :data:`TEMPERATURE_BOUNDS` ``= [0.01, 100]``.

    Notes
    -----
    The mean NLL is convex in ``1 / T``, hence unimodal in ``log T``: it is
    minimised over ``log T`` on the bounds with scipy's bounded Brent method
    (``minimize_scalar(method="bounded")``, ``xatol = 1e-10``). A set that the
    logits separate perfectly has its optimum at ``T → 0`` and gets a small
    ``T`` towards the lower bound (where the NLL is 0 in float64, any such ``T``
    is as good); logits no better than chance drive ``T`` to the upper bound.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix or ``labels`` does not match it.

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On Calibration of
    Modern Neural Networks. ICML. arXiv:1706.04599.
    """
    z = _check_logits(logits)
    y = check_class_indices("labels", labels, z.shape[1])
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"labels: expected one label per row of logits ({z.shape[0]}), got {y.shape[0]} labels")
    low, high = (math.log(b) for b in TEMPERATURE_BOUNDS)
    result = optimize.minimize_scalar(lambda u: _mean_nll(z, y, math.exp(u)), bounds=(low, high),
                                      method="bounded", options={"xatol": 1e-10})
    return float(math.exp(result.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)``: the probabilities at temperature ``T > 0``.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix or ``temperature`` is not a positive finite number.

    Examples
    --------
    >>> apply_temperature(np.array([[0.0, np.log(9.0)]]), 2.0)
    array([[0.25, 0.75]])
    """
    z = _check_logits(logits)
    return special.softmax(z / _check_temperature(temperature), axis=1)


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration of one set's probabilities before and after a change (e.g. temperature scaling)."""

    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float
    log_loss_before: float
    log_loss_after: float


def calibration_report(
    labels: np.ndarray, probs_before: np.ndarray, probs_after: np.ndarray, n_bins: int = 15
) -> CalibrationReport:
    """ECE, Brier score and log loss of the same set's probabilities before and after.

    Computed with :func:`~imbalance_lab.metrics.expected_calibration_error`
    (``n_bins`` equal-width bins), :func:`~imbalance_lab.metrics.brier`
    (class 1 when ``C == 2``, the multi-class score otherwise) and
    :func:`~imbalance_lab.metrics.log_loss`.

    Raises
    ------
    ValueError
        If the labels or either probability matrix are invalid, or the two matrices differ in shape.
    """
    before, after = np.asarray(probs_before), np.asarray(probs_after)
    if before.shape != after.shape:
        raise ValueError(f"probs_after: expected the shape of probs_before {before.shape}, got {after.shape}")
    return CalibrationReport(
        ece_before=expected_calibration_error(labels, before, n_bins),
        ece_after=expected_calibration_error(labels, after, n_bins),
        brier_before=brier(labels, before),
        brier_after=brier(labels, after),
        log_loss_before=log_loss(labels, before),
        log_loss_after=log_loss(labels, after),
    )


# --------------------------------------------------------------------------- #
# Fit-then-apply rules
# --------------------------------------------------------------------------- #

DECISION_RULES: Registry = Registry("decision rule")
"""Decision rules by name: ``DECISION_RULES.create(name, **params)`` builds one, ``.names()`` lists them."""


@dataclass(frozen=True)
class DecisionContext:
    """What a rule may know besides the validation predictions.

    ``train_prior``: the training class prior (``C`` entries > 0 summing to 1);
    ``deploy_prior``: the deployment class prior (``C`` entries >= 0 summing
    to 1), or ``"em"`` to estimate it on each set a prior correction is applied
    to; ``positive``: the positive class (default class 1 of a binary problem);
    ``cost_fn`` / ``cost_fp``: the costs of a missed positive and of a false alarm.
    """

    train_prior: Sequence[float] | np.ndarray | None = None
    deploy_prior: Sequence[float] | np.ndarray | Literal["em"] | None = None
    positive: int | None = None
    cost_fn: float | None = None
    cost_fp: float | None = None


@dataclass(frozen=True)
class FittedDecision:
    """A rule fitted on a validation set: ``apply(logits)`` gives probabilities whose argmax is the decision.

    ``rule`` is the registered name, ``params`` what was fitted or used (plain
    Python values), ``description`` one line for tables (see :meth:`describe`).
    """

    rule: str
    params: dict[str, Any]
    description: str
    n_classes: int
    transform: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """The N x C probability matrix of ``logits`` (any set of the same classes) under this rule."""
        z = _check_logits(logits)
        if z.shape[1] != self.n_classes:
            raise ValueError(f"logits: expected {self.n_classes} class columns (as the validation set the "
                             f"{self.rule} rule was fitted on), got {z.shape[1]}")
        return self.transform(z)

    def describe(self) -> str:
        """One short line, e.g. ``threshold 0.231 (max F1 on val)``."""
        return self.description


def _numbers(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values.tolist()) + "]"


class DecisionRule:
    """Base of the registered rules: validates the validation set and the context, then calls :meth:`_fit`.

    Constructors only store validated parameters; everything learned from the
    validation set is returned in the :class:`FittedDecision`.
    """

    name: ClassVar[str]

    def fit(self, val_labels: np.ndarray, val_logits: np.ndarray, context: DecisionContext | None = None
            ) -> FittedDecision:
        """Fit on a validation set's labels and logits (N x C); ``context`` holds priors, positive class, costs."""
        z = _check_logits(val_logits, "val_logits")
        y = check_class_indices("val_labels", val_labels, z.shape[1])
        if y.shape[0] != z.shape[0]:
            raise ValueError(f"val_labels: expected one label per row of val_logits ({z.shape[0]}), "
                             f"got {y.shape[0]} labels")
        return self._fit(y, z, context or DecisionContext())

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        raise NotImplementedError

    def _train_prior(self, context: DecisionContext, n_classes: int) -> np.ndarray:
        if context.train_prior is None:
            raise ValueError(f"context.train_prior: expected the training class prior for the {self.name} rule, "
                             "got None; pass DecisionContext(train_prior=counts / counts.sum())")
        return _check_prior("context.train_prior", context.train_prior, n_classes, strictly_positive=True)


@DECISION_RULES.register
class LogitAdjust(DecisionRule):
    """Post-hoc logit adjustment by the training prior: ``softmax(logits − tau · log π)``.

    Parameters
    ----------
    tau : float, default 1.0
        Strength, ``>= 0``; 1 aims the argmax at the balanced error.

    References
    ----------
    Menon, A. K. et al. (2021). Long-tail learning via logit adjustment. ICLR. arXiv:2007.07314.
    """

    name = "logit_adjust"

    def __init__(self, tau: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0) -> None:
        self.tau = _check_real("tau", tau, low=0.0)

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        prior = self._train_prior(context, logits.shape[1])
        tau = self.tau
        return FittedDecision(
            rule=self.name,
            params={"tau": tau, "train_prior": prior.tolist()},
            description=f"logit adjustment, tau {tau:g} (training prior {_numbers(prior)})",
            n_classes=logits.shape[1],
            transform=lambda z: special.softmax(logit_adjust(z, prior, tau), axis=1),
        )


@DECISION_RULES.register
class PriorCorrection(DecisionRule):
    """Move the softmax posteriors from the training prior to the deployment prior (Saerens et al. 2002).

    The deployment prior comes from the context (fixed frequencies, or ``"em"``),
    or with ``prior="em"`` it is estimated, unlabelled, on each set the rule is
    applied to (:func:`em_deployment_prior`).

    Parameters
    ----------
    prior : {"deployment", "em"}, default "deployment"
        ``deployment``: the context's deployment prior; ``em``: the EM estimate.

    References
    ----------
    Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of
    a classifier to new a priori probabilities: a simple procedure. Neural Computation 14(1).
    """

    name = "prior_correction"

    def __init__(self, prior: Literal["deployment", "em"] = "deployment") -> None:
        if prior not in ("deployment", "em"):
            raise ValueError(f"prior: expected 'deployment' or 'em', got {prior!r}")
        self.prior = prior

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        c = logits.shape[1]
        train = self._train_prior(context, c)
        deploy = "em" if self.prior == "em" else context.deploy_prior
        if isinstance(deploy, str) and deploy == "em":
            return FittedDecision(
                rule=self.name,
                params={"train_prior": train.tolist(), "deploy_prior": "em"},
                description="prior correction to the deployment prior EM estimates on each set",
                n_classes=c,
                transform=lambda z: _em_correct(special.softmax(z, axis=1), train),
            )
        if deploy is None or isinstance(deploy, str):
            raise ValueError(f"context.deploy_prior: expected {c} class frequencies summing to 1 or 'em' for the "
                             f"prior_correction rule, got {deploy!r}")
        target = _check_prior("context.deploy_prior", deploy, c, strictly_positive=False)
        return FittedDecision(
            rule=self.name,
            params={"train_prior": train.tolist(), "deploy_prior": target.tolist()},
            description=f"prior correction to {_numbers(target)}",
            n_classes=c,
            transform=lambda z: prior_correction(special.softmax(z, axis=1), train, target),
        )


def _em_correct(probs: np.ndarray, train: np.ndarray) -> np.ndarray:
    return prior_correction(probs, train, em_deployment_prior(probs, train).prior)


ThresholdBy = Literal["max_f1", "max_fbeta", "recall", "precision", "min_cost"]


@DECISION_RULES.register
class Threshold(DecisionRule):
    """Move the decision threshold of the positive class of a binary problem, chosen on the validation set.

    Parameters
    ----------
    by : {"max_f1", "max_fbeta", "recall", "precision", "min_cost"}, default "max_f1"
        ``max_f1`` / ``max_fbeta``: the best F1 / F-beta (:func:`threshold_max_fbeta`);
        ``recall`` / ``precision``: reach ``target`` (:func:`threshold_for_recall`,
        :func:`threshold_for_precision`); ``min_cost``: the least expected cost
        with the context's ``cost_fn`` / ``cost_fp``, reweighted to the context's
        ``deploy_prior`` of the positive class when given (:func:`threshold_min_cost`).
    beta : float, optional
        F-beta weight; required by ``max_fbeta`` and only used there.
    target : float, optional
        In ``(0, 1]``; required by ``recall`` and ``precision`` and only used there.

    The fitted rule applies :func:`threshold_as_probs` to the softmax of the
    logits, so the argmax of its output is "positive iff score >= threshold".
    """

    name = "threshold"

    def __init__(
        self,
        by: ThresholdBy = "max_f1",
        beta: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None,
        target: Annotated[float, Field(gt=0, le=1)] | None = None,
    ) -> None:
        if by not in ThresholdBy.__args__:
            raise ValueError(f"by: expected one of {', '.join(ThresholdBy.__args__)}, got {by!r}")
        if (beta is None) == (by == "max_fbeta"):
            raise ValueError(f"beta: expected a positive number with by='max_fbeta' and none otherwise, "
                             f"got beta={beta!r} with by={by!r}")
        if (target is None) == (by in ("recall", "precision")):
            raise ValueError(f"target: expected a number in (0, 1] with by='recall' or 'precision' and none "
                             f"otherwise, got target={target!r} with by={by!r}")
        self.by = by
        self.beta = None if beta is None else check_beta(beta)
        self.target = None if target is None else _check_real("target", target, low=0.0, high=1.0, low_open=True)

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        if logits.shape[1] != 2:
            raise ValueError(f"val_logits: expected 2 class columns for the threshold rule (a binary problem), "
                             f"got {logits.shape[1]}")
        positive = binary_positive(context.positive, 2)
        scores = special.softmax(logits, axis=1)[:, positive]
        params: dict[str, Any] = {"by": self.by, "positive": positive}
        if self.by in ("max_f1", "max_fbeta"):
            beta = 1.0 if self.by == "max_f1" else float(self.beta)
            threshold = threshold_max_fbeta(labels, scores, positive, beta)
            how = f"max F{beta:g}"
            params["beta"] = beta
        elif self.by == "recall":
            threshold = threshold_for_recall(labels, scores, positive, self.target)
            how = f"recall >= {self.target:g}"
            params["target"] = self.target
        elif self.by == "precision":
            threshold = threshold_for_precision(labels, scores, positive, self.target)
            how = f"precision >= {self.target:g}"
            params["target"] = self.target
        else:
            threshold, how = self._fit_min_cost(labels, scores, positive, context, params)
        params["threshold"] = threshold
        return FittedDecision(
            rule=self.name,
            params=params,
            description=f"threshold {threshold:.3g} ({how} on val)",
            n_classes=2,
            transform=lambda z: threshold_as_probs(special.softmax(z, axis=1), positive, threshold),
        )

    @staticmethod
    def _fit_min_cost(labels: np.ndarray, scores: np.ndarray, positive: int, context: DecisionContext,
                      params: dict[str, Any]) -> tuple[float, str]:
        if context.cost_fn is None or context.cost_fp is None:
            raise ValueError("context.cost_fn: expected cost_fn and cost_fp for threshold by='min_cost', got "
                             f"cost_fn={context.cost_fn!r}, cost_fp={context.cost_fp!r}")
        deploy = context.deploy_prior
        rate = None
        if deploy is not None and not isinstance(deploy, str):
            rate = float(_check_prior("context.deploy_prior", deploy, 2, strictly_positive=False)[positive])
        elif deploy is not None:  # "em" estimates a prior for prior_correction, not a cost to fit on val
            raise ValueError(f"context.deploy_prior: expected 2 class frequencies or None for threshold "
                             f"by='min_cost', got {deploy!r}")
        threshold = threshold_min_cost(labels, scores, positive, context.cost_fn, context.cost_fp, rate)
        params.update({"cost_fn": float(context.cost_fn), "cost_fp": float(context.cost_fp), "deploy_rate": rate})
        world = "" if rate is None else f", positive rate {rate:g}"
        return threshold, f"min cost, FN {context.cost_fn:g} / FP {context.cost_fp:g}{world}"


@DECISION_RULES.register
class Temperature(DecisionRule):
    """Temperature scaling: ``softmax(logits / T)`` with ``T`` of least NLL on the validation set (Guo et al. 2017).

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On Calibration of
    Modern Neural Networks. ICML. arXiv:1706.04599.
    """

    name = "temperature"

    def __init__(self) -> None:
        pass

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        temperature = fit_temperature(logits, labels)
        return FittedDecision(
            rule=self.name,
            params={"temperature": temperature},
            description=f"temperature {temperature:.3g} (min NLL on val)",
            n_classes=logits.shape[1],
            transform=lambda z: apply_temperature(z, temperature),
        )
