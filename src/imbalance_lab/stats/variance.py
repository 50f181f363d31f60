"""How much of a metric's spread comes from the data draw and how much from training: the variance
components of a balanced two-level (nested) design, ``D`` data draws × ``T`` training seeds per draw.

Model (one arm, one metric): the run of draw ``d`` and training seed ``t`` scores

.. math:: y_{dt} = \\mu + a_d + e_{dt}, \\quad a_d \\sim (0, \\sigma^2_{draw}), \\quad e_{dt} \\sim (0, \\sigma^2_{train}),

all independent (every run has its own training seed, so training noise is nested within draws). From
the mean squares

.. math::
    S_1 = \\frac{T}{D-1} \\sum_d (\\bar y_{d\\cdot} - \\bar y)^2 \\;(n_1 = D-1), \\qquad
    S_2 = \\frac{1}{D(T-1)} \\sum_{d,t} (y_{dt} - \\bar y_{d\\cdot})^2 \\;(n_2 = D(T-1)),

whose expectations are :math:`\\sigma^2_{train} + T\\sigma^2_{draw}` and :math:`\\sigma^2_{train}`, the
method-of-moments (ANOVA) estimates are :math:`\\hat\\sigma^2_{train} = S_2` and
:math:`\\hat\\sigma^2_{draw} = \\max(0, (S_1 - S_2)/T)` (truncated at 0: a negative estimate says the draws
differ no more than training alone makes them).

Intervals, two-sided at ``confidence`` = 1 − 2α, assume normal effects (Burdick & Graybill 1992):

* :math:`\\sigma^2_{train}`: exact, :math:`[n_2 S_2/\\chi^2_{1-α; n_2},\\; n_2 S_2/\\chi^2_{α; n_2}]`
  (:math:`\\chi^2_{p; n}` the ``p`` quantile).
* :math:`\\sigma^2_{draw}`: the modified large-sample (MLS) interval of Ting et al. (1990), the one
  Burdick & Graybill recommend for a difference of mean squares. With :math:`F_{p; a, b}` the ``p``
  quantile of F (``b = ∞``: :math:`\\chi^2_{p; a}/a`),
  :math:`G_i = 1 - 1/F_{1-α; n_i, ∞}`, :math:`H_i = 1/F_{α; n_i, ∞} - 1`,
  :math:`G_{12} = [(F_{1-α; n_1, n_2} - 1)^2 - G_1^2 F_{1-α; n_1, n_2}^2 - H_2^2]/F_{1-α; n_1, n_2}`,
  :math:`H_{12} = [(1 - F_{α; n_1, n_2})^2 - H_1^2 F_{α; n_1, n_2}^2 - G_2^2]/F_{α; n_1, n_2}`:

  .. math::
      L = \\frac{S_1 - S_2 - \\sqrt{G_1^2 S_1^2 + H_2^2 S_2^2 + G_{12} S_1 S_2}}{T}, \\quad
      U = \\frac{S_1 - S_2 + \\sqrt{H_1^2 S_1^2 + G_2^2 S_2^2 + H_{12} S_1 S_2}}{T},

  both truncated at 0. With :math:`S_2 = 0` it is the exact chi-square interval of :math:`S_1/T`; its
  coverage is close to nominal for the small ``D`` and ``T`` of seed studies (tests/test_variance.py
  measures it by simulation).
* The draw's share of a run's variance, :math:`\\rho = \\sigma^2_{draw}/(\\sigma^2_{draw} +
  \\sigma^2_{train})` (the intraclass correlation): exact, from :math:`F = S_1/S_2`:
  :math:`[(F/F_{1-α} - 1)/(F/F_{1-α} - 1 + T),\\; (F/F_{α} - 1)/(F/F_{α} - 1 + T)]` with
  :math:`F_p = F_{p; n_1, n_2}`, clipped to [0, 1]; and the F test of :math:`\\sigma^2_{draw} = 0`,
  :math:`p = P(F_{n_1, n_2} > F)`.

Why these and not a bootstrap over draws: a seed study has 2 to 10 draws, and resampling 2 or 3 whole
draws gives 3 or 10 distinct replicates, too few for a percentile interval; the chi-square and F intervals
are exact or nearly so at any ``D, T ≥ 2`` under normality, which the per-seed t-intervals already assume.
Both levels need at least 2: with one draw nothing separates draws, with one training seed per draw
nothing separates training from the draw.

References
----------
.. [1] R. K. Burdick and F. A. Graybill, *Confidence Intervals on Variance Components*, Marcel Dekker,
   1992, ch. 2-3 (the one-fold nested design).
.. [2] N. Ting, R. K. Burdick, F. A. Graybill, S. Jeyaratnam and T.-F. C. Lu, "Confidence intervals on
   linear combinations of variance components that are unrestricted in sign", J. Statist. Comput.
   Simul. 35, 135-143, 1990.
.. [3] S. R. Searle, G. Casella and C. E. McCulloch, *Variance Components*, Wiley, 1992, §3.5 (the
   intraclass correlation's interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from imbalance_lab.stats.checks import check_finite_reals, check_open_unit

MIN_LEVELS = 2  # draws, and training seeds per draw, the decomposition needs


@dataclass(frozen=True)
class VarianceComponents:
    """The variance of one metric over ``draws`` × ``train`` runs, split into its draw and training parts.

    ``draw_var`` and ``train_var`` are the truncated ANOVA estimates of σ²_draw and σ²_train, each with its
    ``confidence`` interval; ``draw_share`` is σ²_draw / (σ²_draw + σ²_train) with its exact interval
    (``nan`` when every run scores the same); ``p_value`` tests σ²_draw = 0. ``ms_draw`` and ``ms_train``
    are the mean squares S₁ and S₂.
    """

    draws: int
    train: int
    mean: float
    ms_draw: float
    ms_train: float
    draw_var: float
    draw_var_interval: tuple[float, float]
    train_var: float
    train_var_interval: tuple[float, float]
    draw_share: float
    draw_share_interval: tuple[float, float]
    p_value: float
    confidence: float

    @property
    def total_var(self) -> float:
        """The estimated variance of one run: σ²_draw + σ²_train."""
        return self.draw_var + self.train_var

    @property
    def draw_sd(self) -> float:
        return math.sqrt(self.draw_var)

    @property
    def train_sd(self) -> float:
        return math.sqrt(self.train_var)


def check_nested(name: str, values: Any) -> np.ndarray:
    """Validate a ``(draws, train)`` array of finite numbers with at least 2 of each; return it as float64."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, one row per data draw, got shape {arr.shape}")
    if arr.shape[0] < MIN_LEVELS or arr.shape[1] < MIN_LEVELS:
        raise ValueError(
            f"{name}: the decomposition needs at least {MIN_LEVELS} draws and {MIN_LEVELS} training seeds per "
            f"draw, got {arr.shape[0]} draw(s) × {arr.shape[1]} training seed(s)"
        )
    return check_finite_reals(name, arr)


