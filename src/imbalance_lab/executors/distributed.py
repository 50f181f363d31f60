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

import contextlib
import datetime
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from imbalance_lab.executors.layout import rank_threads
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


def _watch_driver() -> None:
    """End this rank when the driver is gone (a killed driver would otherwise leave it training alone).

    It waits on the driver's sentinel, which multiprocessing hands to every process it starts (spawned or forked
    from the fork server) and which becomes ready when the driver's process ends, even before this rank started:
    unlike the parent's pid, which is the fork server's and, once that exits, init's."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover  (a rank is always started by multiprocessing)
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def backend_for(spec: ExperimentSpec, asked: str = "auto") -> str:
    """The process group's backend: as asked, else ``nccl`` where the runs use CUDA and ``gloo`` on a CPU."""
    if asked != "auto":
        return asked
    return "nccl" if resolve_device(spec.training.device).type == "cuda" else "gloo"


def enter_group(backend: str, init_method: str, rank: int, size: int, local_rank: int) -> World:
    """This process in the run's process group, on its own GPU (its local rank's) under ``nccl``."""
    if backend == "nccl":
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
    if not dist.is_initialized():
        dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=size, timeout=GROUP_TIMEOUT)
    return World(rank, size)


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
    _watch_driver()
    torch.set_num_threads(threads)
    try:
        if data is None:
            from imbalance_lab.prepared import prepare_data

            data = prepare_data(spec)
        world = enter_group(backend, rendezvous, rank, size, rank)

        def epoch_done(epoch: int, entry: dict[str, Any]) -> None:
            messages.put(("epoch", (epoch, entry)))

        result = run_one(spec, arm, seed, data=data, on_epoch=epoch_done if rank == 0 else None, world=world)
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


@contextlib.contextmanager
def shared_data(spec: ExperimentSpec, data: ExperimentData) -> Iterator[SharedImages | None]:
    """What the ranks receive as the data, for as many runs as the block holds: the images in one in-memory file
    each rank maps, where ranks fork from the fork server; ``None`` where they are spawned and prepare their own."""
    shared = SharedImages(data) if start_method(spec) == "forkserver" else None
    try:
        yield shared
    finally:
        if shared is not None:
            shared.close()


def train_across(
    spec: ExperimentSpec,
    data: ExperimentData,
    arm: str,
    seed: int,
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    shared: SharedImages | None = None,
) -> RunResult:
    """Train and score run (``arm``, ``seed``) across ``execution.distributed.processes`` processes; ``shared``:
    the data as :func:`shared_data` hands it out for several runs (else it is shared for this run alone)."""
    assert spec.execution.distributed is not None
    with contextlib.ExitStack() as this_run:
        if shared is None:
            shared = this_run.enter_context(shared_data(spec, data))
        return _train(spec, arm, seed, on_epoch, shared)


def _train(
    spec: ExperimentSpec,
    arm: str,
    seed: int,
    on_epoch: Callable[[int, dict[str, Any]], None] | None,
    shared: SharedImages | None,
) -> RunResult:
    """:func:`train_across`'s work, the data already shared out."""
    assert spec.execution.distributed is not None
    settings = spec.execution.distributed
    size = settings.processes
    backend = backend_for(spec, settings.backend)
    threads = rank_threads(settings)
    context = worker_context(start_method(spec))
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
            ended = _ended(procs)
            killed = ended is not None and "ended by" in ended
            raise RankFailed(ended if killed else f"rank {rank}: {error}", detail)


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
    with shared_data(spec, data) as shared:  # the images put in memory once for all the runs
        while pending:
            arm, seed = pending.pop(0)
            progress.run_started(arm, seed, spec.training.epochs)

            def epoch_done(epoch: int, entry: dict[str, Any], arm: str = arm, seed: int = seed) -> None:
                progress.epoch_finished(arm, seed, epoch, entry)

            try:
                result = train_across(spec, data, arm, seed, epoch_done, shared)
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
    return enter_group(backend_for(spec), "env://", launch.rank, launch.size, launch.local_rank)


def _say(message: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
    """Rank 0's ``message`` to every rank (the others pass nothing and get it)."""
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
    _say(("done",))
    dist.destroy_process_group()


def follow(spec: ExperimentSpec, data: ExperimentData, launch: Launch) -> None:
    """A rank other than 0: train its share of each run rank 0 names, until rank 0 says it is done; it writes
    nothing and keeps no result."""
    world = join(launch, spec)
    while True:
        message = _say()
        if message[0] == "done":
            break
        for arm, seed in message[1]:
            run_one(spec, arm, seed, data=data, world=world)
    dist.destroy_process_group()
