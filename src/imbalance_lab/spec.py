"""The experiment spec: one validated object, loaded from YAML or built in Python.

Pydantic checks structure and types; :meth:`ExperimentSpec._check_consistency`
checks registered names and their parameters. What depends on the source's
classes and sizes (class names, counts, the pool) is checked by
:func:`imbalance_lab.splits.resolve`. Either way the error is one
:class:`SpecError` line naming the field, raised before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from imbalance_lab.data import SOURCES
from imbalance_lab.decisions import DECISION_RULES
from imbalance_lab.errors import SpecError
from imbalance_lab.models import MODELS
from imbalance_lab.models.base import task_defaults
from imbalance_lab.registry import format_validation_error
from imbalance_lab.strategies import STRATEGIES
from imbalance_lab.vocabulary import (
    higher_is_better,
    metric_range,
    recorded,
    selectable,
)

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)]
Count = Annotated[int, Field(ge=0, strict=True)]
REQUIRED_SETS = ("pool", "val", "test")


class _Strict(BaseModel):
    """Frozen, and an unknown key is an error that lists the valid keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = [name for name, info in cls.model_fields.items() if not info.exclude]  # excluded: derived,
            for key in data:  # by a validator that has run already (and refused the key if given)
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key!r}; valid keys: {valid}",
                        {"key": key, "valid": ", ".join(valid)},
                    )
        return data


def _named_params(value: Any, what: str, name_key: str = "type") -> Any:
    """Accept ``"name"`` or ``{type: name, **params}``; return ``{"name":..., "params":...}``."""
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if isinstance(value, dict) and "name" in value and "params" in value and len(value) == 2:
        return value  # already normalised (a dumped spec)
    if isinstance(value, dict) and isinstance(value.get(name_key), str):
        params = {k: v for k, v in value.items() if k != name_key}
        return {"name": value[name_key], "params": params}
    raise ValueError(f"expected a {what} name or a mapping with '{name_key}: <name>' and its parameters")


def _steps(items: list[Any] | tuple[Any, ...], what: str) -> list[Any]:
    """A list of registered steps, each ``name``, ``{name: params}`` or ``{name: ..., params: ...}``."""
    steps = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1 and not {"name", "params"} & set(item):
            (name, params), = item.items()
            steps.append({"name": name, "params": params or {}})
        else:
            steps.append(_named_params(item, what, name_key="name"))
    return steps


MODEL_SETTINGS = ("pretrained", "freeze", "weights_sha256")  # a model's keys that are not its factory's parameters


def _model_entry(value: Any) -> Any:
    """A spec's ``model``: as :func:`_named_params` (name key ``name``), with ``pretrained`` and ``freeze``
    kept beside the name rather than among the parameters."""
    if not isinstance(value, dict):
        return _named_params(value, "model", name_key="name")
    settings = {k: value[k] for k in MODEL_SETTINGS if k in value}
    rest = {k: v for k, v in value.items() if k not in MODEL_SETTINGS}
    return {**_named_params(rest, "model", name_key="name"), **settings}


class Component(_Strict):
    """A registered thing by name, with its parameters."""

    name: str
    params: dict[str, Any] = {}


class SourceSpec(Component):
    pass


class StrategyStep(Component):
    pass


class CountsPlan(RootModel[dict[Name, Count]]):
    """Explicit per-class counts: ``{cat: 400, dog: 40}``."""


class FractionPlan(_Strict):
    """The same fraction of every class's images: ``{fraction: 0.2}`` (rounded down)."""

    fraction: Annotated[float, Field(gt=0, le=1)]


class RatioPlan(_Strict):
    """Two classes: ``{majority: 1000, ratio: 10}`` gives the majority 1000, the positive 100."""

    majority: Annotated[int, Field(ge=1)]
    ratio: Annotated[float, Field(ge=1)]


class ProfilePlan(_Strict):
    """A long-tail profile over the classes in declared order (the first is the largest).

    ``exponential``: ``n_i = floor(n_max · ratio^(−i/(C−1)))`` (Cao et al. 2019,
    arXiv:1906.07413). ``step``: the last ``round(mu · C)`` classes have
    ``floor(n_max / ratio)``, the others ``n_max`` (Buda et al. 2018, arXiv:1710.05381).
    """

    profile: Literal["exponential", "step"]
    n_max: Annotated[int, Field(ge=1)]
    ratio: Annotated[float, Field(ge=1)]
    mu: Annotated[float, Field(gt=0, lt=1)] = 0.5


class BalancedPlan(_Strict):
    """The same count for every class: ``{balanced: 40}``."""

    balanced: Count


class RepresentativePlan(_Strict):
    """``{representative: 440}``: 440 images in the world's class proportions (``data.world``)."""

    representative: Count