def mean_squares(values: np.ndarray) -> tuple[float, float]:
    """The between-draw and within-draw mean squares (S₁, S₂) of a ``(draws, train)`` array."""
    d, t = values.shape
    draw_means = values.mean(axis=1)
    between = t * float(np.sum((draw_means - values.mean()) ** 2)) / (d - 1)
    within = float(np.sum((values - draw_means[:, None]) ** 2)) / (d * (t - 1))
    return between, within


def _chi2(p: float, df: float) -> float:
    """The ``p`` quantile of chi-square with ``df`` degrees of freedom."""
    return float(special.chdtri(df, 1.0 - p))


def _f(p: float, dfn: float, dfd: float) -> float:
    """The ``p`` quantile of F(dfn, dfd)."""
    return float(special.fdtri(dfn, dfd, p))


def draw_var_interval(s1: float, s2: float, n1: int, n2: int, train: int, alpha: float) -> tuple[float, float]:
    """The MLS interval (Ting et al. 1990) of σ²_draw = (E S₁ − E S₂)/T, each bound at level 1 − ``alpha``."""
    g1 = 1.0 - n1 / _chi2(1.0 - alpha, n1)
    g2 = 1.0 - n2 / _chi2(1.0 - alpha, n2)
    h1 = n1 / _chi2(alpha, n1) - 1.0
    h2 = n2 / _chi2(alpha, n2) - 1.0
    f_high, f_low = _f(1.0 - alpha, n1, n2), _f(alpha, n1, n2)
    g12 = ((f_high - 1.0) ** 2 - g1**2 * f_high**2 - h2**2) / f_high
    h12 = ((1.0 - f_low) ** 2 - h1**2 * f_low**2 - g2**2) / f_low
    v_low = g1**2 * s1**2 + h2**2 * s2**2 + g12 * s1 * s2
    v_high = h1**2 * s1**2 + g2**2 * s2**2 + h12 * s1 * s2
    low = (s1 - s2 - math.sqrt(max(v_low, 0.0))) / train
    high = (s1 - s2 + math.sqrt(max(v_high, 0.0))) / train
    return max(low, 0.0), max(high, 0.0)


