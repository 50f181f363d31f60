"""Anytime-valid comparisons for experiments that add training seeds round by round.

A sequential experiment trains every undecided arm and the reference arm once
more per *round* (one new seed each, so the comparisons stay paired) and looks
at the results after every round, stopping an arm as soon as its comparison with
the reference is decided. Looking after every round with a fixed-sample test
(:func:`~imbalance_lab.stats.paired_seed_test`) inflates the false
positives: looking after each of rounds 3 to 30, a 5 % paired t test calls a
difference that is not there in 27 % of simulated experiments
(``docs/sequential.md``). The statistics here stay valid at any
data-dependent stopping time:

* :func:`capital` / :func:`betting_cs` -- the hedged-capital betting confidence
  sequence for the mean of observations in ``[0, 1]`` (Waudby-Smith & Ramdas),
  a sequence of intervals that contains the true mean at every round at once
  with probability ``>= 1 - alpha``;
* :func:`anytime_p_value` -- the p-value of a hypothesised mean from the same
  capital process, valid at any stopping time (Ville's inequality);
* :func:`paired_to_unit` / :func:`unit_to_paired` -- paired differences in
  ``[-bound, bound]`` to ``[0, 1]`` and back;
* :func:`replay` / :func:`decide` -- each arm against the reference, round by
  round: Holm's step-down on the anytime p-values calls ``better`` / ``worse``,
  a Bonferroni confidence sequence inside ``(-margin, margin)`` calls
  ``equivalent``; :func:`settled` says whether every comparison is decided.

Conventions shared by every function here: pure functions on plain numpy /
Python values; results are frozen dataclasses holding Python floats; invalid
arguments raise ``ValueError`` in one line naming the argument, what was
expected and what was given (as in :mod:`imbalance_lab.stats`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, cast

import numpy as np

from imbalance_lab.stats.checks import check_int, check_open_unit, check_values
from imbalance_lab.stats.comparison import holm

__all__ = [
    "DECISION_STATES",
    "TRUNCATION",
    "SequentialDecision",
    "anytime_p_value",
    "betting_cs",
    "capital",
    "decide",
    "paired_to_unit",
    "replay",
    "settled",
    "unit_to_paired",
]

TRUNCATION = 0.75
"""Default ``c`` of the bet truncation ``lambda+ <= c / m``, ``lambda- <= c / (1 - m)``.

Any ``c`` in ``(0, 1)`` keeps every factor of the capital ``>= 1 - c > 0``, so
every choice is valid; Waudby-Smith & Ramdas recommend ``c = 1/2`` or ``3/4``.
We take ``3/4``: paired differences of metrics vary far less than their bound
allows, so the plug-in bet is large and the truncation is what limits it. In
``benchmarks/sequential_validity.py`` (one arm, sd 0.1, bound 0.5, at most 30
rounds) a difference of +0.10 was called in 3 % of the experiments with
``c = 1/2`` and in 65 % with ``3/4``; +0.15 in 80 % and 99.8 %. The price: one
round against the bet can cost up to three quarters of the capital, not half.
"""

MEAN_PRIOR = 0.5
"""The running mean starts from one pseudo-observation at ``1/2`` (the paper's choice)."""

VARIANCE_PRIOR = 0.25
"""The running variance starts from one pseudo-observation of ``1/4``, the largest variance on ``[0, 1]``."""

DECISION_STATES: tuple[str, ...] = ("better", "worse", "equivalent", "undecided")
"""The values of :attr:`SequentialDecision.state`."""


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class SequentialDecision:
    """Where one arm-vs-reference comparison stands after a round (see :func:`replay`).

    ``state`` is ``"better"``, ``"worse"``, ``"equivalent"`` or ``"undecided"``;
    ``decided_at`` the number of rounds the arm had when it was decided (``None``
    while undecided); ``rounds`` the number of rounds its statistics use (frozen
    at ``decided_at`` once decided); ``mean_diff`` the mean paired difference
    ``arm - reference`` over those rounds; ``[low, high]`` its confidence
    sequence at level ``alpha / m`` on the difference scale; ``p_value`` the
    unadjusted anytime-valid p-value of "no difference" (Holm compares it with
    ``alpha / (m - k)``).
    """

    arm: str
    state: str
    decided_at: int | None
    rounds: int
    mean_diff: float
    low: float
    high: float
    p_value: float


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _check_in_range(name: str, values: Any, low: float, high: float) -> np.ndarray:
    """Validate a 1-D sequence of finite numbers in ``[low, high]`` (may be empty) and return it as float64."""
    arr = check_values(name, values)
    outside = np.flatnonzero((arr < low) | (arr > high))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"{name}: expected numbers in [{low:g}, {high:g}], got {float(arr[i])!r} at position {i}")
    return arr


