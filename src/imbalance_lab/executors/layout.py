"""Where the runs go: one process, several, or a Ray cluster, and how many torch threads each.

Small CNNs on a CPU use threads poorly: on a 2-core machine the seed CNN's
forward+backward reaches 852 img/s with 2 threads in one process but 1,015 img/s
with two single-thread processes (docs/benchmarks.md), because each batch is too
small to split well. So on CPU the default is one worker process per core with
one thread each, as long as there are at least two runs to share out; on a GPU
(one device) and for a single run it is this process. ``auto`` never picks Ray:
a cluster is asked for (``executor: ray`` or an ``address``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from imbalance_lab.spec import DistributedSpec, ExecutionSpec


@dataclass(frozen=True)
class Layout:
    """The executor chosen, its workers and their threads, and why."""

    executor: str  # "local", "process", "ray" or "distributed" (workers: each run's processes)
    workers: int  # ray: the runs its CPUs hold at a time
    threads: int
    reason: str
    cluster: str = ""  # ray: where the runs go and its CPUs, e.g. "local cluster, 2 CPUs"
    gpus: float = 0  # ray: GPUs each run asks for

    def describe(self) -> str:
        """One line for the terminal: what was chosen and why."""
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        if self.executor == "local":
            what = f"executor local (this process, {threads})"
        elif self.executor == "ray":
            gpus = f", {self.gpus:g} GPU{'s' if self.gpus != 1 else ''} per run" if self.gpus else ""
            what = f"executor ray ({self.cluster}, {threads} per run{gpus})"
        elif self.executor == "distributed":
            what = f"executor distributed (each run across {self.workers} processes × {threads})"
        else:
            what = f"executor process ({self.workers} workers × {threads})"
        return f"{what}: {self.reason}"


def available_cores() -> int:
    """The CPU cores this process may use (its affinity, which containers and batch systems set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (macOS, Windows)
        return os.cpu_count() or 1


def rank_threads(settings: DistributedSpec, cores: int | None = None) -> int:
    """Torch threads for each process of a run across processes: as set, else the cores shared out."""
    return settings.threads or max(1, (cores or available_cores()) // settings.processes)


SMALL_WORK = 4e7  # pixel-epochs: ~1 minute of the seed CNN at 28×28 on one core, against ~5 s to start workers


def choose_layout(
    execution: ExecutionSpec,
    device: torch.device,
    runs: int,
    cores: int | None = None,
    work: float | None = None,
    cluster: str = "local cluster",
) -> Layout:
    """The layout for ``runs`` runs on ``device`` under the spec's (or command line's) execution settings.

    ``work`` is the training to do in pixel-epochs (training images × epochs ×
    pixels per image, summed over the runs); below :data:`SMALL_WORK` starting
    worker processes would cost more than it saves, so ``auto`` stays local.
    For ``ray``, ``cores`` are the cluster's CPUs and ``cluster`` says where it is.
    """
    cores = cores or available_cores()
    if execution.executor == "ray":
        threads = execution.threads or 1
        return Layout(
            "ray",
            max(1, min(cores // threads, runs)),
            threads,
            "as asked",
            cluster=f"{cluster}, {cores} CPU{'s' if cores != 1 else ''}",
            gpus=1 if device.type == "cuda" else 0,
        )
    if execution.distributed is not None:
        threads = rank_threads(execution.distributed, cores)
        return Layout(
            "distributed", execution.distributed.processes, threads, "execution.distributed: one run after another"
        )
    small = work is not None and work < SMALL_WORK
    if execution.executor == "local" or (
        execution.executor == "auto" and (device.type != "cpu" or runs < 2 or cores < 2 or small)
    ):
        if execution.executor == "local":
            reason = "as asked"
        elif device.type != "cpu":
            reason = f"one {device.type} device, used by one process"
        elif runs < 2:
            reason = "one run to do"
        elif cores < 2:
            reason = "one core"
        else:
            reason = "a small grid, quicker in one process than with worker processes to start"
        return Layout("local", 1, execution.threads or (cores if device.type == "cpu" else 1), reason)
    workers = min(execution.workers or cores, max(runs, 1))
    threads = execution.threads or max(1, cores // workers)
    reason = (
        "as asked"
        if execution.executor == "process"
        else f"{cores} cores and {runs} runs: one single-thread process per core is the fastest layout measured on CPU "
        "(docs/benchmarks.md); --executor local runs in this process"
    )
    return Layout("process", workers, threads, reason)
