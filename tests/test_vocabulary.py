"""The metric vocabulary: one place says each metric's direction and range, and knows every metric a run records."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab import vocabulary
from imbalance_lab.metrics import classification_metrics


def test_every_recorded_metric_is_in_the_vocabulary_in_the_recorded_order() -> None:
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2] * 10)
    probs = rng.dirichlet(np.ones(3), size=30)
    multi = classification_metrics(labels, probs, train_counts=np.array([200, 50, 5]))
    assert tuple(multi) == vocabulary.ALWAYS + vocabulary.SHOT
    binary = classification_metrics(labels % 2, rng.dirichlet(np.ones(2), size=30), positive=1)
    assert tuple(binary) == vocabulary.recorded(True)
    assert all(name in vocabulary.METRICS for name in binary)


def test_an_unknown_metric_is_an_error_not_higher_is_better() -> None:
    with pytest.raises(ValueError, match="unknown metric 'recal'; known: accuracy"):
        vocabulary.higher_is_better("recal")
    with pytest.raises(ValueError, match="unknown metric"):
        vocabulary.metric_range("nope")


@pytest.mark.parametrize(
    "name,better",
    [
        ("recall", True),
        ("log_loss", False),
        ("brier", False),
        ("ece", False),
        ("fp", False),
        ("fn", False),
        ("tp", True),
        ("loss", False),
        ("balanced_loss", False),
        ("expected_cost", False),
        ("mcc", True),
    ],
)
def test_directions(name: str, better: bool) -> None:
    assert vocabulary.higher_is_better(name) is better


def test_every_named_group_holds_known_metrics() -> None:
    groups = [
        vocabulary.ALWAYS,
        vocabulary.WITH_POSITIVE,
        vocabulary.SHOT,
        vocabulary.PER_EPOCH,
        vocabulary.COUNTS,
        vocabulary.CALIBRATION,
        vocabulary.HEADLINE_BINARY,
        vocabulary.HEADLINE_MULTICLASS,
        vocabulary.JUDGED_BINARY,
        vocabulary.JUDGED_MULTICLASS,
        vocabulary.SUMMARY_BINARY,
        vocabulary.SUMMARY_MULTICLASS,
        vocabulary.FAST,
        (vocabulary.COST,),
    ]
    assert all(name in vocabulary.METRICS for group in groups for name in group)
    assert all(not vocabulary.metric(m).binary_only for m in vocabulary.HEADLINE_MULTICLASS)
