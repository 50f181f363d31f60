"""Baselines against their definitions: the majority predictor exactly, the random one by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
)

from imbalance_lab.analysis.baselines import baseline_confusion, baseline_metrics


def test_majority_predictor_matches_sklearn_on_its_predictions():
    eval_counts, train_counts = np.array([400, 40]), np.array([400, 40])
    labels = np.repeat([0, 1], eval_counts)
    predictions = np.zeros_like(labels)
    ours = baseline_metrics("majority", eval_counts, train_counts, positive=1)
    assert ours["accuracy"] == pytest.approx(accuracy_score(labels, predictions)) == pytest.approx(400 / 440)
    assert ours["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predictions)) == 0.5
    p, r, f, _ = precision_recall_fscore_support(labels, predictions, labels=[0, 1], zero_division=0)
    assert (ours["precision"], ours["recall"], ours["f1"]) == (p[1], r[1], f[1]) == (0.0, 0.0, 0.0)
    assert (ours["tp"], ours["fp"], ours["tn"], ours["fn"]) == (0, 0, 400, 40)


def test_majority_follows_the_training_prior_not_the_test_set():
    ours = baseline_metrics("majority", np.array([50, 50]), np.array([10, 400]), positive=1)
    assert ours["recall"] == 1.0 and ours["precision"] == 0.5 and ours["accuracy"] == 0.5


def test_random_predictor_expected_confusion_matches_simulation():
    eval_counts, train_counts = np.array([300, 60, 40]), np.array([80, 15, 5])
    expected = baseline_confusion("random", eval_counts, train_counts)
    np.testing.assert_allclose(expected.sum(axis=1), eval_counts)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), eval_counts)
    prior = train_counts / train_counts.sum()
    draws = 4000
    cms = np.zeros((3, 3))
    for _ in range(draws):
        predictions = rng.choice(3, size=labels.size, p=prior)
        cms += np.bincount(labels * 3 + predictions, minlength=9).reshape(3, 3)
    np.testing.assert_allclose(cms / draws, expected, atol=0.5)


def test_random_predictor_metrics_have_closed_forms():
    ours = baseline_metrics("random", np.array([400, 40]), np.array([400, 40]), positive=1)
    prior_dog, prevalence_dog = 40 / 440, 40 / 440
    assert ours["recall"] == pytest.approx(prior_dog)  # recall_j = π_j
    assert ours["precision"] == pytest.approx(prevalence_dog)  # precision_j = prevalence of j
    assert ours["balanced_accuracy"] == pytest.approx(0.5)  # mean of π over the classes
    assert ours["accuracy"] == pytest.approx((400 * 400 / 440 + 40 * 40 / 440) / 440)
    assert ours["tp"] + ours["fp"] + ours["tn"] + ours["fn"] == pytest.approx(440)


def test_unknown_baseline_is_rejected():
    with pytest.raises(ValueError, match="majority, random"):
        baseline_confusion("oracle", np.array([1, 1]), np.array([1, 1]))
