"""Turn a results directory into an answer: every metric recomputed from the stored
predictions, its spread and confidence over seeds, each arm compared with a reference
arm, and the baselines beside them. Pure: reads stored runs, trains nothing.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imbalance_lab.analysis.aggregates import ArmAggregate, aggregate_arms, profile_arms, scores_by_arm
from imbalance_lab.analysis.baselines import BASELINES, baseline_metrics
from imbalance_lab.analysis.draws import draw_variance
from imbalance_lab.analysis.shifted_priors import prior_scores
from imbalance_lab.metrics import classification_metrics, confusion_matrix, predict
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.stats import (
    Comparison,
    Interval,
    PerformanceProfile,
    bootstrap_interval,
    compare_to_reference,
    t_interval,
)
from imbalance_lab.store import RunScan, StoredRun
from imbalance_lab.vocabulary import (
    COST,
    FAST,
    HEADLINE_BINARY,
    HEADLINE_MULTICLASS,
    SHOT,
    VERDICTS,
    higher_is_better,
    metric_range,
)


@dataclass(frozen=True)
class MetricSummary:
    """One arm, one evaluation set, one metric, over seeds."""

    mean: float
    std: float  # sample standard deviation (ddof=1); nan with one seed
    n: int
    t_ci: Interval | None  # None with one seed: no interval is invented
    bootstrap_ci: Interval | None
    values: tuple[float, ...]


@dataclass(frozen=True)
class SetAnalysis:
    """Everything about one evaluation set."""

    name: str
    class_counts: list[int]
    metrics: tuple[str, ...]
    table: dict[str, dict[str, MetricSummary]]  # arm -> metric -> summary
    comparisons: dict[str, list[Comparison]]  # metric -> one comparison per non-reference arm
    baselines: dict[str, dict[str, float]]  # "majority"/"random" -> metric -> value
    confusion: dict[str, np.ndarray]  # arm -> confusion matrix summed over seeds
    labels: np.ndarray
    probs: dict[str, np.ndarray]  # arm -> (seeds, N, C)
    # rliable's aggregates over runs, beside the paired tests (analysis.aggregates): metric -> arm -> IQM and
    # P(better than the reference); the performance profiles of the set's first metric, metric -> arm -> profile
    aggregates: dict[str, dict[str, ArmAggregate]] = field(default_factory=dict)
    profiles: dict[str, dict[str, PerformanceProfile]] = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    """An experiment directory, analysed."""

    spec: ExperimentSpec
    runs: list[StoredRun]
    missing: list[tuple[str, int]]
    problems: list[str]
    arms: tuple[str, ...]
    reference: str
    class_names: tuple[str, ...]
    positive: int | None
    train_counts: dict[str, list[int]]
    groups: dict[str, list[str]]
    sets: dict[str, SetAnalysis]
    histories: dict[str, list[list[dict[str, Any]]]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(
        default_factory=list
    )  # what a reader must know first (reference changed, unseen classes)
    selection: Any = None  # the spec's selection study (analysis.selection.SelectionStudy), if it has one
    deployment: Any = None  # the spec's decisions (analysis.deployment.Deployment): derived arms, fits, costs
    answer: Any = None  # what to deploy (analysis.deployment.DeployAnswer), with costs
    rounds: Any = None  # adaptive seeds (rounds.RoundState): each comparison's decision and why the rounds stopped
    draws: Any = None  # data draws (analysis.draws.DrawVariance): each headline metric's draw and training variance
    priors: Any = (
        None  # evaluation.test_priors (analysis.shifted_priors.PriorScores): every arm under other test priors
    )

    @property
    def headline_set(self) -> str:
        """The set the verdicts are about: ``test``."""
        return "test"


def default_reference(spec: ExperimentSpec, arms: Sequence[str]) -> str:
    """``unbalanced`` when there is such an arm, else the first arm with strategy ``none``, else the first."""
    if "unbalanced" in arms:
        return "unbalanced"
    for arm in spec.arms:
        if arm.name in arms and [s.name for s in arm.strategy] == ["none"]:
            return arm.name
    return arms[0]


def choose_reference(spec: ExperimentSpec, usable: Sequence[str], reference: str | None) -> tuple[str, list[str]]:
    """The reference arm among the arms with usable runs, and a warning when it is not the one asked for.

    An explicit ``reference`` must have usable runs (else a one-line error). The
    default is chosen among all the spec's arms; when that arm has no usable run
    (all damaged or unfinished), another is chosen and the warning says so, so the
    comparison never changes its reference silently.
    """
    from imbalance_lab.errors import UserError

    names = [a.name for a in spec.arms]
    if reference is not None:
        if reference not in usable:
            why = (
                "which is not an arm of this experiment"
                if reference not in names
                else "an arm with no finished, undamaged run"
            )
            raise UserError(f"--reference: got {reference!r}, {why}; valid: {', '.join(usable)}")
        return reference, []
    wanted = default_reference(spec, names)
    if wanted in usable:
        return wanted, []
    chosen = default_reference(spec, usable)
    return chosen, [
        f"the reference arm `{wanted}` has no finished, undamaged run, so every arm is compared with "
        f"`{chosen}` instead; finish or repair `{wanted}`'s runs, or choose with --reference"
    ]


def unseen_class_warnings(class_names: Sequence[str], train_counts: dict[str, list[int]]) -> list[str]:
    """One warning per arm that trained without any image of some class."""
    out = []
    for arm, counts in train_counts.items():
        unseen = [name for name, n in zip(class_names, counts, strict=True) if n == 0]
        if unseen:
            listing = ", ".join(f"`{c}`" for c in unseen)
            out.append(
                f"arm `{arm}` has no training images of class {listing}: it never saw "
                f"{'that class' if len(unseen) == 1 else 'those classes'}, so its scores there are not learned"
            )
    return out


def bounded_t_interval(values: np.ndarray, metric: str) -> Interval | None:
    """The t-interval of the mean over seeds, clipped to the metric's range (precision cannot pass 1).

    Clipping never loses coverage: the true mean lies in the range, so whenever the t-interval
    contains it, the clipped interval does too. Its method reads ``"t, clipped"`` where it was cut."""
    interval = t_interval(values)
    if interval is None:
        return None
    low, high = metric_range(metric)
    if interval.low >= low and interval.high <= high:
        return interval
    return Interval(max(interval.low, low), min(interval.high, high), "t, clipped")


def _summary(values: list[float], seed: int, metric: str = "") -> MetricSummary:
    arr = np.asarray(values, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return MetricSummary(float("nan"), float("nan"), 0, None, None, tuple(values))
    std = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
    return MetricSummary(
        float(finite.mean()),
        std,
        int(finite.size),
        bounded_t_interval(finite, metric),
        bootstrap_interval(finite, seed=seed),
        tuple(values),
    )


def analyse(
    spec: ExperimentSpec, scan: RunScan, reference: str | None = None, *, n_boot: int = 2000, seed: int = 0
) -> Analysis:
    """Recompute every metric from the stored predictions and compare the arms."""
    from imbalance_lab.analysis.deployment import deploy_answer, derive

    trained = sorted(scan.runs, key=lambda r: (r.arm, r.seed))
    first = trained[0].result
    class_names = tuple(first["train_counts"])
    positive = class_names.index(spec.data.positive) if spec.data.positive is not None else None
    derived, deployment = derive(spec, trained, class_names, positive)  # decisions: arms without training
    runs = sorted([*trained, *derived], key=lambda r: (r.arm, r.seed))
    order = [a.name for a in spec.arms] + list(spec.decision_arms())
    arms = tuple(a for a in order if any(r.arm == a for r in runs))
    reference, warnings_ = choose_reference(spec, arms, reference)
    cost = deployment.metric if deployment is not None else None
    train_counts = {r.arm: [r.result["train_counts"][c] for c in class_names] for r in runs}
    long_tail = positive is None and len(class_names) > 2
    metric_names = HEADLINE_MULTICLASS + (SHOT if long_tail else ()) if positive is None else HEADLINE_BINARY
    if cost is not None:
        metric_names = metric_names + (COST,)
    predictions = {(r.arm, r.seed): r.predictions() for r in runs}
    # a derived arm trained as its base arm did: its curves would repeat the base's
    histories = {
        arm: [r.result["history"] for r in runs if r.arm == arm]
        for arm in arms
        if deployment is None or arm not in deployment.arms
    }

    sets = {}
    notes = []
    scored: dict[str, dict[str, dict[int, dict[str, float]]]] = {}  # set -> arm -> seed -> metrics
    for set_name in spec.data.eval_sets:
        labels = predictions[(runs[0].arm, runs[0].seed)][f"{set_name}_labels"]
        per_run: dict[str, dict[int, dict[str, float]]] = {arm: {} for arm in arms}
        scored[set_name] = per_run
        confusion = {arm: np.zeros((len(class_names),) * 2, dtype=np.int64) for arm in arms}
        probs: dict[str, list[np.ndarray]] = {arm: [] for arm in arms}
        for r in runs:
            arrays = predictions[(r.arm, r.seed)]
            if not np.array_equal(arrays[f"{set_name}_labels"], labels):
                notes.append(
                    f"{r.arm}/seed-{r.seed}: its {set_name} labels differ from the other runs'; left out of {set_name}"
                )
                continue
            p = arrays[f"{set_name}_probs"].astype(np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                per_run[r.arm][r.seed] = classification_metrics(
                    labels, p, positive=positive, train_counts=np.asarray(train_counts[r.arm]) if long_tail else None
                )
            if cost is not None:
                per_run[r.arm][r.seed][COST] = cost(labels, p)
            confusion[r.arm] += confusion_matrix(labels, predict(p), len(class_names))
            probs[r.arm].append(p)
        table = {
            arm: {
                m: _summary([per_run[arm][s][m] for s in sorted(per_run[arm])], seed, m)
                for m in _all_metric_keys(per_run)
            }
            for arm in arms
            if per_run[arm]
        }
        comparisons = {}
        for m in metric_names:
            fast = (m in FAST and positive is not None) or m == COST
            # undefined values (e.g. ROC-AUC on a set with one class) are left out of the comparison
            values = {arm: {s: v[m] for s, v in per_run[arm].items() if fast or math.isfinite(v[m])} for arm in arms}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zero-division conventions are already noted in the summary
                comparisons[m] = compare_to_reference(
                    values,
                    reference,
                    m,
                    metric_fn=cost if m == COST else None,
                    predictions={"labels": labels, "probs": {a: np.stack(probs[a]) for a in arms if probs[a]}}
                    if fast
                    else None,
                    positive=positive,
                    n_boot=n_boot,
                    seed=seed,
                )
        aggregates = {
            m: aggregate_arms(scores_by_arm(table, m), reference, m, n_boot=n_boot, seed=seed) for m in metric_names
        }
        headline = metric_names[0]
        profiles = {headline: profile_arms(scores_by_arm(table, headline), headline, n_boot=n_boot, seed=seed)}
        eval_counts = np.bincount(labels, minlength=len(class_names))
        ref_prior = np.asarray(train_counts[reference])
        baselines = {kind: baseline_metrics(kind, eval_counts, ref_prior, positive) for kind in BASELINES}
        sets[set_name] = SetAnalysis(
            set_name,
            eval_counts.tolist(),
            metric_names,
            table,
            comparisons,
            baselines,
            confusion,
            labels,
            {a: np.stack(probs[a]) for a in arms if probs[a]},
            aggregates,
            profiles,
        )
    groups = {n: m for n, m in first.get("classes", {}).items() if m != [n]}
    warnings_ += unseen_class_warnings(class_names, {a: train_counts[a] for a in arms})
    from imbalance_lab.analysis.selection import study

    rounds = None
    missing = list(scan.missing)
    if spec.adaptive is not None:  # the rounds replayed from the stored runs; unscheduled seeds are not missing
        from imbalance_lab.analysis.rounds import round_state

        plan = spec.adaptive
        per_seed = scored[plan.set]  # the metrics the tables were made of

        def value(arm: str, seed: int) -> float | None:
            metrics = per_seed.get(arm, {}).get(seed)
            return None if metrics is None else float(metrics[plan.metric])

        rounds = round_state(spec, reference, value)
        missing = [item for item in missing if item in rounds.scheduled]
    selection = study(spec, trained, positive, n_boot=n_boot, seed=seed)
    notes += list(selection.notes) if selection is not None else []
    notes += list(deployment.notes) if deployment is not None else []
    analysis = Analysis(
        spec,
        runs,
        missing,
        scan.problems,
        arms,
        reference,
        class_names,
        positive,
        {a: train_counts[a] for a in arms},
        groups,
        sets,
        histories,
        notes,
        warnings_,
        selection,
        deployment,
        rounds=rounds,
    )
    if cost is not None:
        analysis = dataclasses.replace(analysis, answer=deploy_answer(analysis, n_boot=n_boot, seed=seed))
    headline = analysis.headline_set
    draws = draw_variance(spec, scored[headline], sets[headline].metrics, headline)  # None without data draws
    if draws is not None:
        analysis = dataclasses.replace(analysis, draws=draws)
    priors = prior_scores(analysis)  # None without evaluation.test_priors
    return analysis if priors is None else dataclasses.replace(analysis, priors=priors)


def _all_metric_keys(per_run: dict[str, dict[int, dict[str, float]]]) -> list[str]:
    for runs in per_run.values():
        for metrics in runs.values():
            return list(metrics)
    return []


def verdicts(analysis: Analysis) -> list[str]:
    """The verdict on the headline set, one sentence per headline metric: what the command line prints, the
    report lists and ``Experiment.verdict()`` returns (written here, once)."""
    test = analysis.sets[analysis.headline_set]
    return [verdict(analysis, analysis.headline_set, metric) for metric in test.metrics[:VERDICTS]]


def deploy_sentence(analysis: Analysis) -> str | None:
    """``what to deploy: ...``, when the spec gives costs (else ``None``)."""
    return None if analysis.answer is None else "what to deploy: " + analysis.answer.verdict(analysis.class_names)


def seeds_sentence(analysis: Analysis) -> str | None:
    """``seeds: ...``, how the adaptive seed rounds ended (``None`` for a fixed number of seeds)."""
    return None if analysis.rounds is None else "seeds: " + analysis.rounds.describe()


def verdict(analysis: Analysis, set_name: str, metric: str) -> str:
    """One plain-language sentence: how many arms beat the reference on ``metric``, and the best."""
    comparisons = analysis.sets[set_name].comparisons.get(metric, [])
    ref = analysis.reference
    if not comparisons:
        return f"on {metric}, there is no other arm to compare with `{ref}`."
    sign = 1 if higher_is_better(metric) else -1
    better = [c for c in comparisons if c.significant and sign * c.mean_diff > 0]
    worse = [c for c in comparisons if c.significant and sign * c.mean_diff < 0]
    if all(c.seed_test is None for c in comparisons):  # fewer than two shared seeds: no claim, whatever the metric
        best = max(comparisons, key=lambda c: sign * c.mean_diff)
        return (
            f"on {metric}, with one seed no difference can be called significant; "
            f"the largest change from `{ref}` is `{best.arm}`, {best.mean_diff:+.3f}."
        )
    parts = [f"on {metric}, {len(better)} arm{'s' if len(better) != 1 else ''} beat `{ref}`"]
    if worse:
        parts.append(f"{len(worse)} did worse")
    text = ", ".join(parts)
    if better:
        best = max(better, key=lambda c: sign * c.mean_diff)
        text += f"; the best is `{best.arm}`, {best.mean_diff:+.3f}{_interval_text(best)}"
    elif not worse:
        text += " (no difference is significant after Holm's correction)"
    return text + "."


def _interval_text(c: Comparison) -> str:
    interval = c.bootstrap if c.bootstrap is not None else c.interval
    if interval is None:
        return ""
    low, high = interval.low, interval.high
    if math.isnan(low) or math.isnan(high):
        return ""
    return f" [{low:+.3f}, {high:+.3f}]"
