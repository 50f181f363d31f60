"""Runs that train alike up to an epoch train those epochs once and branch from a snapshot.

DRW and DRS leave training as it is until they start, cRT and τ-normalisation
leave the whole main stage alone (``Strategy.plain_epochs``). So, for one seed,
the arm ``[ldam, drw]`` trains its first 80 % of epochs exactly as the arm
``[ldam]`` does, and a cRT arm its whole main stage as the plain arm. The runs to
do are grouped by what they train until their first late strategy starts (the
arm's training set and its other strategies; model and training settings are
the experiment's). In a group, the run that trains that way longest goes first
(the trunk) and hands a :class:`~imbalance_lab.train.Snapshot` to each other run
at the epoch it branches off. Results are bit for bit those of training each run
from the start (tests/test_branching.py); each branched run names its trunk in
its provenance.

A chain is one unit of work for an executor; its runs are stored one by one as
they finish. If the trunk fails, the others train from the start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from imbalance_lab.prepared import ExperimentData
from imbalance_lab.results import RunResult
from imbalance_lab.runner import run_one
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.strategies import build_pipeline
from imbalance_lab.train import Snapshot


@dataclass(frozen=True)
class Branch:
    """One run of a chain and the main-stage epoch it takes from the trunk's snapshot (0: none)."""

    arm: str
    seed: int
    start: int = 0


@dataclass(frozen=True)
class Chain:
    """Runs of one seed trained one after another: the first from the start, the others from its snapshots."""

    runs: tuple[Branch, ...]

    @classmethod
    def single(cls, arm: str, seed: int) -> Chain:
        return cls((Branch(arm, seed),))

    @property
    def items(self) -> list[tuple[str, int]]:
        return [(run.arm, run.seed) for run in self.runs]

    @property
    def snapshot_at(self) -> frozenset[int]:
        """The main-stage epochs at which the trunk hands over a snapshot."""
        return frozenset(run.start for run in self.runs[1:])


def shared_prefix(spec: ExperimentSpec, data: ExperimentData, arm: str) -> tuple[str, int]:
    """What ``arm`` trains until its first late strategy starts (as a key), and for how many main-stage epochs."""
    arm_spec = spec.arm(arm)
    epochs = spec.training.epochs
    steps = [(s.name, s.params) for s in arm_spec.strategy]
    pipeline = build_pipeline(steps, data.class_names)
    early, plain = [], epochs
    for step, strategy in zip(steps, pipeline.steps, strict=True):
        until = strategy.plain_epochs(epochs)
        if until is None:
            continue
        if until == 0:
            early.append(step)
        else:
            plain = min(plain, until)
    key = json.dumps([list(data.resolved.arm_counts[arm]), early], sort_keys=True, default=str)
    return key, plain


def arm_work(spec: ExperimentSpec, data: ExperimentData, arm: str) -> tuple[float, float]:
    """About how much computing one main-stage epoch of ``arm`` is, and all its later stages together: images
    trained (an epoch's stream, which samplers make longer or shorter) plus validation images at a third of
    that (a forward pass only). For ordering work, not for anything a result depends on."""
    import torch

    from imbalance_lab.strategies import EpochContext

    arm_spec = spec.arm(arm)
    labels = data.train_set(arm_spec).labels
    pipeline = build_pipeline([(s.name, s.params) for s in arm_spec.strategy], data.class_names)
    ctx = EpochContext(0, spec.training.epochs, torch.bincount(labels, minlength=len(data.class_names)), data.positive)
    pipeline.prepare(ctx)
    validation = sum(data.resolved.set_counts["val"]) / 3
    stream = pipeline.epoch_indices(labels, torch.Generator().manual_seed(0), ctx.at(1)).shape[0]
    later = sum(stage.epochs for stage in pipeline.stages()) * (labels.shape[0] + validation)
    return stream + validation, later


def chains(
    spec: ExperimentSpec, data: ExperimentData, todo: Iterable[tuple[str, int]], share: bool = True
) -> list[Chain]:
    """The runs of ``todo`` grouped into chains (each run alone when ``share`` is false).

    Chains come seed by seed in ``todo``'s order of seeds (so early results compare arms), and within a seed
    the longest first: executors hand them out in this order, so the last chains to start are the shortest
    and no worker waits long for another at the end.
    """
    todo = list(todo)
    costs = {arm: arm_work(spec, data, arm) for arm in {arm for arm, _ in todo}}

    def work(chain: Chain) -> float:
        return sum((spec.training.epochs - run.start) * costs[run.arm][0] + costs[run.arm][1] for run in chain.runs)

    # a run that selects its best epoch or stops early is not its trunk's prefix plus more epochs, and a
    # snapshot does not carry the per-epoch predictions a selection study keeps: none branch
    share = share and not spec.training.rules and spec.selection is None
    if share:
        prefixes = {arm: shared_prefix(spec, data, arm) for arm in costs}
        groups: dict[tuple[int, str], list[tuple[str, int]]] = {}
        for arm, seed in todo:
            groups.setdefault((seed, prefixes[arm][0]), []).append((arm, seed))
        result = []
        for members in groups.values():
            trunk = max(members, key=lambda item: prefixes[item[0]][1])  # the first of the longest
            rest = [Branch(arm, seed, prefixes[arm][1]) for arm, seed in members if (arm, seed) != trunk]
            result.append(Chain((Branch(*trunk), *rest)))
    else:
        result = [Chain.single(arm, seed) for arm, seed in todo]
    rounds = {seed: i for i, seed in enumerate(dict.fromkeys(seed for _, seed in todo))}
    order = {item: i for i, item in enumerate(todo)}
    return sorted(result, key=lambda chain: (rounds[chain.runs[0].seed], -work(chain), order[chain.items[0]]))


def run_chain(
    spec: ExperimentSpec,
    chain: Chain,
    data: ExperimentData,
    *,
    started: Callable[[str, int], None],
    on_epoch: Callable[[str, int, int, dict[str, Any]], None],
    finished: Callable[[RunResult], None],
    failed: Callable[[str, int, Exception], None] | None = None,
) -> None:
    """Train the chain's runs in order, each handed to ``finished`` as soon as it is done.

    A run that raises goes to ``failed`` (or is raised when there is none); the
    runs after it go on, from the start if the trunk's snapshots are missing.
    """
    snapshots: dict[int, Snapshot] = {}
    for i, run in enumerate(chain.runs):
        started(run.arm, run.seed)

        def epoch_done(epoch: int, entry: dict[str, Any], run: Branch = run) -> None:
            on_epoch(run.arm, run.seed, epoch, entry)

        try:
            result = run_one(
                spec,
                run.arm,
                run.seed,
                data=data,
                on_epoch=epoch_done,
                resume=snapshots.get(run.start) if i else None,
                snapshot_at=chain.snapshot_at if i == 0 else frozenset(),
                on_snapshot=lambda snap: snapshots.__setitem__(snap.epoch, snap),
            )
        except Exception as err:
            if failed is None:
                raise
            failed(run.arm, run.seed, err)
            continue
        finished(result)