PLAN_KEYS = {"fraction": "fraction", "profile": "profile", "balanced": "balanced", "representative": "representative"}
RESERVED_CLASS_NAMES = tuple(PLAN_KEYS)  # a mapping with one of these keys is read as that plan
PLAN_HELP = (
    "expected per-class counts such as {cat: 400, dog: 40}, or one of {fraction: 0.2}, {majority: 1000, ratio: 10}, "
    "{profile: exponential, n_max: 5000, ratio: 100}, {balanced: 40}, {representative: 440}"
)


def _plan_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel | RootModel):
        return "plan-" + {CountsPlan: "counts", FractionPlan: "fraction", RatioPlan: "ratio", ProfilePlan: "profile",
                          BalancedPlan: "balanced", RepresentativePlan: "representative"}[type(value)]
    if not isinstance(value, dict):
        return None
    for key, kind in PLAN_KEYS.items():
        if key in value:
            return f"plan-{kind}"
    if "majority" in value and "ratio" in value:  # so classes may still be named majority/minority
        return "plan-ratio"
    return "plan-counts"


SetPlan = Annotated[
    Annotated[CountsPlan, Tag("plan-counts")]
    | Annotated[FractionPlan, Tag("plan-fraction")]
    | Annotated[RatioPlan, Tag("plan-ratio")]
    | Annotated[ProfilePlan, Tag("plan-profile")]
    | Annotated[BalancedPlan, Tag("plan-balanced")]
    | Annotated[RepresentativePlan, Tag("plan-representative")],
    Discriminator(_plan_kind, custom_error_type="set_plan", custom_error_message=PLAN_HELP),
]
ClassRef = StrictInt | str | list[StrictInt | str]


class DataSpec(_Strict):
    """Where the images come from, which classes, and how they are split.

    ``classes`` maps each experiment class to a source class (label or name), a
    group of them (``[0, 1, 3]``), or ``rest`` (every source class not named
    elsewhere: one-vs-rest); ``all`` or a list takes source classes as they are.
    ``partitions`` (for sources with published splits, e.g. CIFAR with
    ``split: all``) names the partition each set is cut from, e.g.
    ``{pool: train, val: test, test: test}``; every set must then be named.
    """

    source: SourceSpec
    classes: dict[Name, ClassRef] | Literal["all"] | list[StrictInt | str]
    positive: str | None = None
    world: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    splits: dict[Name, SetPlan]
    partitions: dict[Name, str] | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return _named_params(value, "data source")

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, dict | list) and len(value) < 2:
            raise ValueError("name at least two classes, e.g. {cat: 2, dog: 4}, or use 'all'")
        if isinstance(value, dict):
            reserved = [n for n in value if n in RESERVED_CLASS_NAMES]
            if reserved:
                raise ValueError(f"the class name {reserved[0]!r} is reserved for split plans "
                                 f"({', '.join(RESERVED_CLASS_NAMES)}); rename the class")
        return value

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, Any]) -> dict[str, Any]:
        missing = [s for s in REQUIRED_SETS if s not in value]
        if missing:
            raise ValueError(f"missing split {missing[0]!r}; give a plan for each of {', '.join(REQUIRED_SETS)}")
        return value

    @property
    def eval_sets(self) -> tuple[str, ...]:
        """Evaluation sets in split order: val, test, then any others as declared."""
        return ("val", "test") + tuple(s for s in self.splits if s not in REQUIRED_SETS)


FactorValue = StrictInt | float | str


class ArmSpec(_Strict):
    """One arm: a training set and its strategies.

    ``factors`` are the values of the grid factors this arm was expanded from
    (``{ratio: 10, strategy: la}``); the report plots metrics against them.
    """

    name: Name
    train: SetPlan
    strategy: tuple[StrategyStep, ...] = (StrategyStep(name="none"),)
    factors: dict[Name, FactorValue] | None = None
    origin: str | None = Field(default=None, exclude=True)  # a grid arm's entry in the user's file, for messages

    def where(self, index: int) -> str:
        """Where this arm is in the user's file, for messages: ``arms[2]``, or for an arm a grid expanded to,
        the grid's entry with this arm's factors."""
        return self.origin or f"arms[{index}]"

    def __eq__(self, other: object) -> bool:  # the same arm wherever it was written (origin is for messages)
        if not isinstance(other, ArmSpec):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(json.dumps(self.model_dump(mode="json"), sort_keys=True))

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ValueError("give at least one strategy, e.g. none")
        return _steps(items, "strategy")


