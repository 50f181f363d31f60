"""Image transforms as a spec names them (no torch): one parameter model per transform, and the check of a
spec's transform mapping.

A spec names transforms in a mapping such as
``{"crop": {"padding": 4}, "flip": {"p": 0.5}}``; :func:`parse_transforms`
validates it against one parameter model per transform (the single source of
truth for each rule and default);
:func:`imbalance_lab.strategies.image_transforms.apply_transforms` runs the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Strict

from imbalance_lab.errors import SpecError

__all__ = [
    "DEFAULT_TRANSFORMS",
    "TRANSFORM_PARAMS",
    "AffineParams",
    "ColorParams",
    "CropParams",
    "FlipParams",
    "TransformError",
    "parse_transforms",
]

DEFAULT_TRANSFORMS: dict[str, dict[str, Any]] = {"crop": {"padding": 2}, "flip": {"p": 0.5}}
"""``augment``'s transforms when a spec names none."""


class TransformError(SpecError, ValueError):
    """An unknown transform or parameter, or a parameter out of range.

    A :class:`~imbalance_lab.errors.SpecError` (so the CLI prints it as one line)
    that is also a :class:`ValueError`, as callers of this module expect.
    """


# ---------------------------------------------------------------------------
# Parameter rules: one model per transform, one rule per parameter.


@dataclass(frozen=True)
class _Rule:
    """A range check that also carries the words used when it fails."""

    expected: str
    holds: Callable[[Any], bool]

    def __call__(self, value: Any) -> Any:
        if not self.holds(value):
            raise ValueError(self.expected)
        return value


def _ruled(expected: str, holds: Callable[[Any], bool]) -> AfterValidator:
    return AfterValidator(_Rule(expected, holds))


# type aliases written out as ``Annotated[...]`` (a type checker reads no alias made by a call)
_StrictFloat = Annotated[float, Strict()]  # a number, not a string or a bool (ints are accepted)
Padding = Annotated[Annotated[int, Strict()], _ruled("a whole number of pixels >= 0", lambda v: v >= 0)]
Probability = Annotated[_StrictFloat, _ruled("a probability in [0, 1]", lambda v: 0 <= v <= 1)]
Degrees = Annotated[_StrictFloat, _ruled("an angle in degrees in [0, 180]", lambda v: 0 <= v <= 180)]
Fraction = Annotated[_StrictFloat, _ruled("a fraction in [0, 1)", lambda v: 0 <= v < 1)]
ScaleRange = Annotated[
    tuple[_StrictFloat, _StrictFloat],
    _ruled("a range [lo, hi] of scale factors with 0 < lo <= hi", lambda v: 0 < v[0] <= v[1] < math.inf),
]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CropParams(_Params):
    """Parameters of :func:`~imbalance_lab.strategies.image_transforms.random_crop`."""

    padding: Padding = 4


class FlipParams(_Params):
    """Parameters of :func:`~imbalance_lab.strategies.image_transforms.horizontal_flip`."""

    p: Probability = 0.5


class AffineParams(_Params):
    """Parameters of :func:`~imbalance_lab.strategies.image_transforms.random_affine`."""

    degrees: Degrees = 10.0
    translate: Fraction = 0.0
    scale: ScaleRange = (1.0, 1.0)


class ColorParams(_Params):
    """Parameters of :func:`~imbalance_lab.strategies.image_transforms.brightness_contrast`."""

    brightness: Fraction = 0.2
    contrast: Fraction = 0.2


TRANSFORM_PARAMS: dict[str, type[_Params]] = {
    "crop": CropParams,
    "flip": FlipParams,
    "affine": AffineParams,
    "color": ColorParams,
}


def _params_model(name: Any) -> type[_Params]:
    """The parameter model of transform ``name``; an unknown name lists the valid ones."""
    model = TRANSFORM_PARAMS.get(name) if isinstance(name, str) else None
    if model is None:
        raise TransformError(str(name), f"unknown transform; valid: {', '.join(TRANSFORM_PARAMS)}")
    return model


def checked_transform(name: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``params`` of transform ``name``; ``None`` keeps the default. Returns all parameters."""
    model = _params_model(name)
    given = {k: v for k, v in params.items() if v is not None}
    try:
        return dict(model(**given))
    except pydantic.ValidationError as err:
        first = err.errors(include_url=False)[0]
        param = str(first["loc"][0])
        field = f"{name}.{param}"
        if first["type"] == "extra_forbidden":
            raise TransformError(field, f"unknown parameter; valid: {', '.join(model.model_fields)}") from None
        rule = next(cast(_Rule, m.func) for m in model.model_fields[param].metadata if isinstance(m, AfterValidator))
        raise TransformError(field, f"got {given[param]!r}, expected {rule.expected}") from None


# ---------------------------------------------------------------------------
# Config.


def parse_transforms(config: Mapping[str, Mapping[str, Any] | None]) -> list[tuple[str, dict[str, Any]]]:
    """Validate a transform mapping from a spec and fill in defaults, keeping its order.

    ``{"crop": {"padding": 4}, "flip": {"p": 0.5}, "affine": {"degrees": 10},
    "color": {"brightness": 0.2}}`` gives ``[("crop", {"padding": 4}), ("flip",
    {"p": 0.5}), ("affine", {"degrees": 10.0, "translate": 0.0, "scale": (1.0,
    1.0)}), ("color", {"brightness": 0.2, "contrast": 0.2})]``. A transform
    with no parameters may be given as ``None`` (YAML ``flip:``); a parameter
    given as ``None`` keeps its default.

    Defaults: ``padding`` 4, ``p`` 0.5, ``degrees`` 10, ``translate`` 0,
    ``scale`` (1, 1), ``brightness`` 0.2, ``contrast`` 0.2.

    Raises
    ------
    TransformError
        (a ``ValueError``) for an unknown transform or parameter, naming it and
        listing the valid ones, or a value out of range, e.g.
        ``flip.p: got 1.5, expected a probability in [0, 1]``.
    """
    if not isinstance(config, Mapping):
        raise TransformError("transforms", f"got {config!r}, expected a mapping of transform name to parameters")
    parsed = []
    for name, params in config.items():
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            _params_model(name)  # an unknown name is the first thing to report
            raise TransformError(name, f"got {params!r}, expected a mapping of parameter name to value")
        parsed.append((name, checked_transform(name, params)))
    return parsed
