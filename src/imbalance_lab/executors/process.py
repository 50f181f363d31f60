"""Run the plan in worker processes, each with its share of the cores; the driver alone writes the store.

Workers never start as a fork of the driver: the driver has run torch ops by
then (it prepared the data and built the model to check it), and GNU OpenMP's
thread pool does not survive a fork, so a forked worker given two or more
threads waits for ever on threads that do not exist in it. For runs on a CPU
under Linux each worker is forked instead from a clean server process
(multiprocessing's ``forkserver``) that has imported torch and this package but
never run an op: a worker starts in a fraction of a second, and the server
starts once per driver. The driver puts the prepared images in an anonymous
in-memory file (``memfd``) that every worker maps, so the images are held once
however many workers there are. Where runs use CUDA, and on other systems, each
worker is a fresh (spawned) interpreter that prepares the data itself. A worker
sets its torch threads and
trains the chains of runs the driver hands it
(:mod:`~imbalance_lab.executors.branching`), calling the same
:func:`~imbalance_lab.runner.run_one` as every other executor. It sends back
each epoch's history entry (for progress) and each finished
:class:`~imbalance_lab.results.RunResult`; only the driver writes it to the
store, so a killed worker or driver never leaves half a run behind.

Driver and worker talk over a pipe of their own, not shared queues: a worker
killed in the middle of a message (SIGKILL, out of memory) can leave a shared
queue's lock held for ever, while a private pipe just ends, which the driver
sees at once. A run that raises is reported with its error and, with
``max_retries``, tried again; the other runs go on. A worker that dies fails the
run it was training in the same way, the rest of its chain goes back in the
queue, and a new worker takes its place. Workers exit by themselves when the
driver is gone, so a killed ``imbalance-lab run`` leaves no orphans; when the
driver stops early (Ctrl-C, SIGTERM, an error) it stops its workers at once.
"""

from __future__ import annotations

import dataclasses
import mmap
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait
from typing import Any

from imbalance_lab.executors.branching import Chain, chains, run_chain
from imbalance_lab.prepared import ExperimentData
from imbalance_lab.progress import Progress
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import ResultStore

POLL_S = 0.5
# The driver's answer to each epoch a worker reports. A worker reports an epoch, or ends its run, only once
# the driver has heard its last epoch: the answer comes while the next epoch trains (one round trip a run on
# the critical path, not one an epoch), and whatever the progress does at an epoch (a fault, a stop) finds
# that run still in flight, never finished behind its back.
EPOCH_HEARD = "epoch heard"
STOP_WAIT_S = 2.0  # how long workers get to exit before they are terminated, and again before killed


@dataclass(frozen=True)
class RunFailure:
    """A run that failed on every attempt; the experiment went on without it."""

    arm: str
    seed: int
    error: str  # one line: the exception's type and message
    attempts: int
    detail: str = ""  # the worker's traceback, for a bug report


class Retries:
    """Which failed runs are tried again (at most ``max_retries`` times each) and which have failed for good."""

    def __init__(self, max_retries: int, progress: Progress) -> None:
        self.max_retries, self.progress = max_retries, progress
        self.attempts = Counter[tuple[str, int]]()
        self.failures: list[RunFailure] = []

    def failed(self, item: tuple[str, int], error: str, detail: str) -> bool:
        """Record a failure of run ``item`` and say it; whether to try it again."""
        self.attempts[item] += 1
        tries = self.attempts[item]
        if tries <= self.max_retries:
            self.progress.message(
                f"{item[0]} seed {item[1]} failed ({error}); trying again ({tries} of {self.max_retries} retries)"
            )
            return True
        self.failures.append(RunFailure(item[0], item[1], error, tries, detail))
        self.progress.message(f"{item[0]} seed {item[1]} failed: {error}")
        return False


class DriverGone(Exception):
    """Raised in a worker whose driver process no longer exists."""


class SharedImages:
    """The prepared data as a worker receives it: the images in an anonymous in-memory file (``memfd``) that
    each worker maps copy-on-write instead of receiving a copy; everything else pickled as usual.

    Pickling (when a worker starts) passes a duplicate of the file's descriptor with the process; unpickling
    in the worker maps it and rebuilds the :class:`~imbalance_lab.prepared.ExperimentData`. The file
    lives in memory, not in ``/dev/shm``, so its size is not capped by that mount, and it disappears with
    the last process that maps it: a killed driver leaves nothing behind.
    """

    def __init__(self, data: ExperimentData) -> None:
        images = data.source.images.contiguous()
        self.data, self.shape, self.nbytes = data, tuple(images.shape), images.numel() * images.element_size()
        self.fd = os.memfd_create("imbalance-lab-images", os.MFD_CLOEXEC)
        try:
            if self.nbytes:
                os.ftruncate(self.fd, self.nbytes)
                with mmap.mmap(self.fd, self.nbytes) as mapped:
                    mapped[:] = images.view(-1).numpy().data
        except BaseException:
            os.close(self.fd)
            raise

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        source = self.data.source
        source_fields = {f.name: getattr(source, f.name) for f in dataclasses.fields(source) if f.name != "images"}
        data_fields = {f.name: getattr(self.data, f.name) for f in dataclasses.fields(self.data) if f.name != "source"}
        return _attach, (
            reduction.DupFd(self.fd),
            self.shape,
            self.nbytes,
            type(source),
            source_fields,
            type(self.data),
            data_fields,
        )

    def close(self) -> None:
        os.close(self.fd)