def _check_mean(name: str, value: Any) -> float:
    """Validate a hypothesised mean in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: expected a mean in [0, 1], got {value!r}")
    return float(value)


def _check_bound(value: Any) -> float:
    """Validate the bound of the paired differences: a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < math.inf:
        raise ValueError(
            f"bound: expected a finite number > 0 (1.0 for differences of metrics in [0, 1]), got {value!r}"
        )
    return float(value)


# --------------------------------------------------------------------------- #
# The capital process
# --------------------------------------------------------------------------- #


def _bets(x: np.ndarray, alpha: float) -> np.ndarray:
    """Untruncated predictable plug-in bets ``lambda_1..lambda_n`` (each uses only the observations before it).

    ``lambda_t = sqrt(2 log(2/alpha) / (sigma2_{t-1} t log(1+t)))`` with
    ``mu_t = (1/2 + sum_{i<=t} x_i) / (t+1)`` and
    ``sigma2_t = (1/4 + sum_{i<=t} (x_i - mu_i)^2) / (t+1)`` (so ``sigma2_0 = 1/4``).
    """
    t = np.arange(1, x.size + 1, dtype=np.float64)
    mu = (MEAN_PRIOR + np.cumsum(x)) / (t + 1.0)  # mu_1..mu_n
    sigma2 = (VARIANCE_PRIOR + np.cumsum((x - mu) ** 2)) / (t + 1.0)  # sigma2_1..sigma2_n
    previous = np.concatenate(([VARIANCE_PRIOR], sigma2[:-1]))  # sigma2_0..sigma2_{n-1}
    return np.sqrt(2.0 * math.log(2.0 / alpha) / (previous * t * np.log1p(t)))


