"""The options of the analysis, read from the runs without retraining: the selection study (which epoch to
keep), decisions (what to deploy) and adaptive seeds (how many seeds)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from imbalance_lab.errors import SpecError
from imbalance_lab.spec.base import StrategyStep, Strict, step_list
from imbalance_lab.spec.training import SelectSpec


class StudyRule(SelectSpec):
    """One checkpoint-selection rule of the selection study: the epoch it keeps is the best by ``metric``
    of ``set`` (as ``training.select``); ``name`` labels it in the report (default ``"<set> <metric>"``)."""

    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.set} {self.metric}"


class SelectionStudySpec(Strict):
    """Which epoch to keep, answered after training from the same runs (issue 12; docs/validation.md).

    Every run then keeps each evaluation set's predictions at every epoch, so
    each rule (``last``, or the best epoch by a metric of an evaluation set: a
    representative and a balanced validation set are two sets of
    ``data.splits``) picks its epoch per run without training again, and that
    epoch's predictions on ``judge`` (default ``test``) are scored by
    ``metrics``. Rules are compared, paired over seeds and images, with
    ``reference`` (a rule's name; default the first rule). Changing the rules,
    metrics or reference never retrains; turning the study on does (the runs
    must keep their per-epoch predictions).
    """

    rules: Annotated[tuple[Literal["last"] | StudyRule, ...], Field(min_length=1)]
    reference: str | None = None
    judge: str = "test"
    metrics: tuple[str, ...] = ()

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if isinstance(value, str | dict):
            return [value]
        return value

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple("last" if rule == "last" else rule.label for rule in self.rules)

    @model_validator(mode="after")
    def _named_once(self) -> SelectionStudySpec:
        labels = self.labels
        twice = next((label for label in labels if labels.count(label) > 1), None)
        if twice is not None:
            raise ValueError(f"rule {twice!r} is listed twice; give each rule once (or a name of its own)")
        if self.reference is not None and self.reference not in labels:
            raise ValueError(
                f"reference {self.reference!r} is not one of the rules ({', '.join(labels)}); name one of them"
            )
        return self

    @property
    def reference_label(self) -> str:
        return self.reference or self.labels[0]


class CostSpec(Strict):
    """What a wrong decision costs in a binary problem: a missed positive and a false alarm."""

    false_negative: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    false_positive: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0


class DecisionsSpec(Strict):
    """What to deploy, decided without retraining (issue 13): rules fitted on each run's validation
    predictions and applied to every evaluation set, so each (arm, rule) becomes a derived arm of the
    analysis, compared like any other on the same seeds and images.

    ``rules``: registered decision rules (``imbalance-lab list decisions``):
    ``threshold: {by: max_f1 | max_fbeta | recall | precision | min_cost, ...}``,
    ``temperature``, ``logit_adjust: {tau: 1.0}``, ``prior_correction`` (to the
    deployment prior, or ``{prior: em}`` to estimate it on each set, unlabelled).
    With costs and no rules, ``threshold: {by: min_cost}``. ``costs``:
    ``{false_negative: 10, false_positive: 1}`` (binary) or a cost matrix, rows
    the true class and columns the decision, in the classes' order.
    ``deployment_prior``: the class frequencies of the world the model will meet
    (default ``data.world``, else the test set's own). ``arms``: the arms the
    rules apply to (default every arm). ``curves``: how many of the cheapest
    arms get a cost curve in the report.
    """

    rules: tuple[StrategyStep, ...] = ()
    costs: CostSpec | tuple[tuple[Annotated[float, Field(ge=0, allow_inf_nan=False)], ...], ...] | None = None
    deployment_prior: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None
    arms: tuple[str, ...] | None = None
    curves: Annotated[int, Field(ge=0, le=20)] = 3

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        return step_list(value if isinstance(value, list | tuple) else [value], "decision rule")

    @model_validator(mode="after")
    def _something_to_decide(self) -> DecisionsSpec:
        if not self.rules and self.costs is None:
            raise ValueError(
                "give rules (e.g. [{threshold: {by: max_f1}}, temperature]) or costs "
                "(e.g. {false_negative: 10, false_positive: 1}), or leave decisions out"
            )
        return self

    @property
    def effective_rules(self) -> tuple[StrategyStep, ...]:
        """The rules applied: those given, or the cheapest threshold when only costs are."""
        if self.rules:
            return self.rules
        return (StrategyStep(name="threshold", params={"by": "min_cost"}),)

    def check_classes(self, names: tuple[str, ...]) -> None:
        """The cost matrix and the deployment prior against the experiment's classes (known when the spec
        is read if ``data.classes`` names them, else once the source is loaded)."""
        n = len(names)
        if isinstance(self.costs, tuple) and (len(self.costs) != n or any(len(row) != n for row in self.costs)):
            shape = f"{len(self.costs)}×{max((len(row) for row in self.costs), default=0)}"
            raise SpecError(
                "decisions.costs",
                f"got a {shape} cost matrix for {n} classes; expected {n}×{n}, rows "
                f"the true class and columns the decision, in the order "
                f"{', '.join(names)}",
            )
        if self.deployment_prior is not None:
            unknown = [c for c in self.deployment_prior if c not in names]
            missing = [c for c in names if c not in self.deployment_prior]
            if unknown or missing:
                what = f"{unknown[0]!r} is not a class" if unknown else f"class {missing[0]!r} has no frequency"
                raise SpecError(
                    "decisions.deployment_prior",
                    f"{what}; give a frequency for each of {', '.join(names)}, e.g. {{{names[0]}: 10, {names[1]}: 1}}",
                )

    @staticmethod
    def label(step: StrategyStep) -> str:
        """A rule's name in derived arms: ``threshold(max_f1)``, ``logit_adjust(tau=1)``, ``temperature``."""
        params = dict(step.params)
        parts = [str(params.pop("by"))] if "by" in params else []
        parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
        return f"{step.name}({', '.join(parts)})" if parts else step.name


class AdaptiveSeeds(Strict):
    """``seeds: {min: 3, max: 30, until: settled, metric: f1, margin: 0.02}``: seed rounds until the
    question is answered (issue 14; :mod:`imbalance_lab.stats.sequential`).

    The first round trains seeds ``0 .. min-1`` of every arm; each later round one more seed of every
    arm whose comparison with the reference is undecided, and of the reference. After each round
    every arm is called ``better``, ``worse`` or ``equivalent`` (within ``margin``) to the reference on
    ``metric`` of the ``set`` (default test) when an anytime-valid confidence sequence says so at
    level ``alpha`` (Holm over the arms); the experiment stops when every comparison is decided or
    after ``max`` seeds. ``method``: ``t``, the sequential paired t-test (normal differences across
    seeds, as the report's paired t-test assumes), or ``betting`` (any bounded differences; valid
    without that assumption but needing two to three times the seeds: docs/sequential.md). ``until: max`` trains every seed up to ``max``, still reporting when each
    comparison was decided.
    """

    min: Annotated[int, Field(ge=2, le=1000)] = 3
    max: Annotated[int, Field(ge=2, le=1000)] = 30
    until: Literal["settled", "max"] = "settled"
    metric: str = "balanced_accuracy"
    margin: Annotated[float, Field(ge=0, lt=1)] = 0.02
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    set: str = "test"
    method: Literal["t", "betting"] = "t"

    @model_validator(mode="after")
    def _min_below_max(self) -> AdaptiveSeeds:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}; give min <= max")
        return self


