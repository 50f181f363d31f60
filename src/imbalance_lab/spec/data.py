"""``data``: the source, the experiment's classes, and the split plans (counts, fractions, ratios,
long-tail profiles, balanced and representative sets)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from imbalance_lab.errors import SpecError
from imbalance_lab.spec.base import Count, Name, SourceSpec, Strict, named_params

REQUIRED_SETS = ("pool", "val", "test")


class CountsPlan(RootModel[dict[Name, Count]]):
    """Explicit per-class counts: ``{cat: 400, dog: 40}``."""


class FractionPlan(Strict):
    """The same fraction of every class's images: ``{fraction: 0.2}`` (rounded down)."""

    fraction: Annotated[float, Field(gt=0, le=1)]


class RatioPlan(Strict):
    """Two classes: ``{majority: 1000, ratio: 10}`` gives the majority 1000, the positive 100."""

    majority: Annotated[int, Field(ge=1)]
    ratio: Annotated[float, Field(ge=1)]


class ProfilePlan(Strict):
    """A long-tail profile over the classes in declared order (the first is the largest).

    ``exponential``: ``n_i = floor(n_max · ratio^(−i/(C−1)))`` (Cao et al. 2019,
    arXiv:1906.07413). ``step``: the last ``round(mu · C)`` classes have
    ``floor(n_max / ratio)``, the others ``n_max`` (Buda et al. 2018, arXiv:1710.05381).
    """

    profile: Literal["exponential", "step"]
    n_max: Annotated[int, Field(ge=1)]
    ratio: Annotated[float, Field(ge=1)]
    mu: Annotated[float, Field(gt=0, lt=1)] = 0.5


class BalancedPlan(Strict):
    """The same count for every class: ``{balanced: 40}``."""

    balanced: Count


class RepresentativePlan(Strict):
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
        return (
            "plan-"
            + {
                CountsPlan: "counts",
                FractionPlan: "fraction",
                RatioPlan: "ratio",
                ProfilePlan: "profile",
                BalancedPlan: "balanced",
                RepresentativePlan: "representative",
            }[type(value)]
        )
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


class DataSpec(Strict):
    """Where the images come from, which classes, and how they are split.

    ``classes`` maps each experiment class to a source class (label or name), a
    group of them (``[0, 1, 3]``), or ``rest`` (every source class not named
    elsewhere: one-vs-rest); ``all`` or a list takes source classes as they are.
    ``partitions`` (for sources with published splits, e.g. CIFAR with
    ``split: all``) names the partition each set is cut from, e.g.
    ``{pool: train, val: test, test: test}``; every set must then be named.

    ``resample``: ``none`` (default) cuts every set once, by ``seed``; ``per_seed`` gives each data draw
    (each seed, or each draw of ``seeds: {draws, train}``) its own order of every class's pool, so each
    arm's training images are drawn anew, while the test set and every other evaluation set stay as
    ``seed`` cut them (:func:`imbalance_lab.splits.draw_splits`). ``resample_val: true`` draws the
    validation set anew too, from the images of the validation set and the pool together.
    """

    source: SourceSpec
    classes: dict[Name, ClassRef] | Literal["all"] | list[StrictInt | str]
    positive: str | None = None
    world: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    splits: dict[Name, SetPlan]
    partitions: dict[Name, str] | None = None
    resample: Literal["none", "per_seed"] = "none"
    resample_val: StrictBool = False

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return named_params(value, "data source")

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, dict | list) and len(value) < 2:
            raise ValueError("name at least two classes, e.g. {cat: 2, dog: 4}, or use 'all'")
        if isinstance(value, dict):
            reserved = [n for n in value if n in RESERVED_CLASS_NAMES]
            if reserved:
                raise ValueError(
                    f"the class name {reserved[0]!r} is reserved for split plans "
                    f"({', '.join(RESERVED_CLASS_NAMES)}); rename the class"
                )
        return value

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, Any]) -> dict[str, Any]:
        missing = [s for s in REQUIRED_SETS if s not in value]
        if missing:
            raise ValueError(f"missing split {missing[0]!r}; give a plan for each of {', '.join(REQUIRED_SETS)}")
        return value

    @model_validator(mode="after")
    def _resample_val(self) -> DataSpec:
        if not self.resample_val:
            return self
        if self.resample != "per_seed":
            raise SpecError(
                "data.resample_val",
                "got true, but data.resample is 'none': the validation set is drawn anew only with the "
                "training images; give data.resample: per_seed, or leave resample_val out",
            )
        parts = self.partitions or {}
        if parts.get("val") != parts.get("pool"):
            raise SpecError(
                "data.resample_val",
                f"got true, but val is cut from partition {parts.get('val')!r} and the pool from "
                f"{parts.get('pool')!r}; a draw re-cuts val from the images of val and the pool together, so "
                "they must share a partition: give both the same one, or leave resample_val out",
            )
        return self

    @property
    def eval_sets(self) -> tuple[str, ...]:
        """Evaluation sets in split order: val, test, then any others as declared."""
        return ("val", "test") + tuple(s for s in self.splits if s not in REQUIRED_SETS)
