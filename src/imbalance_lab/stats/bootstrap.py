"""Two arms over test images: the paired bootstrap of a metric's difference (the same resampled images for
both arms and every seed; Koehn 2004, Dror et al. 2018), with a fast path for count metrics and expected
costs."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from numbers import Integral
from typing import cast

import numpy as np

from imbalance_lab.metrics import UndefinedMetricWarning, predict
from imbalance_lab.metrics.checks import check_class_indices, safe_divide
from imbalance_lab.stats.checks import check_int, check_open_unit, check_run_probs
from imbalance_lab.stats.intervals import Interval, percentile_interval
from imbalance_lab.vocabulary import FAST

CHUNK_ELEMENTS = 1 << 22
"""Bootstrap index draws are made in blocks of about this many entries to bound memory."""


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


def _resampled_indices(rng: np.random.Generator, n: int, n_boot: int) -> Iterator[np.ndarray]:
    """Yield the bootstrap draws of ``n`` indices with replacement, ``n_boot`` rows in all, in blocks.

    Both paths of :func:`paired_bootstrap` read their replicates from here, so a
    seed gives the same replicates whichever path computes the metric.
    """
    rows = max(1, min(n_boot, CHUNK_ELEMENTS // n))
    for start in range(0, n_boot, rows):
        yield rng.integers(n, size=(min(rows, n_boot - start), n))


def draw_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` items (images, seeds, runs) was drawn, per replicate: ``(B, n)`` float64 from
    ``(B, draws)`` indices, one ``np.bincount``."""
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
    replicates = np.concatenate([evaluate(draw_counts(block, n))[0] for block in index_blocks])
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
    design = np.concatenate(
        [(per_image.T[:, :, None] * onehot[:, None, :]).reshape(n, n_runs * n_classes), onehot], axis=1
    )

    def evaluate(weights: np.ndarray) -> np.ndarray:
        counts = weights @ design
        sums = counts[:, : n_runs * n_classes].reshape(-1, n_runs, n_classes)
        members = counts[:, None, n_runs * n_classes :]
        means = safe_divide(sums, np.broadcast_to(members, sums.shape))
        return metric.scale * (means * metric.prior[None, None, :]).sum(axis=-1)

    observed = evaluate(np.ones((1, n)))[0]
    replicates = np.concatenate([evaluate(draw_counts(block, n)) for block in index_blocks])
    return observed, replicates


def cost_interval(
    metric: ExpectedCost,
    labels: np.ndarray,
    probs: np.ndarray,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile interval of one arm's seed-averaged expected cost, seeds and images resampled together
    (the two-level bootstrap of :func:`paired_bootstrap`, for one arm): ``probs`` is ``(S, N, C)``."""
    runs = check_run_probs("probs", probs)
    y = check_class_indices("labels", labels, runs.shape[2])
    _, replicates = _cost_replicates(metric, y, runs, _resampled_indices(np.random.default_rng(seed), y.size, n_boot))
    n_seeds = runs.shape[0]
    if n_seeds > 1:
        draws = np.random.default_rng([seed, 1]).integers(n_seeds, size=(n_boot, n_seeds))
        means = (replicates * draw_counts(draws, n_seeds)).sum(axis=1) / n_seeds
    else:
        means = replicates[:, 0]
    low, high = percentile_interval(means, check_open_unit("confidence", confidence))
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
    confidence = check_open_unit("confidence", confidence)
    n_boot = check_int("n_boot", n_boot, 1)
    seed = check_int("seed", seed, 0)
    a = check_run_probs("probs_a", probs_a)
    b = check_run_probs("probs_b", probs_b)
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
            positive = int(cast(int, positive))  # an Integral: checked just above
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
        weights = draw_counts(draws, n_seeds)
        diffs = (per_seed * weights).sum(axis=1) / n_seeds
    else:
        diffs = per_seed.mean(axis=1)
    low, high = percentile_interval(diffs, confidence)
    k_le = int(np.count_nonzero(diffs <= 0.0))
    k_ge = int(np.count_nonzero(diffs >= 0.0))
    p_value = min(1.0, 2.0 * (min(k_le, k_ge) + 1) / (n_boot + 1))
    return BootstrapDiff(diff, low, high, p_value, n_boot)
