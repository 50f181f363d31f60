"""Aggregates over runs, as rliable reports them (Agarwal et al. 2021): the interquartile mean, the probability
of improvement P(X > Y) and performance profiles, each with stratified-bootstrap percentile intervals.

The scores of one arm are ``(runs,)`` (one task: one metric on one evaluation set) or ``(runs, tasks)``. A
*stratified* bootstrap draws, in every replicate and for every task, as many runs as the task has, with
replacement, from that task's runs only; two arms are drawn independently. Unlike the paired tests of
:mod:`imbalance_lab.stats.comparison`, nothing here pairs runs by seed: these are summaries of the runs'
distribution, beside the tests, not instead of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imbalance_lab.stats.bootstrap import draw_counts
from imbalance_lab.stats.checks import check_int, check_open_unit, check_run_scores, check_values
from imbalance_lab.stats.intervals import Interval, percentile_interval

METHOD = "stratified bootstrap"
"""The ``method`` of every :class:`~imbalance_lab.stats.Interval` made here."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate on all runs and its stratified-bootstrap percentile ``interval`` (``None`` when an arm
    has fewer than two runs: no interval is invented from one run)."""

    value: float
    interval: Interval | None


@dataclass(frozen=True)
class PerformanceProfile:
    """The fraction of runs that score better than each threshold, with its pointwise percentile band
    (``low``/``high`` are ``None`` with fewer than two runs). "Better" is ``>`` where higher is better and
    ``<`` where lower is."""

    thresholds: tuple[float, ...]
    fraction: tuple[float, ...]
    low: tuple[float, ...] | None
    high: tuple[float, ...] | None
    higher_is_better: bool


def _trimmed_mean(values: np.ndarray) -> np.ndarray:
    """The 25 % trimmed mean of the last axis: ``scipy.stats.trim_mean(values, 0.25, axis=-1)``'s numbers.

    ``n // 4`` values are cut from each end (``int(0.25 * n)``: rounded down) after the same ``np.partition``
    scipy makes, so the kept values are summed in the same order and the result is the same float."""
    n = values.shape[-1]
    cut = n // 4
    kept = np.partition(values, (cut, n - cut - 1), axis=-1)[..., cut : n - cut]
    return kept.mean(axis=-1)


def _stratified_draws(rng: np.random.Generator, scores: np.ndarray, n_boot: int) -> np.ndarray:
    """Run indices ``(n_boot, tasks, runs)``: each replicate draws each task's runs with replacement."""
    n_runs, n_tasks = scores.shape
    return rng.integers(n_runs, size=(n_boot, n_tasks, n_runs))


def _task_counts(draws: np.ndarray, n_runs: int) -> np.ndarray:
    """How often each run was drawn, per replicate and task: ``(n_boot, tasks, runs)`` float64."""
    n_boot, n_tasks, _ = draws.shape
    return draw_counts(draws.reshape(n_boot * n_tasks, -1), n_runs).reshape(n_boot, n_tasks, n_runs)


def _check_bootstrap(confidence: Any, n_boot: Any, seed: Any) -> tuple[float, int, int]:
    return check_open_unit("confidence", confidence), check_int("n_boot", n_boot, 1), check_int("seed", seed, 0)


def interquartile_mean(scores: Sequence[float] | np.ndarray) -> float:
    """The interquartile mean (IQM) of the runs' scores: the mean of the middle half, every task's runs pooled.

    ``n // 4`` scores are dropped from each end of the sorted ``n = runs × tasks`` scores and the rest averaged:
    exactly ``scipy.stats.trim_mean(scores, 0.25, axis=None)``, which rliable's ``aggregate_iqm`` is. When
    ``n`` is not a multiple of 4 the cut is rounded down (5 runs: 1 from each end, the mean of 3; 3 runs: none,
    the plain mean), rather than weighting the boundary runs fractionally.

    Parameters
    ----------
    scores : array of float
        ``(runs,)`` or ``(runs, tasks)``, finite, at least one run.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``scores`` is empty, not finite or has more than two dimensions.

    References
    ----------
    .. [1] R. Agarwal, M. Schwarzer, P. S. Castro, A. Courville and M. G. Bellemare, "Deep Reinforcement
       Learning at the Edge of the Statistical Precipice", NeurIPS 2021, arXiv:2108.13264.

    Examples
    --------
    >>> interquartile_mean([0.1, 0.5, 0.6, 0.7, 0.9, 0.95, 1.0, 0.2])
    0.675
    """
    return float(_trimmed_mean(check_run_scores("scores", scores).ravel()))