class SeedDraws(Strict):
    """``seeds: {draws: 5, train: 2}``: ``draws`` data draws crossed with ``train`` training seeds each, so an
    arm's spread says how much comes from which images it drew and how much from training (issue 26).

    The runs are the seeds ``0 .. draws·train − 1``. Seed ``s`` trains on draw ``s // train``
    (:meth:`~imbalance_lab.spec.ExperimentSpec.draw_of`) and with training seed ``s`` itself, as every run
    does. So every run of the experiment has its own training randomness (the design is nested, training
    seeds within draws, as the variance decomposition assumes: :mod:`imbalance_lab.stats.variance`), the
    runs of one seed are one draw and one training seed in every arm (arms stay paired, and the executors,
    the store, resumes and branching need no other key than the seed), and adding draws adds seeds at the
    end, leaving every stored run's draw as it was. Changing ``train`` moves runs to other draws (their run
    hashes change with their draw, so they are trained again). Implies ``data.resample: per_seed``.
    """

    draws: Annotated[int, Field(ge=1, le=1000)]
    train: Annotated[int, Field(ge=1, le=1000)]


class EvaluationSpec(Strict):
    """How the stored runs are scored beyond their own test set (analysis only: changing it never retrains).

    ``test_priors``: score every arm, and every derived arm, on the test set reweighted to other class
    priors (:mod:`imbalance_lab.metrics.priors`): forward long tails at each imbalance ratio ρ (the
    training order), the uniform prior, and backward long tails (the order reversed). ``true`` takes
    ρ = 50, 25, 10, 5, 2 (the test-agnostic protocol of Zhang et al. 2022); a list gives the ratios (each
    > 1); ``false`` (default) leaves it out. Rows are reweighted, not drawn, so counts are exact.
    """

    test_priors: bool | Annotated[list[Annotated[float, Field(gt=1, le=1e6)]], Field(min_length=1, max_length=20)] = (
        False
    )

    @property
    def ratios(self) -> tuple[float, ...]:
        """The ratios of the protocol's long tails (empty when off)."""
        if self.test_priors is True:
            return (50.0, 25.0, 10.0, 5.0, 2.0)
        if self.test_priors is False:
            return ()
        return tuple(sorted(set(self.test_priors), reverse=True))