def _check_truncation(value: Any) -> float:
    """Validate the truncation ``c`` of the bets: a number in ``(0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"truncation: expected a number in (0, 1) such as 0.5 or 0.75, got {value!r}")
    return float(value)


def _log_capital(x: np.ndarray, m: np.ndarray, alpha: float, c: float) -> np.ndarray:
    """``log K_t(m)`` for ``t = 1..n`` (rows) and every candidate mean ``m`` (columns), shape ``(n, len(m))``."""
    lam = _bets(x, alpha)[:, None]
    with np.errstate(divide="ignore"):  # m = 0 or 1: that side's bet is not truncated
        lam_plus = np.minimum(lam, c / m[None, :])
        lam_minus = np.minimum(lam, c / (1.0 - m[None, :]))
    centred = x[:, None] - m[None, :]
    log_plus = np.cumsum(np.log1p(lam_plus * centred), axis=0)
    log_minus = np.cumsum(np.log1p(-lam_minus * centred), axis=0)
    return np.logaddexp(log_plus, log_minus) - math.log(2.0)


def capital(values: Sequence[float], m: float, alpha: float, *, truncation: float = TRUNCATION) -> np.ndarray:
    """The hedged capital ``K_t(m)`` after each observation ``t = 1..n``.

    ``K_t(m) = 1/2 K+_t(m) + 1/2 K-_t(m)`` with
    ``K±_t(m) = prod_{i<=t} (1 ± lambda±_i(m) (X_i - m))``: the wealth of a
    gambler who starts with 1, puts half on "the mean is above ``m``" and half on
    "below", and stakes each round a fraction chosen from the earlier rounds only
    (the predictable plug-in bet of :func:`_bets`, truncated to
    ``lambda+ <= c/m`` and ``lambda- <= c/(1-m)``, ``c = truncation``).
    If the observations have mean ``m`` given the past, ``K_t(m)`` is a
    nonnegative martingale starting at 1, so by Ville's inequality it ever
    reaches ``1/alpha`` with probability at most ``alpha``.

    Parameters
    ----------
    values : sequence of float
        The observations ``X_1..X_n``, each in ``[0, 1]``, in the order they arrived.
    m : float
        The mean bet against, in ``[0, 1]``.
    alpha : float
        The level the bets are tuned for, in ``(0, 1)`` (a fixed constant: any
        value gives a valid process, the nominal level gives the tightest sets).
    truncation : float, default :data:`TRUNCATION` (0.75)
        The truncation ``c`` of the bets, in ``(0, 1)``.

    Returns
    -------
    np.ndarray
        ``float64`` of length ``n`` (``inf`` once the capital overflows).

    Raises
    ------
    ValueError
        If a value is outside ``[0, 1]`` or NaN, ``m`` is outside ``[0, 1]``, or
        ``alpha`` or ``truncation`` is not in ``(0, 1)``.

    References
    ----------
    .. [1] I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random
       variables by betting", Journal of the Royal Statistical Society Series B
       86(1), 1-27, 2024 (online 2023), arXiv:2010.09686, section 4 (hedged
       capital, predictable plug-in bets).

    Examples
    --------
    >>> capital([0.9, 0.8, 0.95, 0.85], m=0.5, alpha=0.05).round(3).tolist()
    [1.0, 1.27, 1.979, 2.98]

    The first round is a wash (both halves bet the same fraction, in opposite
    directions); from then on the half betting on "above 0.5" grows.
    """
    x = _check_in_range("values", values, 0.0, 1.0)
    m = _check_mean("m", m)
    alpha = check_open_unit("alpha", alpha)
    c = _check_truncation(truncation)
    with np.errstate(over="ignore"):
        return np.exp(_log_capital(x, np.array([m]), alpha, c)[:, 0])


def _grid(grid: Any) -> np.ndarray:
    """Validate ``grid`` (an integer >= 3) and return the candidate means ``linspace(0, 1, grid)``."""
    return np.linspace(0.0, 1.0, check_int("grid", grid, 3))


def _cs_bounds(x: np.ndarray, alpha: float, candidates: np.ndarray, c: float) -> np.ndarray:
    """Running-intersection CS bounds ``(n, 2)`` on the grid ``candidates`` (see :func:`betting_cs`)."""
    if x.size == 0:
        return np.empty((0, 2))
    worst = np.maximum.accumulate(_log_capital(x, candidates, alpha, c), axis=0)
    return _hull(worst < math.log(1.0 / alpha), candidates)


def _hull(inside: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per round (row of ``inside``), the hull ``(low, high)`` of the candidates kept, widened by one grid
    cell each side within the grid; ``nan`` where none is kept."""
    g = candidates.size
    any_inside = cast(np.ndarray, inside.any(axis=1))  # numpy's stubs allow a scalar even with an axis
    first = np.argmax(inside, axis=1)
    last = g - 1 - np.argmax(inside[:, ::-1], axis=1)
    # widened by one grid cell: the boundary of the set lies somewhere in the cell beyond the last point kept
    low = candidates[np.maximum(first - 1, 0)]
    high = candidates[np.minimum(last + 1, g - 1)]
    return np.where(any_inside[:, None], np.stack([low, high], axis=1), np.nan)


