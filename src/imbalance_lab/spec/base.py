"""What every section of the spec is built from: strict frozen models that name unknown keys, names and
counts, registered components by name with their parameters, and the validation context of a stored spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)]


Count = Annotated[int, Field(ge=0, strict=True)]


class Strict(BaseModel):
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


def named_params(value: Any, what: str, name_key: str = "type") -> Any:
    """Accept ``"name"`` or ``{type: name, **params}``; return ``{"name":..., "params":...}``."""
    if isinstance(value, str):
        return {"name": value, "params": {}}
    if isinstance(value, dict) and "name" in value and "params" in value and len(value) == 2:
        return value  # already normalised (a dumped spec)
    if isinstance(value, dict) and isinstance(value.get(name_key), str):
        params = {k: v for k, v in value.items() if k != name_key}
        return {"name": value[name_key], "params": params}
    raise ValueError(f"expected a {what} name or a mapping with '{name_key}: <name>' and its parameters")


def step_list(items: list[Any] | tuple[Any, ...], what: str) -> list[Any]:
    """A list of registered steps, each ``name``, ``{name: params}`` or ``{name: ..., params: ...}``."""
    steps = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1 and not {"name", "params"} & set(item):
            ((name, params),) = item.items()
            steps.append({"name": name, "params": params or {}})
        else:
            steps.append(named_params(item, what, name_key="name"))
    return steps


class Component(Strict):
    """A registered thing by name, with its parameters."""

    name: str
    params: dict[str, Any] = {}


class SourceSpec(Component):
    pass


class StrategyStep(Component):
    pass


def is_stored(info: ValidationInfo) -> bool:
    """Whether the spec being read is a results directory's record of its runs (:data:`STORED`)."""
    return bool(info.context and info.context.get(STORED))


def relative_to_cwd(path: str) -> str:
    """Where a relative path was looked for, as a message fragment."""
    return (
        ""
        if Path(path).expanduser().is_absolute()
        else f" (relative paths are read from the current directory, {Path.cwd()})"
    )


STORED = "stored"  # validation context: the spec read back from a results directory