class ModelSpec(Component):
    """The network: a registered model by ``name`` with its ``params``; ``pretrained``: ``false`` (trained
    from its initialisation), ``true`` (the architecture's published weights, for models that have them)
    or the path of a weights file (a state dict saved by ``torch.save``, or ``.safetensors``; a relative
    path is read from the current directory, like every path in a spec), loaded into the backbone;
    ``freeze``: ``none``, ``backbone`` (only the new head trains) or the number of the backbone's first
    stages (the stem counting as one) that do not train.

    ``weights_sha256``: the weights file's SHA-256, read from the file when the spec is read (other
    weights, other runs: it is hashed). A results directory's ``spec.yaml`` records it, so its runs stay
    readable when the file moves or changes; given in a spec to train with, the file must match it.
    """

    name: str = "simple_cnn"
    pretrained: bool | str = False
    freeze: Literal["none", "backbone"] | Annotated[int, Field(ge=0)] = "none"
    weights_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @field_validator("pretrained")
    @classmethod
    def _weights_file(cls, value: bool | str, info: ValidationInfo) -> bool | str:
        if isinstance(value, str):
            if value.lower() in ("true", "false", "yes", "no"):
                raise ValueError(f"write pretrained: {value.lower() in ('true', 'yes')} without quotes "
                                 f"(a quoted {value!r} would be a file name)")
            if not Path(value).expanduser().is_file() and not _stored(info):
                raise ValueError(f"no weights file at {value!r}{_relative_to_cwd(value)}; give the path of a state "
                                 f"dict saved with torch.save or a .safetensors file, true for the published "
                                 f"weights, or false")
        return value

    @model_validator(mode="before")
    @classmethod
    def _digest_weights(cls, data: Any, info: ValidationInfo) -> Any:
        """The weights file's SHA-256, read once when the spec is read (every run hash needs it). In a
        results directory's spec the recorded digest stands, whatever the file is now."""
        if not isinstance(data, dict):
            return data
        path, given = data.get("pretrained"), data.get("weights_sha256")
        if not isinstance(path, str):
            if given is not None:
                raise SpecError("model.weights_sha256", "is the digest of a weights file; give it only with "
                                                        "pretrained: <path>, or leave it out")
            return data
        if given is not None and _stored(info):
            return data
        actual = weights_file_digest(path)
        if actual is not None and given is not None and given != actual:
            raise SpecError("model.weights_sha256", f"the weights file {path} has SHA-256 {actual[:12]}…, not "
                                                    f"{str(given)[:12]}… as given: it is another file or it "
                                                    f"changed; leave weights_sha256 out to train with the file "
                                                    f"as it is now")
        return {**data, "weights_sha256": actual} if actual is not None else data

    def weights_digest(self) -> str | None:
        """SHA-256 of the weights file when ``pretrained`` is a path (hashed with the spec: other weights,
        other runs), else None; read when the spec was read."""
        return self.weights_sha256

    def weights_file_status(self) -> str | None:
        """What is wrong with the weights file now, against the digest the spec recorded (``None``: as recorded,
        or no file at all): it is missing, or it has changed."""
        if not isinstance(self.pretrained, str) or self.weights_sha256 is None:
            return None
        actual = weights_file_digest(self.pretrained)
        if actual is None:
            return (f"the weights file {self.pretrained}{_relative_to_cwd(self.pretrained)} is missing (moved or "
                    f"deleted); the runs were made with SHA-256 {self.weights_sha256[:12]}…")
        if actual != self.weights_sha256:
            return (f"the weights file {self.pretrained} has changed (SHA-256 {actual[:12]}…, the runs were made "
                    f"with {self.weights_sha256[:12]}…)")
        return None


def weights_file_digest(path: str) -> str | None:
    """SHA-256 of the file at ``path`` (``~`` expanded), or ``None`` where there is no file."""
    file = Path(path).expanduser()
    if not file.is_file():
        return None
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stored(info: ValidationInfo) -> bool:
    """Whether the spec being read is a results directory's record of its runs (:data:`STORED`)."""
    return bool(info.context and info.context.get(STORED))


def _relative_to_cwd(path: str) -> str:
    """Where a relative path was looked for, as a message fragment."""
    return "" if Path(path).expanduser().is_absolute() else f" (relative paths are read from the current directory, {Path.cwd()})"


STORED = "stored"  # validation context: the spec read back from a results directory