def betting_cs(
    values: Sequence[float], alpha: float, *, grid: int = 2001, truncation: float = TRUNCATION
) -> np.ndarray:
    """The hedged-capital betting confidence sequence for the mean of observations in ``[0, 1]``.

    After each observation ``t`` the set is ``{m : K_s(m) < 1/alpha for all s <= t}``
    (:func:`capital`, the running intersection of the sets of every round so far),
    so the intervals are nested and, by Ville's inequality, contain the true mean
    at every ``t`` at once with probability ``>= 1 - alpha``: the interval at a
    stopping time chosen by looking at them is still a ``1 - alpha`` interval.

    The set is searched on ``grid`` equally spaced candidate means in ``[0, 1]``.
    The interval reported is the hull of the candidates kept, widened by one grid
    cell on each side (the set's boundary lies inside that cell), so the grid
    only ever makes the interval wider, by at most ``1 / (grid - 1)`` a side.

    Parameters
    ----------
    values : sequence of float
        The observations, each in ``[0, 1]``, in the order they arrived.
    alpha : float
        Miscoverage over the whole sequence, in ``(0, 1)``; the bets are tuned
        for it (:func:`capital`).
    grid : int, default 2001
        Number of candidate means (``>= 3``); 2001 is a step of 0.0005.
    truncation : float, default :data:`TRUNCATION` (0.75)
        The truncation ``c`` of the bets (:func:`capital`), in ``(0, 1)``.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` ``float64``: row ``t - 1`` is ``(low, high)`` after ``t``
        observations. A row is ``(nan, nan)`` when no candidate is left (the
        data contradict every mean: an event of probability at most ``alpha``).

    Raises
    ------
    ValueError
        If a value is outside ``[0, 1]`` or NaN, ``alpha`` or ``truncation`` is
        not in ``(0, 1)`` or ``grid`` is not an integer ``>= 3``.

    References
    ----------
    .. [1] I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random
       variables by betting", Journal of the Royal Statistical Society Series B
       86(1), 1-27, 2024 (online 2023), arXiv:2010.09686, section 4 and
       remark on running intersections.
    .. [2] J. Ville, *Étude critique de la notion de collectif*, Gauthier-Villars, 1939.

    Examples
    --------
    >>> cs = betting_cs([0.7, 0.6, 0.8, 0.7, 0.65, 0.75] * 5, alpha=0.05)
    >>> low, high = cs[-1]
    >>> bool(low < 0.7 < high), bool(high - low < cs[0, 1] - cs[0, 0])
    (True, True)
    """
    x = _check_in_range("values", values, 0.0, 1.0)
    alpha = check_open_unit("alpha", alpha)
    return _cs_bounds(x, alpha, _grid(grid), _check_truncation(truncation))


def anytime_p_value(
    values: Sequence[float], m0: float, alpha_for_bets: float = 0.05, *, truncation: float = TRUNCATION
) -> np.ndarray:
    """Anytime-valid p-values of "the mean is ``m0``" after each observation.

    ``p_t = min(1, 1 / max_{s<=t} K_s(m0))`` with ``K`` the hedged capital of
    :func:`capital`. Under the hypothesis ``K(m0)`` is a nonnegative martingale
    starting at 1, so ``P(exists t: p_t <= x) <= x`` for every ``x`` (Ville's
    inequality): ``p_tau`` is a valid p-value at any stopping time ``tau``, and
    the sequence never increases.

    The bets are tuned for the fixed level ``alpha_for_bets``, not for the level
    the p-value is later compared with, so the process (and every ``p_t``) does
    not depend on which level is tested; any fixed choice is valid, one near the
    level used in practice rejects soonest.

    Parameters
    ----------
    values : sequence of float
        The observations, each in ``[0, 1]``, in the order they arrived.
    m0 : float
        The hypothesised mean, in ``[0, 1]``.
    alpha_for_bets : float, default 0.05
        The level the bets are tuned for, in ``(0, 1)``.
    truncation : float, default :data:`TRUNCATION` (0.75)
        The truncation ``c`` of the bets (:func:`capital`), in ``(0, 1)``.

    Returns
    -------
    np.ndarray
        ``float64`` of length ``n``, non-increasing, each in ``[0, 1]``.

    Raises
    ------
    ValueError
        If a value is outside ``[0, 1]`` or NaN, ``m0`` is outside ``[0, 1]``, or
        ``alpha_for_bets`` or ``truncation`` is not in ``(0, 1)``.

    References
    ----------
    .. [1] I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random
       variables by betting", JRSS-B 86(1), 1-27, 2024, arXiv:2010.09686.
    .. [2] A. Ramdas, P. Grünwald, V. Vovk and G. Shafer, "Game-theoretic
       statistics and safe anytime-valid inference", Statistical Science 38(4),
       576-601, 2023, arXiv:2210.01948.

    Examples
    --------
    >>> p = anytime_p_value([0.9, 0.85, 0.95, 0.9, 0.8, 0.9, 0.85, 0.9, 0.95], m0=0.5)
    >>> bool(p[-1] < 0.05), bool(np.all(np.diff(p) <= 0))
    (True, True)
    """
    x = _check_in_range("values", values, 0.0, 1.0)
    m0 = _check_mean("m0", m0)
    alpha_for_bets = check_open_unit("alpha_for_bets", alpha_for_bets)
    return _p_values(x, m0, alpha_for_bets, _check_truncation(truncation))


