"""Executors: the same runs in this process or in worker processes, bit for bit; faults lose only the run in flight."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers import (
    TINY_SPEC,
    HeldRun,
    alive,
    cli,
    descendants,
    wait_until_gone,
    write_spec,
)
from imbalance_lab import api
from imbalance_lab.executors import choose_layout
from imbalance_lab.progress import NullProgress
from imbalance_lab.spec import ExecutionSpec, build_spec


def small_spec(**training: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TINY_SPEC)
    spec["arms"] = spec["arms"][1:3]  # unbalanced, weighted
    spec["training"] = {**spec["training"], **training}
    return spec


def process_run(spec_path: Path, out: Path) -> tuple[Any, ...]:
    """The command line of a run on two single-thread worker processes (what a held driver is started with)."""
    return ("run", "--no-mlflow", spec_path, "--out", out, "--executor", "process", "--workers", "2", "--threads", "1")


def stored(out: Path) -> dict[str, Any]:
    """Every run's predictions and result (timing and provenance left out) by run directory."""
    runs = {}
    for run in sorted(out.glob("runs/*/seed-*")):
        result = json.loads((run / "result.json").read_text())
        for key in ("wall_time_s", "provenance", "timing"):
            result.pop(key)
        with np.load(run / "predictions.npz") as npz:
            runs[str(run.relative_to(out))] = (result, {k: npz[k] for k in npz.files})
    return runs


