"""Every arm scored under other test priors (``evaluation.test_priors``): the test-agnostic protocol.

Each run's test predictions are scored on the test set reweighted to each prior of the protocol
(:func:`imbalance_lab.metrics.priors.protocol_priors`: forward long tails in the order of the reference
arm's training counts, the uniform prior, backward long tails), row by row of the confusion matrix, which
is exact for per-class counts: no test image is drawn. A derived arm whose rule reads the set it is applied
to (prior correction to the prior EM estimates) is applied again to each reweighted set, each image
standing for its weight's worth: its estimate follows the shifted prior, so the report shows it adapting.
Every other arm's predictions are the same under every prior; only the counts they are scored on move.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from imbalance_lab.metrics import confusion_matrix, predict
from imbalance_lab.metrics.priors import PRIOR_METRICS, prior_metrics, protocol_priors


@dataclass(frozen=True)
class PriorScores:
    """The arms under the protocol's priors on one set: ``labels`` and signed ``ratios`` (negative:
    backward) of the priors in order, the ``priors`` themselves (P×C), and per arm and metric the scores
    of each run (seeds × priors, seeds in ``seeds[arm]`` order)."""

    set_name: str
    labels: tuple[str, ...]
    ratios: tuple[float, ...]
    priors: np.ndarray
    seeds: dict[str, tuple[int, ...]]
    values: dict[str, dict[str, np.ndarray]]
    adapting: tuple[str, ...]  # derived arms whose rule re-reads each reweighted set
    ordered_by: str  # the arm whose training counts order the long tails

    def mean(self, arm: str, metric: str) -> np.ndarray:
        return np.asarray(self.values[arm][metric].mean(axis=0))

    def std(self, arm: str, metric: str) -> np.ndarray:
        runs = self.values[arm][metric]
        return np.asarray(runs.std(axis=0, ddof=1)) if runs.shape[0] > 1 else np.full(runs.shape[1], np.nan)


def prior_scores(analysis: Any, set_name: str = "test") -> PriorScores | None:
    """The arms of ``analysis`` under ``evaluation.test_priors`` on ``set_name`` (``None`` when the spec
    does not ask, or when the set lacks a class the priors give mass to)."""
    evaluation = analysis.spec.evaluation
    if evaluation is None or not evaluation.ratios or set_name not in analysis.sets:
        return None
    labels = analysis.sets[set_name].labels
    n_classes = len(analysis.class_names)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    if np.any(counts == 0):
        return None
    frequencies = counts / counts.sum()
    ordered_by = analysis.reference
    protocol = protocol_priors(np.asarray(analysis.train_counts[ordered_by]), evaluation.ratios)
    deployment = analysis.deployment
    fits = deployment.fits if deployment is not None else {}
    trained = {(r.arm, r.seed): r for r in analysis.runs if deployment is None or r.arm not in deployment.arms}
    values: dict[str, dict[str, list[list[float]]]] = {}
    seeds: dict[str, list[int]] = {}
    adapting: set[str] = set()
    for run in sorted(analysis.runs, key=lambda r: (r.arm, r.seed)):
        arrays = run.predictions()
        if not np.array_equal(arrays[f"{set_name}_labels"], labels):
            continue  # left out of the set by the analysis too
        fit = fits.get(run.arm, {}).get(run.seed)
        reads = fit is not None and fit.reads_the_set and (deployment.arms[run.arm][0], run.seed) in trained
        base_logits = (
            trained[(deployment.arms[run.arm][0], run.seed)].predictions()[f"{set_name}_logits"].astype(np.float64)
            if reads
            else None
        )
        fixed = predict(arrays[f"{set_name}_probs"].astype(np.float64))
        rows: dict[str, list[float]] = {m: [] for m in PRIOR_METRICS}
        for _, _, prior in protocol:
            if reads:
                adapting.add(run.arm)
                weights = (prior / frequencies)[labels]
                decided = predict(fit.apply(base_logits, weights))
            else:
                decided = fixed
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a class never predicted: precision 0, as everywhere
                scores = prior_metrics(confusion_matrix(labels, decided, n_classes), prior)
            for m in PRIOR_METRICS:
                rows[m].append(scores[m])
        seeds.setdefault(run.arm, []).append(run.seed)
        for m in PRIOR_METRICS:
            values.setdefault(run.arm, {}).setdefault(m, []).append(rows[m])
    order = [a for a in analysis.arms if a in values]
    return PriorScores(
        set_name,
        tuple(label for label, _, _ in protocol),
        tuple(ratio for _, ratio, _ in protocol),
        np.stack([prior for _, _, prior in protocol]),
        {arm: tuple(seeds[arm]) for arm in order},
        {arm: {m: np.asarray(v) for m, v in values[arm].items()} for arm in order},
        tuple(a for a in order if a in adapting),
        ordered_by,
    )
