"""``arms``: one arm, a training set and its strategies (and, for an arm a grid expanded to, its factors)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import (
    Field,
    StrictInt,
    field_validator,
)

from imbalance_lab.spec.base import Name, StrategyStep, Strict, step_list
from imbalance_lab.spec.data import SetPlan

FactorValue = StrictInt | float | str


class ArmSpec(Strict):
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
        return step_list(items, "strategy")
