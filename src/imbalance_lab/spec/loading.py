"""A spec from plain data or a YAML file: one :class:`SpecError` line on any mistake, a repeated key included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import yaml

from imbalance_lab.errors import SpecError
from imbalance_lab.registry import format_validation_error
from imbalance_lab.spec.base import STORED
from imbalance_lab.spec.experiment_spec import ExperimentSpec


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
        raise SpecError(
            "",
            f"spec file {str(path)!r} does not exist; give the path of a YAML spec such as examples/cats_vs_dogs.yaml",
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SpecError("", f"cannot read spec file {str(path)!r}: {err}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506  (a SafeLoader that refuses repeated keys)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError("", f"{path} is not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    if data is None:
        raise SpecError(
            "",
            f"spec file {str(path)!r} is empty; write a spec in it (name, data, arms, ...), "
            "e.g. start from examples/cats_vs_dogs.yaml",
        )
    return build_spec(data, stored=stored)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML says keys are
    unique; PyYAML would silently keep the last value)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class says so
                break
            if repeated:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} is given twice (the first time above); give each key once",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