def assert_same_runs(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys() and a
    for name in a:
        assert a[name][0] == b[name][0], name
        assert a[name][1].keys() == b[name][1].keys()
        for key in a[name][1]:
            np.testing.assert_array_equal(a[name][1][key], b[name][1][key], err_msg=f"{name} {key}")


@pytest.fixture(scope="module")
def local_one_thread(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small spec run in this process with one torch thread: the reference for the other executors."""
    out = tmp_path_factory.mktemp("local") / "out"
    api.run(build_spec(small_spec()), out, executor="local", threads=1)
    return stored(out)


def test_process_executor_equals_local_with_the_same_threads(local_one_thread: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.run(build_spec(small_spec()), out, executor="process", workers=2, threads=1)
    assert_same_runs(stored(out), local_one_thread)
    assert {json.loads(p.read_text())["provenance"]["device"] for p in out.glob("runs/*/*/result.json")} == {"cpu"}


def test_spawned_workers_prepare_their_own_data_and_give_the_same_numbers(
    local_one_thread: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where runs use CUDA (and off Linux) workers are spawned and prepare the data themselves: that path, run
    here on the CPU, gives the local numbers too."""
    from imbalance_lab.executors import process

    monkeypatch.setattr(process, "start_method", lambda spec: "spawn")
    out = tmp_path / "out"
    api.run(build_spec(small_spec()), out, executor="process", workers=2, threads=1)
    assert_same_runs(stored(out), local_one_thread)


class KillWorkersOnce(NullProgress):
    """Progress that SIGKILLs every live worker process once, while the driver takes in an epoch of a run (of
    ``arm``, or of any arm): that run's worker waits for this very epoch to be heard before it trains on
    (``EPOCH_HEARD``), so that run dies mid-run, with no timing window; a run another worker holds may die
    with it."""

    def __init__(self, arm: str | None = None) -> None:
        self.arm = arm
        self.killed = 0
        self.struck: tuple[str, int] | None = None  # the run whose epoch the kill was sent at
        self.in_flight: set[tuple[str, int]] = set()  # the runs started and not finished then
        self.training: set[tuple[str, int]] = set()
        self.messages: list[str] = []

    def run_started(self, arm: str, seed: int, epochs: int) -> None:
        self.training.add((arm, seed))

    def run_finished(self, arm: str, seed: int, seconds: float) -> None:
        self.training.discard((arm, seed))

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        if self.struck is None and self.arm in (None, arm):
            self.struck, self.in_flight = (arm, seed), set(self.training)
            for child in multiprocessing.active_children():
                if child.name.startswith("imbalance-lab-worker"):
                    os.kill(child.pid, signal.SIGKILL)
                    self.killed += 1

    def message(self, text: str) -> None:
        self.messages.append(text)


def test_a_killed_worker_fails_only_its_run_and_a_retry_gives_the_same_numbers(
    local_one_thread: dict[str, Any], tmp_path: Path
) -> None:
    progress = KillWorkersOnce()
    api.run(
        build_spec(small_spec()),
        tmp_path / "out",
        executor="process",
        workers=2,
        threads=1,
        max_retries=1,
        progress=progress,
    )
    assert progress.killed >= 1 and progress.struck is not None
    arm, seed = progress.struck
    assert any(
        m.startswith(f"{arm} seed {seed} failed (its worker process died (exit code -9)); trying again")
        for m in progress.messages
    )
    assert_same_runs(stored(tmp_path / "out"), local_one_thread)


def test_without_retries_the_failed_runs_are_named_and_the_others_finish(tmp_path: Path) -> None:
    progress = KillWorkersOnce()
    with pytest.raises(api.RunsFailed) as info:
        api.run(build_spec(small_spec()), tmp_path / "out", executor="process", workers=2, threads=1, progress=progress)
    failed = {(f.arm, f.seed) for f in info.value.failures}
    assert progress.struck in failed and failed <= progress.in_flight
    assert all("worker process died" in f.error for f in info.value.failures)
    finished = {(p.parent.name, int(p.name.split("-")[1])) for p in (tmp_path / "out").glob("runs/*/seed-*")}
    assert finished == {(a, s) for a in ("unbalanced", "weighted") for s in (0, 1)} - failed
    assert (tmp_path / "out" / "summary.csv").is_file() and set(info.value.summary.missing) == failed


def test_sigkill_of_the_driver_leaves_no_worker_and_a_rerun_completes_the_same(
    local_one_thread: dict[str, Any], tmp_path: Path
) -> None:
    """The kill lands where the test holds the driver (an event, no timing window): one run stored, the next one
    trained and half-way into the store."""
    spec_path, out = write_spec(tmp_path / "spec.yaml", small_spec()), tmp_path / "out"
    with HeldRun(
        *process_run(spec_path, out),
        out=out,
    ) as held:
        in_flight = held.hold_a_run_in_flight()
        (first_run,) = held.stored()
        before = {p: p.read_bytes() for p in first_run.parent.iterdir()}
        seen = descendants(held.driver.pid)  # every process the driver started
        held.stop(signal.SIGKILL)
    assert len(seen) >= 3, seen  # the fork server and two workers
    assert in_flight.is_dir()  # the run in flight, hidden: never a visible run
    assert not wait_until_gone(seen), "workers outlived their driver"
    assert cli("run", "--no-mlflow", spec_path, "--out", out, "--executor", "process", "--threads", "1").returncode == 0
    assert all(p.read_bytes() == data for p, data in before.items())  # finished runs untouched
    assert_same_runs(stored(out), local_one_thread)


@pytest.fixture(scope="module")
def local_two_threads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small spec run in this process with two torch threads."""
    out = tmp_path_factory.mktemp("local2") / "out"
    api.run(build_spec(small_spec()), out, executor="local", threads=2)
    return stored(out)


def run_or_fail_on_a_hang(*args: Any, progress: Any = None, timeout: float = 120, **kwargs: Any) -> None:
    """``api.run`` in a thread: a hang (the worker of issue 24 waited for ever) fails the test after
    ``timeout`` instead of stalling the suite."""
    failed: list[BaseException] = []

    def target() -> None:
        try:
            api.run(*args, progress=progress, **kwargs)
        except BaseException as err:  # noqa: BLE001  (raised again in the test's thread)
            failed.append(err)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"api.run did not finish within {timeout} s: a hang")
    if failed:
        raise failed[0]


class Messages(NullProgress):
    def __init__(self) -> None:
        self.messages: list[str] = []

    def message(self, text: str) -> None:
        self.messages.append(text)


@pytest.mark.parametrize("workers,threads", [(1, 2), (2, 2), (2, 1)], ids=["1x2", "2x2", "2x1"])
def test_workers_with_any_threads_start_and_give_the_local_numbers(
    workers: int, threads: int, local_one_thread: dict[str, Any], local_two_threads: dict[str, Any], tmp_path: Path
) -> None:
    """Issue 24: a worker forked from the driver, given two threads, hung for ever in OpenMP (this process has
    run torch ops on two threads by now, as the CLI's driver has when it forks); the runs must finish with
    the numbers of the local executor at the same threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.randn(4_000_000).exp_().sum()  # this process's OpenMP threads run, as a driver's have by then
        progress = Messages()
        run_or_fail_on_a_hang(
            build_spec(small_spec()),
            tmp_path / "out",
            executor="process",
            workers=workers,
            threads=threads,
            progress=progress,
        )
    finally:
        torch.set_num_threads(before)
    assert progress.messages[0].startswith(f"executor process ({workers} workers × {threads} thread")
    assert_same_runs(stored(tmp_path / "out"), local_two_threads if threads == 2 else local_one_thread)


def test_a_resume_with_one_run_left_finishes_on_the_default_process_layout(tmp_path: Path) -> None:
    """One run left, process executor, default threads: one worker with every core (1 × 2 on CI), which hung."""
    from imbalance_lab.executors import available_cores

    spec, out = build_spec(small_spec()), tmp_path / "out"
    api.run(spec, out, executor="local", threads=1)
    kept = out / "runs" / "weighted" / "seed-1"
    shutil.rmtree(kept)
    progress = Messages()
    run_or_fail_on_a_hang(spec, out, executor="process", progress=progress)
    assert progress.messages[0].startswith(f"executor process (1 workers × {available_cores()} thread")
    assert (kept / "result.json").is_file()


def test_one_ctrl_c_stops_the_driver_and_every_worker(tmp_path: Path) -> None:
    """Ctrl-C reaches the terminal's whole process group; the driver alone handles it, stops its workers at
    once (their runs would not be stored now) and exits 130 with the finished runs kept. The signal lands
    where the test holds the driver (an event, no timing window): one run stored, the next one waiting to be."""
    spec_path, out = write_spec(tmp_path / "spec.yaml", small_spec()), tmp_path / "out"
    with HeldRun(
        *process_run(spec_path, out),
        out=out,
        new_session=True,
    ) as held:
        in_flight = held.hold_a_run_in_flight()
        (first_run,) = held.stored()
        seen = descendants(held.driver.pid)
        assert len(alive(seen)) >= 3  # the fork server and two workers
        proc = held.stop(signal.SIGINT, group=True)  # as a terminal's Ctrl-C does: the whole foreground group
    assert proc.returncode == 130, proc.stderr
    assert "interrupted: the finished runs in" in proc.stderr and "Traceback" not in proc.stderr
    assert not wait_until_gone(seen), "workers outlived a Ctrl-C"
    assert list(out.glob("runs/*/seed-*/result.json")) == [first_run]
    assert not in_flight.exists() and not list(out.rglob(".tmp-*"))


@pytest.mark.parametrize(
    "execution,device,runs,cores,expected",
    [
        ({}, "cpu", 8, 2, ("process", 2, 1)),
        ({}, "cpu", 8, 16, ("process", 8, 2)),
        ({}, "cpu", 1, 2, ("local", 1, 2)),
        ({}, "cpu", 8, 1, ("local", 1, 1)),
        ({}, "cuda", 8, 16, ("local", 1, 1)),
        ({"executor": "local"}, "cpu", 8, 2, ("local", 1, 2)),
        ({"executor": "local", "threads": 1}, "cpu", 8, 2, ("local", 1, 1)),
        ({"executor": "process", "workers": 4}, "cpu", 8, 2, ("process", 4, 1)),
        ({"workers": 3, "threads": 2}, "cpu", 2, 8, ("process", 2, 2)),
    ],
    ids=["2-cores", "16-cores", "one-run", "one-core", "gpu", "local", "local-1-thread", "process-4", "capped-by-runs"],
)
def test_the_layout_chosen(execution: dict[str, Any], device: str, runs: int, cores: int, expected: tuple) -> None:
    layout = choose_layout(ExecutionSpec(**execution), torch.device(device), runs, cores=cores, work=1e9)
    assert (layout.executor, layout.workers, layout.threads) == expected
    assert layout.describe().startswith(f"executor {expected[0]} (")


def test_a_small_grid_stays_in_this_process_unless_asked() -> None:
    small = choose_layout(ExecutionSpec(), torch.device("cpu"), 8, cores=2, work=1e6)
    assert (small.executor, small.threads) == ("local", 2) and "small grid" in small.reason
    asked = choose_layout(ExecutionSpec(executor="process"), torch.device("cpu"), 8, cores=2, work=1e6)
    assert (asked.executor, asked.workers) == ("process", 2)


def test_the_demo_is_trained_by_worker_processes_on_two_cores() -> None:
    from imbalance_lab.executors import plan
    from imbalance_lab.prepared import prepare_data
    from imbalance_lab.spec import load_spec

    spec = load_spec(Path(__file__).parents[1] / "examples" / "cats_vs_dogs.yaml")
    work = api.training_work(spec, prepare_data(spec), plan(spec))
    assert work == sum(sum(c) for c in prepare_data(spec).resolved.arm_counts.values()) * 5 * 15 * 28 * 28
    layout = choose_layout(spec.execution, torch.device("cpu"), len(plan(spec)), cores=2, work=work)
    assert (layout.executor, layout.workers, layout.threads) == ("process", 2, 1)


def test_execution_and_device_change_no_hash() -> None:
    base = build_spec(small_spec())
    moved = build_spec(
        {**small_spec(device="cpu"), "execution": {"executor": "process", "workers": 2, "max_retries": 3}}
    )
    assert moved.spec_hash() == base.spec_hash()
    assert all(moved.run_hash(arm, 0) == base.run_hash(arm, 0) for arm in base.arms)
    assert "execution" not in base.canonical() and moved.canonical()["execution"]["workers"] == 2
    assert build_spec(small_spec(lr=0.02)).spec_hash() != base.spec_hash()  # what results depend on still counts


def test_bad_execution_settings_are_one_line(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", small_spec())
    proc = cli("run", "--no-mlflow", spec_path, "--out", tmp_path / "out", "--executor", "cluster")
    assert proc.returncode == 2 and proc.stderr.startswith("error: execution.executor: got 'cluster'")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    bad = write_spec(tmp_path / "bad.yaml", {**small_spec(), "execution": {"workers": 0}})
    proc = cli("validate", bad)
    assert proc.returncode == 2 and "execution.workers" in proc.stderr


def test_the_chosen_layout_is_said(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", small_spec(epochs=1))
    proc = cli("run", "--no-mlflow", spec_path, "--out", tmp_path / "out", "--executor", "local", "--threads", "1")
    assert proc.returncode == 0 and "executor local (this process, 1 thread): as asked" in proc.stdout


def test_validation_set_is_predicted_once_per_epoch_not_again_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from imbalance_lab import runner, train
    from imbalance_lab.runner import run_one

    calls = []
    real = train.predict_logits

    def counting(model: Any, images: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(images.shape[0])
        return real(model, images, *args, **kwargs)

    monkeypatch.setattr(train, "predict_logits", counting)
    monkeypatch.setattr(runner, "predict_logits", counting)
    spec = build_spec(small_spec(epochs=3))
    result = run_one(spec, "unbalanced", 0)
    assert calls == [30, 30, 30, 40]  # val after each epoch, then test only
    calls.clear()
    spec = build_spec(
        {**small_spec(epochs=3), "arms": [{"name": "tau", "train": {"a": 60, "b": 6}, "strategy": "tau_norm"}]}
    )
    tau = run_one(spec, "tau", 0)
    assert calls == [30, 30, 30, 30, 40]  # τ-norm changes the model after the last epoch: val is scored again
    for run in (result, tau):  # the stored val logits are the final model's
        np.testing.assert_array_equal(
            run.predictions["val"].probs, torch.softmax(torch.from_numpy(run.predictions["val"].logits), 1).numpy()
        )