def _attach(
    dup: Any,
    shape: tuple[int, ...],
    nbytes: int,
    source_type: type,
    source_fields: dict[str, Any],
    data_type: type,
    data_fields: dict[str, Any],
) -> ExperimentData:
    """The worker's side of :class:`SharedImages`: map the images (private, so a write would copy its page,
    never change the driver's) and put the data back together."""
    import torch

    fd = dup.detach()
    try:
        if nbytes:
            mapped = mmap.mmap(fd, nbytes, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            images = torch.frombuffer(mapped, dtype=torch.uint8).view(shape)  # the tensor keeps the map alive
        else:
            images = torch.empty(shape, dtype=torch.uint8)
    finally:
        os.close(fd)
    return data_type(source=source_type(images=images, **source_fields), **data_fields)


def _worker(
    spec: ExperimentSpec,
    threads: int,
    conn: Connection,
    worker_id: int,
    environment: dict[str, str],
    data: ExperimentData | None = None,
) -> None:
    """A worker's life: set threads, prepare the data once (unless handed the driver's), train chains until told
    to stop or orphaned. ``environment``: the driver's environment now (the fork server's is that of when it
    started), so settings such as cache directories are the driver's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(environment)
    parent = os.getppid()  # the driver, or the fork server, which exits when the driver does
    import torch

    torch.set_num_threads(threads)
    from imbalance_lab.prepared import prepare_data

    def check_driver() -> None:
        if os.getppid() != parent:
            raise DriverGone()

    try:
        data = data if data is not None else prepare_data(spec)
    except BaseException as err:  # noqa: BLE001  (reported to the driver, which decides)
        conn.send(("broken", f"{type(err).__name__}: {err}", traceback.format_exc()))
        return
    try:
        while True:
            if not conn.poll(POLL_S):
                check_driver()
                continue
            chain = conn.recv()
            if chain is None:
                return

            unheard = 0  # epochs reported that the driver has not answered yet (0 or 1)

            def send(message: tuple[Any, ...]) -> None:
                """Send ``message`` once the driver has heard the last epoch reported (EPOCH_HEARD)."""
                nonlocal unheard
                while unheard:
                    while not conn.poll(POLL_S):
                        check_driver()
                    conn.recv()
                    unheard -= 1
                conn.send(message)

            def failed(arm: str, seed: int, err: Exception) -> None:
                if isinstance(err, DriverGone):
                    raise err
                send(("failed", arm, seed, f"{type(err).__name__}: {err}", traceback.format_exc()))

            def on_epoch(arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
                nonlocal unheard
                check_driver()
                send(("epoch", arm, seed, epoch, entry))
                unheard += 1

            run_chain(
                spec,
                chain,
                data,
                started=lambda arm, seed: send(("started", arm, seed)),
                on_epoch=on_epoch,
                finished=lambda result: send(("done", result)),
                failed=failed,
            )
    except (DriverGone, EOFError, BrokenPipeError, ConnectionResetError):
        return  # the driver is gone: nobody to train for


@dataclass
class _Worker:
    """The driver's view of one worker: its process, its end of the pipe, and the runs handed to it not yet over."""

    proc: Any
    conn: Connection
    runs: list[tuple[str, int]] = field(default_factory=list)
    training: tuple[str, int] | None = None


def start_method(spec: ExperimentSpec) -> str:
    """``forkserver`` for runs on a CPU under Linux (workers forked from a clean server: quick to start, and
    never a fork of a process whose OpenMP threads have started), else ``spawn`` (where runs use CUDA, which
    no forked process may share with a parent that touched it, and on systems whose fork is unsafe or absent)."""
    from imbalance_lab.train import resolve_device

    if sys.platform.startswith("linux") and resolve_device(spec.training.device).type == "cpu":
        return "forkserver"
    return "spawn"


def worker_context(method: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context workers start in; a fork server imports torch and this package once."""
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])  # type: ignore[attr-defined]
    return context


def run_processes(
    spec: ExperimentSpec,
    store: ResultStore,
    data: ExperimentData,
    todo: Iterable[tuple[str, int]],
    progress: Progress,
    *,
    workers: int,
    threads: int,
    max_retries: int = 0,
) -> list[RunFailure]:
    """Run ``todo`` on ``workers`` processes of ``threads`` torch threads each; return the runs that failed.

    Results are bit for bit those of :func:`~imbalance_lab.executors.run_local`
    when that runs with the same number of threads (each run is a pure function
    of spec, arm and seed); only the order in which runs finish differs. A work
    item is a :class:`~imbalance_lab.executors.branching.Chain` of runs that
    train alike up to an epoch.
    """
    pending = list(todo)
    if not pending:
        return []
    queued = deque(chains(spec, data, pending, spec.execution.share_prefixes))
    method = start_method(spec)
    context = worker_context(method)
    shared = SharedImages(data) if method == "forkserver" else None  # spawned workers prepare their own
    pool: dict[int, _Worker] = {}

    def start(worker_id: int) -> None:
        ours, theirs = context.Pipe()
        proc = context.Process(
            target=_worker,
            args=(spec, threads, theirs, worker_id, dict(os.environ), shared),
            name=f"imbalance-lab-worker-{worker_id}",
            daemon=True,
        )
        proc.start()
        theirs.close()  # the worker's end lives in the worker: when it dies, ours reads end-of-file
        pool[worker_id] = _Worker(proc, ours)

    left, retries = set(pending), Retries(max_retries, progress)
    next_id = max(1, min(workers, len(queued)))
    restarts_allowed = 2 * next_id + len(pending) * (max_retries + 1)

    def failed(item: tuple[str, int], error: str, detail: str) -> None:
        if retries.failed(item, error, detail):
            queued.append(Chain.single(*item))
        else:
            left.discard(item)

    def died(worker_id: int) -> None:
        worker = pool.pop(worker_id)
        worker.conn.close()
        worker.proc.join(timeout=5)
        code = worker.proc.exitcode
        for item in worker.runs:  # handed over but not started: queued again, each to train from the start
            if item != worker.training:
                queued.append(Chain.single(*item))
        if worker.training is not None:
            failed(worker.training, f"its worker process died (exit code {code})", "")
        if left:
            nonlocal next_id
            if next_id >= restarts_allowed:
                raise RuntimeError(f"worker processes keep dying (the last with exit code {code})")
            start(next_id)
            next_id += 1

    def hand_out(worker_id: int) -> None:
        worker = pool[worker_id]
        if queued and not worker.runs:
            chain = queued.popleft()
            worker.runs = chain.items
            worker.conn.send(chain)

    try:
        for worker_id in range(next_id):
            start(worker_id)
        while left:
            ready = wait([worker.conn for worker in pool.values()], timeout=POLL_S)
            for worker_id, worker in list(pool.items()):
                if worker.conn not in ready:
                    continue
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):  # killed or out of memory: its run failed, a new worker takes over
                    died(worker_id)
                    continue
                kind = message[0]
                if kind == "broken":
                    raise RuntimeError(f"a worker could not prepare the data: {message[1]}")
                if kind == "started":
                    worker.training = (message[1], message[2])
                    progress.run_started(message[1], message[2], spec.training.epochs)
                elif kind == "epoch":
                    progress.epoch_finished(*message[1:])
                    try:
                        worker.conn.send(EPOCH_HEARD)
                    except OSError:  # it died since: its pipe says so on the next read
                        pass
                elif kind == "done":
                    result = message[1]
                    item = (result.arm, result.seed)
                    worker.runs.remove(item)
                    worker.training = None
                    store.write_run(result)
                    left.discard(item)
                    progress.run_finished(result.arm, result.seed, result.wall_time_s)
                elif kind == "failed":
                    item = (message[1], message[2])
                    worker.runs.remove(item)
                    worker.training = None
                    failed(item, message[3], message[4])
            for worker_id, worker in list(pool.items()):
                if not worker.proc.is_alive() and not worker.conn.poll():  # dead, and its pipe has not said so yet
                    died(worker_id)
            for worker_id in list(pool):  # every worker without runs gets the next chain (read once it is ready)
                try:
                    hand_out(worker_id)
                except OSError:
                    died(worker_id)
    finally:
        stop_workers(list(pool.values()), finished=not left)
        if shared is not None:
            shared.close()
    return retries.failures


def stop_workers(workers: list[_Worker], *, finished: bool) -> None:
    """End the workers: once every run is done, each is told to stop and given a moment to exit; when the
    driver stops early (Ctrl-C, SIGTERM, an error) they are terminated at once, whatever they are training,
    since no run of theirs would be stored now."""
    if finished:
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_WAIT_S
        for worker in workers:
            worker.proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.proc.is_alive():
            worker.proc.terminate()
    deadline = time.monotonic() + STOP_WAIT_S
    for worker in workers:
        worker.proc.join(timeout=max(0.0, deadline - time.monotonic()))
        if worker.proc.is_alive():  # SIGTERM is the default action in a worker, so this is a last resort
            worker.proc.kill()
            worker.proc.join()
        worker.conn.close()
