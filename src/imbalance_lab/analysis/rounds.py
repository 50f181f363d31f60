"""Adaptive seeds: which runs the next round needs, decided from the runs already stored (issue 14).

``seeds: {min, max, until, metric, margin, alpha, set}`` makes an experiment run
in rounds. The first trains seeds ``0 .. min-1`` of every arm; each later round
one more seed of the reference and of every arm whose comparison with it is
undecided (every arm with ``until: max``). After each round
:func:`imbalance_lab.stats.sequential.decide` says, for each arm, ``better``,
``worse``, ``equivalent`` or ``undecided`` from the paired differences of the
seeds so far. Everything here is recomputed from the stored runs, so an
experiment killed mid-round resumes with the same decisions and asks for the
same runs, whatever executor trains them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.stats.sequential import SequentialDecision, decide
from imbalance_lab.vocabulary import higher_is_better

Value = Callable[[str, int], "float | None"]  # the metric of (arm, seed) on the set, None while not stored


@dataclass(frozen=True)
class RoundState:
    """Where an adaptive experiment stands: its decisions, and what the next round still needs."""

    reference: str
    seeds: int  # seeds the reference has in complete rounds
    decisions: dict[str, SequentialDecision]
    todo: list[tuple[str, int]]  # runs the current round still needs (empty: the experiment has stopped)
    stopped: str | None  # "settled" (every comparison decided) or "max" (max seeds reached); None while going
    scheduled: frozenset[tuple[str, int]]  # every run the rounds so far have asked for

    def describe(self) -> str:
        undecided = [arm for arm, d in self.decisions.items() if d.state == "undecided"]
        if self.stopped == "settled":
            return f"settled after {self.seeds} seeds: every comparison with `{self.reference}` is decided"
        if self.stopped == "max":
            return f"stopped at the maximum of {self.seeds} seeds with {len(undecided)} comparison(s) undecided" + (
                f": {', '.join(undecided)}" if undecided else ""
            )
        seed = max(s for _, s in self.todo)
        return (
            f"round of seed {seed}: {len(undecided)} of {len(self.decisions)} comparisons with "
            f"`{self.reference}` undecided" + (f" ({', '.join(undecided)})" if undecided else "")
        )


def round_state(spec: ExperimentSpec, reference: str, value: Value) -> RoundState:
    """Replay the rounds from the stored runs (``value``) and say what the next one needs."""
    plan = spec.adaptive
    assert plan is not None

    arms = [a.name for a in spec.arms if a.name != reference]
    everyone = [reference, *arms]

    def decisions_of(diffs: dict[str, list[float]]) -> dict[str, SequentialDecision]:
        return decide(
            diffs,
            alpha=plan.alpha,
            margin=plan.margin,
            higher_is_better=higher_is_better(plan.metric),
            method=plan.method,
        )

    scheduled = {(a, s) for a in everyone for s in range(plan.min)}
    missing = sorted((s, a) for a, s in scheduled if value(a, s) is None)
    diffs: dict[str, list[float]] = {a: [] for a in arms}
    if missing:
        return RoundState(reference, 0, decisions_of(diffs), [(a, s) for s, a in missing], None, frozenset(scheduled))
    for a in arms:
        diffs[a] = [value(a, s) - value(reference, s) for s in range(plan.min)]  # type: ignore[operator]
    seeds = plan.min
    while True:
        decisions = decisions_of(diffs)
        undecided = [a for a in arms if decisions[a].state == "undecided"]
        if plan.until == "settled" and not undecided:
            return RoundState(reference, seeds, decisions, [], "settled", frozenset(scheduled))
        if seeds >= plan.max:
            return RoundState(reference, seeds, decisions, [], "max", frozenset(scheduled))
        going = undecided if plan.until == "settled" else arms
        need = [(a, seeds) for a in [reference, *going]]
        scheduled |= set(need)
        missing = [item for item in need if value(*item) is None]
        if missing:
            return RoundState(reference, seeds, decisions, missing, None, frozenset(scheduled))
        for a in going:
            diffs[a].append(value(a, seeds) - value(reference, seeds))  # type: ignore[operator]
        seeds += 1


def stored_values(spec: ExperimentSpec, store: object, positive: int | None) -> Value:
    """The adaptive metric of each stored run on its set, read (and cached) from ``predictions.npz``."""
    from imbalance_lab.metrics import classification_metrics

    plan = spec.adaptive
    assert plan is not None
    cache: dict[tuple[str, int], float] = {}

    def value(arm: str, seed: int) -> float | None:
        if (arm, seed) in cache:
            return cache[(arm, seed)]
        if not store.is_finished(arm, seed):  # type: ignore[attr-defined]
            return None
        arrays = store.read_run(arm, seed).predictions()  # type: ignore[attr-defined]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metrics = classification_metrics(
                arrays[f"{plan.set}_labels"], arrays[f"{plan.set}_probs"].astype("float64"), positive=positive
            )
        cache[(arm, seed)] = float(metrics[plan.metric])
        return cache[(arm, seed)]

    return value
