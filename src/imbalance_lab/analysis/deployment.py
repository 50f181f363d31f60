"""What to deploy: the spec's ``decisions:`` applied to the stored runs, without training (issue 13).

Each rule (:mod:`imbalance_lab.decisions`) is fitted on one run's
validation logits and applied to every evaluation set of that run, so each
(arm, rule) becomes a *derived arm* ``"<arm>+<rule>"`` with one run per seed of
its base arm. The analysis then treats derived arms as any other: the same
tables, plots and paired comparisons on the same seeds and images. With costs,
every arm gets its expected cost per 1,000 cases at the deployment prior, and
:func:`deploy_answer` ranks the arms by it on the test set and says whether the
cheapest is significantly cheaper than the runner-up.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from imbalance_lab.spec import CostSpec, ExperimentSpec, StrategyStep
from imbalance_lab.stats import Comparison, ExpectedCost, Interval, compare_to_reference, cost_interval
from imbalance_lab.store import StoredRun
from imbalance_lab.vocabulary import CALIBRATION, COST, FAST, VERDICTS

if TYPE_CHECKING:
    from imbalance_lab.decisions import FittedDecision


@dataclass(frozen=True)
class DerivedRun(StoredRun):
    """A stored run seen through a decision rule: its predictions are the rule's, held in memory."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def predictions(self) -> dict[str, np.ndarray]:
        return self.arrays


@dataclass(frozen=True)
class Deployment:
    """The decisions of an analysis: the derived arms, each run's fitted rule, the prior and the costs."""

    prior: np.ndarray  # the deployment prior, in class order
    prior_source: str  # where it came from, in words
    cost: np.ndarray | None  # cost[true, decided], or None without costs
    arms: dict[str, tuple[str, StrategyStep]]  # derived arm -> (base arm, rule)
    fits: dict[str, dict[int, FittedDecision]]  # derived arm -> seed -> the rule fitted on that run's val
    notes: tuple[str, ...] = ()

    @property
    def metric(self) -> ExpectedCost | None:
        return None if self.cost is None else ExpectedCost(self.cost, self.prior)


def deployment_prior(
    spec: ExperimentSpec, class_names: tuple[str, ...], test_labels: np.ndarray
) -> tuple[np.ndarray, str]:
    """The class frequencies of the deployment world: ``decisions.deployment_prior``, else ``data.world``,
    else the test set's own."""
    given = spec.decisions.deployment_prior if spec.decisions is not None else None
    for source, weights in (("decisions.deployment_prior", given), ("data.world", spec.data.world)):
        if weights is not None and all(c in weights for c in class_names):
            prior = np.array([weights[c] for c in class_names], dtype=np.float64)
            return prior / prior.sum(), source
    counts = np.bincount(test_labels, minlength=len(class_names)).astype(np.float64)
    return counts / counts.sum(), "the test set's own class frequencies"


def cost_matrix(spec: ExperimentSpec, n_classes: int, positive: int | None) -> np.ndarray | None:
    """``cost[true, decided]`` from ``decisions.costs`` (None without costs)."""
    costs = spec.decisions.costs if spec.decisions is not None else None
    if costs is None:
        return None
    if isinstance(costs, CostSpec):
        assert positive is not None and n_classes == 2
        cost = np.zeros((2, 2))
        cost[positive, 1 - positive] = costs.false_negative
        cost[1 - positive, positive] = costs.false_positive
        return cost
    cost = np.asarray(costs, dtype=np.float64)
    if cost.shape != (n_classes, n_classes):
        from imbalance_lab.errors import UserError

        raise UserError(
            f"decisions.costs: expected a {n_classes}×{n_classes} cost matrix (one row and column per "
            f"class), got {cost.shape[0]} rows; fix the spec and run the report again"
        )
    return cost