def variance_components(values: Any, confidence: float = 0.95) -> VarianceComponents:
    """Split the variance of one metric over ``D`` data draws × ``T`` training seeds into σ²_draw and
    σ²_train, with intervals (the module's note gives every formula).

    Parameters
    ----------
    values : array of shape (D, T)
        ``values[d, t]``: the metric of the run of draw ``d`` with its ``t``-th training seed; finite,
        ``D, T ≥ 2``.
    confidence : float, default 0.95
        Two-sided coverage of every interval, in ``(0, 1)``.

    Returns
    -------
    VarianceComponents

    Raises
    ------
    ValueError
        If ``values`` is not a finite 2-D array with at least 2 draws and 2 training seeds, or
        ``confidence`` is not in ``(0, 1)``.

    Examples
    --------
    >>> vc = variance_components([[0.70, 0.72], [0.80, 0.82], [0.74, 0.78]])
    >>> round(vc.draw_var, 6), round(vc.train_var, 6)
    (0.0023, 0.0004)
    """
    values = check_nested("values", values)
    confidence = check_open_unit("confidence", confidence)
    alpha = (1.0 - confidence) / 2.0
    d, t = values.shape
    n1, n2 = d - 1, d * (t - 1)
    s1, s2 = mean_squares(values)
    train_interval = (n2 * s2 / _chi2(1.0 - alpha, n2), n2 * s2 / _chi2(alpha, n2))
    if s2 > 0:
        ratio = s1 / s2
        share_low = _share(ratio / _f(1.0 - alpha, n1, n2), t)
        share_high = _share(ratio / _f(alpha, n1, n2), t)
        share = max((s1 - s2) / t, 0.0) / (max((s1 - s2) / t, 0.0) + s2)
        p_value = float(special.fdtrc(n1, n2, ratio))
    elif s1 > 0:  # training never moved a draw's score: all the spread is the draw's
        share, share_low, share_high, p_value = 1.0, 1.0, 1.0, 0.0
    else:  # every run scored the same
        share, share_low, share_high, p_value = math.nan, math.nan, math.nan, 1.0
    return VarianceComponents(
        draws=d,
        train=t,
        mean=float(values.mean()),
        ms_draw=s1,
        ms_train=s2,
        draw_var=max((s1 - s2) / t, 0.0),
        draw_var_interval=draw_var_interval(s1, s2, n1, n2, t, alpha),
        train_var=s2,
        train_var_interval=(float(train_interval[0]), float(train_interval[1])),
        draw_share=share,
        draw_share_interval=(share_low, share_high),
        p_value=p_value,
        confidence=confidence,
    )


def _share(f_ratio: float, train: int) -> float:
    """(F' − 1)/(F' − 1 + T), clipped to [0, 1]: the intraclass correlation at an F bound."""
    return min(max((f_ratio - 1.0) / (f_ratio - 1.0 + train), 0.0), 1.0)
