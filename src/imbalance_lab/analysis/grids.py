""" "It depends", made visible: metrics against a numeric grid factor, and where the best arm changes.

Arms expanded from a grid (``spec.arms[*].factors``) are read as lines over a
numeric factor: for the factor ``ratio`` the arms ``lt-ratio1-ce``,
``lt-ratio10-ce``, ... form the line ``lt-ce``. Pure functions over an
:class:`~imbalance_lab.analysis.analyse.Analysis`; nothing is recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imbalance_lab.vocabulary import VERDICTS, higher_is_better

if TYPE_CHECKING:
    from imbalance_lab.analysis.analyse import Analysis


@dataclass(frozen=True)
class FactorPoint:
    """One arm on a line: the factor's value and the metric's mean with its 95 % t-interval."""

    arm: str
    x: float
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class FactorEffect:
    """One metric against one numeric factor: a line per combination of the other factors."""

    factor: str
    metric: str
    set_name: str
    lines: dict[str, list[FactorPoint]]
    best: list[tuple[float, str]]  # (factor value, best line there; tied lines joined by " = "), in increasing value
    clear: tuple[float, ...] = ()  # values where the best's 95 % interval overlaps no other line's

    def changes(self) -> list[tuple[str, list[float]]]:
        """Runs of consecutive values with the same best line: ``[(line, [values...]), ...]``."""
        runs: list[tuple[str, list[float]]] = []
        for x, line in self.best:
            if runs and runs[-1][0] == line:
                runs[-1][1].append(x)
            else:
                runs.append((line, [x]))
        return runs

    def sentence(self) -> str:
        """Where the best line changes, in words."""
        runs = self.changes()
        if not runs:
            return f"on {self.metric}, no arm of the grid has a value for {self.factor}."

        def span(values: list[float]) -> str:
            a, b = _number(values[0]), _number(values[-1])
            return f"{self.factor} {a}" if a == b else f"{self.factor} {a}–{b}"

        if len(runs) == 1:
            text = f"on {self.metric} ({self.set_name}), `{runs[0][0]}` is best at every {self.factor} tried"
        else:
            parts = ", ".join(f"`{line}` at {span(values)}" for line, values in runs)
            text = f"on {self.metric} ({self.set_name}), the best changes with {self.factor}: {parts}"
        values = [x for x, _ in self.best]
        if not self.clear:
            return text + "; at no value does its 95 % interval clear the others'."
        if len(self.clear) == len(values):
            return text + "; its 95 % interval clears the others' at every value."
        return (
            text
            + f"; its 95 % interval clears the others' only at {self.factor} {', '.join(map(_number, self.clear))}."
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def numeric_factors(analysis: Analysis) -> list[str]:
    """Grid factors with at least two numeric values among the analysed arms, in spec order."""
    values: dict[str, set[float]] = {}
    for arm in analysis.spec.arms:
        if arm.name not in analysis.arms or not arm.factors:
            continue
        for factor, value in arm.factors.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(factor, set()).add(float(value))
    return [f for f, v in values.items() if len(v) >= 2]


def factor_effect(analysis: Analysis, factor: str, metric: str, set_name: str | None = None) -> FactorEffect:
    """``metric`` against ``factor`` on ``set_name`` (default: the headline set)."""

    set_name = set_name or analysis.headline_set
    table = analysis.sets[set_name].table
    lines: dict[str, list[FactorPoint]] = {}
    for arm in analysis.spec.arms:
        value = (arm.factors or {}).get(factor)
        if arm.name not in table or metric not in table[arm.name] or not isinstance(value, int | float):
            continue
        stat = table[arm.name][metric]
        low, high = (stat.t_ci.low, stat.t_ci.high) if stat.t_ci is not None else (math.nan, math.nan)
        line = "-".join(part for part in arm.name.split("-") if part != f"{factor}{value}")
        lines.setdefault(line, []).append(FactorPoint(arm.name, float(value), stat.mean, low, high))
    for points in lines.values():
        points.sort(key=lambda p: p.x)
    sign = 1 if higher_is_better(metric) else -1
    best, clear = [], []
    for x in sorted({p.x for points in lines.values() for p in points}):
        here = {line: p for line, points in lines.items() for p in points if p.x == x and math.isfinite(p.mean)}
        if not here:
            continue
        top = max(sign * p.mean for p in here.values())
        winners = [line for line, p in here.items() if sign * p.mean == top]
        best.append((x, " = ".join(winners)))
        if (
            len(winners) == 1
            and len(here) > 1
            and _clears(here[winners[0]], [p for line, p in here.items() if line != winners[0]], sign)
        ):
            clear.append(x)
    return FactorEffect(factor, metric, set_name, lines, best, tuple(clear))


def _clears(winner: FactorPoint, others: list[FactorPoint], sign: int) -> bool:
    """Whether the winner's interval lies wholly beyond every other interval (no interval: never)."""
    bounds = [winner.low, winner.high, *(v for p in others for v in (p.low, p.high))]
    if not all(math.isfinite(v) for v in bounds):
        return False
    if sign > 0:
        return all(winner.low > p.high for p in others)
    return all(winner.high < p.low for p in others)


def factor_effects(analysis: Analysis, metrics: list[str] | None = None) -> list[FactorEffect]:
    """Every numeric factor against each of the headline set's verdict metrics (or ``metrics``)."""

    metrics = metrics or list(analysis.sets[analysis.headline_set].metrics[:VERDICTS])
    return [factor_effect(analysis, f, m) for f in numeric_factors(analysis) for m in metrics]