def _p_values(x: np.ndarray, m0: float, alpha: float, c: float) -> np.ndarray:
    """``min(1, 1 / running max of K_t(m0))`` from validated observations."""
    if x.size == 0:
        return np.empty(0)
    worst = np.maximum.accumulate(_log_capital(x, np.array([m0]), alpha, c)[:, 0])
    return np.exp(-np.maximum(worst, 0.0))


# --------------------------------------------------------------------------- #
# Paired differences
# --------------------------------------------------------------------------- #


def paired_to_unit(diffs: Sequence[float], bound: float) -> np.ndarray:
    """Map paired differences ``d`` in ``[-bound, bound]`` to ``X = (d + bound) / (2 bound)`` in ``[0, 1]``.

    A difference of two metrics that each lie in ``[0, 1]`` has ``bound = 1``; a
    smaller bound is only valid when it is known before seeing the data.

    Raises
    ------
    ValueError
        If ``bound`` is not a finite number ``> 0`` or a difference is NaN or outside ``[-bound, bound]``.

    Examples
    --------
    >>> paired_to_unit([-1.0, 0.0, 0.5], bound=1.0).tolist()
    [0.0, 0.5, 0.75]
    """
    bound = _check_bound(bound)
    d = _check_in_range("diffs", diffs, -bound, bound)
    return np.clip((d + bound) / (2.0 * bound), 0.0, 1.0)


def unit_to_paired(values: Any, bound: float) -> np.ndarray:
    """Map means or interval ends ``X`` in ``[0, 1]`` back to differences ``2 bound X - bound`` (NaN stays NaN).

    Examples
    --------
    >>> unit_to_paired([0.25, 0.75], bound=1.0).tolist()
    [-0.5, 0.5]
    """
    bound = _check_bound(bound)
    x = np.asarray(values, dtype=np.float64)
    if np.any(x[~np.isnan(x)] < 0.0) or np.any(x[~np.isnan(x)] > 1.0):
        raise ValueError(f"values: expected numbers in [0, 1] (or nan), got {x.tolist()}")
    return 2.0 * bound * x - bound


# --------------------------------------------------------------------------- #
# Arms against the reference, round by round
# --------------------------------------------------------------------------- #


def _check_diffs(diffs: Any, bound: float) -> dict[str, np.ndarray]:
    """Validate ``diffs[arm]`` = paired differences in round order and map them to ``[0, 1]``."""
    if not isinstance(diffs, Mapping) or not diffs:
        raise ValueError(f"diffs: expected a non-empty mapping arm -> paired differences per round, got {diffs!r}")
    out = {}
    for arm, values in diffs.items():
        try:
            out[arm] = paired_to_unit(values, bound)
        except ValueError as err:
            hint = f" (bound={bound:g} must cover every difference)" if "at position" in str(err) else ""
            raise ValueError(f"diffs[{arm!r}]: {str(err).removeprefix('diffs: ')}{hint}") from None
    return out


# --------------------------------------------------------------------------- #
# The sequential paired t-test: an e-process under normality (the default)
# --------------------------------------------------------------------------- #

PRIOR_G = 1.0
"""Prior variance ``g`` of the standardised effect ``δ = μ / σ`` in the t-test's Bayes factor."""

METHODS: tuple[str, ...] = ("t", "betting")


