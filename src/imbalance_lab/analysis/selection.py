"""Which epoch to keep, answered from the runs already trained (the spec's ``selection:`` study).

With a selection study every run stores each evaluation set's logits at the end
of every epoch (``<set>_epoch_logits``). A rule — ``last``, or the best epoch by
a metric of an evaluation set, exactly as ``training.select`` would choose it
during training (same per-epoch metrics, ties keep the earlier epoch) — then
picks an epoch per run, and that epoch's predictions on the judged set (``test``)
are scored. Rules are compared with the reference rule on the same runs, paired
over seeds and test images (the same two-level bootstrap as the arms' comparison,
Holm over the rules), within each arm and pooled over the arms. The *oracle*
picks, per run, the epoch that is best on the judged set itself: an upper bound
no rule can reach honestly, shown so the cost of each rule has a scale.

Pure: reads stored predictions, trains nothing (docs/validation.md).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imbalance_lab.metrics import classification_metrics
from imbalance_lab.spec import ExperimentSpec, SelectSpec
from imbalance_lab.stats import Comparison, compare_to_reference
from imbalance_lab.store import StoredRun
from imbalance_lab.vocabulary import FAST, JUDGED_BINARY, JUDGED_MULTICLASS

ORACLE = "oracle"


@dataclass(frozen=True)
class RuleOutcome:
    """One rule on one arm: the epoch it kept in each run and what that epoch scores on the judged set."""

    rule: str
    epochs: dict[int, int]  # seed -> the chosen epoch (1-based)
    values: dict[str, dict[int, float]]  # judged metric -> seed -> value
    probs: np.ndarray  # (seeds, N, C): the judged set's probabilities at the chosen epochs, seeds ascending

    def mean(self, metric: str) -> float:
        values = [v for v in self.values[metric].values() if math.isfinite(v)]
        return float(np.mean(values)) if values else float("nan")

    def mean_epoch(self) -> float:
        return float(np.mean(list(self.epochs.values())))


@dataclass(frozen=True)
class SelectionStudy:
    """Every rule on every arm, and each rule against the reference rule (per arm and pooled)."""

    judge: str
    metrics: tuple[str, ...]
    rules: tuple[str, ...]  # the spec's rules, in order
    reference: str
    arms: tuple[str, ...]
    outcomes: dict[str, dict[str, RuleOutcome]]  # arm -> rule (and ORACLE, per judged metric: "oracle:<metric>")
    comparisons: dict[str, dict[str, list[Comparison]]]  # arm -> metric -> one comparison per other rule
    pooled: dict[str, list[Comparison]]  # metric -> one comparison per other rule, over every (arm, seed)
    pooled_means: dict[str, dict[str, float]]  # rule (and "oracle:<metric>") -> metric -> mean over (arm, seed)
    notes: tuple[str, ...] = ()

    def sentences(self) -> list[str]:
        """The study's answer in plain words: per judged metric, what each rule costs against the reference."""
        out = []
        metric = self.metrics[0]
        for c in self.pooled.get(metric, []):
            interval = c.bootstrap if c.bootstrap is not None else c.interval
            bounds = (
                "" if interval is None or math.isnan(interval.low) else f" [{interval.low:+.3f}, {interval.high:+.3f}]"
            )
            verdict = (
                "significant after Holm's correction over the rules"
                if c.significant
                else "not significant after Holm's correction over the rules"
            )
            out.append(
                f"on {self.judge} {metric}, keeping the epoch of `{c.arm}` instead of `{c.reference}` "
                f"changes it by {c.mean_diff:+.3f}{bounds} over every arm and seed ({verdict})."
            )
        oracle = self.pooled_means.get(f"{ORACLE}:{metric}", {}).get(metric)
        if oracle is not None:
            best = max(self.rules, key=lambda r: self.pooled_means[r][metric])
            out.append(
                f"the best rule here, `{best}`, reaches {self.pooled_means[best][metric]:.3f}; the epoch "
                f"best on {self.judge} itself (an upper bound, not a rule) {oracle:.3f}."
            )
        return out


def judged_metrics(spec: ExperimentSpec, positive: int | None) -> tuple[str, ...]:
    assert spec.selection is not None
    if spec.selection.metrics:
        return spec.selection.metrics
    return JUDGED_BINARY if positive is not None else JUDGED_MULTICLASS


def chosen_epoch(values: Sequence[float], maximise: bool) -> int:
    """The 1-based epoch a rule keeps: the first best finite value (as :class:`imbalance_lab.train._Monitor`,
    whose ties keep the earlier epoch); the last epoch when no value is finite."""
    best, epoch = None, len(values)
    for i, value in enumerate(values, start=1):
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value > best if maximise else value < best):
            best, epoch = value, i
    return epoch


def _epoch_values(logits: np.ndarray, labels: np.ndarray, metric: str, positive: int | None) -> list[float]:
    """A per-epoch metric of one set, computed as the trainer computes it for ``training.select`` (with torch,
    as the trainer does, so that ties and last bits agree; imported here, where a study is analysed, so that
    a report without one never imports torch)."""
    import torch

    from imbalance_lab.train import epoch_log

    target = torch.from_numpy(labels)
    return [epoch_log(torch.from_numpy(logits[e]), target, positive)[metric] for e in range(logits.shape[0])]


def _probs(logits: np.ndarray) -> np.ndarray:
    """Probabilities as a run stores them (float32 softmax of float32 logits), as float64."""
    import torch

    return torch.softmax(torch.from_numpy(logits), dim=1).numpy().astype(np.float32).astype(np.float64)


