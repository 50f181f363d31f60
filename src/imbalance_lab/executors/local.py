"""Run the plan in this process, one run after another (seed-major, so early results compare arms)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from imbalance_lab.experiment import run_one
from imbalance_lab.progress import Progress
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.data.prepared import ExperimentData
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

    ``threads``: torch's intra-op threads while the runs train (restored after).
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        _run_each(spec, store, data, todo, progress)
    finally:
        torch.set_num_threads(before)


def _run_each(spec: ExperimentSpec, store: ResultStore, data: ExperimentData, todo: Iterable[tuple[str, int]],
              progress: Progress) -> None:
    for arm, seed in todo:
        progress.run_started(arm, seed, spec.training.epochs)

        def on_epoch(epoch: int, entry: dict, arm: str = arm, seed: int = seed) -> None:
            progress.epoch_finished(arm, seed, epoch, entry)

        result = run_one(spec, arm, seed, data=data, on_epoch=on_epoch)
        store.write_run(result)
        progress.run_finished(arm, seed, result.wall_time_s)