def derive(
    spec: ExperimentSpec, runs: list[StoredRun], class_names: tuple[str, ...], positive: int | None
) -> tuple[list[DerivedRun], Deployment | None]:
    """Every (run, rule) of ``spec.decisions`` as a derived run, and what was fitted (None without decisions)."""
    if spec.decisions is None or not runs:
        return [], None
    from imbalance_lab.decisions import DECISION_RULES, DecisionContext  # read where a spec has decisions

    first = runs[0].predictions()
    prior, source = deployment_prior(spec, class_names, first["test_labels"])
    cost = cost_matrix(spec, len(class_names), positive)
    derived_arms = spec.decision_arms()
    derived, fits, notes = [], {name: {} for name in derived_arms}, []
    by_arm: dict[str, list[StoredRun]] = {}
    for r in runs:
        by_arm.setdefault(r.arm, []).append(r)
    for name, (base, step) in derived_arms.items():
        rule = DECISION_RULES.create(step.name, **step.params)
        for r in by_arm.get(base, []):
            arrays = r.predictions()
            if "val_logits" not in arrays:
                notes.append(f"{base}/seed-{r.seed}: stored without logits; no decision rule applies to it")
                continue
            counts = np.array([r.result["train_counts"][c] for c in class_names], dtype=np.float64)
            context = DecisionContext(
                train_prior=counts / counts.sum() if (counts > 0).all() else None,
                deploy_prior=prior,
                positive=positive,
                cost_fn=float(cost[positive, 1 - positive]) if cost is not None and positive is not None else None,
                cost_fp=float(cost[1 - positive, positive]) if cost is not None and positive is not None else None,
            )
            try:
                fitted = rule.fit(arrays["val_labels"], arrays["val_logits"].astype(np.float64), context)
            except ValueError as err:
                notes.append(f"{name}/seed-{r.seed}: the rule could not be fitted on val ({err})")
                continue
            fits[name][r.seed] = fitted
            transformed = {}
            for set_name in spec.data.eval_sets:
                transformed[f"{set_name}_labels"] = arrays[f"{set_name}_labels"]
                transformed[f"{set_name}_probs"] = fitted.apply(arrays[f"{set_name}_logits"].astype(np.float64))
            result = {
                **r.result,
                "arm": name,
                "decision": {"rule": step.name, "params": fitted.params, "description": fitted.describe()},
            }
            derived.append(DerivedRun(name, r.seed, r.path, result, transformed))
    return derived, Deployment(prior, source, cost, derived_arms, fits, tuple(notes))


# --------------------------------------------------------------------------- #
# The answer: ranked by cost, the cheapest against the runner-up, cost curves
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class DeployRow:
    arm: str
    base: str
    rule: str  # the rule's label, or "argmax" for an arm as trained
    threshold: float | None  # the positive class's threshold (mean over seeds), binary problems only
    mean_cost: float
    interval: Interval
    seeds: int


@dataclass(frozen=True)
class DeployAnswer:
    rows: list[DeployRow]  # cheapest first
    runner_up: Comparison | None  # the runner-up against the cheapest (positive: the runner-up costs more)
    versus_base: dict[str, list[Comparison]]  # base arm -> each of its rules against it, on expected cost
    curves: dict[str, tuple[np.ndarray, np.ndarray, list[float]]]  # base arm -> thresholds, (S, T) costs, chosen
    prior: np.ndarray
    prior_source: str

    def verdict(self, class_names: tuple[str, ...]) -> str:
        if not self.rows:
            return "no arm has an expected cost."
        best = self.rows[0]
        text = (
            f"deploy `{best.arm}`: {best.mean_cost:.1f} per 1,000 cases "
            f"[{best.interval.low:.1f}, {best.interval.high:.1f}] at the deployment prior "
        )
        text += "(" + ", ".join(f"{c} {p:.3g}" for c, p in zip(class_names, self.prior, strict=True)) + ")"
        c = self.runner_up
        if c is None:
            return text + "."
        interval = c.bootstrap if c.bootstrap is not None else c.interval
        bounds = "" if interval is None or math.isnan(interval.low) else f" [{interval.low:+.1f}, {interval.high:+.1f}]"
        verdict = "significantly cheaper" if c.significant and c.mean_diff > 0 else "not significantly cheaper"
        return (
            text + f"; {verdict} than the runner-up `{c.arm}` ({self.rows[1].mean_cost:.1f}, "
            f"{c.mean_diff:+.1f}{bounds} per 1,000 more)."
        )