def _score(labels: np.ndarray, probs: np.ndarray, positive: int | None, metrics: Sequence[str]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division conventions: the main tables note them
        scored = classification_metrics(labels, probs, positive=positive)
    return {m: float(scored[m]) for m in metrics}


def study(
    spec: ExperimentSpec, runs: Sequence[StoredRun], positive: int | None, *, n_boot: int = 2000, seed: int = 0
) -> SelectionStudy | None:
    """The selection study of ``spec`` over its stored ``runs`` (None when the spec has none)."""
    if spec.selection is None:
        return None
    sel = spec.selection
    metrics = judged_metrics(spec, positive)
    rules = sel.labels
    reference = sel.reference_label
    outcomes: dict[str, dict[str, RuleOutcome]] = {}
    notes = []
    for arm in (a.name for a in spec.arms):
        arm_runs = sorted((r for r in runs if r.arm == arm), key=lambda r: r.seed)
        usable = []
        for r in arm_runs:
            arrays = r.predictions()
            if f"{sel.judge}_epoch_logits" not in arrays:
                notes.append(
                    f"{arm}/seed-{r.seed}: stored without per-epoch predictions (made without a selection "
                    f"study); left out of the study"
                )
                continue
            usable.append((r.seed, arrays))
        if not usable:
            continue
        chosen: dict[str, dict[int, int]] = {label: {} for label in rules}
        chosen |= {f"{ORACLE}:{m}": {} for m in metrics}
        judged: dict[int, np.ndarray] = {}  # seed -> (E, N, C) probabilities on the judged set
        scores: dict[int, list[dict[str, float]]] = {}  # seed -> per-epoch judged metrics
        for run_seed, arrays in usable:
            labels = arrays[f"{sel.judge}_labels"]
            judged[run_seed] = np.stack([_probs(e) for e in arrays[f"{sel.judge}_epoch_logits"]])
            scores[run_seed] = [_score(labels, p, positive, metrics) for p in judged[run_seed]]
            for label, rule in zip(rules, sel.rules, strict=True):
                if rule == "last":
                    chosen[label][run_seed] = len(scores[run_seed])
                else:
                    values = _epoch_values(
                        arrays[f"{rule.set}_epoch_logits"], arrays[f"{rule.set}_labels"], rule.metric, positive
                    )
                    chosen[label][run_seed] = chosen_epoch(values, rule.maximise)
            for m in metrics:
                maximise = SelectSpec(metric=m).maximise
                chosen[f"{ORACLE}:{m}"][run_seed] = chosen_epoch([row[m] for row in scores[run_seed]], maximise)
        outcomes[arm] = {}
        for label, epochs in chosen.items():
            values = {m: {s: scores[s][e - 1][m] for s, e in epochs.items()} for m in metrics}
            probs = np.stack([judged[s][epochs[s] - 1] for s in sorted(epochs)])
            outcomes[arm][label] = RuleOutcome(label, dict(epochs), values, probs)
    arms = tuple(outcomes)
    labels_judged = _judged_labels(runs, sel.judge)
    comparisons = {
        arm: _compare(outcomes[arm], rules, reference, metrics, labels_judged, positive, n_boot, seed) for arm in arms
    }
    pooled_outcomes = _pool(outcomes, list(rules) + [f"{ORACLE}:{m}" for m in metrics], metrics)
    pooled = _compare(pooled_outcomes, rules, reference, metrics, labels_judged, positive, n_boot, seed) if arms else {}
    pooled_means = {label: {m: o.mean(m) for m in metrics} for label, o in pooled_outcomes.items()}
    return SelectionStudy(
        sel.judge, metrics, rules, reference, arms, outcomes, comparisons, pooled, pooled_means, tuple(notes)
    )


def _judged_labels(runs: Sequence[StoredRun], judge: str) -> np.ndarray | None:
    for r in runs:
        return r.predictions()[f"{judge}_labels"]
    return None


def _pool(
    outcomes: dict[str, dict[str, RuleOutcome]], labels: Sequence[str], metrics: Sequence[str]
) -> dict[str, RuleOutcome]:
    """Every arm's runs as one sample of (arm, seed) pairs, numbered in arm then seed order."""
    pooled = {}
    for label in labels:
        epochs, values, probs = {}, {m: {} for m in metrics}, []
        index = 0
        for arm in outcomes:
            outcome = outcomes[arm][label]
            for s in sorted(outcome.epochs):
                epochs[index] = outcome.epochs[s]
                for m in metrics:
                    values[m][index] = outcome.values[m][s]
                index += 1
            probs.append(outcome.probs)
        pooled[label] = RuleOutcome(label, epochs, values, np.concatenate(probs))
    return pooled


def _compare(
    outcomes: dict[str, RuleOutcome],
    rules: Sequence[str],
    reference: str,
    metrics: Sequence[str],
    labels: np.ndarray | None,
    positive: int | None,
    n_boot: int,
    seed: int,
) -> dict[str, list[Comparison]]:
    """Each rule against the reference rule on the same runs (Holm over the rules)."""
    out = {}
    for m in metrics:
        fast = m in FAST and positive is not None and labels is not None
        values = {
            rule: {s: v for s, v in outcomes[rule].values[m].items() if fast or math.isfinite(v)} for rule in rules
        }
        if not all(values.values()):
            out[m] = []
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[m] = compare_to_reference(
                values,
                reference,
                m,
                predictions={"labels": labels, "probs": {rule: outcomes[rule].probs for rule in rules}}
                if fast
                else None,
                positive=positive,
                n_boot=n_boot,
                seed=seed,
            )
    return out
