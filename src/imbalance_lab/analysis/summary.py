"""Aggregate stored runs over seeds: mean and spread of each metric per arm (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imbalance_lab.vocabulary import SUMMARY_BINARY, SUMMARY_MULTICLASS


@dataclass(frozen=True)
class MetricStats:
    """Mean and sample standard deviation (ddof=1; ``nan`` with one seed) over seeds."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> MetricStats:
        arr = np.asarray(values, dtype=np.float64)
        std = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
        return cls(float(arr.mean()), std, int(arr.size))


@dataclass(frozen=True)
class ArmSummary:
    """One arm on one evaluation set."""

    arm: str
    eval_set: str
    seeds: tuple[int, ...]
    stats: dict[str, MetricStats]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Summary:
    """Arms × metrics for every evaluation set, plus what is missing."""

    experiment: str
    positive: str | None
    columns: tuple[str, ...]
    rows: tuple[ArmSummary, ...]
    missing: tuple[tuple[str, int], ...] = ()
    problems: tuple[str, ...] = ()
    groups: dict[str, list[str]] = field(default_factory=dict)  # experiment classes made of several source classes

    def group_lines(self) -> list[str]:
        return [f"class {name} = {', '.join(members)}" for name, members in self.groups.items()]

    def for_set(self, eval_set: str) -> list[ArmSummary]:
        return [r for r in self.rows if r.eval_set == eval_set]

    @property
    def eval_sets(self) -> list[str]:
        return list(dict.fromkeys(r.eval_set for r in self.rows))


def summarize(
    experiment: str,
    arms: Sequence[str],
    eval_sets: Sequence[str],
    results: Sequence[dict[str, Any]],
    positive: str | None,
    missing: Sequence[tuple[str, int]] = (),
    problems: Sequence[str] = (),
) -> Summary:
    """Aggregate ``result.json`` bodies (any order) into a :class:`Summary`."""
    columns = SUMMARY_BINARY if positive is not None else SUMMARY_MULTICLASS
    rows = []
    for eval_set in eval_sets:
        for arm in arms:
            runs = sorted((r for r in results if r["arm"] == arm), key=lambda r: r["seed"])
            if not runs:
                continue
            stats = {c: MetricStats.of([r["metrics"][eval_set][c] for r in runs]) for c in columns}
            notes = _notes(runs, eval_set, positive)
            rows.append(ArmSummary(arm, eval_set, tuple(r["seed"] for r in runs), stats, notes))
    classes = results[0].get("classes", {}) if results else {}
    groups = {name: members for name, members in classes.items() if members != [name]}
    return Summary(experiment, positive, columns, tuple(rows), tuple(missing), tuple(problems), groups)


def _notes(runs: Sequence[dict[str, Any]], eval_set: str, positive: str | None) -> tuple[str, ...]:
    notes = []
    if positive is not None:
        none_predicted = sum(1 for r in runs if r["metrics"][eval_set]["tp"] + r["metrics"][eval_set]["fp"] == 0)
        if none_predicted:
            notes.append(
                f"predicted no {positive!r} in {none_predicted}/{len(runs)} seeds: precision counted as 0 there"
            )
    return tuple(notes)
