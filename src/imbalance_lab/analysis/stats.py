"""Which differences between arms are real: intervals, paired tests, bootstrap, Holm.

An experiment trains several *arms* over the same seeds and scores every run on
the same test images, so two sources of noise can be measured:

* **seed noise** -- the spread of a metric over training seeds. Handled by
  :func:`t_interval` / :func:`bootstrap_interval` (one arm) and
  :func:`paired_seed_test` (two arms, paired by seed);
* **test-set noise** -- which images happened to be in the test set. Handled by
  :func:`paired_bootstrap`, which resamples test images (the same draws for
  both arms and every seed), the usual way of comparing two systems scored on
  one test set (Koehn 2004; Dror et al. 2018).

:func:`compare_to_reference` puts both together for a table of arms against a
reference arm and corrects the p-values for the number of arms compared with
:func:`holm`.

Conventions shared by every function here:

* pure functions on plain numpy / Python values; results are frozen dataclasses
  holding Python floats;
* no interval and no test is invented from a single seed: those functions
  return ``None`` when fewer than two values are given;
* everything random is drawn from ``np.random.default_rng(seed)``, so the same
  inputs and ``seed`` give the same numbers;
* invalid arguments raise ``ValueError`` naming the parameter, the expected
  values and what was given (as in :mod:`imbalance_lab.metrics`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import stats as sps

from imbalance_lab.metrics import UndefinedMetricWarning, predict
from imbalance_lab.metrics.checks import check_class_indices, check_probs, safe_divide
from imbalance_lab.vocabulary import FAST

__all__ = [
    "BootstrapDiff",
    "Comparison",
    "Interval",
    "SeedTest",
    "bootstrap_interval",
    "compare_to_reference",
    "holm",
    "paired_bootstrap",
    "paired_seed_test",
    "t_interval",
]

# vocabulary.FAST: the metric names paired_bootstrap computes for all replicates at once; recall, precision and f1
# are those of the positive class (one-vs-rest), all from argmax decisions, as classification_metrics without a
# threshold

SEED_TEST_METHODS: dict[str, str] = {"t": "paired t", "wilcoxon": "wilcoxon"}
"""``method`` argument of :func:`paired_seed_test` -> the name stored in :class:`SeedTest`."""

_CHUNK_ELEMENTS = 1 << 22
"""Bootstrap index draws are made in blocks of about this many entries to bound memory."""


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval ``[low, high]`` and how it was made (``"t"`` or ``"bootstrap"``)."""

    low: float
    high: float
    method: str


@dataclass(frozen=True)
class SeedTest:
    """A paired two-sided test over seeds: its statistic, p-value and ``method`` (``"paired t"`` or ``"wilcoxon"``)."""

    statistic: float
    p_value: float
    method: str


@dataclass(frozen=True)
class BootstrapDiff:
    """Paired bootstrap over test images of ``diff = metric(b) - metric(a)`` (seed-averaged).

    ``diff`` is the observed difference on the full test set, ``[low, high]``
    the percentile interval of the replicate differences and ``p_value`` the
    two-sided bootstrap p-value of ``diff == 0`` from ``n_boot`` replicates.
    """

    diff: float
    low: float
    high: float
    p_value: float
    n_boot: int


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


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _check_values(name: str, values: Any) -> np.ndarray:
    """Validate a 1-D sequence of finite real numbers (may be empty) and return it as float64."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of numbers (one per seed), got shape {arr.shape}")
    if arr.size and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got NaN or infinity in {arr.tolist()}")
    return arr


def _check_open_unit(name: str, value: Any) -> float:
    """Validate a number strictly between 0 and 1 (a confidence level or alpha)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1) such as 0.95, got {value!r}")
    return float(value)


def _check_int(name: str, value: Any, minimum: int) -> int:
    """Validate an integer >= ``minimum`` and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """Equal-tailed ``confidence`` percentile interval of bootstrap replicates (linear interpolation)."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)