def deploy_answer(analysis: Any, *, n_boot: int = 2000, seed: int = 0) -> DeployAnswer | None:
    """Rank every arm by expected cost on the test set, compare the two cheapest, and draw cost curves."""
    deployment: Deployment | None = analysis.deployment
    if deployment is None or deployment.cost is None:
        return None
    metric = deployment.metric
    test = analysis.sets[analysis.headline_set]
    rows = []
    for arm in analysis.arms:
        if arm not in test.table or COST not in test.table[arm]:
            continue
        base, step = deployment.arms.get(arm, (arm, None))
        threshold = None
        fits = list(deployment.fits.get(arm, {}).values())
        if analysis.positive is not None:
            if step is None:
                threshold = 0.5  # the argmax of two classes
            elif fits and "threshold" in fits[0].params:
                threshold = float(np.mean([f.params["threshold"] for f in fits]))
        summary = test.table[arm][COST]
        interval = cost_interval(metric, test.labels, test.probs[arm], n_boot=n_boot, seed=seed)
        rows.append(
            DeployRow(
                arm,
                base,
                "argmax" if step is None else analysis.spec.decisions.label(step),
                threshold,
                summary.mean,
                interval,
                summary.n,
            )
        )
    rows.sort(key=lambda row: row.mean_cost)
    runner_up = None
    if len(rows) > 1:
        values = {
            row.arm: {s: v for s, v in zip(_seeds(analysis, row.arm), test.table[row.arm][COST].values, strict=True)}
            for row in rows[:2]
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            [runner_up] = compare_to_reference(
                values,
                rows[0].arm,
                COST,
                metric_fn=metric,
                predictions={"labels": test.labels, "probs": {r.arm: test.probs[r.arm] for r in rows[:2]}},
                n_boot=n_boot,
                seed=seed,
            )
    versus_base = {}
    for base in dict.fromkeys(b for b, _ in deployment.arms.values()):
        derived = [a for a, (b, _) in deployment.arms.items() if b == base and a in test.table]
        if base not in test.table or not derived:
            continue
        values = {a: dict(zip(_seeds(analysis, a), test.table[a][COST].values, strict=True)) for a in [base, *derived]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            versus_base[base] = compare_to_reference(
                values,
                base,
                COST,
                metric_fn=metric,
                predictions={"labels": test.labels, "probs": {a: test.probs[a] for a in [base, *derived]}},
                n_boot=n_boot,
                seed=seed,
            )
    curves = _cost_curves(analysis, deployment, rows) if analysis.positive is not None else {}
    return DeployAnswer(rows, runner_up, versus_base, curves, deployment.prior, deployment.prior_source)


def _seeds(analysis: Any, arm: str) -> list[int]:
    return sorted(r.seed for r in analysis.runs if r.arm == arm)


def _cost_curves(
    analysis: Any, deployment: Deployment, rows: list[DeployRow]
) -> dict[str, tuple[np.ndarray, np.ndarray, list[float]]]:
    """Expected cost against the positive class's threshold on test, per seed, for the cheapest base arms."""
    from imbalance_lab.decisions import threshold_as_probs

    spec = analysis.spec
    test = analysis.sets[analysis.headline_set]
    metric = deployment.metric
    positive = analysis.positive
    thresholds = np.linspace(0.0, 1.0, 101)
    bases = list(dict.fromkeys(row.base for row in rows))[: spec.decisions.curves]
    curves = {}
    for base in bases:
        probs = test.probs[base]
        costs = np.array([[metric(test.labels, threshold_as_probs(p, positive, t)) for t in thresholds] for p in probs])
        chosen = [row.threshold for row in rows if row.base == base and row.threshold is not None]
        curves[base] = (thresholds, costs, chosen)
    return curves


CALIBRATED_RULES = ("temperature", "prior_correction", "logit_adjust")  # rules whose output is a probability


@dataclass(frozen=True)
class CalibrationRow:
    """One probability-producing rule on one arm: its calibration on the judged set against its arm's."""

    arm: str
    base: str
    before: dict[str, float]  # metric -> the base arm's mean over seeds
    after: dict[str, float]  # metric -> the derived arm's
    comparisons: dict[str, Comparison]  # metric -> derived against base, paired over seeds (t-test)


def calibration_rows(analysis: Any, set_name: str | None = None) -> list[CalibrationRow]:
    """ECE, Brier score and log loss before and after each temperature, prior-correction or logit-adjustment
    rule (Guo et al. 2017 report ECE; a threshold's output is a decision, not a probability, so it is left out)."""
    deployment: Deployment | None = analysis.deployment
    if deployment is None:
        return []
    table = analysis.sets[set_name or analysis.headline_set].table
    rows = []
    for arm, (base, step) in deployment.arms.items():
        if step.name not in CALIBRATED_RULES or arm not in table or base not in table:
            continue
        comparisons = {}
        for m in CALIBRATION:
            values = {a: dict(zip(_seeds(analysis, a), table[a][m].values, strict=True)) for a in (base, arm)}
            # rounded: a rule that changes nothing (logit adjustment by a uniform prior) differs in the last
            # bits only (float32 against float64 probabilities), and a t-test would call that noise significant
            values = {a: {s: round(v, 6) for s, v in per.items() if math.isfinite(v)} for a, per in values.items()}
            [comparisons[m]] = compare_to_reference(values, base, m)
        rows.append(
            CalibrationRow(
                arm,
                base,
                {m: table[base][m].mean for m in CALIBRATION},
                {m: table[arm][m].mean for m in CALIBRATION},
                comparisons,
            )
        )
    return rows


def versus_base(
    analysis: Any, metrics: tuple[str, ...] | None = None, *, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, Comparison]]:
    """Each derived arm against its own arm as trained on the headline set, paired over the same seeds and
    images (a two-level bootstrap where the metric allows it, else a paired t-test; Holm over the arm's
    rules): ``{derived arm: {metric: Comparison}}``."""

    deployment: Deployment | None = analysis.deployment
    if deployment is None:
        return {}
    test = analysis.sets[analysis.headline_set]
    metrics = metrics or tuple(test.metrics[:VERDICTS]) + ((COST,) if COST in test.metrics[VERDICTS:] else ())
    out: dict[str, dict[str, Comparison]] = {}
    for base in dict.fromkeys(b for b, _ in deployment.arms.values()):
        derived = [a for a, (b, _) in deployment.arms.items() if b == base and a in test.table]
        if base not in test.table or not derived:
            continue
        for m in metrics:
            fast = (m in FAST and analysis.positive is not None) or m == COST
            values = {
                a: {
                    s: round(v, 9)
                    for s, v in zip(_seeds(analysis, a), test.table[a][m].values, strict=True)
                    if math.isfinite(v)
                }
                for a in [base, *derived]
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                comparisons = compare_to_reference(
                    values,
                    base,
                    m,
                    metric_fn=deployment.metric if m == COST else None,
                    predictions={"labels": test.labels, "probs": {a: test.probs[a] for a in [base, *derived]}}
                    if fast
                    else None,
                    positive=analysis.positive,
                    n_boot=n_boot,
                    seed=seed,
                )
            for c in comparisons:
                out.setdefault(c.arm, {})[m] = c
    return out
