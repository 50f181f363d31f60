"""One run across several processes (``execution.distributed``), one run after another.

For each run the driver starts ``processes`` rank processes (forked from a fork server on a CPU under Linux,
spawned elsewhere: the process executor's start methods), which join one ``torch.distributed`` process group
(``gloo`` on a CPU, ``nccl`` on GPUs, one GPU a rank) through a rendezvous file in a temporary folder. Every
rank calls the same :func:`~imbalance_lab.runner.run_one` with its :class:`~imbalance_lab.strategies.
distributed.World`: it takes its share of every global batch of the arm's one stream, the gradients are summed
over the ranks before each step, and every rank scores the same final model. Rank 0 sends each epoch's
history entry and the finished :class:`~imbalance_lab.results.RunResult` to the driver, which alone writes
the store, as for every executor.

Why not ``torch.nn.parallel.DistributedDataParallel``: the trainer calls the model's parts (backbone, heads)
rather than its ``forward``, which DDP's wrapper needs for its bookkeeping; the gradient sum here is the
arithmetic DDP does (one all-reduce of the flattened gradients per step, after the backward pass, not
overlapped with it), which costs some speed on GPUs and nothing in what is computed. Batch norm is not
synchronised: each rank normalises by its share's statistics, as DDP does without ``SyncBatchNorm``, so a
model with batch norm trains slightly differently from one process; mixing (mixup, CutMix, ReMix) pairs and
contrastive remedies (BCL, SupCon) contrast within each rank's share. Strategies that own the optimiser step
(SAM, ImbSAM) are refused by the spec.

A rank that dies (killed, out of memory) or raises fails the run, in one line naming the rank; the other
ranks are stopped and nothing of the run is stored; with ``max_retries`` it is tried again. A killed driver
takes its ranks with it (each watches its parent).

A command started by ``torchrun`` (across GPUs of one machine, or across machines) is the other way in:
every process runs ``imbalance-lab run``; rank 0 is the driver and names each run to train (:class:`Launch`,
:func:`run_launched`), the others train their share of it (:func:`follow`), through the same ``run_one``.
"""

from __future__ import annotations

import datetime
import os
import queue
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from imbalance_lab.executors.layout import available_cores
from imbalance_lab.executors.process import Retries, RunFailure, SharedImages, start_method, worker_context
from imbalance_lab.prepared import ExperimentData
from imbalance_lab.progress import Progress
from imbalance_lab.results import RunResult
from imbalance_lab.runner import run_one
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import ResultStore
from imbalance_lab.strategies.distributed import World
from imbalance_lab.train import resolve_device

POLL_S = 0.2
GROUP_TIMEOUT = datetime.timedelta(minutes=10)  # a collective that waits this long for a rank fails


class RankFailed(Exception):
    """A rank of a distributed run died or raised: the run failed (``detail``: its traceback, if any)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def _watch_parent(parent: int) -> None:
    """End this rank when the driver is gone (a killed driver would otherwise leave it training alone)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _rank_main(
    rank: int,
    size: int,
    backend: str,
    rendezvous: str,
    threads: int,
    spec: ExperimentSpec,
    data: ExperimentData | None,
    arm: str,
    seed: int,
    messages: Any,
    environment: dict[str, str],
) -> None:
    """One rank's life: join the group, train and score the run, hand rank 0's result to the driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the ranks
    os.environ.clear()
    os.environ.update(environment)
    _watch_parent(os.getppid())
    import torch.distributed as dist

    torch.set_num_threads(threads)
    try:
        if backend == "nccl":
            torch.cuda.set_device(rank % torch.cuda.device_count())
        if data is None:
            from imbalance_lab.prepared import prepare_data

            data = prepare_data(spec)
        dist.init_process_group(backend, init_method=rendezvous, rank=rank, world_size=size, timeout=GROUP_TIMEOUT)

        def epoch_done(epoch: int, entry: dict[str, Any]) -> None:
            messages.put(("epoch", (epoch, entry)))

        result = run_one(
            spec, arm, seed, data=data, on_epoch=epoch_done if rank == 0 else None, world=World(rank, size)
        )
        if rank == 0:
            messages.put(("result", result))
        dist.destroy_process_group()
    except BaseException as err:  # noqa: BLE001  (reported to the driver, which fails the run)
        messages.put(("error", (rank, f"{type(err).__name__}: {' '.join(str(err).split())}", traceback.format_exc())))
        raise SystemExit(1) from None


def _ended(procs: list[Any]) -> str | None:
    """The first rank that ended badly, in words, or ``None``."""
    for rank, proc in enumerate(procs):
        code = proc.exitcode
        if code is not None and code < 0:
            return f"rank {rank} was ended by {signal.Signals(-code).name}"
        if code is not None and code > 0:
            return f"rank {rank} exited with status {code}"
    return None


def train_across(
    spec: ExperimentSpec,
    data: ExperimentData,
    arm: str,
    seed: int,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> RunResult:
    """Train and score run (``arm``, ``seed``) across ``execution.distributed.processes`` processes."""
    assert spec.execution.distributed is not None
    settings = spec.execution.distributed
    size = settings.processes
    device = resolve_device(spec.training.device)
    backend = settings.backend if settings.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    threads = settings.threads or max(1, available_cores() // size)
    method = start_method(spec)
    context = worker_context(method)
    shared = SharedImages(data) if method == "forkserver" else None  # spawned ranks prepare their own
    messages = context.Queue()
    procs: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="imbalance-lab-ranks-") as folder:
            rendezvous = f"file://{os.path.join(folder, 'rendezvous')}"
            for rank in range(size):
                args = (rank, size, backend, rendezvous, threads, spec, shared, arm, seed, messages, dict(os.environ))
                procs.append(context.Process(target=_rank_main, args=args, name=f"imbalance-lab rank {rank}"))
                procs[-1].start()
            result = _collect(procs, messages, on_epoch)
            for proc in procs:
                proc.join()
            return result
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
            proc.join()
        if shared is not None:
            shared.close()


def _collect(procs: list[Any], messages: Any, on_epoch: Callable[[int, dict[str, Any]], None] | None) -> RunResult:
    """Rank 0's epochs and result, until the result comes; a rank that dies or raises fails the run."""
    while True:
        try:
            kind, payload = messages.get(timeout=POLL_S)
        except queue.Empty:
            ended = _ended(procs)
            if ended is None and all(proc.exitcode == 0 for proc in procs):
                ended = "every rank ended, but rank 0 sent no result"
            if ended is not None:
                raise RankFailed(ended) from None
            continue
        if kind == "epoch":
            if on_epoch is not None:
                on_epoch(*payload)
        elif kind == "result":
            return payload  # type: ignore[no-any-return]
        else:  # a rank raised; when another died first, that is the cause (its peers lost their connection)
            rank, error, detail = payload
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and _ended(procs) is None:
                time.sleep(0.05)
            killed = next((text for text in [_ended(procs)] if text and "ended by" in text), None)
            raise RankFailed(killed or f"rank {rank}: {error}", detail)


