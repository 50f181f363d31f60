"""The draw / training variance decomposition (imbalance_lab.stats.variance): the mean squares and estimates
by hand, the F statistic against scipy's one-way ANOVA, the corner cases, and the intervals' coverage measured
by simulation under the model they assume."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from imbalance_lab.stats.variance import mean_squares, variance_components


def test_a_three_by_two_design_by_hand() -> None:
    values = [[0.70, 0.72], [0.80, 0.82], [0.74, 0.78]]
    # draw means 0.71, 0.81, 0.76; grand mean 0.76
    # S1 = T/(D-1) * sum (mean_d - mean)^2 = 2/2 * (0.0025 + 0.0025 + 0) = 0.005
    # S2 = sum (y - mean_d)^2 / (D(T-1)) = (2*0.0001 + 2*0.0001 + 2*0.0004) / 3 = 0.0004
    vc = variance_components(values)
    assert (vc.draws, vc.train) == (3, 2)
    assert vc.mean == pytest.approx(0.76)
    assert vc.ms_draw == pytest.approx(0.005) and vc.ms_train == pytest.approx(0.0004)
    assert vc.draw_var == pytest.approx((0.005 - 0.0004) / 2)  # 0.0023
    assert vc.train_var == pytest.approx(0.0004)
    assert vc.total_var == pytest.approx(0.0027)
    assert vc.draw_share == pytest.approx(0.0023 / 0.0027)
    assert vc.draw_sd == pytest.approx(math.sqrt(0.0023))
    # σ²_train's exact interval: n2 S2 / chi2 quantiles, n2 = 3
    n2 = 3
    assert vc.train_var_interval == pytest.approx(
        (n2 * 0.0004 / scipy_stats.chi2.ppf(0.975, n2), n2 * 0.0004 / scipy_stats.chi2.ppf(0.025, n2))
    )
    # the draw share's exact interval from F = S1/S2 = 12.5 on (2, 3) degrees of freedom
    f = 12.5
    high = f / scipy_stats.f.ppf(0.025, 2, 3)
    assert vc.draw_share_interval[0] == 0.0  # F / F_{0.975} = 12.5 / 16.04 < 1: clipped at 0
    assert vc.draw_share_interval[1] == pytest.approx((high - 1) / (high - 1 + 2))
    assert vc.p_value == pytest.approx(scipy_stats.f.sf(f, 2, 3))


def test_the_f_statistic_is_one_way_anovas() -> None:
    rng = np.random.default_rng(3)
    for d, t in [(2, 2), (3, 4), (6, 2)]:
        values = rng.normal(size=(d, 1)) + rng.normal(size=(d, t))
        s1, s2 = mean_squares(values)
        anova = scipy_stats.f_oneway(*values)
        assert s1 / s2 == pytest.approx(anova.statistic)
        assert variance_components(values).p_value == pytest.approx(anova.pvalue)


def test_a_negative_estimate_is_truncated_at_zero() -> None:
    values = [[0.0, 1.0], [1.0, 0.0]]  # the draws have the same mean: S1 = 0, S2 = 4 · 0.25 / 2
    vc = variance_components(values)
    assert vc.ms_draw == 0.0 and vc.ms_train == pytest.approx(0.5)
    assert vc.draw_var == 0.0 and vc.draw_share == 0.0
    assert vc.draw_var_interval[0] == 0.0 and vc.draw_var_interval[1] >= 0.0
    assert vc.p_value == pytest.approx(1.0)


def test_no_training_spread_puts_everything_on_the_draw() -> None:
    vc = variance_components([[1.0, 1.0], [3.0, 3.0]])  # S1 = 2 * 2 = 4, S2 = 0
    assert vc.train_var == 0.0 and vc.train_var_interval == (0.0, 0.0)
    assert vc.draw_var == pytest.approx(2.0) and vc.draw_share == 1.0
    # with S2 = 0 the MLS interval is the exact chi-square interval of S1 / T on n1 = 1 degree of freedom
    assert vc.draw_var_interval == pytest.approx(
        (4.0 / scipy_stats.chi2.ppf(0.975, 1) / 2, 4.0 / scipy_stats.chi2.ppf(0.025, 1) / 2)
    )


def test_identical_runs_have_no_share() -> None:
    vc = variance_components(np.full((3, 2), 0.5))
    assert vc.draw_var == 0.0 and vc.train_var == 0.0 and math.isnan(vc.draw_share)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ([[0.1, 0.2, 0.3]], "at least 2 draws"),  # one draw
        ([[0.1], [0.2], [0.3]], "2 training seeds per draw"),  # one training seed per draw
        ([0.1, 0.2], "2-D array"),
        ([[0.1, np.nan], [0.2, 0.3]], "finite"),
    ],
)
def test_bad_inputs_say_what_is_needed(values: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        variance_components(values)


def test_a_bad_confidence_is_refused() -> None:
    with pytest.raises(ValueError, match="confidence"):
        variance_components([[0.0, 1.0], [1.0, 2.0]], confidence=1.5)


@pytest.mark.parametrize(
    ("draws", "train", "draw_sd", "train_sd"),
    [(2, 2, 1.0, 1.0), (3, 2, 0.5, 1.0), (5, 3, 1.0, 0.3), (4, 4, 0.2, 1.0)],
)
def test_the_intervals_cover_at_their_level_under_the_model(
    draws: int, train: int, draw_sd: float, train_sd: float
) -> None:
    """1,000 simulated experiments each: every interval covers its true value 95 % of the time (a binomial
    standard error of 0.7 %: the band is over 4 of them)."""
    rng = np.random.default_rng(draws * 100 + train)
    truth = (draw_sd**2, train_sd**2, draw_sd**2 / (draw_sd**2 + train_sd**2))
    covered = np.zeros(3)
    n = 1000
    for _ in range(n):
        values = rng.normal(0.0, draw_sd, (draws, 1)) + rng.normal(0.0, train_sd, (draws, train))
        vc = variance_components(values)
        intervals = (vc.draw_var_interval, vc.train_var_interval, vc.draw_share_interval)
        covered += [low <= true <= high for (low, high), true in zip(intervals, truth, strict=True)]
    assert np.all((covered / n > 0.92) & (covered / n < 0.98)), covered / n