def bootstrap_iqm(
    scores: Sequence[float] | np.ndarray, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> Estimate:
    """The interquartile mean (:func:`interquartile_mean`) and its stratified-bootstrap percentile interval.

    Each of ``n_boot`` replicates redraws every task's runs with replacement (``np.random.default_rng(seed)``:
    the same call gives the same interval) and takes the replicate's IQM; the interval is the equal-tailed
    ``confidence`` percentile interval of those IQMs (as rliable's ``get_interval_estimates`` with
    ``method="percentile"``).

    Parameters
    ----------
    scores : array of float
        ``(runs,)`` or ``(runs, tasks)``, finite.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.
    n_boot : int, default 2000
        Number of bootstrap replicates, ``>= 1``.
    seed : int, default 0
        Seed of the random generator, ``>= 0``.

    Returns
    -------
    Estimate
        ``value``: the IQM of all runs; ``interval``: ``Interval(low, high, "stratified bootstrap")``, or
        ``None`` with fewer than two runs.

    References
    ----------
    .. [1] R. Agarwal et al., NeurIPS 2021, arXiv:2108.13264 (section 4 and appendix A.1).
    .. [2] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*, Chapman & Hall, 1993, ch. 13.

    Examples
    --------
    >>> iqm = bootstrap_iqm([0.80, 0.82, 0.84, 0.86, 0.99], n_boot=500)
    >>> round(iqm.value, 4), 0.8 <= iqm.interval.low < iqm.interval.high <= 0.99
    (0.84, True)
    """
    arr = check_run_scores("scores", scores)
    confidence, n_boot, seed = _check_bootstrap(confidence, n_boot, seed)
    value = float(_trimmed_mean(arr.ravel()))
    if arr.shape[0] < 2:
        return Estimate(value, None)
    draws = _stratified_draws(np.random.default_rng(seed), arr, n_boot)
    resampled = np.take_along_axis(arr.T[None], draws, axis=2)  # (n_boot, tasks, runs)
    replicates = _trimmed_mean(resampled.reshape(n_boot, -1))
    low, high = percentile_interval(replicates, confidence)
    return Estimate(value, Interval(low, high, METHOD))


def _wins(x: np.ndarray, y: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """``S(x_i, y_j)`` per task, ``(tasks, runs_x, runs_y)``: 1 where ``x_i`` is better, 1/2 where equal, 0 else."""
    xt, yt = x.T[:, :, None], y.T[:, None, :]
    better = xt > yt if higher_is_better else xt < yt
    return better + 0.5 * (xt == yt)


def probability_of_improvement(
    scores_x: Sequence[float] | np.ndarray, scores_y: Sequence[float] | np.ndarray, *, higher_is_better: bool = True
) -> float:
    """P(X > Y): the probability that a run of arm X scores better than a run of arm Y, averaged over tasks.

    Per task, ``(1 / (n·m)) Σ_i Σ_j S(x_i, y_j)`` over the ``n`` runs of X and ``m`` runs of Y, with
    ``S = 1`` if ``x_i`` is better than ``y_j``, ``1/2`` if they are equal and ``0`` otherwise: the
    Mann-Whitney U statistic of X divided by ``n·m`` (rliable's ``probability_of_improvement``); the tasks'
    probabilities are then averaged. Where lower is better (``higher_is_better=False``: losses, costs) a
    lower score is the better one. 0.5 means neither arm tends to score better.

    Parameters
    ----------
    scores_x, scores_y : array of float
        ``(runs,)`` or ``(runs, tasks)``, finite; the same tasks in the same order, any number of runs.
    higher_is_better : bool, default True
        Whether a larger score is better.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If the scores are invalid or the two arms have different numbers of tasks.

    References
    ----------
    .. [1] R. Agarwal et al., NeurIPS 2021, arXiv:2108.13264, section 4 ("probability of improvement").
    .. [2] H. B. Mann and D. R. Whitney, "On a test of whether one of two random variables is stochastically
       larger than the other", Ann. Math. Statist. 18(1), 50-60, 1947.

    Examples
    --------
    >>> probability_of_improvement([0.3, 0.5], [0.2, 0.5])  # (1 + 0 + 1 + 1/2) / 4
    0.625
    """
    x, y = _check_pair(scores_x, scores_y)
    return float(_wins(x, y, higher_is_better).mean(axis=(1, 2)).mean())


def _check_pair(scores_x: Any, scores_y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = check_run_scores("scores_x", scores_x)
    y = check_run_scores("scores_y", scores_y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_y: expected the {x.shape[1]} task(s) of scores_x, got {y.shape[1]}")
    return x, y


def bootstrap_improvement(
    scores_x: Sequence[float] | np.ndarray,
    scores_y: Sequence[float] | np.ndarray,
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """P(X > Y) (:func:`probability_of_improvement`) and its stratified-bootstrap percentile interval.

    Each replicate redraws the runs of X and, independently, the runs of Y, task by task, with replacement
    (X from ``np.random.default_rng(seed)``, the same draws :func:`bootstrap_iqm` makes with that seed, and Y
    from ``np.random.default_rng([seed, 1])``), and computes P(X > Y) on them without a loop: with ``c_x`` and
    ``c_y`` how often each run was drawn, a replicate's value on a task is ``c_x · S · c_y / (n·m)``.

    Parameters
    ----------
    scores_x, scores_y : array of float
        ``(runs,)`` or ``(runs, tasks)``, finite, the same tasks.
    higher_is_better : bool, default True
        Whether a larger score is better.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.
    n_boot : int, default 2000
        Number of bootstrap replicates, ``>= 1``.
    seed : int, default 0
        Seed of the random generators, ``>= 0``.

    Returns
    -------
    Estimate
        ``value``: P(X > Y) on all runs; ``interval``: ``Interval(low, high, "stratified bootstrap")``, or
        ``None`` when either arm has fewer than two runs.

    References
    ----------
    .. [1] R. Agarwal et al., NeurIPS 2021, arXiv:2108.13264.

    Examples
    --------
    >>> p = bootstrap_improvement([0.9, 0.8, 0.85], [0.7, 0.75, 0.8], n_boot=500)
    >>> round(p.value, 4), p.interval.high
    (0.9444, 1.0)
    """
    x, y = _check_pair(scores_x, scores_y)
    confidence, n_boot, seed = _check_bootstrap(confidence, n_boot, seed)
    wins = _wins(x, y, higher_is_better)  # (tasks, n, m)
    value = float(wins.mean(axis=(1, 2)).mean())
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2:
        return Estimate(value, None)
    counts_x = _task_counts(_stratified_draws(np.random.default_rng(seed), x, n_boot), n)
    counts_y = _task_counts(_stratified_draws(np.random.default_rng([seed, 1]), y, n_boot), m)
    per_task = np.einsum("btn,tnm,btm->bt", counts_x, wins, counts_y, optimize=True) / (n * m)
    low, high = percentile_interval(per_task.mean(axis=1), confidence)
    return Estimate(value, Interval(low, high, METHOD))


def performance_profile(
    scores: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] | np.ndarray,
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> PerformanceProfile:
    """The performance profile of one arm: for each threshold τ, the fraction of runs (every task's pooled)
    that score better than τ, with a stratified-bootstrap percentile band.

    Better is ``score > τ`` where higher is better (rliable's run-score distribution) and ``score < τ`` where
    lower is better. The band is pointwise: at each τ the equal-tailed ``confidence`` percentile interval of
    the replicates' fractions, all thresholds read from the same replicates (``np.random.default_rng(seed)``,
    the draws of :func:`bootstrap_iqm`).

    Parameters
    ----------
    scores : array of float
        ``(runs,)`` or ``(runs, tasks)``, finite.
    thresholds : sequence of float
        The grid of τ, finite, at least one.
    higher_is_better : bool, default True
        Whether a larger score is better.
    confidence : float, default 0.95
        Coverage of the band, in ``(0, 1)``.
    n_boot : int, default 2000
        Number of bootstrap replicates, ``>= 1``.
    seed : int, default 0
        Seed of the random generator, ``>= 0``.

    Returns
    -------
    PerformanceProfile

    References
    ----------
    .. [1] R. Agarwal et al., NeurIPS 2021, arXiv:2108.13264, section 4 ("performance profiles").
    .. [2] E. D. Dolan and J. J. Moré, "Benchmarking optimization software with performance profiles",
       Math. Program. 91, 201-213, 2002.

    Examples
    --------
    >>> performance_profile([0.2, 0.4, 0.6, 0.8], [0.0, 0.5, 0.8], n_boot=100).fraction
    (1.0, 0.5, 0.0)
    """
    arr = check_run_scores("scores", scores)
    taus = check_values("thresholds", thresholds)
    if taus.size == 0:
        raise ValueError("thresholds: expected at least one threshold, got none")
    confidence, n_boot, seed = _check_bootstrap(confidence, n_boot, seed)
    n_runs, n_tasks = arr.shape
    better = arr.T[:, :, None] > taus if higher_is_better else arr.T[:, :, None] < taus  # (tasks, runs, K)
    fraction = better.mean(axis=(0, 1))
    low = high = None
    if n_runs >= 2:
        counts = _task_counts(_stratified_draws(np.random.default_rng(seed), arr, n_boot), n_runs)
        # thresholds with no score between them have the same runs better: each such column is bootstrapped once
        columns, which = np.unique(better.reshape(n_tasks * n_runs, -1), axis=1, return_inverse=True)
        replicates = counts.reshape(n_boot, -1) @ columns.astype(np.float64) / (n_runs * n_tasks)
        tail = (1.0 - confidence) / 2.0
        bounds = np.quantile(replicates, [tail, 1.0 - tail], axis=0)[:, which.ravel()]  # percentile_interval's
        low, high = tuple(bounds[0].tolist()), tuple(bounds[1].tolist())
    return PerformanceProfile(tuple(taus.tolist()), tuple(fraction.tolist()), low, high, higher_is_better)