class ScheduleSpec(_Strict):
    """How the learning rate changes over the epochs; it is set at the start of each epoch.

    ``constant``; ``step``: multiplied by ``gamma`` after each epoch in
    ``milestones`` (the LDAM-DRW recipe: ``milestones: [160, 180], gamma: 0.01``
    of 200 epochs, Cao et al. 2019); ``cosine``: from ``lr`` down to ``min_lr``
    (Loshchilov and Hutter 2017). ``warmup_epochs`` first rise linearly to
    ``lr`` (epoch ``e`` of the warm-up trains at ``lr · e / warmup_epochs``).
    """

    type: Literal["constant", "step", "cosine"] = "constant"
    milestones: tuple[Annotated[int, Field(ge=1)], ...] = ()
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1
    warmup_epochs: Annotated[int, Field(ge=0)] = 0
    min_lr: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _word(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _milestones(self) -> ScheduleSpec:
        if self.type == "step" and not self.milestones:
            raise ValueError("a step schedule needs milestones, the epochs after which the lr is multiplied by gamma, "
                             "e.g. {type: step, milestones: [160, 180], gamma: 0.01}")
        if self.type != "step" and self.milestones:
            raise ValueError(f"milestones are for a step schedule, not {self.type!r}; remove them or use type: step")
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ValueError(f"milestones must increase, got {list(self.milestones)}")
        return self

    def lr_at(self, epoch: int, epochs: int, lr: float) -> float:
        """The learning rate of ``epoch`` (from 1) of ``epochs``."""
        if epoch <= self.warmup_epochs:
            return lr * epoch / self.warmup_epochs
        if self.type == "step":
            return lr * self.gamma ** sum(epoch > m for m in self.milestones)
        if self.type == "cosine":
            span = max(epochs - self.warmup_epochs, 1)
            progress = (epoch - 1 - self.warmup_epochs) / span
            return self.min_lr + (lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2
        return lr


class SelectSpec(_Strict):
    """Which epoch's weights a run keeps and scores on test: the best by a metric of a validation set.

    ``metric``: any per-epoch validation metric (``loss``, the log loss;
    ``balanced_loss``, the mean of the classes' mean log losses; ``balanced_accuracy``,
    ``f1``, ``pr_auc``, ...); ``mode``: ``max``, ``min``, or ``auto`` (min for losses,
    Brier score and ECE, max otherwise); ``set``: the evaluation set that chooses
    (default ``val``). Ties keep the earlier epoch.
    """

    metric: str = "loss"
    mode: Literal["auto", "max", "min"] = "auto"
    set: str = "val"

    @property
    def maximise(self) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        return higher_is_better(self.metric)


class EarlyStoppingSpec(SelectSpec):
    """Stop training when the monitored metric has not improved by more than ``min_delta`` for ``patience``
    epochs. ``metric``, ``mode`` and ``set`` default to the selection rule's (or ``val`` ``loss``)."""

    patience: Annotated[int, Field(ge=1, le=100_000)] = 5
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    metric: str | None = None  # type: ignore[assignment]
    set: str | None = None  # type: ignore[assignment]


class TrainingSpec(_Strict):
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 10
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 32
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    eval_batch_size: Annotated[int, Field(ge=1)] = 1024
    schedule: ScheduleSpec = ScheduleSpec()
    select: Literal["last"] | SelectSpec = "last"
    early_stopping: EarlyStoppingSpec | None = None

    @property
    def rules(self) -> dict[str, SelectSpec]:
        """The rules in force, by their key: ``select`` (unless ``last``) and ``early_stopping`` (its defaults
        filled in); empty when a run trains every epoch and keeps the last."""
        rules = {"select": self.select, "early_stopping": self.stopping}
        return {key: rule for key, rule in rules.items() if isinstance(rule, SelectSpec)}

    @property
    def stopping(self) -> SelectSpec | None:
        """The early-stopping rule with its defaults filled in (the selection rule's metric, mode and set)."""
        if self.early_stopping is None:
            return None
        base = self.select if isinstance(self.select, SelectSpec) else SelectSpec()
        stop = self.early_stopping
        return EarlyStoppingSpec(patience=stop.patience, min_delta=stop.min_delta, metric=stop.metric or base.metric,
                                 set=stop.set or base.set, mode=stop.mode if stop.metric else base.mode)

    @model_validator(mode="after")
    def _schedule_fits(self) -> TrainingSpec:
        late = [m for m in self.schedule.milestones if m >= self.epochs]
        if late:
            raise ValueError(f"schedule milestone {late[0]} is not before the last epoch ({self.epochs}); "
                             "give milestones below training.epochs")
        if self.schedule.warmup_epochs >= self.epochs:
            raise ValueError(f"schedule warmup_epochs {self.schedule.warmup_epochs} leaves no epoch after the warm-up "
                             f"of {self.epochs}; lower it")
        return self


class StudyRule(SelectSpec):
    """One checkpoint-selection rule of the selection study: the epoch it keeps is the best by ``metric``
    of ``set`` (as ``training.select``); ``name`` labels it in the report (default ``"<set> <metric>"``)."""

    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.set} {self.metric}"


class SelectionStudySpec(_Strict):
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
            raise ValueError(f"reference {self.reference!r} is not one of the rules ({', '.join(labels)}); "
                             "name one of them")
        return self

    @property
    def reference_label(self) -> str:
        return self.reference or self.labels[0]


class CostSpec(_Strict):
    """What a wrong decision costs in a binary problem: a missed positive and a false alarm."""

    false_negative: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    false_positive: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0


class DecisionsSpec(_Strict):
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
        return _steps(value if isinstance(value, list | tuple) else [value], "decision rule")

    @model_validator(mode="after")
    def _something_to_decide(self) -> DecisionsSpec:
        if not self.rules and self.costs is None:
            raise ValueError("give rules (e.g. [{threshold: {by: max_f1}}, temperature]) or costs "
                             "(e.g. {false_negative: 10, false_positive: 1}), or leave decisions out")
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
            raise SpecError("decisions.costs", f"got a {shape} cost matrix for {n} classes; expected {n}×{n}, rows "
                                               f"the true class and columns the decision, in the order "
                                               f"{', '.join(names)}")
        if self.deployment_prior is not None:
            unknown = [c for c in self.deployment_prior if c not in names]
            missing = [c for c in names if c not in self.deployment_prior]
            if unknown or missing:
                what = f"{unknown[0]!r} is not a class" if unknown else f"class {missing[0]!r} has no frequency"
                raise SpecError("decisions.deployment_prior", f"{what}; give a frequency for each of "
                                                              f"{', '.join(names)}, e.g. "
                                                              f"{{{names[0]}: 10, {names[1]}: 1}}")

    @staticmethod
    def label(step: StrategyStep) -> str:
        """A rule's name in derived arms: ``threshold(max_f1)``, ``logit_adjust(tau=1)``, ``temperature``."""
        params = dict(step.params)
        parts = [str(params.pop("by"))] if "by" in params else []
        parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
        return f"{step.name}({', '.join(parts)})" if parts else step.name


class AdaptiveSeeds(_Strict):
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


class TrackingSpec(_Strict):
    """Where runs are logged besides the results directory (never part of any hash)."""

    mlflow: bool = True
    mlflow_uri: str | None = None  # default: a SQLite store in the results directory


class ExecutionSpec(_Strict):
    """Where and how the runs execute (never part of any hash; the command line overrides it).

    ``executor``: ``auto`` picks the fastest layout measured for the machine and
    says what it chose (on CPU, one single-thread worker process per core);
    ``local`` runs in this process; ``process`` in ``workers`` processes of
    ``threads`` torch threads each; ``ray`` as tasks on a Ray cluster of
    ``threads`` CPUs each (and one GPU when training on CUDA): a local cluster
    started for the experiment with one CPU per core, or the running cluster at
    ``address`` (its head's ``host:port``, or ``ray://host:port`` for Ray
    Client). An ``address`` implies ``ray`` (with ``auto``); with ``local`` or
    ``process`` it is an error. ``auto`` never picks ``ray``. A failed run is
    tried ``max_retries`` more times while the others go on.

    ``memory_format``: how convolution activations are laid out. ``auto`` is
    channels-last on CPU (the seed CNN trains 1.3× and predicts 2× faster there:
    max pooling is much quicker on it; docs/benchmarks.md) and on a GPU under
    bf16/fp16 (tensor cores want it), contiguous for fp32 on a GPU. ``compile``
    runs the model's backbone through ``torch.compile`` (worth it for long runs
    of larger models on a GPU; the first epoch pays for compilation). Neither
    changes what is computed, only the order of floating-point sums, so results
    can differ in the last bits between settings (recorded in each run's
    provenance); with the same settings and threads they are bit for bit the same.
    ``share_prefixes``: runs of one seed that train alike up to an epoch (an
    arm and the same arm with DRW, DRS, cRT or τ-normalisation added) train
    those epochs once and branch from a snapshot, with the same results.
    ``save_weights``: each run also stores its final weights (``model.pt``, a
    state dict), e.g. to serve as another experiment's ``model.pretrained``; runs
    finished before it was set keep none. ``feature_cache``: with a frozen
    backbone and no augmentation, each image's features are computed once and
    cached on disk (:mod:`imbalance_lab.features`), and only the head trains.
    """

    executor: Literal["auto", "local", "process", "ray"] = "auto"
    workers: Annotated[int, Field(ge=1, le=1024)] | None = None
    threads: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=100)] = 0
    address: Annotated[str, Field(min_length=1)] | None = None
    memory_format: Literal["auto", "channels_last", "contiguous"] = "auto"
    compile: bool = False
    share_prefixes: bool = True
    save_weights: bool = False
    feature_cache: bool = True

    @model_validator(mode="before")
    @classmethod
    def _address_means_ray(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("address") is not None and data.get("executor", "auto") == "auto":
            return {**data, "executor": "ray"}
        return data

    @model_validator(mode="after")
    def _address_only_for_ray(self) -> ExecutionSpec:
        if self.address is not None and self.executor != "ray":
            raise ValueError(f"address {self.address!r} is for the ray executor, not {self.executor!r}; "
                             "use executor ray (--executor ray) or leave the address out")
        return self


class ExperimentSpec(_Strict):
    """Everything an experiment depends on (see ``examples/cats_vs_dogs.yaml``)."""

    name: Name
    data: DataSpec
    arms: Annotated[tuple[ArmSpec, ...], Field(min_length=1)]
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    seeds: tuple[Annotated[int, Field(ge=0)], ...] = (0, 1, 2)
    adaptive: AdaptiveSeeds | None = Field(default=None, exclude=True)  # from seeds: {min, max, ...}
    output: str | None = None
    tracking: TrackingSpec = TrackingSpec()
    execution: ExecutionSpec = ExecutionSpec()
    selection: SelectionStudySpec | None = None
    decisions: DecisionsSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_task_defaults(cls, data: Any) -> Any:
        """Fill in the model's task-dependent defaults (see :func:`imbalance_lab.models.base.task_defaults`)."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            return data
        try:
            model = _model_entry(data.get("model", "simple_cnn"))
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
        arms = []
        for i, item in enumerate(value):
            arms += expand_grid(item, i) if isinstance(item, dict) and "grid" in item else [item]
        return arms

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return _model_entry(value)

    @model_validator(mode="before")
    @classmethod
    def _adaptive_seeds(cls, data: Any) -> Any:
        """``seeds: {min, max, ...}`` is adaptive: the seeds are 0 .. max-1, run as the rounds need them."""
        if isinstance(data, dict):
            if "adaptive" in data:  # derived from seeds, never given
                valid = [name for name, info in cls.model_fields.items() if not info.exclude]
                raise SpecError("adaptive", f"unknown key; adaptive seeds are written in seeds, e.g. seeds: "
                                            f"{{min: 3, max: 30, metric: balanced_accuracy}}; valid keys here: "
                                            f"{', '.join(valid)}")
            if isinstance(data.get("seeds"), dict):
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
    def _check_consistency(self) -> ExperimentSpec:
        """Registered names and their parameters, unique arm names (class-dependent checks
        need the source's classes: :func:`imbalance_lab.splits.resolve`)."""
        SOURCES.check_params(self.data.source.name, self.data.source.params, "data.source")
        seen: set[str] = set()
        for i, arm in enumerate(self.arms):
            if arm.name in seen:
                raise SpecError(f"{arm.where(i)}.name", f"arm name {arm.name!r} is used twice; give each arm its "
                                                        f"own name")
            seen.add(arm.name)
            for j, step in enumerate(arm.strategy):
                STRATEGIES.entry(step.name, f"{arm.where(i)}.strategy[{j}]")
                STRATEGIES.check_params(step.name, step.params, f"{arm.where(i)}.strategy[{j}].{step.name}")
        MODELS.check_params(self.model.name, self.model.params, "model")
        self._check_selection()
        self._check_decisions()
        self._check_adaptive()
        factory = MODELS.entry(self.model.name, "model.name").factory
        if self.model.pretrained is True and not getattr(factory, "published_weights", False):
            with_weights = [n for n in MODELS.names() if getattr(MODELS.entry(n).factory, "published_weights", False)]
            raise SpecError("model.pretrained", f"got true, but {self.model.name} has no published weights; give the "
                                                f"path of a weights file, or use one of {', '.join(with_weights)}")
        return self

    def _check_decisions(self) -> None:
        decisions = self.decisions
        if decisions is None:
            return
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
                raise SpecError(where, "a threshold rule moves the positive class's threshold; it needs "
                                       "data.positive (two classes); use logit_adjust or prior_correction here")
            if step.params.get("by") == "min_cost" and not isinstance(decisions.costs, CostSpec):
                raise SpecError(where, "threshold by min_cost needs decisions.costs: {false_negative: ..., "
                                       "false_positive: ...}")
        labels = [decisions.label(step) for step in decisions.effective_rules]
        twice = next((label for label in labels if labels.count(label) > 1), None)
        if twice is not None:
            raise SpecError("decisions.rules", f"rule {twice} is listed twice; give each rule once")
        arm_names = [arm.name for arm in self.arms]
        for i, name in enumerate(decisions.arms or ()):
            if name not in arm_names:
                raise SpecError(f"decisions.arms[{i}]", f"got {name!r}, which is not an arm; valid: "
                                                        f"{', '.join(arm_names)}")
        if isinstance(decisions.costs, CostSpec) and not binary:
            raise SpecError("decisions.costs", "false_negative/false_positive costs are for a binary problem "
                                               "(data.positive); give a cost matrix, rows the true class and "
                                               "columns the decision")
        if isinstance(self.data.classes, dict):  # else the source names the classes: splits.resolve checks
            decisions.check_classes(tuple(self.data.classes))

    def _check_adaptive(self) -> None:
        adaptive = self.adaptive
        if adaptive is None:
            return
        bounded = [m for m in recorded(self.data.positive is not None) if metric_range(m) == (0.0, 1.0)]
        if adaptive.metric not in bounded:
            raise SpecError("seeds.metric", f"got {adaptive.metric!r}; the sequential test needs a metric bounded "
                                            f"in [0, 1]; valid: {', '.join(bounded)}")
        if adaptive.set not in self.data.eval_sets:
            raise SpecError("seeds.set", f"got {adaptive.set!r}, which is not an evaluation set of data.splits; "
                                         f"valid: {', '.join(self.data.eval_sets)}")
        if len(self.arms) < 2:
            raise SpecError("seeds", "adaptive seeds compare arms with a reference arm; give at least two arms, "
                                     "or a number of seeds")

    def decision_arms(self) -> dict[str, tuple[str, StrategyStep]]:
        """The derived arms of ``decisions``: ``"<arm>+<rule>"`` -> (base arm, rule), in arm then rule order."""
        if self.decisions is None:
            return {}
        chosen = self.decisions.arms
        return {f"{arm.name}+{self.decisions.label(step)}": (arm.name, step)
                for arm in self.arms if chosen is None or arm.name in chosen
                for step in self.decisions.effective_rules}

    def _check_selection(self) -> None:
        valid = list(selectable(self.data.positive is not None))
        rules = {f"training.{key}": rule for key, rule in self.training.rules.items()}
        if self.selection is not None:
            rules |= {f"selection.rules[{i}]": rule for i, rule in enumerate(self.selection.rules) if rule != "last"}
        for where, rule in rules.items():
            if rule.metric not in valid:
                raise SpecError(f"{where}.metric", f"got {rule.metric!r}; valid: {', '.join(valid)}"
                                + ("" if self.data.positive else " (precision, recall, f1, ... need data.positive)"))
            if rule.set not in self.data.eval_sets:
                raise SpecError(f"{where}.set", f"got {rule.set!r}, which is not an evaluation set of "
                                                f"data.splits; valid: {', '.join(self.data.eval_sets)}")
        if self.selection is not None:
            if self.selection.judge not in self.data.eval_sets:
                raise SpecError("selection.judge", f"got {self.selection.judge!r}, which is not an evaluation set "
                                                   f"of data.splits; valid: {', '.join(self.data.eval_sets)}")
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
        for key, default in (("pretrained", False), ("freeze", "none"), ("weights_sha256", None)):
            if canon["model"][key] == default:
                del canon["model"][key]
        for key in ("selection", "decisions"):
            if canon[key] is None:
                del canon[key]
        if self.adaptive is not None:  # written back as given: seeds {min, max, ...}
            canon["seeds"] = self.adaptive.model_dump(mode="json")
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
        return canon

    def spec_hash(self) -> str:
        """Hash of everything results depend on (output directory, tracking, execution and device excluded)."""
        body = {k: v for k, v in self._hashed().items() if k not in ("output", "tracking", "execution")}
        return _hash(body)

    def run_definition(self, arm: ArmSpec, seed: int) -> dict[str, Any]:
        """What one (arm, seed) run depends on, as hashed (data, model, training, the arm and the seed);
        each run records it, so a results directory can say what differs when a spec no longer matches."""
        canon = self._hashed()
        arm_canon = next(a for a in canon["arms"] if a["name"] == arm.name)
        return {"data": canon["data"], "model": canon["model"], "training": canon["training"],
                "arm": arm_canon, "seed": seed}

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
GRID_KEYS = ("name", "grid", "train", "strategy")


def expand_grid(item: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """One ``arms`` entry with a ``grid`` as the arms of every combination of its factors.

    ``grid`` maps each factor to a list of values (``ratio: [1, 10, 100]``; the
    arm name gets ``ratio10``) or to a mapping of label to value (``strategy: {ce:
    none, la: logit_adjusted}``; the name gets ``la``). Every string ``$factor``
    in ``train`` and ``strategy``, and in other factors' values (``la:
    {logit_adjusted: {tau: $tau}}``), is replaced by the factor's value. The arms
    are named ``<name>-<part>-<part>`` in the grid's order.
    """
    where = f"arms[{index}]"
    unknown = [k for k in item if k not in GRID_KEYS]
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}", f"unknown key in a grid arm; valid keys here: {', '.join(GRID_KEYS)}")
    if "name" not in item or "train" not in item:
        raise SpecError(where, "a grid arm needs a name (the prefix of its arms' names), a grid and a train plan")
    grid = item["grid"]
    if not isinstance(grid, dict) or not grid:
        raise SpecError(f"{where}.grid", f"got {grid!r}: expected a mapping of factor to values, e.g. {{ratio: [1, 10, 100]}}")
    axes = []
    for factor, values in grid.items():
        field = f"{where}.grid.{factor}"
        if isinstance(values, dict) and values:
            axes.append([(str(label), label, v) for label, v in values.items()])
        elif isinstance(values, list) and values:
            if not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in values):
                raise SpecError(field, f"got {values!r}: list numbers or words here; for strategies or plans give a "
                                "mapping of label to value, e.g. {ce: none, la: logit_adjusted}")
            axes.append([(f"{factor}{v}", v, v) for v in values])
        else:
            raise SpecError(field, f"got {values!r}: expected a non-empty list of values or a mapping of label to value")
        if len({label for label, _, _ in axes[-1]}) != len(axes[-1]):
            raise SpecError(field, "a value is listed twice; list each value once")
    template = {k: item[k] for k in ("train", "strategy") if k in item}
    used = _placeholders(template) | _placeholders([v for axis in axes for _, _, v in axis])
    unused = [f for f in grid if f"${f}" not in used]
    unknown_refs = sorted(p for p in used if p[1:] not in grid)
    if unknown_refs:
        raise SpecError(where, f"{unknown_refs[0]} is not a factor of this grid; the factors are: {', '.join(grid)}")
    if unused:
        raise SpecError(f"{where}.grid.{unused[0]}", f"the factor is not used; write ${unused[0]} where its value goes "
                        "in train or strategy")
    arms = []
    for combo in itertools.product(*axes):
        values = {factor: value for factor, (_, _, value) in zip(grid, combo, strict=True)}
        arm = _substitute(_substitute(copy.deepcopy(template), values), values)  # values may name other factors
        arm["name"] = "-".join([str(item["name"]), *(part for part, _, _ in combo)])
        arm["factors"] = {factor: key for factor, (_, key, _) in zip(grid, combo, strict=True)}
        arm["origin"] = (f"{where} (grid arm {arm['name']}: "
                         f"{', '.join(f'{factor}={key}' for factor, key in arm['factors'].items())})")
        try:  # here, where the message can name the grid and the factors, not the arm's place after expansion
            ArmSpec.model_validate(arm)
        except pydantic.ValidationError as err:
            raise format_validation_error(err, arm["origin"]) from None
        arms.append(arm)
    return arms


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if value.startswith("$") else set()
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value))
    return set()