def t_e_values(diffs: Sequence[float] | np.ndarray, mu0: float | np.ndarray = 0.0, g: float = PRIOR_G) -> np.ndarray:
    """The Bayes factor of the paired t-test after each observation: an e-process for ``mean = mu0``.

    With ``t_n = √n (x̄_n − mu0) / s_n`` and ``ν = n − 1``, the Bayes factor of a
    normal prior ``δ ~ N(0, g)`` on the standardised effect against ``δ = 0``, with
    the scale-invariant prior ``1/σ`` on the unknown spread under both, is
    (Gönen, Johnson, Lu & Westfall 2005)::

        BF_n = (1 + n g)^(-1/2) · [(1 + t²/ν) / (1 + t²/(ν (1 + n g)))]^((ν + 1)/2)

    ``1/σ`` is the right Haar prior of the scale group, so under the null (i.i.d.
    normal differences of mean ``mu0``, any spread) ``BF_n`` is a test martingale
    in the data's scale-invariant filtration (Pérez-Ortiz, Lardy, de Heide &
    Grünwald 2024): by Ville's inequality ``P(BF_n >= 1/α for some n) <= α``,
    however the rounds are stopped. ``BF_1 = 1`` (one difference says nothing
    about the spread). A zero spread with ``x̄ ≠ mu0`` is the limit ``t → ∞``.
    ``mu0`` may be an array (one column per candidate mean): the result is ``(n, k)``.
    """
    x = np.asarray(diffs, dtype=np.float64)
    mu = np.atleast_1d(np.asarray(mu0, dtype=np.float64))
    n = np.arange(1, x.size + 1, dtype=np.float64)[:, None]
    csum, csq = np.cumsum(x)[:, None], np.cumsum(x * x)[:, None]
    mean = csum / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (csq - n * mean * mean) / np.maximum(n - 1, 1), np.nan)
        var = np.maximum(var, 0.0)
        nu = n - 1
        shift = mean - mu[None, :]
        t2 = np.where(var > 0, n * shift * shift / np.where(var > 0, var, 1.0), np.where(shift == 0, 0.0, np.inf))
        ng = n * g
        ratio = np.where(np.isinf(t2), 1.0 + ng, (1.0 + t2 / nu) / (1.0 + t2 / (nu * (1.0 + ng))))
        log_bf = -0.5 * np.log1p(ng) + (nu + 1.0) / 2.0 * np.log(ratio)
    bf = np.where(n > 1, np.exp(log_bf), 1.0)
    return bf if np.ndim(mu0) else bf[:, 0]


def _t_p_values(x: np.ndarray) -> np.ndarray:
    """Anytime p-values of "no difference": ``min(1, 1 / max_{s<=t} BF_s(0))``."""
    return np.minimum(1.0, 1.0 / np.maximum.accumulate(t_e_values(x, 0.0)))


def _t_cs_bounds(x: np.ndarray, level: float, bound: float, grid: int = 2001) -> np.ndarray:
    """The t-test's confidence sequence ``{μ0 : BF_s(μ0) < 1/level for every s <= t}`` on a grid of
    ``[-bound, bound]``, as (low, high) per round, widened by one grid step (never narrower)."""
    candidates = np.linspace(-bound, bound, grid)
    excluded = np.maximum.accumulate(t_e_values(x, candidates) >= 1.0 / level, axis=0)
    return _hull(~excluded, candidates)


