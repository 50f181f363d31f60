"""Arms against a reference arm: the paired test over seeds, Holm's correction for the number of arms, and
:func:`compare_to_reference`, which puts seed noise and test-set noise together."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from imbalance_lab.stats.bootstrap import BootstrapDiff, paired_bootstrap
from imbalance_lab.stats.checks import check_arm_values, check_int, check_open_unit, check_values
from imbalance_lab.stats.intervals import Interval, t_interval
from imbalance_lab.vocabulary import FAST

SEED_TEST_METHODS: dict[str, str] = {"t": "paired t", "wilcoxon": "wilcoxon"}
"""``method`` argument of :func:`paired_seed_test` -> the name stored in :class:`SeedTest`."""


@dataclass(frozen=True)
class SeedTest:
    """A paired two-sided test over seeds: its statistic, p-value and ``method`` (``"paired t"`` or ``"wilcoxon"``)."""

    statistic: float
    p_value: float
    method: str


@dataclass(frozen=True)
class Comparison:
    """One arm against the reference arm on one metric (see :func:`compare_to_reference`).

    ``mean_diff`` and ``interval`` are over shared seeds of ``arm - reference``;
    ``p_holm`` is ``nan`` and ``significant`` is ``False`` when neither a seed
    test nor a bootstrap could be made.
    """

    arm: str
    reference: str
    metric: str
    mean_diff: float
    interval: Interval | None
    seed_test: SeedTest | None
    bootstrap: BootstrapDiff | None
    p_holm: float
    significant: bool


def paired_seed_test(a: Sequence[float], b: Sequence[float], method: str = "t") -> SeedTest | None:
    """Two-sided paired test of ``mean(a - b) == 0`` over seeds.

    ``a[i]`` and ``b[i]`` are the metric of two arms trained with seed ``i``;
    pairing removes the part of the seed noise both arms share.

    Parameters
    ----------
    a, b : sequence of float
        Per-seed metric values of the two arms, same length, finite.
    method : {"t", "wilcoxon"}, default "t"
        ``"t"``: paired Student t test (``scipy.stats.ttest_rel``'s numbers: :func:`paired_t`).
        ``"wilcoxon"``: Wilcoxon signed-rank test (``scipy.stats.wilcoxon``
        with its defaults: zero differences dropped, exact p-value for small
        samples without ties). It needs no normality, but with fewer than 6
        seeds it cannot reach ``p < 0.05`` (the smallest exact p is
        ``2 / 2**n``); that p is still returned.

    Returns
    -------
    SeedTest or None
        ``SeedTest(statistic, p_value, "paired t" | "wilcoxon")``, scipy's
        numbers. ``None`` with fewer than 2 pairs. When every difference is 0
        the result is ``SeedTest(0.0, 1.0, ...)`` (scipy gives ``nan`` or
        warns there). Differences that are all equal but non-zero give the
        t test's limit ``t = ±inf, p = 0`` (scipy's value).

    Raises
    ------
    ValueError
        If ``a`` / ``b`` are not 1-D finite sequences of the same length, or
        ``method`` is unknown.

    References
    ----------
    .. [1] Student (W. S. Gosset), "The probable error of a mean",
       Biometrika 6(1), 1-25, 1908.
    .. [2] F. Wilcoxon, "Individual comparisons by ranking methods",
       Biometrics Bulletin 1(6), 80-83, 1945.

    Examples
    --------
    >>> res = paired_seed_test([0.71, 0.74, 0.69, 0.73], [0.62, 0.66, 0.63, 0.61])
    >>> res.method, res.p_value < 0.01
    ('paired t', True)
    """
    x = check_values("a", a)
    y = check_values("b", b)
    if x.size != y.size:
        raise ValueError(f"b: expected one value per seed of a ({x.size}), got {y.size} values")
    if method not in SEED_TEST_METHODS:
        raise ValueError(f"method: expected one of {sorted(SEED_TEST_METHODS)}, got {method!r}")
    name = SEED_TEST_METHODS[method]
    if x.size < 2:
        return None
    if np.all(x == y):
        return SeedTest(0.0, 1.0, name)
    if method == "t":
        statistic, p_value = paired_t(x, y)
        return SeedTest(statistic, p_value, name)
    from scipy import stats  # the signed-rank test; importing scipy.stats costs half a second, so only here

    result = stats.wilcoxon(x, y)
    return SeedTest(float(result.statistic), float(result.pvalue), name)


def paired_t(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The paired Student t statistic of ``x - y`` and its two-sided p-value, computed as
    ``scipy.stats.ttest_rel`` computes them (the same floating-point steps, so the same bits; tested):
    ``t = mean(d) / sqrt(var(d, ddof=1) / n)``, ``p = 2 · T_{n-1}(-|t|)``. All-equal non-zero differences
    give ``t = ±inf, p = 0``."""
    d = x - y
    n = np.float64(d.size)
    centred = d - np.mean(d, keepdims=True)
    variance = np.mean(centred**2) * (n / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.divide(np.mean(d), np.sqrt(variance / n))
    return float(t), float(2 * special.stdtr(n - 1, -np.abs(t)))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values.

    Controls the family-wise error rate over all ``m`` tests: the ``i``-th
    smallest p-value is multiplied by ``m - i + 1``, then a running maximum
    keeps the adjusted values in the order of the raw ones. Rejecting where
    the adjusted value is ``< alpha`` is Holm's procedure at level ``alpha``.

    Parameters
    ----------
    p_values : sequence of float
        Raw p-values in ``[0, 1]``; ``nan`` marks a test that could not be
        made: it is ignored (``m`` counts only the others) and stays ``nan``.

    Returns
    -------
    np.ndarray
        ``float64`` adjusted p-values in the input order, each ``>=`` its raw
        value and ``<= 1``; equal raw values get equal adjusted values.

    Raises
    ------
    ValueError
        If ``p_values`` is not 1-D or has a value outside ``[0, 1]`` (other than ``nan``).

    References
    ----------
    .. [1] S. Holm, "A simple sequentially rejective multiple test procedure",
       Scandinavian Journal of Statistics 6(2), 65-70, 1979.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005])
    array([0.03, 0.06, 0.06, 0.02])
    """
    arr = np.asarray(p_values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"p_values: expected a 1-D sequence of p-values, got shape {arr.shape}")
    known = ~np.isnan(arr)
    if np.any((arr[known] < 0.0) | (arr[known] > 1.0)):
        raise ValueError(f"p_values: expected values in [0, 1] or nan, got {arr.tolist()}")
    out = np.full(arr.shape, np.nan)
    p = arr[known]
    m = p.size
    if m == 0:
        return out
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    out[known] = adjusted
    return out


def _combined_p(test: SeedTest | None, boot: BootstrapDiff | None) -> float:
    """The p-value used for Holm: the two-level bootstrap's when there is one, else the seed test's.

    With fewer than two shared seeds (no seed test) there is none: a bootstrap over
    test images alone leaves out the seed-to-seed spread, often the larger one, so
    nothing is called significant on one seed, for any metric.
    """
    if test is None:
        return float("nan")
    return boot.p_value if boot is not None else test.p_value


def compare_to_reference(
    values: Mapping[str, Mapping[int, float]],
    reference: str,
    metric: str,
    *,
    predictions: Mapping[str, Any] | None = None,
    metric_fn: str | Callable[[np.ndarray, np.ndarray], float] | None = None,
    positive: int | None = None,
    alpha: float = 0.05,
    seed_test: str = "t",
    n_boot: int = 2000,
    seed: int = 0,
) -> list[Comparison]:
    """Compare every arm with a reference arm on one metric, Holm-corrected across arms.

    For each arm other than ``reference`` (in the order of ``values``), on the
    seeds both arms have: the mean per-seed difference ``arm - reference``,
    its t interval, a paired seed test and, when predictions are given, a
    paired two-level bootstrap over seeds and test images. The p-value of each
    arm (the bootstrap's if available, else the seed test's) is adjusted with
    :func:`holm` across the compared arms.

    Parameters
    ----------
    values : mapping
        ``values[arm][seed]`` = the metric of that arm trained with that seed.
    reference : str
        The arm every other arm is compared with; must be a key of ``values``.
    metric : str
        Name of the metric, stored in each :class:`Comparison`; also the
        bootstrap metric when ``metric_fn`` is not given.
    predictions : mapping, optional
        ``{"labels": (N,), "probs": {arm: (S_arm, N, C)}}`` with one
        probability matrix per seed of ``values[arm]``, in ascending seed
        order. The bootstrap uses the rows of the shared seeds. Arms missing
        from ``probs`` (or all arms, if the reference is missing) get no bootstrap.
    metric_fn : str or callable, optional
        Metric for :func:`paired_bootstrap` (a name in :data:`~imbalance_lab.vocabulary.FAST` or
        a callable). Defaults to ``metric``, which must then be a name in
        :data:`~imbalance_lab.vocabulary.FAST`.
    positive : int, optional
        Positive class for the bootstrap metric (``recall``, ``precision``, ``f1``).
    alpha : float, default 0.05
        Family-wise level: ``significant = p_holm < alpha``.
    seed_test : {"t", "wilcoxon"}, default "t"
        Method of :func:`paired_seed_test`.
    n_boot : int, default 2000
        Replicates per bootstrap.
    seed : int, default 0
        Bootstrap seed, the same for every arm, so one arm's result does not
        depend on which other arms are compared.

    Returns
    -------
    list of Comparison
        One per compared arm. With no shared seed, ``mean_diff`` is ``nan``
        and nothing is tested. With one shared seed, ``interval`` and
        ``seed_test`` are ``None``, ``p_holm`` is ``nan`` and ``significant``
        is ``False`` (the image bootstrap, if any, is still reported).

    Raises
    ------
    ValueError
        If ``reference`` is not an arm of ``values``, a value is not finite,
        the predictions do not match ``values``, or an argument is invalid.

    References
    ----------
    .. [1] R. Dror, G. Baumer, S. Shlomov and R. Reichart, "The Hitchhiker's
       Guide to Testing Statistical Significance in Natural Language
       Processing", ACL 2018.
    .. [2] S. Holm, "A simple sequentially rejective multiple test procedure",
       Scandinavian Journal of Statistics 6(2), 65-70, 1979.

    Examples
    --------
    >>> values = {"base": {0: 0.60, 1: 0.62, 2: 0.61},
    ...           "weighted": {0: 0.70, 1: 0.73, 2: 0.71}}
    >>> [c] = compare_to_reference(values, "base", "recall")
    >>> round(c.mean_diff, 3), c.significant
    (0.103, True)
    """
    arms = check_arm_values(values)
    if reference not in arms:
        raise ValueError(f"reference: expected one of the arms {list(arms)}, got {reference!r}")
    alpha = check_open_unit("alpha", alpha)
    if seed_test not in SEED_TEST_METHODS:
        raise ValueError(f"seed_test: expected one of {sorted(SEED_TEST_METHODS)}, got {seed_test!r}")
    check_int("n_boot", n_boot, 1)
    check_int("seed", seed, 0)
    labels: Any  # predictions['labels'] as given; paired_bootstrap validates it
    labels, probs, boot_metric = None, {}, None
    if predictions is not None:
        if not isinstance(predictions, Mapping) or "labels" not in predictions or "probs" not in predictions:
            raise ValueError('predictions: expected a mapping {"labels": (N,), "probs": {arm: (S, N, C)}}')
        labels, probs = predictions["labels"], predictions["probs"]
        if not isinstance(probs, Mapping):
            raise ValueError(
                f"predictions['probs']: expected a mapping arm -> (S, N, C) array, got {type(probs).__name__}"
            )
        boot_metric = metric if metric_fn is None else metric_fn
        if isinstance(boot_metric, str) and boot_metric not in FAST:
            raise ValueError(
                f"metric_fn: expected a callable or one of {list(FAST)} to bootstrap metric "
                f"{metric!r}, got {boot_metric!r}; pass metric_fn=callable(labels, probs) -> float"
            )
        probs = {arm: np.asarray(p)[None] if np.ndim(p) == 2 else np.asarray(p) for arm, p in probs.items()}
        for arm, arm_probs in probs.items():
            if arm in arms and (arm_probs.ndim != 3 or arm_probs.shape[0] != len(arms[arm])):
                raise ValueError(
                    f"predictions['probs'][{arm!r}]: expected one probability matrix per seed of "
                    f"values[{arm!r}] ({len(arms[arm])}), got shape {np.shape(arm_probs)}"
                )

    ref = arms[reference]
    rows = []
    for arm, own in arms.items():
        if arm == reference:
            continue
        shared = sorted(set(own) & set(ref))
        diffs = np.array([own[s] - ref[s] for s in shared])
        mean_diff = float(diffs.mean()) if shared else float("nan")
        test = paired_seed_test([own[s] for s in shared], [ref[s] for s in shared], method=seed_test)
        boot = None
        if boot_metric is not None and shared and arm in probs and reference in probs:
            rows_arm = [sorted(own).index(s) for s in shared]
            rows_ref = [sorted(ref).index(s) for s in shared]
            boot = paired_bootstrap(
                boot_metric,
                labels,
                probs[reference][rows_ref],
                probs[arm][rows_arm],
                n_boot=n_boot,
                seed=seed,
                positive=positive,
            )
        p = _combined_p(test, boot)
        rows.append((arm, mean_diff, t_interval(diffs), test, boot, p))

    adjusted = holm([row[-1] for row in rows])
    return [
        Comparison(
            arm=arm,
            reference=reference,
            metric=metric,
            mean_diff=mean_diff,
            interval=interval,
            seed_test=test,
            bootstrap=boot,
            p_holm=float(p_holm),
            significant=bool(p_holm < alpha),  # nan < alpha is False
        )
        for (arm, mean_diff, interval, test, boot, _), p_holm in zip(rows, adjusted)
    ]
