"""Grid entries of ``arms``: one entry with factors, expanded to the arms of every combination."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pydantic

from imbalance_lab.errors import SpecError
from imbalance_lab.registry import format_validation_error
from imbalance_lab.spec.arms import ArmSpec

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
        raise SpecError(
            f"{where}.grid", f"got {grid!r}: expected a mapping of factor to values, e.g. {{ratio: [1, 10, 100]}}"
        )
    axes = []
    for factor, values in grid.items():
        field = f"{where}.grid.{factor}"
        if isinstance(values, dict) and values:
            axes.append([(str(label), label, v) for label, v in values.items()])
        elif isinstance(values, list) and values:
            if not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in values):
                raise SpecError(
                    field,
                    f"got {values!r}: list numbers or words here; for strategies or plans give a "
                    "mapping of label to value, e.g. {ce: none, la: logit_adjusted}",
                )
            axes.append([(f"{factor}{v}", v, v) for v in values])
        else:
            raise SpecError(
                field, f"got {values!r}: expected a non-empty list of values or a mapping of label to value"
            )
        if len({label for label, _, _ in axes[-1]}) != len(axes[-1]):
            raise SpecError(field, "a value is listed twice; list each value once")
    template = {k: item[k] for k in ("train", "strategy") if k in item}
    used = _placeholders(template) | _placeholders([v for axis in axes for _, _, v in axis])
    unused = [f for f in grid if f"${f}" not in used]
    unknown_refs = sorted(p for p in used if p[1:] not in grid)
    if unknown_refs:
        raise SpecError(where, f"{unknown_refs[0]} is not a factor of this grid; the factors are: {', '.join(grid)}")
    if unused:
        raise SpecError(
            f"{where}.grid.{unused[0]}",
            f"the factor is not used; write ${unused[0]} where its value goes in train or strategy",
        )
    arms = []
    for combo in itertools.product(*axes):
        values = {factor: value for factor, (_, _, value) in zip(grid, combo, strict=True)}
        arm = _substitute(_substitute(copy.deepcopy(template), values), values)  # values may name other factors
        arm["name"] = "-".join([str(item["name"]), *(part for part, _, _ in combo)])
        arm["factors"] = {factor: key for factor, (_, key, _) in zip(grid, combo, strict=True)}
        arm["origin"] = (
            f"{where} (grid arm {arm['name']}: "
            f"{', '.join(f'{factor}={key}' for factor, key in arm['factors'].items())})"
        )
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