def replay(
    diffs: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    higher_is_better: bool = True,
    bound: float = 1.0,
    truncation: float = TRUNCATION,
    method: str = "t",
) -> list[dict[str, SequentialDecision]]:
    """Replay a sequential experiment round by round: where every comparison stands after each round.

    ``method``: ``"t"`` (default), the sequential paired t-test (:func:`t_e_values`: its
    p-values and confidence sequences assume normal differences across seeds, as the
    paired t-test does); ``"betting"``, the betting confidence sequences below, valid
    for any bounded differences but needing many more seeds (docs/sequential.md). The
    steps and the argument for validity are the same for both.

    ``diffs[arm][t]`` is the paired difference ``arm - reference`` of round
    ``t + 1`` (the two arms trained with that round's seed). After round ``t``,
    for each of the ``m`` comparisons not yet decided:

    1. its anytime p-value of "no difference" (:func:`anytime_p_value` at the
       mapped 0, from its own ``t`` rounds; a running minimum, so it never
       rises) -- decided comparisons keep the p-value they were decided with;
    2. Holm's step-down over all ``m`` p-values at level ``alpha``: a rejected
       comparison is ``better`` or ``worse`` by the sign of its mean difference
       (flipped when ``higher_is_better`` is False);
    3. otherwise, if its confidence sequence at level ``alpha / m`` (Bonferroni,
       :func:`betting_cs` on its 2001-point grid, mapped back to differences)
       lies inside ``(-margin, margin)``, it is ``equivalent``.

    A decided comparison stays decided, with its statistics frozen at
    ``decided_at``. The bets of both the p-values and the confidence sequences
    are tuned for ``alpha / m``, a constant fixed before the data, so a
    comparison's p-value is below ``alpha / m`` exactly when its interval
    excludes 0.

    Parameters
    ----------
    diffs : mapping of str to sequence of float
        ``diffs[arm]`` = the arm's paired differences, one per round it took
        part in, in round order, each in ``[-bound, bound]``. An arm decided
        after ``k`` rounds stopped receiving seeds, so its list may end at
        ``k``; later entries, if given, are ignored. An undecided arm must have
        every round (the reference and the undecided arms train together).
    alpha : float, default 0.05
        Family-wise error over the ``m`` comparisons, in ``(0, 1)``.
    margin : float, default 0.02
        Equivalence margin on the difference scale, in ``[0, bound)``; 0 never calls
        ``equivalent``.
    higher_is_better : bool, default True
        Whether a positive difference means the arm is better (False for losses and costs).
    bound : float, default 1.0
        Known bound on ``|difference|``, ``> 0``: 1 for the difference of two
        metrics in ``[0, 1]``. A tighter bound known in advance gives bigger
        bets and earlier decisions; one read off the data would void the guarantee.
    truncation : float, default :data:`TRUNCATION` (0.75)
        The truncation ``c`` of the bets (:func:`capital`), in ``(0, 1)``.

    Returns
    -------
    list of dict of str to SequentialDecision
        Element ``t - 1`` holds every arm's :class:`SequentialDecision` after
        round ``t``, in the order of ``diffs``; empty when no arm has a round.

    Raises
    ------
    ValueError
        If an argument is invalid, a difference is NaN or outside
        ``[-bound, bound]``, or an undecided arm is missing a round the others have.

    Notes
    -----
    **Why the family-wise error is controlled at a stopping time.** For a
    comparison whose true mean difference is 0, the capital at the mapped 0 is a
    nonnegative martingale (each round's difference has conditional mean 0 given
    everything seen before, and the bet is fixed before the round), so by Ville's
    inequality ``P(exists t: p_t <= x) <= x``. Holm's step-down, applied after any
    round to any p-values, can reject a true null only if the smallest true-null
    p-value is ``<= alpha / m0`` (``m0`` true nulls): at the first true null it
    rejects, at most ``m - m0`` false nulls were rejected before it, so its threshold
    is at most ``alpha / m0``. Hence a false ``better`` / ``worse`` call at *any*
    round, and so at the data-dependent round the experiment stops, needs
    ``min over true nulls and rounds of p <= alpha / m0``, whose probability is at
    most ``m0 · alpha / m0 = alpha`` by a union bound -- no independence between the
    comparisons (they share the reference's seeds) is needed. Keeping a
    comparison ``equivalent`` when Holm would later reject it only removes calls.

    **Why stopping a decided arm keeps the others valid.** Whether an arm stops
    after round ``t`` depends only on rounds ``1..t``, so its stopping is a
    stopping time and its frozen p-value is the stopped process, which is still
    bounded below by the process's running minimum: the argument above holds for
    it. The other comparisons' processes are unaffected: their bets use their own
    past, and their next differences still have conditional mean equal to their
    true mean given the whole past (including who stopped), because the reference
    keeps receiving a seed every round while any comparison is undecided, paired
    with every undecided arm.

    A false ``equivalent`` (true difference at least ``margin`` away) needs some
    comparison's Bonferroni sequence to miss its true mean at some round:
    probability at most ``m · alpha / m = alpha``. A wrong-sign call on an arm that
    does differ is not covered by the argument; it needs a mean difference of the
    wrong sign with a large capital and is rare (see ``docs/sequential.md``).

    References
    ----------
    .. [1] I. Waudby-Smith and A. Ramdas, "Estimating means of bounded random
       variables by betting", JRSS-B 86(1), 1-27, 2024, arXiv:2010.09686.
    .. [2] S. Holm, "A simple sequentially rejective multiple test procedure",
       Scandinavian Journal of Statistics 6(2), 65-70, 1979.
    .. [3] A. Ramdas, P. Grünwald, V. Vovk and G. Shafer, "Game-theoretic
       statistics and safe anytime-valid inference", Statistical Science 38(4),
       576-601, 2023, arXiv:2210.01948.

    Examples
    --------
    >>> rounds = replay({"focal": [0.12, 0.10, 0.14, 0.11, 0.13, 0.12, 0.10, 0.12] * 2}, bound=0.25, method="betting")
    >>> last = rounds[-1]["focal"]
    >>> last.state, last.decided_at, last.rounds, round(last.low, 3) > 0
    ('better', 13, 13, True)
    """
    bound = _check_bound(bound)
    alpha = check_open_unit("alpha", alpha)
    if isinstance(margin, bool) or not isinstance(margin, Real) or not 0.0 <= float(margin) < bound:
        raise ValueError(f"margin: expected a number in [0, {bound}) on the difference scale, got {margin!r}")
    margin = float(margin)
    if not isinstance(higher_is_better, bool):
        raise ValueError(f"higher_is_better: expected True or False, got {higher_is_better!r}")
    c = _check_truncation(truncation)
    units = _check_diffs(diffs, bound)
    arms = list(units)
    m = len(arms)
    level = alpha / m
    zero = 0.5  # paired_to_unit(0)
    candidates = np.linspace(0.0, 1.0, 2001)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if method == "t":
        raw = {arm: unit_to_paired(x, bound) for arm, x in units.items()}
        p_values = {arm: _t_p_values(d) for arm, d in raw.items()}
        bounds = {arm: _t_cs_bounds(d, level, bound) for arm, d in raw.items()}
    else:
        p_values = {arm: _p_values(x, zero, level, c) for arm, x in units.items()}
        bounds = {arm: unit_to_paired(_cs_bounds(x, level, candidates, c), bound) for arm, x in units.items()}
    means = {arm: np.cumsum(unit_to_paired(x, bound)) / np.arange(1, x.size + 1) for arm, x in units.items()}
    n_rounds = max(x.size for x in units.values())

    current: dict[str, SequentialDecision] = {}
    history: list[dict[str, SequentialDecision]] = []
    for t in range(1, n_rounds + 1):
        for arm in arms:
            previous = current.get(arm)
            if previous is not None and previous.state != "undecided":
                continue
            if units[arm].size < t:
                raise ValueError(
                    f"diffs[{arm!r}]: undecided after its {units[arm].size} rounds but other arms have {t}; "
                    f"an undecided arm takes part in every round (pass only complete rounds)"
                )
            low, high = bounds[arm][t - 1]
            current[arm] = SequentialDecision(
                arm,
                "undecided",
                None,
                t,
                float(means[arm][t - 1]),
                float(low),
                float(high),
                float(p_values[arm][t - 1]),
            )
        rejected = holm([current[arm].p_value for arm in arms]) <= alpha
        for arm, reject in zip(arms, rejected):
            now = current[arm]
            if now.state != "undecided":
                continue
            if reject:
                positive = now.mean_diff > 0 if now.mean_diff != 0 else now.high + now.low > 0
                state = "better" if positive == higher_is_better else "worse"
            elif -margin < now.low and now.high < margin:
                state = "equivalent"
            else:
                continue
            current[arm] = SequentialDecision(arm, state, t, t, now.mean_diff, now.low, now.high, now.p_value)
        history.append(dict(current))
    return history