def _substitute(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:] in values:
        return copy.deepcopy(values[value[1:]])
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value


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
                study = ("a selection study in the runs (they keep every epoch's predictions), none in the spec"
                         if runs.get(key) else "no selection study in the runs, one in the spec")
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


def build_spec(data: dict[str, Any], *, stored: bool = False) -> ExperimentSpec:
    """Validate a spec given as plain data (as read from YAML). ``stored``: the spec of a results directory,
    a record of how its runs were made (a weights file it names may have moved or changed since)."""
    if not isinstance(data, dict):
        raise SpecError("", f"a spec is a mapping of keys (name, data, arms, ...), got {type(data).__name__}")
    try:
        return ExperimentSpec.model_validate(data, context={STORED: stored})
    except pydantic.ValidationError as err:
        raise format_validation_error(err) from None


def load_spec(path: str | Path, *, stored: bool = False) -> ExperimentSpec:
    """Read and validate a YAML spec file (``stored``: as :func:`build_spec`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError("", f"spec file {str(path)!r} does not exist; give the path of a YAML spec such as examples/cats_vs_dogs.yaml") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SpecError("", f"cannot read spec file {str(path)!r}: {err}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506  (a SafeLoader that refuses repeated keys)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError("", f"{path} is not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    if data is None:
        raise SpecError("", f"spec file {str(path)!r} is empty; write a spec in it (name, data, arms, ...), "
                        "e.g. start from examples/cats_vs_dogs.yaml")
    return build_spec(data, stored=stored)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML says keys are
    unique; PyYAML would silently keep the last value)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class says so
                break
            if repeated:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"the key {key!r} is given twice (the first time above); give each key once", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
