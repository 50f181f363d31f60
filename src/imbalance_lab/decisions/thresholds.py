"""Threshold moving for a positive class: the threshold of the best F-beta, of a recall or precision target,
and of the least expected cost at a deployment prior; and a thresholded decision as probabilities."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast, get_args

import numpy as np
from pydantic import Field
from scipy import special

from imbalance_lab.decisions.base import DECISION_RULES, DecisionContext, DecisionRule, FittedDecision
from imbalance_lab.decisions.checks import (
    check_costs,
    check_labels,
    check_positive_label,
    check_prior,
    check_rate,
    check_real,
    check_scores,
)
from imbalance_lab.decisions.costs import binary_cost
from imbalance_lab.metrics import (
    threshold_metrics,
)
from imbalance_lab.metrics.checks import (
    binary_positive,
    check_beta,
    check_positive,
    check_probs,
)

TIE_TOLERANCE: float = 1e-12
"""Scores (F-beta, cost) within this relative distance of the best count as ties; targets are met within it too."""


PROB_EPS: float = 1e-12
""":func:`threshold_as_probs` clips scores and thresholds to ``[PROB_EPS, 1 - PROB_EPS]`` before taking logits."""


_ABOVE_HALF = float(np.nextafter(0.5, 1.0))


_BELOW_HALF = float(np.nextafter(0.5, 0.0))


def _sweep(labels: object, scores: object, positive: object) -> dict[str, np.ndarray]:
    """Counts of "positive iff score >= t" at every distinct score ``t`` (ascending), via
    :func:`~imbalance_lab.metrics.threshold_metrics`; both classes must occur."""
    s = check_scores(scores)
    y = check_labels("labels", labels, s.shape[0])
    k = check_positive_label(positive)
    is_pos = y == k
    if not is_pos.any() or is_pos.all():
        missing = f"no sample of class {k}" if not is_pos.any() else f"only samples of class {k}"
        raise ValueError(
            f"labels: expected samples of the positive class {k} and of another class to fit a "
            f"threshold, got {missing}; use a validation set with both"
        )
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
    goal = check_real("target", target, low=0.0, high=1.0, low_open=True)
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
    goal = check_real("target", target, low=0.0, high=1.0, low_open=True)
    sweep = _sweep(labels, scores, positive)
    precision = sweep["precision"]
    met = np.flatnonzero(precision >= goal - TIE_TOLERANCE)
    if met.size == 0:
        raise ValueError(
            f"target: expected a precision reachable on this set (at most {float(precision.max()):.4g} "
            f"here), got {goal:g}; lower the target"
        )
    return _between(sweep["threshold"], int(met[0]))


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
    c_fn, c_fp = check_costs(cost_fn, cost_fp)
    rate = check_rate(deploy_prior)
    sweep = _sweep(labels, scores, positive)
    thresholds, fn, fp = sweep["threshold"], sweep["fn"], sweep["fp"]
    n_pos, n_neg = int(sweep["tp"][0] + fn[0]), int(sweep["tn"][0] + fp[0])
    if thresholds[-1] < 1.0:  # "never positive": every positive missed, no false alarm
        thresholds = np.append(thresholds, 1.0)
        fn, fp = np.append(fn, n_pos), np.append(fp, 0)
    cost = binary_cost(fn, fp, n_pos, n_neg, c_fn, c_fp, rate)
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
        raise ValueError(
            f"probs: expected 2 class columns (a binary problem), got shape {p.shape}; "
            "for more classes use metrics.predict(probs, positive=..., threshold=...)"
        )
    k = check_positive(positive, 2, optional=False)
    t = check_real("threshold", threshold, low=0.0, high=1.0)
    score = p[:, k]
    clipped_t = min(max(t, PROB_EPS), 1.0 - PROB_EPS)
    shift = special.logit(np.clip(score, PROB_EPS, 1.0 - PROB_EPS)) - special.logit(clipped_t)
    q = special.expit(shift)
    q = np.where(score >= t, np.maximum(q, _ABOVE_HALF), np.minimum(q, _BELOW_HALF))
    out = np.empty_like(p)
    out[:, k] = q
    out[:, 1 - k] = 1.0 - q
    return out


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
        if by not in get_args(ThresholdBy):
            raise ValueError(f"by: expected one of {', '.join(get_args(ThresholdBy))}, got {by!r}")
        if (beta is None) == (by == "max_fbeta"):
            raise ValueError(
                f"beta: expected a positive number with by='max_fbeta' and none otherwise, "
                f"got beta={beta!r} with by={by!r}"
            )
        if (target is None) == (by in ("recall", "precision")):
            raise ValueError(
                f"target: expected a number in (0, 1] with by='recall' or 'precision' and none "
                f"otherwise, got target={target!r} with by={by!r}"
            )
        self.by = by
        self.beta = None if beta is None else check_beta(beta)
        self.target = None if target is None else check_real("target", target, low=0.0, high=1.0, low_open=True)

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        if logits.shape[1] != 2:
            raise ValueError(
                f"val_logits: expected 2 class columns for the threshold rule (a binary problem), got {logits.shape[1]}"
            )
        positive = binary_positive(context.positive, 2)
        scores = special.softmax(logits, axis=1)[:, positive]
        params: dict[str, Any] = {"by": self.by, "positive": positive}
        if self.by in ("max_f1", "max_fbeta"):
            beta = 1.0 if self.by == "max_f1" else float(cast(float, self.beta))  # set with max_fbeta (__init__)
            threshold = threshold_max_fbeta(labels, scores, positive, beta)
            how = f"max F{beta:g}"
            params["beta"] = beta
        elif self.by == "recall":
            threshold = threshold_for_recall(labels, scores, positive, cast(float, self.target))  # set (__init__)
            how = f"recall >= {self.target:g}"
            params["target"] = self.target
        elif self.by == "precision":
            threshold = threshold_for_precision(labels, scores, positive, cast(float, self.target))  # set (__init__)
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
    def _fit_min_cost(
        labels: np.ndarray, scores: np.ndarray, positive: int, context: DecisionContext, params: dict[str, Any]
    ) -> tuple[float, str]:
        if context.cost_fn is None or context.cost_fp is None:
            raise ValueError(
                "context.cost_fn: expected cost_fn and cost_fp for threshold by='min_cost', got "
                f"cost_fn={context.cost_fn!r}, cost_fp={context.cost_fp!r}"
            )
        deploy = context.deploy_prior
        rate = None
        if deploy is not None and not isinstance(deploy, str):
            rate = float(check_prior("context.deploy_prior", deploy, 2, strictly_positive=False)[positive])
        elif deploy is not None:  # "em" estimates a prior for prior_correction, not a cost to fit on val
            raise ValueError(
                f"context.deploy_prior: expected 2 class frequencies or None for threshold "
                f"by='min_cost', got {deploy!r}"
            )
        threshold = threshold_min_cost(labels, scores, positive, context.cost_fn, context.cost_fp, rate)
        params.update({"cost_fn": float(context.cost_fn), "cost_fp": float(context.cost_fp), "deploy_rate": rate})
        world = "" if rate is None else f", positive rate {rate:g}"
        return threshold, f"min cost, FN {context.cost_fn:g} / FP {context.cost_fp:g}{world}"
