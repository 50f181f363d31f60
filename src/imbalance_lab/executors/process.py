"""Run the plan in worker processes, each with its share of the cores; the driver alone writes the store.

On a CPU under Linux each worker is forked from the driver: it starts at once,
with torch imported and the driver's prepared data in memory it shares with the
driver until either writes to it. Where runs train on a GPU (CUDA cannot be used
in a process forked after it started) and on other systems, each worker is a
fresh (spawned) interpreter that imports torch and prepares the data once. A
worker sets its torch threads and trains the chains of runs the driver hands it
(:mod:`~imbalance_lab.executors.branching`), calling the same
:func:`~imbalance_lab.experiment.run_one` as every other executor. It sends back
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
driver is gone, so a killed ``imbalance-lab run`` leaves no orphans.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from imbalance_lab.data.prepared import ExperimentData
from imbalance_lab.executors.branching import Chain, chains, run_chain
from imbalance_lab.progress import Progress
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import ResultStore

POLL_S = 0.5


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
            self.progress.message(f"{item[0]} seed {item[1]} failed ({error}); trying again "
                                  f"({tries} of {self.max_retries} retries)")
            return True
        self.failures.append(RunFailure(item[0], item[1], error, tries, detail))
        self.progress.message(f"{item[0]} seed {item[1]} failed: {error}")
        return False


class DriverGone(Exception):
    """Raised in a worker whose driver process no longer exists."""


def _worker(spec: ExperimentSpec, threads: int, driver: int, conn: Connection, worker_id: int,
            data: ExperimentData | None = None, inherited: tuple[int, ...] = ()) -> None:
    """A worker's life: set threads, prepare the data once (unless forked with the driver's), train chains
    until told to stop or orphaned. ``inherited``: descriptors a forked worker must not keep open (the
    results directory's lock, which would otherwise outlive a killed driver while this worker finishes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not run the driver's handler
    for fd in inherited:
        os.close(fd)
    import torch

    torch.set_num_threads(threads)
    from imbalance_lab.data.prepared import prepare_data

    def check_driver() -> None:
        if os.getppid() != driver:
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

            def failed(arm: str, seed: int, err: Exception) -> None:
                if isinstance(err, DriverGone):
                    raise err
                conn.send(("failed", arm, seed, f"{type(err).__name__}: {err}", traceback.format_exc()))

            def on_epoch(arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
                check_driver()
                conn.send(("epoch", arm, seed, epoch, entry))

            run_chain(spec, chain, data, started=lambda arm, seed: conn.send(("started", arm, seed)),
                      on_epoch=on_epoch, finished=lambda result: conn.send(("done", result)), failed=failed)
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
    """``fork`` for runs on a CPU under Linux (a worker starts at once: the driver has imported torch and
    prepared the data), else ``spawn`` (CUDA does not work in a forked process; other systems' fork is unsafe)."""
    from imbalance_lab.train import resolve_device

    if sys.platform.startswith("linux") and resolve_device(spec.training.device).type == "cpu":
        return "fork"
    return "spawn"


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
    forked = start_method(spec) == "fork"
    context = multiprocessing.get_context(start_method(spec))
    pool: dict[int, _Worker] = {}

    def start(worker_id: int) -> None:
        ours, theirs = context.Pipe()
        shared = {"data": data, "inherited": store.held_descriptors()} if forked else {}
        if forked:  # what the driver has printed but not yet written would be written again by the worker
            sys.stdout.flush()
            sys.stderr.flush()
        proc = context.Process(target=_worker, args=(spec, threads, os.getpid(), theirs, worker_id), kwargs=shared,
                               name=f"imbalance-lab-worker-{worker_id}", daemon=True)
        proc.start()
        theirs.close()  # the worker's end lives in the worker: when it dies, ours reads end-of-file
        pool[worker_id] = _Worker(proc, ours)

    for worker_id in range(max(1, min(workers, len(queued)))):
        start(worker_id)
    left, retries = set(pending), Retries(max_retries, progress)
    next_id = len(pool)
    restarts_allowed = 2 * len(pool) + len(pending) * (max_retries + 1)

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
        for worker in pool.values():
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in pool.values():
            worker.proc.join(timeout=2)
            if worker.proc.is_alive():
                worker.proc.terminate()
                worker.proc.join(timeout=2)
            worker.conn.close()
    return retries.failures
