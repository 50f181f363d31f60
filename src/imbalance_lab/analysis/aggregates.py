"""rliable-style aggregates beside the paired tests (issue 26): for every arm, on one metric of one evaluation
set, the interquartile mean of its runs and the probability that one of its runs scores better than one of the
reference arm's, each with a stratified-bootstrap interval, and its performance profile. The numbers are
:mod:`imbalance_lab.stats.aggregates`'; here they are put to the arms, with each metric's direction from the
vocabulary (a lower loss or cost is the better score)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imbalance_lab.stats import (
    Estimate,
    PerformanceProfile,
    bootstrap_improvement,
    bootstrap_iqm,
    performance_profile,
)
from imbalance_lab.vocabulary import higher_is_better, metric_range

PROFILE_POINTS = 101
"""How many thresholds a performance profile is read at, evenly spaced over the metric's range."""


@dataclass(frozen=True)
class ArmAggregate:
    """One arm on one metric of one set: how many runs it has, their interquartile mean, and P(a run of this arm
    scores better than a run of the reference arm) (``None`` for the reference itself)."""

    n_runs: int
    iqm: Estimate
    improvement: Estimate | None


def scores_by_arm(table: Mapping[str, Mapping[str, Any]], metric: str) -> dict[str, tuple[float, ...]]:
    """Each arm's runs' scores on ``metric`` (one per seed), from a set's table of
    :class:`~imbalance_lab.analysis.analyse.MetricSummary` (arm -> metric -> summary)."""
    return {arm: stats[metric].values for arm, stats in table.items() if metric in stats}


def _finite(values: Sequence[float]) -> np.ndarray:
    """The defined values (a metric undefined on a set, e.g. ROC-AUC with one class, is NaN and left out)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def aggregate_arms(
    values: Mapping[str, Sequence[float]], reference: str, metric: str, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, ArmAggregate]:
    """Every arm's :class:`ArmAggregate` on ``metric``, from ``values[arm]``: its runs' scores (one per seed).

    An arm without a defined score is left out; so is P(better) when the reference has none. Each bootstrap is
    seeded with ``seed``, so the same call gives the same numbers."""
    better = higher_is_better(metric)
    scores = {arm: _finite(v) for arm, v in values.items()}
    ref = scores.get(reference)
    out = {}
    for arm, runs in scores.items():
        if runs.size == 0:
            continue
        improvement = None
        if arm != reference and ref is not None and ref.size:
            improvement = bootstrap_improvement(runs, ref, higher_is_better=better, n_boot=n_boot, seed=seed)
        out[arm] = ArmAggregate(int(runs.size), bootstrap_iqm(runs, n_boot=n_boot, seed=seed), improvement)
    return out


def threshold_grid(values: Mapping[str, Sequence[float]], metric: str, points: int = PROFILE_POINTS) -> np.ndarray:
    """The thresholds a profile of ``metric`` is read at: ``points`` evenly over its range (``[0, 1]`` for
    rates and scores, ``[-1, 1]`` for MCC), or over the scores seen where the range is unbounded (costs,
    losses)."""
    low, high = metric_range(metric)
    if not (math.isfinite(low) and math.isfinite(high)):
        seen = np.concatenate([_finite(v) for v in values.values()] + [np.zeros(0)])
        low = float(seen.min()) if seen.size else 0.0
        high = float(seen.max()) if seen.size else 1.0
        if high <= low:
            high = low + 1.0
    return np.linspace(low, high, points)


def profile_arms(
    values: Mapping[str, Sequence[float]], metric: str, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, PerformanceProfile]:
    """Every arm's performance profile on ``metric`` (the fraction of its runs better than each threshold of
    :func:`threshold_grid`, with a bootstrap band), on one shared grid."""
    grid = threshold_grid(values, metric)
    better = higher_is_better(metric)
    scores = {arm: _finite(v) for arm, v in values.items()}
    return {
        arm: performance_profile(runs, grid, higher_is_better=better, n_boot=n_boot, seed=seed)
        for arm, runs in scores.items()
        if runs.size
    }
