"""The experiment spec: one validated object, loaded from YAML or built in Python.

Pydantic checks structure and types; :meth:`ExperimentSpec._check_consistency`
checks what spans fields (class names, counts, registered names) and names the
exact field. Either way the error is one :class:`SpecError` line, raised before
anything runs. What depends on the data itself (does the source have that many
images?) is checked by :func:`imbalance_lab.splits.check_source`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from imbalance_lab.data import SOURCES
from imbalance_lab.errors import SpecError
from imbalance_lab.models import MODELS
from imbalance_lab.registry import format_validation_error
from imbalance_lab.strategies import STRATEGIES

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
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key!r}; valid keys: {valid}",
                        {"key": key, "valid": ", ".join(cls.model_fields)},
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


class Component(_Strict):
    """A registered thing by name, with its parameters."""

    name: str
    params: dict[str, Any] = {}


class SourceSpec(Component):
    pass


class StrategyStep(Component):
    pass


class DataSpec(_Strict):
    source: SourceSpec
    classes: dict[Name, int | str]
    positive: str | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    splits: dict[Name, dict[str, Count]]

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return _named_params(value, "data source")

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: dict[str, int | str]) -> dict[str, int | str]:
        if len(value) < 2:
            raise ValueError("name at least two classes, e.g. {cat: 2, dog: 4}")
        if len(set(value.values())) != len(value):
            raise ValueError("two classes map to the same source class; give each a different one")
        return value

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        missing = [s for s in REQUIRED_SETS if s not in value]
        if missing:
            raise ValueError(f"missing split {missing[0]!r}; give per-class counts for each of {', '.join(REQUIRED_SETS)}")
        return value

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.classes)

    @property
    def eval_sets(self) -> tuple[str, ...]:
        """Evaluation sets in split order: val, test, then any others as declared."""
        return ("val", "test") + tuple(s for s in self.splits if s not in REQUIRED_SETS)


class ArmSpec(_Strict):
    name: Name
    train: dict[str, Count]
    strategy: tuple[StrategyStep, ...] = (StrategyStep(name="none"),)

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ValueError("give at least one strategy, e.g. none")
        steps = []
        for item in items:
            if isinstance(item, dict) and len(item) == 1 and not {"name", "params"} & set(item):
                (name, params), = item.items()
                steps.append({"name": name, "params": params or {}})
            else:
                steps.append(_named_params(item, "strategy", name_key="name"))
        return steps


class ModelSpec(Component):
    name: str = "simple_cnn"


class TrainingSpec(_Strict):
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 10
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 32
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16"] = "fp32"
    eval_batch_size: Annotated[int, Field(ge=1)] = 1024


class ExperimentSpec(_Strict):
    """Everything an experiment depends on (see ``examples/cats_vs_dogs.yaml``)."""

    name: Name
    data: DataSpec
    arms: Annotated[tuple[ArmSpec, ...], Field(min_length=1)]
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    seeds: tuple[Annotated[int, Field(ge=0)], ...] = (0, 1, 2)
    output: str | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: Any) -> Any:
        return _named_params(value, "model", name_key="name")

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
        data = self.data
        names = data.class_names
        valid = ", ".join(names)
        SOURCES.check_params(data.source.name, data.source.params, "data.source")
        if data.positive is not None and data.positive not in names:
            raise SpecError("data.positive", f"got {data.positive!r}, which is not one of the classes ({valid})")
        if len(names) == 2 and data.positive is None:
            raise SpecError("data.positive", f"a two-class experiment must name its positive (minority) class, one of: {valid}")
        for set_name, counts in data.splits.items():
            _check_class_keys(f"data.splits.{set_name}", counts, names)
        pool = data.splits["pool"]
        seen: set[str] = set()
        for i, arm in enumerate(self.arms):
            where = f"arms[{i}]"
            if arm.name in seen:
                raise SpecError(f"{where}.name", f"arm name {arm.name!r} is used twice; give each arm its own name")
            seen.add(arm.name)
            _check_class_keys(f"{where}.train", arm.train, names)
            for c in names:
                if arm.train[c] > pool[c]:
                    raise SpecError(
                        f"{where}.train.{c}",
                        f"got {arm.train[c]}, more than the {pool[c]} images of the pool (data.splits.pool.{c}); lower it or enlarge the pool",
                    )
            if sum(arm.train.values()) == 0:
                raise SpecError(f"{where}.train", "the training set is empty; give at least one image")
            for j, step in enumerate(arm.strategy):
                path = f"{where}.strategy[{j}].{step.name}"
                STRATEGIES.entry(step.name, f"{where}.strategy[{j}]")
                params = STRATEGIES.check_params(step.name, step.params, path)
                try:
                    STRATEGIES.entry(step.name).factory(names, **params)
                except ValueError as err:
                    raise SpecError(path, str(err)) from None
        MODELS.check_params(self.model.name, self.model.params, "model")
        return self

    # ------------------------------------------------------------------ identity
    def canonical(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (what is hashed and stored)."""
        return self.model_dump(mode="json")

    def spec_hash(self) -> str:
        """Hash of everything results depend on (the output directory excluded)."""
        body = {k: v for k, v in self.canonical().items() if k != "output"}
        return _hash(body)

    def run_hash(self, arm: ArmSpec, seed: int) -> str:
        """Hash of what one (arm, seed) run depends on: adding arms or seeds leaves it unchanged."""
        canon = self.canonical()
        body = {"data": canon["data"], "model": canon["model"], "training": canon["training"],
                "arm": arm.model_dump(mode="json"), "seed": seed}
        return _hash(body)

    def arm(self, name: str) -> ArmSpec:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(name)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.canonical(), sort_keys=False)


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _check_class_keys(field: str, counts: dict[str, Any], names: tuple[str, ...]) -> None:
    for key in counts:
        if key not in names:
            raise SpecError(f"{field}.{key}", f"unknown class {key!r}; the classes are: {', '.join(names)}")
    for c in names:
        if c not in counts:
            raise SpecError(f"{field}", f"no count for class {c!r}; give one for each of: {', '.join(names)}")


def build_spec(data: dict[str, Any]) -> ExperimentSpec:
    """Validate a spec given as plain data (as read from YAML)."""
    if not isinstance(data, dict):
        raise SpecError("", f"a spec is a mapping of keys (name, data, arms, ...), got {type(data).__name__}")
    try:
        return ExperimentSpec.model_validate(data)
    except pydantic.ValidationError as err:
        raise format_validation_error(err) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a YAML spec file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError("", f"spec file {str(path)!r} does not exist; give the path of a YAML spec such as examples/cats_vs_dogs.yaml") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SpecError("", f"cannot read spec file {str(path)!r}: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError("", f"{path} is not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    return build_spec(data)
