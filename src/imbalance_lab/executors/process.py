"""Run the plan in worker processes, each with its share of the cores; the driver alone writes the store.

Each worker is a fresh (spawned) interpreter that sets its torch threads, prepares
the experiment's data once and then takes (arm, seed) items from a queue, calling
the same :func:`~imbalance_lab.experiment.run_one` as every other executor. It
sends back each epoch's history entry (for progress) and the finished
:class:`~imbalance_lab.results.RunResult`; only the driver writes it to the
store, so a killed worker or driver never leaves half a run behind.

A run that raises is reported with its error and, with ``max_retries``, tried
again; the other runs go on. A worker that dies (killed, out of memory) fails
the run it held in the same way and is replaced. Workers exit by themselves when
the driver is gone, so a killed ``imbalance-lab run`` leaves no orphans.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


class DriverGone(Exception):
    """Raised in a worker whose driver process no longer exists."""


def _worker(spec: ExperimentSpec, threads: int, driver: int, tasks: Any, results: Any, worker_id: int) -> None:
    """A worker's life: set threads, prepare the data once, run items until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    import torch

    torch.set_num_threads(threads)
    from imbalance_lab.data.prepared import prepare_data
    from imbalance_lab.experiment import run_one

    def check_driver() -> None:
        if os.getppid() != driver:
            raise DriverGone()

    try:
        data = prepare_data(spec)
    except BaseException as err:  # noqa: BLE001  (reported to the driver, which decides)
        results.put(("broken", worker_id, f"{type(err).__name__}: {err}", traceback.format_exc()))
        return
    while True:
        try:
            item = tasks.get(timeout=POLL_S)
        except queue.Empty:
            if os.getppid() != driver:
                return
            continue
        if item is None:
            return
        arm, seed = item
        results.put(("started", worker_id, arm, seed))

        def on_epoch(epoch: int, entry: dict[str, Any], arm: str = arm, seed: int = seed) -> None:
            check_driver()
            results.put(("epoch", worker_id, arm, seed, epoch, entry))

        try:
            result = run_one(spec, arm, seed, data=data, on_epoch=on_epoch)
        except DriverGone:
            return
        except Exception as err:  # noqa: BLE001  (a failed run is reported; the worker goes on)
            results.put(("failed", worker_id, arm, seed, f"{type(err).__name__}: {err}", traceback.format_exc()))
            continue
        results.put(("done", worker_id, arm, seed, result))


def run_processes(
    spec: ExperimentSpec,
    store: ResultStore,
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
    of spec, arm and seed); only the order in which runs finish differs.
    """
    pending = list(todo)
    if not pending:
        return []
    workers = max(1, min(workers, len(pending)))
    context = multiprocessing.get_context("spawn")  # no forked torch state: each worker starts clean
    tasks, results = context.Queue(), context.Queue()
    for item in pending:
        tasks.put(item)
    procs: dict[int, Any] = {}

    def start(worker_id: int) -> None:
        proc = context.Process(target=_worker, args=(spec, threads, os.getpid(), tasks, results, worker_id),
                               name=f"imbalance-lab-worker-{worker_id}", daemon=True)
        proc.start()
        procs[worker_id] = proc

    for worker_id in range(workers):
        start(worker_id)
    left, attempts, failures = set(pending), Counter[tuple[str, int]](), []
    holding: dict[int, tuple[str, int]] = {}  # worker -> the run it is training
    next_id = workers
    restarts_allowed = 2 * workers + len(pending) * (max_retries + 1)

    def failed(item: tuple[str, int], error: str, detail: str) -> None:
        attempts[item] += 1
        if attempts[item] <= max_retries:
            progress.message(f"{item[0]} seed {item[1]} failed ({error}); trying again "
                             f"({attempts[item]} of {max_retries} retries)")
            tasks.put(item)
        else:
            left.discard(item)
            failures.append(RunFailure(item[0], item[1], error, attempts[item], detail))
            progress.message(f"{item[0]} seed {item[1]} failed: {error}")

    try:
        while left:
            try:
                message = results.get(timeout=POLL_S)
            except queue.Empty:
                for worker_id, proc in list(procs.items()):
                    if proc.is_alive():
                        continue
                    del procs[worker_id]  # killed or out of memory: its run failed, a new worker takes over
                    item = holding.pop(worker_id, None)
                    if item is not None:
                        failed(item, f"its worker process died (exit code {proc.exitcode})", "")
                    if left:
                        if next_id >= restarts_allowed:
                            raise RuntimeError(f"worker processes keep dying (the last with exit code {proc.exitcode})")
                        start(next_id)
                        next_id += 1
                continue
            kind, worker_id = message[0], message[1]
            if kind == "broken":
                raise RuntimeError(f"a worker could not prepare the data: {message[2]}")
            if kind == "started":
                holding[worker_id] = (message[2], message[3])
                progress.run_started(message[2], message[3], spec.training.epochs)
            elif kind == "epoch":
                progress.epoch_finished(*message[2:])
            elif kind == "done":
                result = message[4]
                holding.pop(worker_id, None)
                store.write_run(result)
                left.discard((result.arm, result.seed))
                progress.run_finished(result.arm, result.seed, result.wall_time_s)
            elif kind == "failed":
                holding.pop(worker_id, None)
                failed((message[2], message[3]), message[4], message[5])
    finally:
        for _ in procs:
            tasks.put(None)
        for proc in procs.values():
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
        tasks.cancel_join_thread()
        results.cancel_join_thread()
    return failures