def decide(
    diffs: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    margin: float = 0.02,
    higher_is_better: bool = True,
    bound: float = 1.0,
    truncation: float = TRUNCATION,
    method: str = "t",
) -> dict[str, SequentialDecision]:
    """Where every arm-vs-reference comparison stands after the rounds in ``diffs`` (the last round of :func:`replay`).

    Call it after every round with all the differences so far: an arm whose
    state is not ``"undecided"`` needs no more seeds; the experiment stops when
    :func:`settled` (or at its maximum number of rounds). Arguments, validity
    and errors are those of :func:`replay`. With no rounds at all every arm is
    ``undecided`` with 0 rounds, a ``nan`` mean, the interval ``(-bound, bound)``
    and p-value 1.

    Examples
    --------
    >>> diffs = {"focal": [0.0, 0.001, -0.001] * 100}
    >>> decide(diffs, margin=0.05)["focal"].state
    'equivalent'
    """
    history = replay(
        diffs,
        alpha=alpha,
        margin=margin,
        higher_is_better=higher_is_better,
        bound=bound,
        truncation=truncation,
        method=method,
    )
    if history:
        return history[-1]
    bound = float(bound)
    return {arm: SequentialDecision(arm, "undecided", None, 0, math.nan, -bound, bound, 1.0) for arm in diffs}


def settled(decisions: Mapping[str, SequentialDecision]) -> bool:
    """Whether every comparison is decided (no state is ``"undecided"``), i.e. the experiment can stop.

    Examples
    --------
    >>> settled({"a": SequentialDecision("a", "better", 5, 5, 0.1, 0.02, 0.2, 0.001)})
    True
    """
    return all(decision.state != "undecided" for decision in decisions.values())