def run_distributed(
    spec: ExperimentSpec,
    store: ResultStore,
    data: ExperimentData,
    todo: Iterable[tuple[str, int]],
    progress: Progress,
    max_retries: int = 0,
) -> list[RunFailure]:
    """Run and store each (arm, seed) of ``todo`` across its processes, one run after another; return the runs
    that failed on every attempt (the others are stored as each finishes)."""
    retries = Retries(max_retries, progress)
    pending = list(todo)
    while pending:
        arm, seed = pending.pop(0)
        progress.run_started(arm, seed, spec.training.epochs)

        def epoch_done(epoch: int, entry: dict[str, Any], arm: str = arm, seed: int = seed) -> None:
            progress.epoch_finished(arm, seed, epoch, entry)

        try:
            result = train_across(spec, data, arm, seed, epoch_done)
        except RankFailed as err:
            if retries.failed((arm, seed), str(err), err.detail):
                pending.insert(0, (arm, seed))
            continue
        store.write_run(result)
        progress.run_finished(arm, seed, result.wall_time_s)
    return retries.failures


@dataclass(frozen=True)
class Launch:
    """A command started by ``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR`` and ``MASTER_PORT``): this process's ``rank`` of ``size``, across machines if the launcher
    spans them. Every process runs the same command: rank 0 is the driver (it plans, stores and reports, and
    says which runs to train), the others only train their share of each run (:func:`follow`)."""

    rank: int
    size: int
    local_rank: int = 0


def join(launch: Launch, spec: ExperimentSpec) -> World:
    """This process in the launch's process group (``gloo`` on a CPU, ``nccl`` on GPUs, one GPU a local rank)."""
    import torch.distributed as dist

    device = resolve_device(spec.training.device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(launch.local_rank % torch.cuda.device_count())
    if not dist.is_initialized():
        dist.init_process_group(
            backend, init_method="env://", rank=launch.rank, world_size=launch.size, timeout=GROUP_TIMEOUT
        )
    return World(launch.rank, launch.size)


def _say(message: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
    """Rank 0's ``message`` to every rank (the others pass nothing and get it)."""
    import torch.distributed as dist

    box = [message]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


def run_launched(
    spec: ExperimentSpec,
    store: ResultStore,
    data: ExperimentData,
    todo: Iterable[tuple[str, int]],
    progress: Progress,
    world: World,
) -> list[RunFailure]:
    """Rank 0 of a launch: tell every rank the runs to train, train each with them, store each as it finishes.
    A failure ends the command (the launcher stops the other processes); finished runs stay stored."""
    todo = list(todo)
    _say(("runs", todo))
    for arm, seed in todo:
        progress.run_started(arm, seed, spec.training.epochs)

        def epoch_done(epoch: int, entry: dict[str, Any], arm: str = arm, seed: int = seed) -> None:
            progress.epoch_finished(arm, seed, epoch, entry)

        result = run_one(spec, arm, seed, data=data, on_epoch=epoch_done, world=world)
        store.write_run(result)
        progress.run_finished(arm, seed, result.wall_time_s)
    return []


def end_launch() -> None:
    """Rank 0: tell the other ranks there is nothing more to train, and leave the group."""
    import torch.distributed as dist

    _say(("done",))
    dist.destroy_process_group()


def follow(spec: ExperimentSpec, data: ExperimentData, launch: Launch) -> None:
    """A rank other than 0: train its share of each run rank 0 names, until rank 0 says it is done; it writes
    nothing and keeps no result."""
    import torch.distributed as dist

    world = join(launch, spec)
    while True:
        message = _say()
        if message[0] == "done":
            break
        for arm, seed in message[1]:
            run_one(spec, arm, seed, data=data, world=world)
    dist.destroy_process_group()