# --------------------------------------------------------------------------- #
# One arm over seeds
# --------------------------------------------------------------------------- #


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval | None:
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
    arr = _check_values("values", values)
    confidence = _check_open_unit("confidence", confidence)
    n = arr.size
    if n < 2:
        return None
    mean = float(arr.mean())
    if np.all(arr == arr[0]):
        return Interval(mean, mean, "t")
    half = float(sps.t.ppf((1.0 + confidence) / 2.0, df=n - 1)) * float(arr.std(ddof=1)) / math.sqrt(n)
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
    arr = _check_values("values", values)
    confidence = _check_open_unit("confidence", confidence)
    n_boot = _check_int("n_boot", n_boot, 1)
    seed = _check_int("seed", seed, 0)
    n = arr.size
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(n, size=(n_boot, n))].mean(axis=1)
    low, high = _percentile_interval(means, confidence)
    return Interval(low, high, "bootstrap")


# --------------------------------------------------------------------------- #
# Two arms over seeds
# --------------------------------------------------------------------------- #


def paired_seed_test(a: Sequence[float], b: Sequence[float], method: str = "t") -> SeedTest | None:
    """Two-sided paired test of ``mean(a - b) == 0`` over seeds.

    ``a[i]`` and ``b[i]`` are the metric of two arms trained with seed ``i``;
    pairing removes the part of the seed noise both arms share.

    Parameters
    ----------
    a, b : sequence of float
        Per-seed metric values of the two arms, same length, finite.
    method : {"t", "wilcoxon"}, default "t"
        ``"t"``: paired Student t test (``scipy.stats.ttest_rel``).
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
    x = _check_values("a", a)
    y = _check_values("b", b)
    if x.size != y.size:
        raise ValueError(f"b: expected one value per seed of a ({x.size}), got {y.size} values")
    if method not in SEED_TEST_METHODS:
        raise ValueError(f"method: expected one of {sorted(SEED_TEST_METHODS)}, got {method!r}")
    name = SEED_TEST_METHODS[method]
    if x.size < 2:
        return None
    if np.all(x == y):
        return SeedTest(0.0, 1.0, name)
    result = sps.ttest_rel(x, y) if method == "t" else sps.wilcoxon(x, y)
    return SeedTest(float(result.statistic), float(result.pvalue), name)


# --------------------------------------------------------------------------- #
# Two arms over test images
# --------------------------------------------------------------------------- #


def _check_run_probs(name: str, probs: Any) -> np.ndarray:
    """Validate ``(S, N, C)`` probabilities (an ``(N, C)`` matrix counts as one seed)."""
    arr = np.asarray(probs)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(
            f"{name}: expected an array of shape (n_seeds, n_samples, n_classes) "
            f"(or one (n_samples, n_classes) matrix), got shape {arr.shape}"
        )
    try:
        check_probs(arr.reshape(arr.shape[0] * arr.shape[1], arr.shape[2]))
    except ValueError as err:
        raise ValueError(f"{name}: {str(err).removeprefix('probs: ')}") from None
    return arr.astype(np.float64, copy=False)


def _resampled_indices(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    """Yield the bootstrap draws of ``n`` indices with replacement, ``n_boot`` rows in all, in blocks.

    Both paths of :func:`paired_bootstrap` read their replicates from here, so a
    seed gives the same replicates whichever path computes the metric.
    """
    rows = max(1, min(n_boot, _CHUNK_ELEMENTS // n))
    for start in range(0, n_boot, rows):
        yield rng.integers(n, size=(min(rows, n_boot - start), n))


def _counts_per_image(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` images was drawn, per replicate: ``(B, n)`` float64, one ``np.bincount``."""
    b = indices.shape[0]
    offsets = (np.arange(b, dtype=np.int64) * n)[:, None]
    return np.bincount((indices + offsets).ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def _indicators(
    metric: str, labels: np.ndarray, decisions: np.ndarray, positive: int | None, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 per-image indicators whose weighted sums are the counts ``metric`` needs.

    Returns ``per_run`` of shape ``(R, N, k)`` (one set per run = arm × seed)
    and ``shared`` of shape ``(N, j)`` (depending on the labels only).
    """
    correct = decisions == labels[None, :]
    if metric == "accuracy":
        return correct[..., None].astype(np.float64), np.zeros((labels.size, 0))
    if metric == "balanced_accuracy":
        onehot = labels[:, None] == np.arange(n_classes)[None, :]  # (N, C)
        return (correct[..., None] & onehot[None]).astype(np.float64), onehot.astype(np.float64)
    is_pos = labels == positive
    tp = correct & is_pos[None, :]
    predicted = decisions == positive
    return np.stack([tp, predicted], axis=-1).astype(np.float64), is_pos[:, None].astype(np.float64)


def _metric_from_counts(
    metric: str, run_counts: np.ndarray, shared_counts: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Metric values ``(B, R)`` from counts, and where they were undefined.

    Undefined values (zero denominator) are 0.0, as sklearn's ``zero_division=0``.
    """
    if metric == "accuracy":
        values = run_counts[..., 0] / n
        return values, np.zeros(values.shape, dtype=bool)
    if metric == "balanced_accuracy":
        actual = shared_counts[:, None, :]  # (B, 1, C)
        recall = safe_divide(run_counts, actual)
        values = recall.sum(axis=-1) / (actual > 0).sum(axis=-1)
        return values, np.zeros(values.shape, dtype=bool)
    tp, predicted = run_counts[..., 0], run_counts[..., 1]
    actual = np.broadcast_to(shared_counts[:, :1], tp.shape)
    num, den = {
        "recall": (tp, actual),
        "precision": (tp, predicted),
        "f1": (2.0 * tp, predicted + actual),
    }[metric]
    return safe_divide(num, den), den == 0


def _fast_replicates(
    metric: str,
    labels: np.ndarray,
    runs: np.ndarray,
    positive: int | None,
    index_blocks: Iterator[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Observed ``(R,)`` and replicate ``(n_boot, R)`` metric values of every run, no per-replicate loop.

    Each replicate's counts are ``(counts per image) @ (indicator per image)``:
    one matrix product for all replicates, runs and counts of a block.
    """
    n_runs, n, n_classes = runs.shape
    decisions = np.stack([predict(p) for p in runs])  # (R, N) argmax decisions
    per_run, shared = _indicators(metric, labels, decisions, positive, n_classes)
    k = per_run.shape[2]
    design = np.concatenate([per_run.transpose(1, 0, 2).reshape(n, n_runs * k), shared], axis=1)

    def evaluate(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        counts = weights @ design
        run_counts = counts[:, : n_runs * k].reshape(-1, n_runs, k)
        return _metric_from_counts(metric, run_counts, counts[:, n_runs * k :], n)

    observed, undefined = evaluate(np.ones((1, n)))
    if undefined.any():
        warnings.warn(
            f"Ill-defined metric set to 0.0: {metric} of class {positive} on the full test set "
            f"in {int(undefined.sum())} of {n_runs} runs (arm x seed).",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    replicates = np.concatenate([evaluate(_counts_per_image(block, n))[0] for block in index_blocks])
    return observed[0], replicates


@dataclass(frozen=True)
class ExpectedCost:
    """Expected cost per ``scale`` cases at a deployment prior, of argmax decisions: a bootstrap metric.

    ``cost[true, decided]`` (C×C, >= 0) and ``prior`` (C frequencies summing to 1): the value on a set is
    ``scale · Σ_c prior_c · mean over its class-c images of cost[c, decision]`` -- each class's mean
    cost weighted by how often the deployed model meets that class, whatever the set's own mix. A
    class absent from a (resampled) set adds nothing. :func:`paired_bootstrap` computes it without a
    per-replicate loop, as its named metrics.
    """

    cost: np.ndarray
    prior: np.ndarray
    scale: float = 1000.0

    def __call__(self, labels: np.ndarray, probs: np.ndarray) -> float:
        labels = np.asarray(labels)
        decisions = predict(np.asarray(probs))
        total = 0.0
        for c, weight in enumerate(self.prior):
            members = labels == c
            if members.any():
                total += weight * float(self.cost[c, decisions[members]].mean())
        return self.scale * total


def _cost_replicates(
    metric: ExpectedCost, labels: np.ndarray, runs: np.ndarray, index_blocks: Iterator[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Observed ``(R,)`` and replicate ``(n_boot, R)`` expected costs, as :func:`_fast_replicates`: each
    image's cost under each run and its class indicator, summed by one matrix product per block."""
    n_runs, n, n_classes = runs.shape
    decisions = np.stack([predict(p) for p in runs])  # (R, N)
    per_image = metric.cost[labels[None, :], decisions]  # (R, N): the cost of each run's decision
    onehot = (labels[:, None] == np.arange(n_classes)[None, :]).astype(np.float64)  # (N, C)
    design = np.concatenate([(per_image.T[:, :, None] * onehot[:, None, :]).reshape(n, n_runs * n_classes), onehot],
                            axis=1)

    def evaluate(weights: np.ndarray) -> np.ndarray:
        counts = weights @ design
        sums = counts[:, : n_runs * n_classes].reshape(-1, n_runs, n_classes)
        members = counts[:, None, n_runs * n_classes:]
        means = safe_divide(sums, np.broadcast_to(members, sums.shape))
        return metric.scale * (means * metric.prior[None, None, :]).sum(axis=-1)

    observed = evaluate(np.ones((1, n)))[0]
    replicates = np.concatenate([evaluate(_counts_per_image(block, n)) for block in index_blocks])
    return observed, replicates


def cost_interval(metric: ExpectedCost, labels: np.ndarray, probs: np.ndarray, confidence: float = 0.95,
                  n_boot: int = 2000, seed: int = 0) -> Interval:
    """Percentile interval of one arm's seed-averaged expected cost, seeds and images resampled together
    (the two-level bootstrap of :func:`paired_bootstrap`, for one arm): ``probs`` is ``(S, N, C)``."""
    runs = _check_run_probs("probs", probs)
    y = check_class_indices("labels", labels, runs.shape[2])
    _, replicates = _cost_replicates(metric, y, runs, _resampled_indices(np.random.default_rng(seed), y.size, n_boot))
    n_seeds = runs.shape[0]
    if n_seeds > 1:
        draws = np.random.default_rng([seed, 1]).integers(n_seeds, size=(n_boot, n_seeds))
        means = (replicates * _counts_per_image(draws, n_seeds)).sum(axis=1) / n_seeds
    else:
        means = replicates[:, 0]
    low, high = _percentile_interval(means, _check_open_unit("confidence", confidence))
    return Interval(low, high, "bootstrap")


def _generic_replicates(
    metric: Callable[[np.ndarray, np.ndarray], float],
    labels: np.ndarray,
    runs: np.ndarray,
    index_blocks: Iterator[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Observed ``(R,)`` and replicate ``(n_boot, R)`` values of any ``metric(labels, probs)`` (loops)."""
    observed = np.array([float(metric(labels, p)) for p in runs])
    blocks = []
    for block in index_blocks:
        values = np.empty((block.shape[0], runs.shape[0]))
        for b, idx in enumerate(block):
            y = labels[idx]
            for r, p in enumerate(runs):
                values[b, r] = float(metric(y, p[idx]))
        blocks.append(values)
    return observed, np.concatenate(blocks)


def paired_bootstrap(
    metric: str | Callable[[np.ndarray, np.ndarray], float],
    labels: np.ndarray,
    probs_a: np.ndarray,
    probs_b: np.ndarray,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    *,
    positive: int | None = None,
    resample_seeds: bool = True,
) -> BootstrapDiff:
    """Paired bootstrap over test images of the seed-averaged metric difference ``b - a``.

    Each replicate draws ``N`` test images with replacement -- the same images
    for both arms and all their seeds, so the comparison stays paired --
    computes the metric of every seed on them, averages over seeds and takes
    ``mean_b - mean_a``. With ``resample_seeds`` (the default) each replicate
    also draws the ``S`` seeds with replacement (the same draw for both arms),
    a two-level bootstrap, so the interval and p-value carry both sources of
    variation: another test set of the same size, and other training seeds. An
    image-only bootstrap would call one lucky seed out of three "significant".

    Parameters
    ----------
    metric : str or callable
        A name in :data:`~imbalance_lab.vocabulary.FAST` (``"recall"``, ``"precision"``,
        ``"f1"``, ``"accuracy"``, ``"balanced_accuracy"``) for the vectorised
        path, or any ``metric(labels (N,), probs (N, C)) -> float`` (one Python
        call per replicate, seed and arm). Named metrics use argmax decisions;
        a zero denominator gives 0.0 (sklearn's ``zero_division=0``).
    labels : np.ndarray
        1-D integer array of the ``N`` true class indices in ``[0, C)``.
    probs_a, probs_b : np.ndarray
        Probabilities of the two arms, shape ``(S, N, C)``: one ``N x C``
        matrix per seed, same seeds in the same order, same images. An
        ``(N, C)`` matrix is taken as one seed.
    confidence : float, default 0.95
        Coverage of the percentile interval, in ``(0, 1)``.
    n_boot : int, default 2000
        Number of bootstrap replicates, ``>= 1``.
    seed : int, default 0
        Seed of ``np.random.default_rng``. Both paths draw the same replicates
        from it, so they give the same numbers for the same metric.
    positive : int, optional
        Positive class index; required by ``"recall"``, ``"precision"`` and
        ``"f1"``, unused otherwise.
    resample_seeds : bool, default True
        Also resample seeds (two-level bootstrap); ``False`` resamples images only.

    Returns
    -------
    BootstrapDiff
        ``diff``: observed difference on all ``N`` images; ``low, high``:
        percentile interval of the replicate differences ``d*``; ``p_value``:
        ``min(1, 2 · min(k_le + 1, k_ge + 1) / (n_boot + 1))`` with
        ``k_le = #{d* <= 0}`` and ``k_ge = #{d* >= 0}`` -- the smallest
        two-sided level at which the percentile interval excludes 0, with the
        +1 correction so that it is never 0. Identical arms give ``p = 1``.

    Raises
    ------
    ValueError
        If the arrays disagree in shape or are invalid, ``metric`` is an
        unknown name, or ``positive`` is missing or out of range.

    Warns
    -----
    UndefinedMetricWarning
        Named metrics only: once if the metric is undefined (set to 0.0) on
        the full test set for some run; undefined replicates are silent.

    Notes
    -----
    The named metrics never loop over replicates: the draws of a replicate
    become counts per image (``np.bincount``), and every confusion count of
    every replicate, arm and seed is one matrix product ``counts (n_boot, N)
    @ indicators (N, k)`` of those counts with 0/1 per-image indicators
    (true positive, predicted positive, positive, correct). Draws are made in
    blocks of about 4M indices to bound memory.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*,
       Chapman & Hall, 1993, ch. 13 and 16.
    .. [2] P. Koehn, "Statistical significance tests for machine translation
       evaluation", EMNLP 2004.
    .. [3] R. Dror, G. Baumer, S. Shlomov and R. Reichart, "The Hitchhiker's
       Guide to Testing Statistical Significance in Natural Language
       Processing", ACL 2018.

    Examples
    --------
    >>> labels = np.array([0, 0, 1, 1, 1, 1])
    >>> weak = np.array([[[.9, .1], [.8, .2], [.6, .4], [.7, .3], [.4, .6], [.2, .8]]])
    >>> strong = np.array([[[.9, .1], [.8, .2], [.3, .7], [.4, .6], [.4, .6], [.2, .8]]])
    >>> paired_bootstrap("recall", labels, weak, strong, n_boot=200, positive=1).diff
    0.5
    """
    confidence = _check_open_unit("confidence", confidence)
    n_boot = _check_int("n_boot", n_boot, 1)
    seed = _check_int("seed", seed, 0)
    a = _check_run_probs("probs_a", probs_a)
    b = _check_run_probs("probs_b", probs_b)
    if a.shape != b.shape:
        raise ValueError(
            f"probs_b: expected the shape of probs_a {a.shape} (same seeds, images and classes), got {b.shape}"
        )
    n_seeds, n, n_classes = a.shape
    y = check_class_indices("labels", labels, n_classes)
    if y.size != n:
        raise ValueError(f"labels: expected one label per image of probs_a ({n}), got {y.size} labels")

    runs = np.concatenate([a, b])  # (2S, N, C): arm a's seeds, then arm b's
    blocks = _resampled_indices(np.random.default_rng(seed), n, n_boot)
    if isinstance(metric, str):
        if metric not in FAST:
            raise ValueError(f"metric: expected a callable or one of {list(FAST)}, got {metric!r}")
        if metric in ("recall", "precision", "f1"):
            valid = isinstance(positive, Integral) and not isinstance(positive, bool) and 0 <= positive < n_classes
            if not valid:
                raise ValueError(
                    f"positive: expected the positive class index in [0, {n_classes}) for metric "
                    f"{metric!r}, got {positive!r}"
                )
            positive = int(positive)
        observed, replicates = _fast_replicates(metric, y, runs, positive, blocks)
    elif isinstance(metric, ExpectedCost):
        observed, replicates = _cost_replicates(metric, y, runs, blocks)
    elif callable(metric):
        observed, replicates = _generic_replicates(metric, y, runs, blocks)
    else:
        raise ValueError(f"metric: expected a callable or one of {list(FAST)}, got {metric!r}")

    diff = float(observed[n_seeds:].mean() - observed[:n_seeds].mean())
    per_seed = replicates[:, n_seeds:] - replicates[:, :n_seeds]  # (n_boot, S): paired by seed
    if resample_seeds and n_seeds > 1:
        # two-level bootstrap: seeds are drawn with replacement too (the same draw for both arms)
        draws = np.random.default_rng([seed, 1]).integers(n_seeds, size=(n_boot, n_seeds))
        weights = _counts_per_image(draws, n_seeds)
        diffs = (per_seed * weights).sum(axis=1) / n_seeds
    else:
        diffs = per_seed.mean(axis=1)
    low, high = _percentile_interval(diffs, confidence)
    k_le = int(np.count_nonzero(diffs <= 0.0))
    k_ge = int(np.count_nonzero(diffs >= 0.0))
    p_value = min(1.0, 2.0 * (min(k_le, k_ge) + 1) / (n_boot + 1))
    return BootstrapDiff(diff, low, high, p_value, n_boot)


# --------------------------------------------------------------------------- #
# Many comparisons
# --------------------------------------------------------------------------- #


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


def _check_arm_values(values: Any) -> dict[Any, dict[Any, float]]:
    """Validate ``values[arm][seed] -> finite float``."""
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"values: expected a non-empty mapping arm -> {{seed: metric value}}, got {values!r}")
    out = {}
    for arm, per_seed in values.items():
        if not isinstance(per_seed, Mapping):
            raise ValueError(f"values[{arm!r}]: expected a mapping seed -> metric value, got {per_seed!r}")
        seeds = list(per_seed)
        vals = _check_values(f"values[{arm!r}]", [per_seed[s] for s in seeds])
        out[arm] = dict(zip(seeds, vals.tolist()))
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
    arms = _check_arm_values(values)
    if reference not in arms:
        raise ValueError(f"reference: expected one of the arms {list(arms)}, got {reference!r}")
    alpha = _check_open_unit("alpha", alpha)
    if seed_test not in SEED_TEST_METHODS:
        raise ValueError(f"seed_test: expected one of {sorted(SEED_TEST_METHODS)}, got {seed_test!r}")
    _check_int("n_boot", n_boot, 1)
    _check_int("seed", seed, 0)
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
