"""Intervals and bands respect their metric's range: a t-interval of precision over 5 seeds read
[0.217, 1.261] and the recall band of the curves dipped below 0 (issue 14 item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab.analysis.analyse import bounded_t_interval
from imbalance_lab.report import plots
from imbalance_lab.stats import t_interval
from imbalance_lab.vocabulary import metric_range


def test_a_rate_s_interval_is_clipped_to_0_1_and_says_so():
    precision = np.array([0.2, 1.0, 1.0, 0.9, 0.6])  # one run that called a few dogs, four that did well
    raw = t_interval(precision)
    assert raw.high > 1.0  # the plain t-interval leaves the range
    clipped = bounded_t_interval(precision, "precision")
    assert (clipped.low, clipped.high, clipped.method) == (raw.low, 1.0, "t, clipped")
    recall = np.array([0.0, 0.05, 0.5, 0.0, 0.1])
    assert bounded_t_interval(recall, "recall").low == 0.0
    inside = np.array([0.5, 0.55, 0.6])
    assert bounded_t_interval(inside, "f1") == t_interval(inside)  # untouched where it fits, method "t"
    assert bounded_t_interval(np.array([0.3, 2.5, 0.1]), "log_loss").high == t_interval([0.3, 2.5, 0.1]).high
    assert bounded_t_interval(np.array([-0.9, 0.95, 0.9]), "mcc").low == -1.0
    assert bounded_t_interval(np.array([0.5]), "recall") is None


@pytest.mark.parametrize(
    "metric,expected",
    [
        ("recall", (0.0, 1.0)),
        ("mcc", (-1.0, 1.0)),
        ("log_loss", (0.0, np.inf)),
        ("expected_cost", (0.0, np.inf)),
        ("ece", (0.0, 1.0)),
        ("fp", (0.0, np.inf)),
    ],
)
def test_metric_ranges(metric, expected):
    assert metric_range(metric) == expected


def test_clipping_keeps_the_coverage_of_the_t_interval():
    # beta-distributed rates near 1: wherever the t-interval covers the true mean, the clipped one does too
    rng = np.random.default_rng(0)
    a, b = 8.0, 0.6
    truth = a / (a + b)
    raw = clipped = 0
    for _ in range(2000):
        values = rng.beta(a, b, size=5)
        r, c = t_interval(values), bounded_t_interval(values, "precision")
        raw += r.low <= truth <= r.high
        clipped += c.low <= truth <= c.high
        assert 0.0 <= c.low <= c.high <= 1.0
    assert clipped == raw


def test_the_curves_band_stays_inside_the_metric_s_range():
    history = lambda values: [{"epoch": e + 1, "val": {"recall": v}} for e, v in enumerate(values)]  # noqa: E731
    histories = {"focal": [history([0.0, 0.0, 0.9]), history([0.0, 0.8, 1.0]), history([0.05, 0.0, 1.0])]}
    fig = plots.metric_curves(histories, "recall")
    ax = fig.axes[0]
    bands = [c for c in ax.collections if hasattr(c, "get_paths")]
    assert bands
    for band in bands:
        for path in band.get_paths():
            ys = path.vertices[:, 1]
            assert ys.min() >= 0.0 and ys.max() <= 1.0
