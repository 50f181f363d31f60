"""Tests for ``imbalance_lab.decisions``: each rule against a hand-computed case.

The arithmetic of every hand case is written beside it. Where scikit-learn computes
the same quantity (F-beta, ROC AUC, precision / recall) it is the reference; the
registered rules all get the same conformance checks; bad inputs are one table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import special
from sklearn import metrics as skm

from imbalance_lab import metrics
from imbalance_lab.decisions import (
    DECISION_RULES,
    TEMPERATURE_BOUNDS,
    DecisionContext,
    FittedDecision,
    apply_temperature,
    bayes_decision,
    calibration_report,
    em_deployment_prior,
    expected_cost,
    expected_cost_matrix,
    fit_temperature,
    logit_adjust,
    prior_correction,
    threshold_as_probs,
    threshold_for_precision,
    threshold_for_recall,
    threshold_max_fbeta,
    threshold_min_cost,
)
from imbalance_lab.errors import SpecError

# The threshold hand case: six scores, positives (class 1) at 0.3, 0.6 and 0.9.
# Predicting positive at score >= t, the counts (tp, fp, fn) for each candidate t are
#   t:    0.1      0.3      0.4      0.6      0.8      0.9      (1.0: nothing positive)
#   tp:   3        3        2        2        1        1        0
#   fp:   3        2        2        1        1        0        0
#   fn:   0        0        1        1        2        2        3
# A threshold function returns the middle of the thresholds that decide the set as the best
# candidate does: (previous distinct score + candidate) / 2, candidate / 2 for the first, and
# (0.9 + 1) / 2 for "nothing positive". So the candidates above come back as
#   t:    0.05     0.2      0.35     0.5      0.7      0.85     0.95
LABELS = np.array([0, 1, 0, 1, 0, 1])
SCORES = np.array([0.1, 0.3, 0.4, 0.6, 0.8, 0.9])


def _random_binary(seed: int, n: int = 200, rate: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Labels with about ``rate`` positives and informative scores rounded to 2 decimals (so ties occur)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rate).astype(np.int64)
    scores = np.clip(np.round(special.expit(rng.normal(1.5 * labels - 0.75, 1.0)), 2), 0.0, 1.0)
    return labels, scores


def _candidate_of(threshold: float, scores: np.ndarray) -> float:
    """The distinct score that decides ``scores`` as ``threshold`` does (1.0, "nothing positive", above them all),
    after checking that ``threshold`` is the midpoint of the interval of thresholds equivalent to it."""
    distinct = np.unique(scores)
    k = int(np.searchsorted(distinct, threshold))  # the first distinct score >= threshold
    low = float(distinct[k - 1]) if k > 0 else 0.0
    high = float(distinct[k]) if k < distinct.size else 1.0
    assert low < threshold < high, (low, threshold, high)
    assert threshold == pytest.approx((low + high) / 2, abs=1e-15)
    np.testing.assert_array_equal(scores >= threshold, scores >= high)
    return high


def _overconfident_logits(seed: int, n: int = 600, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z) and logits reported as 3 z: a model three times too confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, size=(n, c))
    p = special.softmax(z, axis=1)
    labels = (rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1).astype(np.int64)
    return labels, 3.0 * z


# --------------------------------------------------------------------------- #
# Prior shift
# --------------------------------------------------------------------------- #


def test_logit_adjust_subtracts_tau_log_prior():
    logits = np.array([[1.0, 2.0], [0.0, 0.0]])
    prior = np.array([0.8, 0.2])
    # tau = 1: [1 - ln 0.8, 2 - ln 0.2] = [1.2231, 3.6094]; tau = 0.5 halves the shift
    np.testing.assert_allclose(logit_adjust(logits, prior)[0], [1 - math.log(0.8), 2 - math.log(0.2)])
    np.testing.assert_allclose(logit_adjust(logits, prior, tau=0.5)[1], [-0.5 * math.log(0.8), -0.5 * math.log(0.2)])


def test_logit_adjust_with_tau_zero_is_the_identity():
    logits = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(logit_adjust(logits, np.full(4, 0.25), tau=0.0), logits)


def test_logit_adjust_is_prior_correction_to_the_uniform_prior():
    # softmax(z - log π) ∝ softmax(z) / π: exactly the Saerens correction to π' = uniform
    rng = np.random.default_rng(1)
    logits, prior = rng.normal(size=(8, 3)), np.array([0.7, 0.2, 0.1])
    adjusted = special.softmax(logit_adjust(logits, prior), axis=1)
    np.testing.assert_allclose(adjusted, prior_correction(special.softmax(logits, axis=1), prior, np.full(3, 1 / 3)))


def test_prior_correction_hand_case():
    # p = (0.6, 0.4), π = (0.8, 0.2), π' = (0.5, 0.5): weights π'/π = (0.625, 2.5)
    # -> (0.375, 1.0), sum 1.375 -> (3/11, 8/11)
    out = prior_correction(np.array([[0.6, 0.4]]), np.array([0.8, 0.2]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(out, [[3 / 11, 8 / 11]])


def test_prior_correction_to_the_training_prior_is_the_identity():
    probs = special.softmax(np.random.default_rng(2).normal(size=(10, 3)), axis=1)
    prior = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(prior_correction(probs, prior, prior), probs, rtol=0, atol=1e-15)


def test_prior_correction_to_a_zero_frequency_drops_the_class():
    # π' = (0, 1) leaves all weight on class 1 whatever p was (as long as p_1 > 0)
    out = prior_correction(np.array([[0.9, 0.1]]), np.array([0.5, 0.5]), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


def test_em_recovers_the_deployment_prior_of_a_known_mixture():
    # Two feature values a, b with p(a|0) = 0.8, p(a|1) = 0.3. Trained at π = (0.5, 0.5) the
    # calibrated posteriors are p(1|a) = 0.15 / 0.55 = 3/11 and p(1|b) = 0.35 / 0.45 = 7/9.
    # Deployed at π' = (0.8, 0.2): p'(a) = 0.8*0.8 + 0.2*0.3 = 0.7, so 7 a's and 3 b's in 10.
    # At π' the corrected posteriors are p'(1|a) = 0.06 / 0.7 = 3/35 and p'(1|b) = 0.14 / 0.3 = 7/15,
    # whose mean 0.7 * 3/35 + 0.3 * 7/15 = 0.06 + 0.14 = 0.2: π' is the fixed point.
    a, b = [8 / 11, 3 / 11], [2 / 9, 7 / 9]
    probs = np.array([a] * 7 + [b] * 3)
    estimate = em_deployment_prior(probs, np.array([0.5, 0.5]), tol=1e-12)
    assert estimate.converged and estimate.n_iter > 1
    np.testing.assert_allclose(estimate.prior, [0.8, 0.2], atol=1e-9)
    corrected = prior_correction(probs, np.array([0.5, 0.5]), estimate.prior)
    np.testing.assert_allclose(corrected[[0, -1], 1], [3 / 35, 7 / 15], atol=1e-9)


def test_em_stops_at_once_when_the_posteriors_average_to_the_training_prior():
    # mean of (0.9, 0.1) and (0.1, 0.9) is (0.5, 0.5) = π: the first update moves nothing
    estimate = em_deployment_prior(np.array([[0.9, 0.1], [0.1, 0.9]]), np.array([0.5, 0.5]))
    assert (estimate.n_iter, estimate.converged) == (1, True)
    np.testing.assert_allclose(estimate.prior, [0.5, 0.5])


def test_em_warns_when_it_runs_out_of_iterations():
    probs = np.array([[8 / 11, 3 / 11]] * 7 + [[2 / 9, 7 / 9]] * 3)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        estimate = em_deployment_prior(probs, np.array([0.5, 0.5]), tol=1e-15, max_iter=2)
    assert (estimate.n_iter, estimate.converged) == (2, False)


# --------------------------------------------------------------------------- #
# Thresholds
# --------------------------------------------------------------------------- #


def test_thresholds_are_the_midpoints_of_the_equivalent_intervals():
    # scores 0.1, 0.3, 0.4, 0.6, positives at 0.3 and 0.6. "score >= t" decides the set as the
    # candidate 0.3 does for every t in (0.1, 0.3], as 0.1 does for t in [0, 0.1], and as
    # "nothing positive" for t in (0.6, 1]: each function returns the middle of that interval.
    labels, scores = np.array([0, 1, 0, 1]), np.array([0.1, 0.3, 0.4, 0.6])
    # F1 at 0.1, 0.3, 0.4, 0.6: 4/6, 4/5, 2/4, 2/3 -> the candidate 0.3 -> (0.1 + 0.3) / 2
    assert threshold_max_fbeta(labels, scores, 1) == (0.1 + 0.3) / 2 == pytest.approx(0.2)
    # precision 2/4 already at the lowest candidate 0.1 -> 0.1 / 2
    assert threshold_for_precision(labels, scores, 1, target=0.5) == 0.1 / 2
    # recall 1/2 reached up to the candidate 0.6 -> (0.4 + 0.6) / 2
    assert threshold_for_recall(labels, scores, 1, target=0.5) == (0.4 + 0.6) / 2 == pytest.approx(0.5)
    # "nothing positive" (the appended 1.0): with the top score a negative, labels 0, 1, 1, 0,
    # c_fn 1, c_fp 3: n x cost at 0.1, 0.3, 0.4, 0.6, 1.0 = 6, 3, 4, 5, 2 -> (0.6 + 1) / 2
    assert threshold_min_cost(np.array([0, 1, 1, 0]), scores, 1, cost_fn=1, cost_fp=3) == (0.6 + 1.0) / 2
    # misses free (c_fn 0): fp = 0 at 0.6 and at 1.0 -> tie -> the largest, 1.0 -> (0.6 + 1) / 2
    assert threshold_min_cost(labels, scores, 1, cost_fn=0, cost_fp=1) == pytest.approx(0.8)
    # a score of 1 leaves no room above it: "nothing positive" is no candidate, and the top candidate 1.0
    # (fp = 0 at 0.3, 0.4 and 1.0, labels 0, 1, 1, 1, c_fn 0) comes back as (0.4 + 1) / 2
    assert threshold_min_cost(
        np.array([0, 1, 1, 1]), np.array([0.1, 0.3, 0.4, 1.0]), 1, cost_fn=0, cost_fp=1
    ) == pytest.approx(0.7)


def test_max_f1_threshold_hand_case():
    # F1 = 2tp / (2tp + fn + fp): 6/9, 6/8, 4/7, 4/6, 2/5, 2/4 -> best 0.75 at the candidate 0.3
    # -> (0.1 + 0.3) / 2 = 0.2
    assert threshold_max_fbeta(LABELS, SCORES, positive=1) == pytest.approx(0.2)


def test_max_fbeta_threshold_moves_with_beta():
    # F0.5 = 1.25tp / (1.25tp + 0.25fn + fp): 3.75/6.75, 3.75/5.75, 2.5/4.75, 2.5/3.75, 1.25/2.75, 1.25/1.75
    # = 0.556, 0.652, 0.526, 0.667, 0.455, 0.714 -> the candidate 0.9 -> (0.8 + 0.9) / 2 = 0.85
    assert threshold_max_fbeta(LABELS, SCORES, positive=1, beta=0.5) == pytest.approx(0.85)
    # F2 = 5tp / (5tp + 4fn + fp): 15/18, 15/17, ... -> 0.882 at the candidate 0.3 -> 0.2
    assert threshold_max_fbeta(LABELS, SCORES, positive=1, beta=2.0) == pytest.approx(0.2)


def test_max_fbeta_tie_goes_to_the_largest_threshold():
    # positives at 0.2 and 0.8: t = 0.2 gives tp 2, fp 2 -> F1 4/6; t = 0.8 gives tp 1, fn 1 -> 2/3 as well
    # -> the larger candidate, 0.8 -> (0.6 + 0.8) / 2 = 0.7
    labels, scores = np.array([1, 0, 0, 1]), np.array([0.2, 0.4, 0.6, 0.8])
    assert threshold_max_fbeta(labels, scores, positive=1) == pytest.approx(0.7)


def test_positive_class_zero_and_other_labels():
    # the same case with the roles of the classes swapped and the negatives labelled 7
    labels = np.where(LABELS == 1, 0, 7)
    assert threshold_max_fbeta(labels, SCORES, positive=0) == pytest.approx(0.2)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_max_fbeta_matches_brute_force_with_sklearn(seed: int, beta: float):
    labels, scores = _random_binary(seed)
    chosen = threshold_max_fbeta(labels, scores, positive=1, beta=beta)
    by_t = {
        t: skm.fbeta_score(labels, (scores >= t).astype(int), beta=beta, zero_division=0) for t in np.unique(scores)
    }
    best = max(by_t.values())
    assert skm.fbeta_score(labels, (scores >= chosen).astype(int), beta=beta) == pytest.approx(best, abs=1e-12)
    assert _candidate_of(chosen, scores) == max(t for t, f in by_t.items() if f >= best - 1e-12)  # the tie rule


def test_threshold_for_recall_hand_case():
    # recall at t = 0.1 ... 0.9: 1, 1, 2/3, 2/3, 1/3, 1/3; the largest candidate reaching the target,
    # returned as the midpoint below it: 0.3 -> 0.2, 0.6 -> 0.5, 0.9 -> 0.85
    assert threshold_for_recall(LABELS, SCORES, 1, target=1.0) == pytest.approx(0.2)
    assert threshold_for_recall(LABELS, SCORES, 1, target=2 / 3) == pytest.approx(0.5)
    assert threshold_for_recall(LABELS, SCORES, 1, target=0.5) == pytest.approx(0.5)
    assert threshold_for_recall(LABELS, SCORES, 1, target=0.3) == pytest.approx(0.85)


def test_threshold_for_precision_hand_case():
    # precision at t = 0.1 ... 0.9: 3/6, 3/5, 2/4, 2/3, 1/2, 1/1; the smallest candidate reaching the
    # target, returned as the midpoint below it: 0.1 -> 0.1 / 2 = 0.05, 0.3 -> 0.2, 0.6 -> 0.5, 0.9 -> 0.85
    assert threshold_for_precision(LABELS, SCORES, 1, target=0.5) == pytest.approx(0.05)
    assert threshold_for_precision(LABELS, SCORES, 1, target=0.6) == pytest.approx(0.2)
    assert threshold_for_precision(LABELS, SCORES, 1, target=0.65) == pytest.approx(0.5)
    assert threshold_for_precision(LABELS, SCORES, 1, target=0.9) == pytest.approx(0.85)


def test_threshold_for_precision_unreachable_names_the_best():
    # positive at 0.2, negative at 0.9: precision 1/2 at t = 0.2, 0 at t = 0.9
    with pytest.raises(ValueError, match=r"^target: .*at most 0\.5 .*got 0\.8"):
        threshold_for_precision(np.array([1, 0]), np.array([0.2, 0.9]), 1, target=0.8)


@pytest.mark.parametrize("seed", range(4))
def test_recall_and_precision_targets_match_sklearn(seed: int):
    labels, scores = _random_binary(seed)
    precision, recall, thresholds = skm.precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]  # drop sklearn's final (precision 1, recall 0) point
    t = threshold_for_recall(labels, scores, 1, target=0.8)
    assert _candidate_of(t, scores) == thresholds[recall >= 0.8].max()
    assert skm.recall_score(labels, (scores >= t).astype(int)) >= 0.8
    t = threshold_for_precision(labels, scores, 1, target=0.5)
    assert _candidate_of(t, scores) == thresholds[precision >= 0.5].min()
    assert skm.precision_score(labels, (scores >= t).astype(int)) >= 0.5


def test_min_cost_threshold_on_the_sets_own_rates():
    # cost = (c_fn fn + c_fp fp) / 6 for t = 0.1 ... 0.9, then 1.0 (nothing positive)
    # c_fn 5, c_fp 1: 3, 2, 7, 6, 11, 10, 15 (sixths) -> the candidate 0.3 -> (0.1 + 0.3) / 2 = 0.2
    assert threshold_min_cost(LABELS, SCORES, 1, cost_fn=5, cost_fp=1) == pytest.approx(0.2)
    # c_fn 1, c_fp 5: 15, 10, 11, 6, 7, 2, 3 (sixths) -> the candidate 0.9 -> (0.8 + 0.9) / 2 = 0.85
    assert threshold_min_cost(LABELS, SCORES, 1, cost_fn=1, cost_fp=5) == pytest.approx(0.85)
    # misses free (c_fn 0, c_fp 10): cost 10 fp / 6 is 0 at t = 0.9 and at 1.0 -> tie -> the largest, 1.0
    # (nothing positive, thresholds in (0.9, 1]) -> (0.9 + 1) / 2 = 0.95
    assert threshold_min_cost(LABELS, SCORES, 1, cost_fn=0, cost_fp=10) == pytest.approx(0.95)


def test_min_cost_threshold_reweighted_to_the_deployment_prior():
    # π' = 0.1, c_fn 5, c_fp 1, n_pos = n_neg = 3: cost = 0.1 * (fn/3) * 5 + 0.9 * (fp/3)
    # t = 0.1: 0.9;  0.3: 0.6;  0.4: 0.167 + 0.6 = 0.767;  0.6: 0.167 + 0.3 = 0.467
    # 0.8: 0.333 + 0.3 = 0.633;  0.9: 0.333 + 0 = 0.333;  1.0: 0.5  -> the candidate 0.9 (own rates gave 0.3)
    # -> (0.8 + 0.9) / 2 = 0.85
    assert threshold_min_cost(LABELS, SCORES, 1, cost_fn=5, cost_fp=1, deploy_prior=0.1) == pytest.approx(0.85)


@pytest.mark.parametrize("seed", range(4))
def test_min_cost_threshold_is_the_brute_force_minimum(seed: int):
    labels, scores = _random_binary(seed)
    chosen = threshold_min_cost(labels, scores, 1, cost_fn=4.0, cost_fp=1.0, deploy_prior=0.05)
    costs = {
        t: expected_cost(labels, (scores >= t).astype(int), 1, 4.0, 1.0, deploy_prior=0.05)
        for t in [*np.unique(scores), 1.0]
    }
    best = min(costs.values())
    assert expected_cost(labels, (scores >= chosen).astype(int), 1, 4.0, 1.0, deploy_prior=0.05) == pytest.approx(
        best, abs=1e-12
    )
    assert _candidate_of(chosen, scores) == max(t for t, c in costs.items() if c <= best + 1e-12)  # the tie rule


def test_threshold_as_probs_hand_case():
    # p = 0.8, t = 0.2: logit 0.8 = ln 4, logit 0.2 = -ln 4 -> q = expit(ln 16) = 16/17
    out = threshold_as_probs(np.array([[0.2, 0.8]]), positive=1, threshold=0.2)
    np.testing.assert_allclose(out, [[1 / 17, 16 / 17]])
    # t = 0.5 leaves the probabilities as they are
    probs = np.array([[0.3, 0.7], [0.9, 0.1]])
    np.testing.assert_allclose(threshold_as_probs(probs, 1, 0.5), probs)


@pytest.mark.parametrize("positive", [0, 1])
@pytest.mark.parametrize("seed", range(4))
def test_threshold_as_probs_keeps_the_ranking_and_gives_the_thresholded_argmax(seed: int, positive: int):
    labels, scores = _random_binary(seed)
    labels = labels if positive == 1 else 1 - labels
    probs = np.empty((scores.size, 2))
    probs[:, positive], probs[:, 1 - positive] = scores, 1.0 - scores
    for t in [0.0, 0.05, float(np.median(scores)), 0.5, 0.93, 1.0, *scores[:5]]:  # scores[:5]: ties with t
        out = threshold_as_probs(probs, positive, t)
        assert np.all((out >= 0) & (out <= 1))
        np.testing.assert_array_equal(np.argmax(out, axis=1) == positive, scores >= t)
        np.testing.assert_array_equal(metrics.predict(out), metrics.predict(probs, positive=positive, threshold=t))
        assert skm.roc_auc_score(labels == positive, out[:, positive]) == pytest.approx(
            skm.roc_auc_score(labels == positive, scores), abs=1e-12
        )
        assert metrics.average_precision(labels, out, positive) == pytest.approx(
            metrics.average_precision(labels, probs, positive), abs=1e-12
        )


def test_threshold_as_probs_at_the_ends():
    # scores 0 and 1 with thresholds 0 and 1: ">=" decides, the clipping keeps everything finite
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_array_equal(np.argmax(threshold_as_probs(probs, 1, 0.0), axis=1), [1, 1, 1])
    np.testing.assert_array_equal(np.argmax(threshold_as_probs(probs, 1, 1.0), axis=1), [0, 0, 1])
    np.testing.assert_array_equal(np.argmax(threshold_as_probs(probs, 0, 1.0), axis=1), [0, 1, 1])
    assert np.all(np.isfinite(threshold_as_probs(probs, 1, 1.0)))


# --------------------------------------------------------------------------- #
# Costs
# --------------------------------------------------------------------------- #


def test_expected_cost_hand_case():
    # decisions at t = 0.6: [0, 0, 0, 1, 1, 1] -> fn 1 (the 0.3), fp 1 (the 0.8)
    predictions = (SCORES >= 0.6).astype(int)
    assert expected_cost(LABELS, predictions, 1, cost_fn=5, cost_fp=1) == pytest.approx(6 / 6)
    # reweighted: 0.1 * (1/3) * 5 + 0.9 * (1/3) * 1 = 0.4667
    assert expected_cost(LABELS, predictions, 1, 5, 1, deploy_prior=0.1) == pytest.approx(0.5 / 3 + 0.3)


@pytest.mark.parametrize("rate", [None, 0.1, 0.5])
def test_expected_cost_is_the_cost_matrix_with_zero_diagonal(rate: float | None):
    labels, scores = _random_binary(3)
    predictions = (scores >= 0.5).astype(int)
    cost = np.array([[0.0, 2.0], [7.0, 0.0]])  # [true, predicted]: false alarm 2, miss 7
    prior = None if rate is None else np.array([1 - rate, rate])
    assert expected_cost(labels, predictions, 1, 7.0, 2.0, rate) == pytest.approx(
        expected_cost_matrix(labels, predictions, cost, prior), abs=1e-12
    )


def test_expected_cost_matrix_hand_case():
    cost = np.array([[0, 1, 2], [3, 0, 4], [5, 6, 0]])
    labels, predictions = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0])
    # per case: C[0,0] = 0, C[0,1] = 1, C[1,1] = 0, C[2,0] = 5 -> mean 6/4
    assert expected_cost_matrix(labels, predictions, cost) == pytest.approx(1.5)
    # class means 0.5, 0, 5; weighted by (0.2, 0.3, 0.5): 0.1 + 0 + 2.5
    assert expected_cost_matrix(labels, predictions, cost, np.array([0.2, 0.3, 0.5])) == pytest.approx(2.6)


def test_bayes_decision_hand_case():
    cost = np.array([[0, 1, 2], [3, 0, 4], [5, 6, 0]])
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    # row 1: k=0: 0.6 + 0.5 = 1.1, k=1: 0.7 + 0.6 = 1.3, k=2: 1.4 + 0.8 = 2.2 -> 0
    # row 2: k=0: 1.5 + 1.5 = 3.0, k=1: 0.2 + 1.8 = 2.0, k=2: 0.4 + 2.0 = 2.4 -> 1
    # row 3: k=0: 0.3 + 1.5 = 1.8, k=1: 0.6 + 1.8 = 2.4, k=2: 1.2 + 0.4 = 1.6 -> 2 (argmax says 0)
    np.testing.assert_array_equal(bayes_decision(probs, cost), [0, 1, 2])


def test_bayes_decision_with_zero_one_cost_is_the_argmax_and_binary_costs_a_threshold():
    probs = special.softmax(np.random.default_rng(4).normal(size=(50, 4)), axis=1)
    np.testing.assert_array_equal(bayes_decision(probs, 1 - np.eye(4)), np.argmax(probs, axis=1))
    # binary: predict 1 iff p1 c_fn > p0 c_fp, i.e. p1 > c_fp / (c_fp + c_fn) = 1/5
    scores = np.linspace(0.01, 0.99, 99)
    binary = np.column_stack([1 - scores, scores])
    np.testing.assert_array_equal(bayes_decision(binary, np.array([[0, 1], [4, 0]])), scores > 0.2)


# --------------------------------------------------------------------------- #
# Temperature scaling
# --------------------------------------------------------------------------- #


def test_temperature_hand_case():
    # logits (0, ln 9) for four cases, three of class 1: NLL(T) is least where softmax gives the
    # empirical 3/4, i.e. expit(ln 9 / T) = 3/4, ln 9 / T = ln 3, T = 2
    logits = np.array([[0.0, math.log(9.0)]] * 4)
    temperature = fit_temperature(logits, np.array([1, 1, 1, 0]))
    assert temperature == pytest.approx(2.0, abs=1e-6)
    np.testing.assert_allclose(apply_temperature(logits, temperature)[0], [0.25, 0.75], atol=1e-6)


def _nll(logits: np.ndarray, labels: np.ndarray, t: float) -> float:
    return metrics.log_loss(labels, apply_temperature(logits, t))


@pytest.mark.parametrize("seed", range(3))
def test_fitted_temperature_is_a_stationary_minimum(seed: int):
    labels, logits = _overconfident_logits(seed)
    t = fit_temperature(logits, labels)
    assert 2.0 < t < 4.5  # the logits are three times too confident
    h = 1e-4 * t
    slope = (_nll(logits, labels, t + h) - _nll(logits, labels, t - h)) / (2 * h)
    assert abs(slope) < 1e-6
    assert _nll(logits, labels, t) < min(
        _nll(logits, labels, 1.0), _nll(logits, labels, 1.01 * t), _nll(logits, labels, t / 1.01)
    )


def test_temperature_heads_for_its_bounds_on_separated_and_on_uninformative_logits():
    # separated: NLL -> 0 as T -> 0 (below T ~ 0.04 it is 0 in float64, so any small T is optimal)
    logits, labels = np.array([[3.0, 0.0], [0.0, 3.0]]), np.array([0, 1])
    temperature = fit_temperature(logits, labels)
    assert TEMPERATURE_BOUNDS[0] <= temperature < 0.1
    assert _nll(logits, labels, temperature) < 1e-12
    # uninformative (each logit row once with each label): NLL falls towards ln 2 as T grows
    logits, labels = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0, 1])
    assert fit_temperature(logits, labels) == pytest.approx(TEMPERATURE_BOUNDS[1], rel=1e-6)


def test_temperature_one_is_the_softmax_and_keeps_the_argmax():
    logits = np.random.default_rng(5).normal(size=(20, 5))
    np.testing.assert_allclose(apply_temperature(logits, 1.0), special.softmax(logits, axis=1))
    np.testing.assert_array_equal(np.argmax(apply_temperature(logits, 7.0), axis=1), np.argmax(logits, axis=1))


def test_calibration_report_uses_the_metrics_and_temperature_helps():
    labels, logits = _overconfident_logits(0)
    before = special.softmax(logits, axis=1)
    after = apply_temperature(logits, fit_temperature(logits, labels))
    report = calibration_report(labels, before, after)
    assert report.ece_before == metrics.expected_calibration_error(labels, before)
    assert report.brier_after == metrics.brier(labels, after)
    assert report.log_loss_after == metrics.log_loss(labels, after)
    assert report.ece_after < report.ece_before
    assert report.brier_after < report.brier_before
    assert report.log_loss_after < report.log_loss_before


# --------------------------------------------------------------------------- #
# The registered rules
# --------------------------------------------------------------------------- #

RULE_PARAMS: dict[str, dict[str, Any]] = {
    "logit_adjust": {"tau": 1.0},
    "prior_correction": {},
    "threshold": {"by": "max_f1"},
    "temperature": {},
}


def _binary_logits(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = _random_binary(seed, n)
    scores = np.clip(scores, 0.005, 0.995)
    return labels, np.column_stack([np.zeros(n), special.logit(scores)])  # softmax(.)[:, 1] = scores


CONTEXT = DecisionContext(train_prior=[0.8, 0.2], deploy_prior=[0.5, 0.5], positive=1, cost_fn=5.0, cost_fp=1.0)


def test_the_registry_lists_the_four_rules():
    assert DECISION_RULES.names() == sorted(RULE_PARAMS)


@pytest.mark.parametrize("name", DECISION_RULES.names())
def test_every_rule_fits_and_applies_to_probabilities(name: str):
    val_labels, val_logits = _binary_logits(0)
    _, test_logits = _binary_logits(1, n=120)
    fitted = DECISION_RULES.create(name, **RULE_PARAMS[name]).fit(val_labels, val_logits, CONTEXT)
    assert isinstance(fitted, FittedDecision) and fitted.rule == name
    probs = fitted.apply(test_logits)
    assert probs.shape == (120, 2) and np.all(np.isfinite(probs)) and np.all((probs >= 0) & (probs <= 1))
    again = DECISION_RULES.create(name, **RULE_PARAMS[name]).fit(val_labels, val_logits, CONTEXT)
    np.testing.assert_array_equal(again.apply(test_logits), probs)
    assert isinstance(fitted.describe(), str) and "\n" not in fitted.describe()
    assert isinstance(fitted.params, dict)
    metrics.classification_metrics(val_labels, fitted.apply(val_logits), positive=1)  # feeds the metrics as-is


def test_threshold_rule_decides_by_its_fitted_threshold():
    val_labels, val_logits = _binary_logits(2)
    fitted = DECISION_RULES.create("threshold").fit(val_labels, val_logits, DecisionContext(positive=1))
    scores = special.softmax(val_logits, axis=1)[:, 1]
    t = fitted.params["threshold"]
    assert t == threshold_max_fbeta(val_labels, scores, 1)
    assert fitted.describe() == f"threshold {t:.3g} (max F1 on val)"
    _, test_logits = _binary_logits(3)
    test_scores = special.softmax(test_logits, axis=1)[:, 1]
    np.testing.assert_array_equal(np.argmax(fitted.apply(test_logits), axis=1), test_scores >= t)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"by": "max_fbeta", "beta": 2.0}, lambda y, s: threshold_max_fbeta(y, s, 1, 2.0)),
        ({"by": "recall", "target": 0.9}, lambda y, s: threshold_for_recall(y, s, 1, 0.9)),
        ({"by": "precision", "target": 0.5}, lambda y, s: threshold_for_precision(y, s, 1, 0.5)),
        ({"by": "min_cost"}, lambda y, s: threshold_min_cost(y, s, 1, 5.0, 1.0, deploy_prior=0.5)),
    ],
    ids=["max_fbeta", "recall", "precision", "min_cost"],
)
def test_threshold_rule_modes(params: dict[str, Any], expected: Callable[[np.ndarray, np.ndarray], float]):
    val_labels, val_logits = _binary_logits(4)
    fitted = DECISION_RULES.create("threshold", **params).fit(val_labels, val_logits, CONTEXT)
    assert fitted.params["threshold"] == expected(val_labels, special.softmax(val_logits, axis=1)[:, 1])


def test_prior_correction_rule_with_em_estimates_on_the_set_it_is_applied_to():
    # the mixture of the EM test, as logits: the rule estimates (0.8, 0.2) on it and corrects to it
    probs = np.array([[8 / 11, 3 / 11]] * 7 + [[2 / 9, 7 / 9]] * 3)
    logits = np.log(probs)
    context = DecisionContext(train_prior=[0.5, 0.5], deploy_prior="em")
    fitted = DECISION_RULES.create("prior_correction").fit(np.array([0] * 7 + [1] * 3), logits, context)
    assert fitted.params["deploy_prior"] == "em"
    np.testing.assert_allclose(fitted.apply(logits)[[0, -1], 1], [3 / 35, 7 / 15], atol=1e-5)


def test_temperature_and_logit_adjust_rules_report_their_parameters():
    labels, logits = _overconfident_logits(1)
    fitted = DECISION_RULES.create("temperature").fit(labels, logits)
    assert fitted.params["temperature"] == fit_temperature(logits, labels)
    assert fitted.describe().startswith("temperature ") and fitted.describe().endswith("(min NLL on val)")
    context = DecisionContext(train_prior=[0.6, 0.3, 0.1])
    adjusted = DECISION_RULES.create("logit_adjust", tau=0.5).fit(labels, logits, context)
    assert adjusted.params == {"tau": 0.5, "train_prior": [0.6, 0.3, 0.1]}
    np.testing.assert_allclose(
        adjusted.apply(logits), special.softmax(logit_adjust(logits, np.array([0.6, 0.3, 0.1]), 0.5), axis=1)
    )


def test_unknown_rule_and_bad_rule_parameters():
    with pytest.raises(SpecError, match="logit_adjust, prior_correction, temperature, threshold"):
        DECISION_RULES.create("platt")
    with pytest.raises(SpecError, match="by"):
        DECISION_RULES.create("threshold", by="max_auc")
    with pytest.raises(ValueError, match=r"^target: .*by='recall'"):
        DECISION_RULES.create("threshold", by="recall")
    with pytest.raises(ValueError, match=r"^beta: .*by='max_f1'"):
        DECISION_RULES.create("threshold", by="max_f1", beta=2.0)


# --------------------------------------------------------------------------- #
# Bad inputs
# --------------------------------------------------------------------------- #

_PROBS = np.array([[0.6, 0.4], [0.3, 0.7]])
_PRIOR = np.array([0.5, 0.5])
_LOGITS = np.zeros((2, 2))

BAD_INPUTS: list[tuple[str, Callable[[], Any], str]] = [
    ("logit_adjust_logits_1d", lambda: logit_adjust(np.zeros(3), _PRIOR), "logits"),
    ("logit_adjust_logits_nan", lambda: logit_adjust(np.array([[0.0, np.nan]]), _PRIOR), "logits"),
    ("logit_adjust_prior_zero", lambda: logit_adjust(_LOGITS, np.array([1.0, 0.0])), "prior"),
    ("logit_adjust_prior_length", lambda: logit_adjust(_LOGITS, np.full(3, 1 / 3)), "prior"),
    ("logit_adjust_prior_sum", lambda: logit_adjust(_LOGITS, np.array([10, 90])), "prior"),
    ("logit_adjust_tau_negative", lambda: logit_adjust(_LOGITS, _PRIOR, tau=-1.0), "tau"),
    ("prior_correction_probs_above_one", lambda: prior_correction(np.array([[1.5, 0.0]]), _PRIOR, _PRIOR), "probs"),
    (
        "prior_correction_deploy_negative",
        lambda: prior_correction(_PROBS, _PRIOR, np.array([1.5, -0.5])),
        "deploy_prior",
    ),
    (
        "prior_correction_row_emptied",
        lambda: prior_correction(np.array([[1.0, 0.0]]), _PRIOR, np.array([0.0, 1.0])),
        "probs",
    ),
    ("em_tol_zero", lambda: em_deployment_prior(_PROBS, _PRIOR, tol=0.0), "tol"),
    ("em_max_iter_zero", lambda: em_deployment_prior(_PROBS, _PRIOR, max_iter=0), "max_iter"),
    ("fbeta_scores_above_one", lambda: threshold_max_fbeta(LABELS, SCORES + 0.5, 1), "scores"),
    ("fbeta_scores_2d", lambda: threshold_max_fbeta(LABELS, SCORES[:, None], 1), "scores"),
    ("fbeta_labels_float", lambda: threshold_max_fbeta(LABELS * 1.0, SCORES, 1), "labels"),
    ("fbeta_labels_length", lambda: threshold_max_fbeta(LABELS[:4], SCORES, 1), "labels"),
    ("fbeta_no_positive", lambda: threshold_max_fbeta(np.zeros(6, np.int64), SCORES, 1), "labels"),
    ("fbeta_only_positives", lambda: threshold_max_fbeta(np.ones(6, np.int64), SCORES, 1), "labels"),
    ("fbeta_positive_negative", lambda: threshold_max_fbeta(LABELS, SCORES, -1), "positive"),
    ("fbeta_beta_zero", lambda: threshold_max_fbeta(LABELS, SCORES, 1, beta=0.0), "beta"),
    ("recall_target_zero", lambda: threshold_for_recall(LABELS, SCORES, 1, target=0.0), "target"),
    ("precision_target_above_one", lambda: threshold_for_precision(LABELS, SCORES, 1, target=1.2), "target"),
    ("min_cost_cost_negative", lambda: threshold_min_cost(LABELS, SCORES, 1, cost_fn=-1, cost_fp=1), "cost_fn"),
    ("min_cost_costs_zero", lambda: threshold_min_cost(LABELS, SCORES, 1, cost_fn=0, cost_fp=0), "cost_fn"),
    ("min_cost_prior_above_one", lambda: threshold_min_cost(LABELS, SCORES, 1, 1, 1, deploy_prior=1.5), "deploy_prior"),
    ("expected_cost_predictions_length", lambda: expected_cost(LABELS, LABELS[:3], 1, 1, 1), "predictions"),
    (
        "expected_cost_reweight_one_class",
        lambda: expected_cost(np.ones(3, np.int64), np.ones(3, np.int64), 1, 1, 1, deploy_prior=0.5),
        "labels",
    ),
    ("cost_matrix_not_square", lambda: expected_cost_matrix(LABELS, LABELS, np.zeros((2, 3))), "cost"),
    ("cost_matrix_labels_out_of_range", lambda: expected_cost_matrix(LABELS + 2, LABELS, np.zeros((2, 2))), "labels"),
    (
        "cost_matrix_absent_weighted_class",
        lambda: expected_cost_matrix(np.array([0, 1]), np.array([0, 1]), np.zeros((3, 3)), np.full(3, 1 / 3)),
        "labels",
    ),
    ("bayes_cost_size", lambda: bayes_decision(_PROBS, np.zeros((3, 3))), "cost"),
    ("bayes_cost_nan", lambda: bayes_decision(_PROBS, np.array([[0, np.nan], [1, 0]])), "cost"),
    ("as_probs_three_columns", lambda: threshold_as_probs(np.full((2, 3), 1 / 3), 1, 0.5), "probs"),
    ("as_probs_positive_two", lambda: threshold_as_probs(_PROBS, 2, 0.5), "positive"),
    ("as_probs_threshold_above_one", lambda: threshold_as_probs(_PROBS, 1, 1.5), "threshold"),
    ("temperature_labels_length", lambda: fit_temperature(_LOGITS, np.array([0, 1, 1])), "labels"),
    ("temperature_labels_range", lambda: fit_temperature(_LOGITS, np.array([0, 2])), "labels"),
    ("apply_temperature_zero", lambda: apply_temperature(_LOGITS, 0.0), "temperature"),
    ("apply_temperature_inf", lambda: apply_temperature(_LOGITS, math.inf), "temperature"),
    ("report_shapes", lambda: calibration_report(np.array([0, 1]), _PROBS, _PROBS[:1]), "probs_after"),
    (
        "rule_no_train_prior",
        lambda: DECISION_RULES.create("logit_adjust").fit(np.array([0, 1]), _LOGITS),
        "context.train_prior",
    ),
    (
        "rule_no_deploy_prior",
        lambda: DECISION_RULES.create("prior_correction").fit(np.array([0, 1]), _LOGITS, DecisionContext([0.5, 0.5])),
        "context.deploy_prior",
    ),
    (
        "rule_threshold_three_classes",
        lambda: DECISION_RULES.create("threshold").fit(np.array([0, 1, 2]), np.zeros((3, 3))),
        "val_logits",
    ),
    (
        "rule_threshold_no_costs",
        lambda: DECISION_RULES.create("threshold", by="min_cost").fit(LABELS, np.zeros((6, 2))),
        "context.cost_fn",
    ),
    ("rule_val_labels_length", lambda: DECISION_RULES.create("temperature").fit(np.array([0]), _LOGITS), "val_labels"),
    (
        "rule_apply_wrong_classes",
        lambda: DECISION_RULES.create("temperature").fit(np.array([0, 1]), _LOGITS).apply(np.zeros((2, 3))),
        "logits",
    ),
]


@pytest.mark.parametrize(("call", "argument"), [(c, a) for _, c, a in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS])
def test_bad_inputs_raise_value_error_naming_the_argument(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        call()
    msg = str(excinfo.value)
    assert msg.startswith(f"{argument}:"), msg
    assert "expected" in msg and "got" in msg and "\n" not in msg, msg


def test_a_midpoint_never_rounds_onto_the_score_below():
    # scores one float step apart: (u0 + u1) / 2 rounds to u0 half the time, which would call the
    # negative at u0 positive; the candidate itself is returned then, and the decisions stay the best
    for low in (0.25, 0.3, 0.5, 0.9999999999999998):
        scores = np.array([low, np.nextafter(low, 1.0)])
        labels = np.array([0, 1])
        t = threshold_max_fbeta(labels, scores, 1)
        assert np.array_equal(scores >= t, [False, True]), low
