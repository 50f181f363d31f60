"""One arm over seeds: the t-interval and the bootstrap interval of the mean."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from imbalance_lab.stats.checks import check_int, check_open_unit, check_values


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval ``[low, high]`` and how it was made (``"t"`` or ``"bootstrap"``)."""

    low: float
    high: float
    method: str


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """Equal-tailed ``confidence`` percentile interval of bootstrap replicates (linear interpolation)."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval | None:
    """Student-t confidence interval of the mean of a metric over seeds.

    ``mean ± t_{n-1, (1+confidence)/2} · s / √n`` with ``s`` the sample
    standard deviation (``ddof=1``): the usual interval for a handful of seeds,
    which assumes the per-seed values are roughly normal.

    Parameters
    ----------
    values : sequence of float
        The metric of one arm, one finite value per seed.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.

    Returns
    -------
    Interval or None
        ``Interval(low, high, "t")``; ``None`` when fewer than 2 values are
        given (no spread can be estimated from one seed). Values that are all
        equal give the zero-width interval ``(mean, mean)``.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D or not finite, or ``confidence`` is not in ``(0, 1)``.

    References
    ----------
    .. [1] Student (W. S. Gosset), "The probable error of a mean",
       Biometrika 6(1), 1-25, 1908.

    Examples
    --------
    >>> iv = t_interval([0.80, 0.82, 0.84])
    >>> round(iv.low, 4), round(iv.high, 4), iv.method
    (0.7703, 0.8697, 't')
    >>> t_interval([0.80]) is None
    True
    """
    arr = check_values("values", values)
    confidence = check_open_unit("confidence", confidence)
    n = arr.size
    if n < 2:
        return None
    mean = float(arr.mean())
    if np.all(arr == arr[0]):
        return Interval(mean, mean, "t")
    quantile = float(special.stdtrit(n - 1, (1.0 + confidence) / 2.0))  # Student's t quantile (scipy's t.ppf)
    half = quantile * float(arr.std(ddof=1)) / math.sqrt(n)
    return Interval(mean - half, mean + half, "t")


def bootstrap_interval(
    values: Sequence[float], confidence: float = 0.95, n_boot: int = 10_000, seed: int = 0
) -> Interval | None:
    """Percentile bootstrap confidence interval of the mean of a metric over seeds.

    Resamples the seeds with replacement ``n_boot`` times (all at once, one
    ``(n_boot, n)`` index draw) and takes the equal-tailed percentiles of the
    resampled means. Makes no normality assumption, but with few seeds it is
    narrower than :func:`t_interval` (it ignores the ``n - 1`` correction).

    Parameters
    ----------
    values : sequence of float
        The metric of one arm, one finite value per seed.
    confidence : float, default 0.95
        Coverage of the interval, in ``(0, 1)``.
    n_boot : int, default 10000
        Number of bootstrap replicates, ``>= 1``.
    seed : int, default 0
        Seed of ``np.random.default_rng``; same seed, same interval.

    Returns
    -------
    Interval or None
        ``Interval(low, high, "bootstrap")``; ``None`` when fewer than 2 values are given.

    Raises
    ------
    ValueError
        If an argument is invalid.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*,
       Chapman & Hall, 1993, ch. 13 (the percentile interval).

    Examples
    --------
    >>> iv = bootstrap_interval([0.80, 0.82, 0.84, 0.86], seed=0)
    >>> iv.method, 0.80 <= iv.low < iv.high <= 0.86
    ('bootstrap', True)
    """
    arr = check_values("values", values)
    confidence = check_open_unit("confidence", confidence)
    n_boot = check_int("n_boot", n_boot, 1)
    seed = check_int("seed", seed, 0)
    n = arr.size
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(n, size=(n_boot, n))].mean(axis=1)
    low, high = percentile_interval(means, confidence)
    return Interval(low, high, "bootstrap")
