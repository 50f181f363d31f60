"""Run the plan in this process, one run after another (seed-major, so early results compare arms)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from imbalance_lab.executors.branching import chains, run_chain
from imbalance_lab.prepared import ExperimentData
from imbalance_lab.progress import Progress
from imbalance_lab.results import RunResult
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import ResultStore


def plan(spec: ExperimentSpec) -> list[tuple[str, int]]:
    """Every (arm, seed) of the experiment, seed-major."""
    return [(arm.name, seed) for seed in spec.seeds for arm in spec.arms]


def run_local(
    spec: ExperimentSpec,
    store: ResultStore,
    data: ExperimentData,
    todo: Iterable[tuple[str, int]],
    progress: Progress,
    threads: int | None = None,
) -> None:
    """Run and store each (arm, seed) of ``todo``; each finished run is safe on disk at once.

    Runs that train alike up to an epoch share it (:mod:`~imbalance_lab.executors.branching`).

    ``threads``: torch's intra-op threads while the runs train (restored after).
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        _run_each(spec, store, data, todo, progress)
    finally:
        torch.set_num_threads(before)


def _run_each(
    spec: ExperimentSpec, store: ResultStore, data: ExperimentData, todo: Iterable[tuple[str, int]], progress: Progress
) -> None:
    def finished(result: RunResult) -> None:
        store.write_run(result)
        progress.run_finished(result.arm, result.seed, result.wall_time_s)

    for chain in chains(spec, data, todo, spec.execution.share_prefixes):
        run_chain(
            spec,
            chain,
            data,
            started=lambda arm, seed: progress.run_started(arm, seed, spec.training.epochs),
            on_epoch=progress.epoch_finished,
            finished=finished,
        )
