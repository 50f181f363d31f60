"""The whole spec: its sections, the checks across them (registered names and parameters, metrics, sets,
decisions, adaptive seeds), and its identity (canonical form, spec and run hashes, run definitions)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from imbalance_lab.errors import SpecError
from imbalance_lab.registry import format_validation_error
from imbalance_lab.spec.arms import ArmSpec
from imbalance_lab.spec.base import Name, StrategyStep, Strict, is_stored
from imbalance_lab.spec.data import DataSpec
from imbalance_lab.spec.execution import ExecutionSpec, TrackingSpec
from imbalance_lab.spec.grids import expand_grid
from imbalance_lab.spec.model import ModelSpec, model_entry
from imbalance_lab.spec.study import (
    AdaptiveSeeds,
    CostSpec,
    DecisionsSpec,
    EvaluationSpec,
    SeedDraws,
    SelectionStudySpec,
)
from imbalance_lab.spec.training import ScheduleSpec, TrainingSpec
from imbalance_lab.vocabulary import (
    metric_range,
    recorded,
    selectable,
)


class ExperimentSpec(Strict):
    """Everything an experiment depends on (see ``examples/cats_vs_dogs.yaml``)."""

    name: Name
    data: DataSpec
    arms: Annotated[tuple[ArmSpec, ...], Field(min_length=1)]
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    seeds: tuple[Annotated[int, Field(ge=0)], ...] = (0, 1, 2)
    adaptive: AdaptiveSeeds | None = Field(default=None, exclude=True)  # from seeds: {min, max, ...}
    draws: SeedDraws | None = Field(default=None, exclude=True)  # from seeds: {draws, train}
    output: str | None = None
    tracking: TrackingSpec = TrackingSpec()
    execution: ExecutionSpec = ExecutionSpec()
    selection: SelectionStudySpec | None = None
    decisions: DecisionsSpec | None = None
    evaluation: EvaluationSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_task_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """Fill in the model's task-dependent defaults (see :func:`imbalance_lab.declarations.models.task_defaults`);
        a results directory's spec has them already, as its runs were made."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict) or is_stored(info):
            return data
        from imbalance_lab.declarations.models import task_defaults  # the models' declarations

        try:
            model = model_entry(data.get("model", "simple_cnn"))
        except ValueError:
            return data  # reported by the field validator
        if not isinstance(model.get("params"), dict):
            return data
        params = dict(model["params"])
        for key, value in task_defaults(model["name"], data["data"].get("positive") is not None).items():
            if params.get(key) is None:  # absent or null: the task's default
                params[key] = value
        return {**data, "model": {**model, "params": params}}

    @field_validator("arms", mode="before")
    @classmethod
    def _grids(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        arms: list[Any] = []
        for i, item in enumerate(value):
            arms += expand_grid(item, i) if isinstance(item, dict) and "grid" in item else [item]
        return arms

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return model_entry(value)

    @model_validator(mode="before")
    @classmethod
    def _seed_forms(cls, data: Any) -> Any:
        """``seeds: {min, max, ...}`` is adaptive: the seeds are 0 .. max-1, run as the rounds need them.
        ``seeds: {draws: D, train: T}`` crosses data draws with training seeds: the seeds are 0 .. D·T-1
        (:class:`~imbalance_lab.spec.study.SeedDraws`), and ``data.resample`` defaults to ``per_seed``."""
        if isinstance(data, dict):
            for derived, example in (
                (
                    "adaptive",
                    "adaptive seeds are written in seeds, e.g. seeds: {min: 3, max: 30, metric: balanced_accuracy}",
                ),
                ("draws", "data draws are written in seeds, e.g. seeds: {draws: 5, train: 2}"),
            ):
                if derived in data:  # derived from seeds, never given
                    valid = [name for name, info in cls.model_fields.items() if not info.exclude]
                    raise SpecError(derived, f"unknown key; {example}; valid keys here: {', '.join(valid)}")
            seeds = data.get("seeds")
            if isinstance(seeds, dict) and {"draws", "train"} & seeds.keys():
                adaptive_keys = [key for key in seeds if key in AdaptiveSeeds.model_fields]
                if adaptive_keys:
                    raise SpecError(
                        f"seeds.{adaptive_keys[0]}",
                        "seeds: {draws, train} (data draws × training seeds) and seeds: {min, max, ...} "
                        "(adaptive seeds) are two forms that cannot be mixed; give one of them",
                    )
                try:
                    draws = SeedDraws.model_validate(seeds)
                except pydantic.ValidationError as err:
                    raise format_validation_error(err, "seeds") from None
                data = {**data, "seeds": tuple(range(draws.draws * draws.train)), "draws": draws}
                if isinstance(data.get("data"), dict) and "resample" not in data["data"]:
                    data["data"] = {**data["data"], "resample": "per_seed"}
            elif isinstance(seeds, dict):
                try:
                    adaptive = AdaptiveSeeds.model_validate(data["seeds"])
                except pydantic.ValidationError as err:
                    raise format_validation_error(err, "seeds") from None
                data = {**data, "seeds": tuple(range(adaptive.max)), "adaptive": adaptive}
        return data

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number of seeds (e.g. 3) or a list of seeds (e.g. [0, 1, 2])")
        if isinstance(value, int):
            if value < 1:
                raise ValueError("the number of seeds must be at least 1")
            return tuple(range(value))
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError("the seed list is empty; give at least one seed, e.g. [0]")
            if len(set(value)) != len(value):
                raise ValueError("the seed list repeats a seed; give each seed once")
        return value

    @model_validator(mode="after")
    def _check_consistency(self, info: ValidationInfo) -> ExperimentSpec:
        """Unique arm names, metrics, sets, decisions and adaptive seeds; for a spec to train with, also the
        registered names and their parameters (class-dependent checks need the source's classes:
        :func:`imbalance_lab.splits.resolve`). A results directory's spec is a record of runs that were made:
        the registries of sources, models and strategies (and torch, which they import) are not read for it,
        so a report never imports the trainer's world."""
        seen: set[str] = set()
        for i, arm in enumerate(self.arms):
            if arm.name in seen:
                raise SpecError(
                    f"{arm.where(i)}.name", f"arm name {arm.name!r} is used twice; give each arm its own name"
                )
            seen.add(arm.name)
        self._check_selection()
        self._check_decisions()
        self._check_adaptive()
        if self.draws is not None and self.data.resample != "per_seed":
            raise SpecError(
                "data.resample",
                f"got {self.data.resample!r}, but seeds: {{draws, train}} draws each draw's training images "
                "anew; give data.resample: per_seed (or leave it out), or give seeds as a number or a list",
            )
        if not is_stored(info):
            self._check_registered()
        return self

    def _check_registered(self) -> None:
        """The source, strategies and model by their registered names and parameters; no selection rule for
        an arm that trains in stages or changes the finished model."""
        from imbalance_lab.declarations import MODELS, SOURCES, STRATEGIES  # the registries' declarations (no torch)
        from imbalance_lab.declarations.strategies import follows_training, owns_step

        SOURCES.check_params(self.data.source.name, self.data.source.params, "data.source")
        for i, arm in enumerate(self.arms):
            for j, step in enumerate(arm.strategy):
                STRATEGIES.entry(step.name, f"{arm.where(i)}.strategy[{j}]")
                STRATEGIES.check_params(step.name, step.params, f"{arm.where(i)}.strategy[{j}].{step.name}")
                if self.execution.distributed is not None and owns_step(step.name):
                    raise SpecError(
                        f"{arm.where(i)}.strategy[{j}]",
                        f"{step.name} owns the optimiser step, whose passes a run across processes does not sum "
                        "over them; leave execution.distributed out for this experiment",
                    )
                if self.training.precision == "fp16" and owns_step(step.name):
                    raise SpecError(
                        f"{arm.where(i)}.strategy[{j}]",
                        f"{step.name} owns the optimiser step, which fp16's loss scaling cannot follow; "
                        "set training.precision: bf16 or fp32 for this experiment",
                    )
        MODELS.check_params(self.model.name, self.model.params, "model")
        if self.training.rules or self.selection is not None:
            for arm in self.arms:
                if any(follows_training(step.name) for step in arm.strategy):
                    key = f"training.{next(iter(self.training.rules))}" if self.training.rules else "selection"
                    fix = (
                        "leave select: last and no early_stopping"
                        if self.training.rules
                        else "leave the selection study out"
                    )
                    raise SpecError(
                        key,
                        f"arm {arm.name!r} trains in stages or changes the model after training "
                        f"(cRT, τ-normalisation), which a chosen epoch cannot follow; {fix} for "
                        f"such arms' experiments",
                    )
        declared = MODELS.entry(self.model.name, "model.name").declaration
        if self.model.pretrained is True and not getattr(declared, "published_weights", False):
            with_weights = [
                n for n in MODELS.names() if getattr(MODELS.entry(n).declaration, "published_weights", False)
            ]
            raise SpecError(
                "model.pretrained",
                f"got true, but {self.model.name} has no published weights; give the "
                f"path of a weights file, or use one of {', '.join(with_weights)}",
            )

    def _check_decisions(self) -> None:
        decisions = self.decisions
        if decisions is None:
            return
        from imbalance_lab.decisions import DECISION_RULES  # a registry, read only where a spec has decisions

        binary = self.data.positive is not None
        for i, step in enumerate(decisions.rules):
            where = f"decisions.rules[{i}]"
            DECISION_RULES.entry(step.name, where)
            DECISION_RULES.check_params(step.name, step.params, f"{where}.{step.name}")
            try:
                DECISION_RULES.create(step.name, **step.params)
            except ValueError as err:
                raise SpecError(f"{where}.{step.name}", str(err)) from None
            if step.name == "threshold" and not binary:
                raise SpecError(
                    where,
                    "a threshold rule moves the positive class's threshold; it needs "
                    "data.positive (two classes); use logit_adjust or prior_correction here",
                )
            if step.params.get("by") == "min_cost" and not isinstance(decisions.costs, CostSpec):
                raise SpecError(
                    where, "threshold by min_cost needs decisions.costs: {false_negative: ..., false_positive: ...}"
                )
        labels = [decisions.label(step) for step in decisions.effective_rules]
        twice = next((label for label in labels if labels.count(label) > 1), None)
        if twice is not None:
            raise SpecError("decisions.rules", f"rule {twice} is listed twice; give each rule once")
        arm_names = [arm.name for arm in self.arms]
        for i, name in enumerate(decisions.arms or ()):
            if name not in arm_names:
                raise SpecError(
                    f"decisions.arms[{i}]", f"got {name!r}, which is not an arm; valid: {', '.join(arm_names)}"
                )
        if isinstance(decisions.costs, CostSpec) and not binary:
            raise SpecError(
                "decisions.costs",
                "false_negative/false_positive costs are for a binary problem "
                "(data.positive); give a cost matrix, rows the true class and "
                "columns the decision",
            )
        if isinstance(self.data.classes, dict):  # else the source names the classes: splits.resolve checks
            decisions.check_classes(tuple(self.data.classes))

    def _check_adaptive(self) -> None:
        adaptive = self.adaptive
        if adaptive is None:
            return
        bounded = [m for m in recorded(self.data.positive is not None) if metric_range(m) == (0.0, 1.0)]
        if adaptive.metric not in bounded:
            raise SpecError(
                "seeds.metric",
                f"got {adaptive.metric!r}; the sequential test needs a metric bounded "
                f"in [0, 1]; valid: {', '.join(bounded)}",
            )
        if adaptive.set not in self.data.eval_sets:
            raise SpecError(
                "seeds.set",
                f"got {adaptive.set!r}, which is not an evaluation set of data.splits; "
                f"valid: {', '.join(self.data.eval_sets)}",
            )
        if len(self.arms) < 2:
            raise SpecError(
                "seeds",
                "adaptive seeds compare arms with a reference arm; give at least two arms, or a number of seeds",
            )

    def decision_arms(self) -> dict[str, tuple[str, StrategyStep]]:
        """The derived arms of ``decisions``: ``"<arm>+<rule>"`` -> (base arm, rule), in arm then rule order."""
        if self.decisions is None:
            return {}
        chosen = self.decisions.arms
        return {
            f"{arm.name}+{self.decisions.label(step)}": (arm.name, step)
            for arm in self.arms
            if chosen is None or arm.name in chosen
            for step in self.decisions.effective_rules
        }

    def _check_selection(self) -> None:
        """Selection and stopping rules: metrics of the vocabulary, sets of the splits, and arms that train in
        one stage and keep the model as trained (the only place this is checked: whoever then calls the
        trainer has a spec that passed it)."""
        valid = list(selectable(self.data.positive is not None))
        rules = {f"training.{key}": rule for key, rule in self.training.rules.items()}
        if self.selection is not None:
            rules |= {f"selection.rules[{i}]": rule for i, rule in enumerate(self.selection.rules) if rule != "last"}
        for where, rule in rules.items():
            if rule.metric not in valid:
                raise SpecError(
                    f"{where}.metric",
                    f"got {rule.metric!r}; valid: {', '.join(valid)}"
                    + ("" if self.data.positive else " (precision, recall, f1, ... need data.positive)"),
                )
            if rule.set not in self.data.eval_sets:
                raise SpecError(
                    f"{where}.set",
                    f"got {rule.set!r}, which is not an evaluation set of "
                    f"data.splits; valid: {', '.join(self.data.eval_sets)}",
                )
        if self.selection is not None:
            if self.selection.judge not in self.data.eval_sets:
                raise SpecError(
                    "selection.judge",
                    f"got {self.selection.judge!r}, which is not an evaluation set "
                    f"of data.splits; valid: {', '.join(self.data.eval_sets)}",
                )
            for i, metric in enumerate(self.selection.metrics):
                if metric not in valid or metric in ("loss", "balanced_loss"):
                    judged = [m for m in valid if m not in ("loss", "balanced_loss")]
                    raise SpecError(f"selection.metrics[{i}]", f"got {metric!r}; valid: {', '.join(judged)}")

    # ------------------------------------------------------------------ identity
    def canonical(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (what is hashed and stored).

        Settings added after version 0.1 are left out while they hold their
        default, so results directories written before keep their hashes.
        """
        canon = self.model_dump(mode="json")
        if canon["training"]["schedule"] == _DEFAULT_SCHEDULE:
            del canon["training"]["schedule"]
        for key, default in (("select", "last"), ("early_stopping", None)):
            if canon["training"].get(key, default) == default:
                canon["training"].pop(key, None)
        for arm in canon["arms"]:
            if arm["factors"] is None:
                del arm["factors"]
        if canon["execution"] == _DEFAULT_EXECUTION:
            del canon["execution"]
        for setting, unset in (("pretrained", False), ("freeze", "none"), ("weights_sha256", None)):
            if canon["model"][setting] == unset:
                del canon["model"][setting]
        for key in ("selection", "decisions", "evaluation"):
            if canon[key] is None:
                del canon[key]
        for setting, unset in (("resample", "none"), ("resample_val", False)):
            if canon["data"][setting] == unset:
                del canon["data"][setting]
        if self.adaptive is not None:  # written back as given: seeds {min, max, ...}
            canon["seeds"] = self.adaptive.model_dump(mode="json")
        if self.draws is not None:  # written back as given: seeds {draws, train}
            canon["seeds"] = self.draws.model_dump(mode="json")
        return canon

    def _hashed(self) -> dict[str, Any]:
        """The canonical form as hashed: where runs execute (device, executor) is left out, as in provenance."""
        canon = self.canonical()
        canon["training"] = {**canon["training"], "device": "auto"}  # "auto" was hashed before the device left the hash
        digest = self.model.weights_digest()
        if digest is not None:
            canon["model"] = {**canon["model"], "weights_sha256": digest}
        if self.selection is not None:  # the runs keep every epoch's predictions; which rules read them is not hashed
            canon["training"]["epoch_predictions"] = True
        canon.pop("selection", None)
        canon.pop("decisions", None)  # analysis only: decisions never retrain
        canon.pop("evaluation", None)  # analysis only: scoring under other priors never retrains
        return canon

    def spec_hash(self) -> str:
        """Hash of everything results depend on (output directory, tracking, execution and device excluded)."""
        body = {k: v for k, v in self._hashed().items() if k not in ("output", "tracking", "execution")}
        return _hash(body)

    def run_definition(self, arm: ArmSpec, seed: int) -> dict[str, Any]:
        """What one (arm, seed) run depends on, as hashed (data, model, training, the arm and the seed, and
        with ``data.resample: per_seed`` the run's data draw); each run records it, so a results directory
        can say what differs when a spec no longer matches."""
        canon = self._hashed()
        arm_canon = next(a for a in canon["arms"] if a["name"] == arm.name)
        definition = {
            "data": canon["data"],
            "model": canon["model"],
            "training": canon["training"],
            "arm": arm_canon,
            "seed": seed,
        }
        draw = self.draw_of(seed)
        if draw is not None:
            definition["draw"] = draw
        return definition

    def draw_of(self, seed: int) -> int | None:
        """The data draw a run of ``seed`` trains on: ``None`` with ``data.resample: none`` (the images
        ``data.seed`` cut), else ``seed // train`` under ``seeds: {draws, train}`` and ``seed`` itself
        otherwise (each seed its own draw). The run's training seed is always ``seed``."""
        if self.data.resample == "none":
            return None
        return seed // (self.draws.train if self.draws is not None else 1)

    def run_hash(self, arm: ArmSpec, seed: int) -> str:
        """Hash of :meth:`run_definition`: adding arms or seeds leaves it unchanged."""
        return _hash(self.run_definition(arm, seed))

    def arm(self, name: str) -> ArmSpec:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(name)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.canonical(), sort_keys=False)


_DEFAULT_SCHEDULE = ScheduleSpec().model_dump(mode="json")


_DEFAULT_EXECUTION = ExecutionSpec().model_dump(mode="json")


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def definition_differences(runs: dict[str, Any], spec: dict[str, Any], where: str = "") -> list[str]:
    """Where two run definitions (:meth:`ExperimentSpec.run_definition`) differ, one phrase per setting:
    ``training.epochs: 3 in the runs, 5 in the spec``; settings present on one side only say so."""
    if isinstance(runs, dict) and isinstance(spec, dict):
        found = []
        for key in [*runs, *(k for k in spec if k not in runs)]:
            path = f"{where}.{key}" if where else str(key)
            if path == "training.epoch_predictions":  # hashed for a selection study, which the user wrote
                study = (
                    "a selection study in the runs (they keep every epoch's predictions), none in the spec"
                    if runs.get(key)
                    else "no selection study in the runs, one in the spec"
                )
                found.append(f"selection: {study}")
            elif key not in spec:
                found.append(f"{path}: {_brief(runs[key])} in the runs, absent in the spec")
            elif key not in runs:
                found.append(f"{path}: absent in the runs, {_brief(spec[key])} in the spec")
            else:
                found += definition_differences(runs[key], spec[key], path)
        return found
    return [] if runs == spec else [f"{where}: {_brief(runs)} in the runs, {_brief(spec)} in the spec"]


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        text = json.dumps(value[:12] + "…", ensure_ascii=False)  # a digest: its start tells them apart
    return text if len(text) <= 60 else text[:57] + "..."
