"""The ray executor on a real local Ray cluster: the same runs bit for bit, faults lose only the run in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import cli, kill_once_a_run_is_stored, run_cli, write_spec
from imbalance_lab import api, experiment
from imbalance_lab.errors import UserError
from imbalance_lab.executors import choose_layout, run_ray
from imbalance_lab.progress import NullProgress
from imbalance_lab.spec import ExecutionSpec, build_spec
from imbalance_lab.store import ResultStore
from test_executors import assert_same_runs, local_one_thread, small_spec, stored  # noqa: F401  (a fixture)

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Any:
    """One local Ray cluster of 2 CPUs for the module; ``api.run`` uses it rather than starting its own."""
    had_auth_mode = "RAY_AUTH_MODE" in os.environ
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # as the executor does for its own local cluster
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().get_node_id()
    ray.shutdown()
    if not had_auth_mode:
        os.environ.pop("RAY_AUTH_MODE")


class Recorder(NullProgress):
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.epochs: list[tuple[str, int, int]] = []

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        self.epochs.append((arm, seed, epoch))

    def message(self, text: str) -> None:
        self.messages.append(text)


def test_ray_executor_equals_local_with_the_same_threads(
    cluster: str, local_one_thread: dict[str, Any], tmp_path: Path
) -> None:
    progress = Recorder()
    api.run(build_spec(small_spec()), tmp_path / "out", executor="ray", threads=1, progress=progress)
    assert_same_runs(stored(tmp_path / "out"), local_one_thread)
    assert progress.messages[0] == "executor ray (Ray cluster already connected, 2 CPUs, 1 thread per run): as asked"
    assert sorted(progress.epochs) == [(a, s, e) for a in ("unbalanced", "weighted") for s in (0, 1) for e in (1, 2)]
    assert ray.is_initialized() and ray.get_runtime_context().get_node_id() == cluster  # used, not shut down


def processes_under(root: int) -> dict[tuple[int, int], str]:
    """Live descendants of process ``root``: (pid, start time) -> command line (Ray titles a worker ``ray::<task>``)."""
    children: dict[int, list[tuple[int, int]]] = {}
    titles: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            titles[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            )
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append((int(entry.name), int(fields[19])))
    found, todo = {}, list(children.get(root, []))
    while todo:
        pid, started = todo.pop()
        found[(pid, started)] = titles.get(pid, "")
        todo += children.get(pid, [])
    return found


def still_running(processes: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    """Those of ``processes`` that run yet (the same pid and start time, not a zombie)."""
    alive = {}
    for (pid, started), title in processes.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[19]) == started:
            alive[(pid, started)] = title
    return alive


class KillRuns(NullProgress):
    """SIGKILLs the Ray worker training a run mid-run: the first run heard of once, the second on both attempts.
    The kill is sent while the driver takes in an epoch of the run, which its task waits for before it trains
    on (``EpochsHeard``): the run is still in flight, with no timing window."""

    def __init__(self) -> None:
        self.kills: dict[tuple[str, int], int] = {}  # run -> the kills it is due, in the order heard of
        self.killed: Counter[tuple[str, int]] = Counter()
        self.attempt: set[tuple[str, int]] = set()  # runs whose current attempt is not killed yet
        self.messages: list[str] = []

    def run_started(self, arm: str, seed: int, epochs: int) -> None:
        if len(self.kills) < 2:
            self.kills.setdefault((arm, seed), len(self.kills) + 1)
        self.attempt.add((arm, seed))

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        run = (arm, seed)
        if run in self.attempt and self.killed[run] < self.kills.get(run, 0):
            for (pid, _), title in processes_under(os.getpid()).items():
                if title == f"ray::{arm} seed {seed}":
                    os.kill(pid, signal.SIGKILL)
                    self.killed[run] += 1
                    self.attempt.discard(run)

    def message(self, text: str) -> None:
        self.messages.append(text)


def test_a_killed_worker_fails_only_its_run_which_is_retried_or_named(
    cluster: str, local_one_thread: dict[str, Any], tmp_path: Path
) -> None:
    """The kill lands mid-run, whatever the timing: the run's task waits at the epoch the driver is taking in."""
    spec = build_spec(small_spec())
    progress = KillRuns()
    with pytest.raises(api.RunsFailed) as info:
        api.run(spec, tmp_path / "out", executor="ray", threads=1, max_retries=1, progress=progress)
    (once, _), (twice, _) = progress.kills.items()
    assert dict(progress.killed) == {once: 1, twice: 2}
    died = "its Ray worker process died (killed, or out of memory)"
    retry = f"failed ({died}); trying again (1 of 1 retries)"
    assert sorted(progress.messages[1:]) == sorted(
        [
            f"{once[0]} seed {once[1]} {retry}",
            f"{twice[0]} seed {twice[1]} {retry}",
            f"{twice[0]} seed {twice[1]} failed: {died}",
        ]
    )
    assert [(f.arm, f.seed, f.error, f.attempts) for f in info.value.failures] == [(*twice, died, 2)]
    assert list(info.value.summary.missing) == [twice] and (tmp_path / "out" / "summary.csv").is_file()
    others = {name: run for name, run in local_one_thread.items() if name != f"runs/{twice[0]}/seed-{twice[1]}"}
    assert_same_runs(stored(tmp_path / "out"), others)  # the others stored, the retried one with the same numbers


def test_a_run_that_raises_is_named_with_its_error(cluster: str, tmp_path: Path) -> None:
    """``run_ray`` called with 0 threads, which the API refuses: torch raises in the worker, and the run says why."""
    progress = Recorder()
    failures = run_ray(
        build_spec(small_spec()), ResultStore(tmp_path / "out"), [("weighted", 1)], progress, threads=0, max_retries=1
    )
    assert [(f.arm, f.seed, f.attempts) for f in failures] == [("weighted", 1, 2)]
    error = failures[0].error
    assert (
        error.startswith("RuntimeError: set_num_threads") and "\n" not in error and "in train_run" in failures[0].detail
    )  # the worker's traceback
    assert progress.messages == [
        f"weighted seed 1 failed ({error}); trying again (1 of 1 retries)",
        f"weighted seed 1 failed: {error}",
    ]


def test_sigkill_of_the_driver_leaves_no_ray_process_and_a_rerun_completes_the_same(
    cluster: str, local_one_thread: dict[str, Any], tmp_path: Path
) -> None:
    spec_path, out = write_spec(tmp_path / "spec.yaml", small_spec()), tmp_path / "out"
    started: dict[tuple[int, int], str] = {}  # every process of its local cluster seen while it ran
    before = kill_once_a_run_is_stored(
        "run",
        "--no-mlflow",
        spec_path,
        "--out",
        out,
        "--executor",
        "ray",
        "--threads",
        "1",
        out=out,
        watch=lambda pid: started.update(processes_under(pid)),
    )
    titles = list(started.values())
    assert any("raylet" in t for t in titles) and any(
        t.startswith("ray::") and "Agent" not in t for t in titles
    )  # workers
    deadline = time.monotonic() + 30
    while (live := still_running(started)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not live, f"Ray processes outlived their driver: {live}"
    api.run(spec_path, out, executor="ray", threads=1)  # on the module's cluster: this test is about the killed one
    assert all(p.read_bytes() == data for p, data in before.items())  # finished runs untouched
    assert_same_runs(stored(out), local_one_thread)


def test_no_cluster_at_the_address_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", small_spec())
    proc = run_cli(
        "run", "--no-mlflow", spec_path, "--out", tmp_path / "out", "--executor", "ray", "--address", "127.0.0.1:1"
    )
    assert proc.returncode == 2 and proc.stderr.startswith(
        "error: execution.address: no Ray cluster answers at '127.0.0.1:1'"
    )
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_the_address_probe_knows_a_real_head(cluster: str) -> None:
    """The probe that refuses what is not Ray (tests/test_fault_battery.py) passes a real head's GCS."""
    from imbalance_lab.executors.raycluster import ray_answers

    host, port = ray.get_runtime_context().gcs_address.rsplit(":", 1)
    assert ray_answers(host, int(port)) is None
    assert ray_answers(host, int(port), client=True) is not None  # the GCS is no Ray Client server


def test_a_run_larger_than_any_node_is_refused_before_anything_is_written(cluster: str, tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        api.run(build_spec(small_spec()), tmp_path / "out", executor="ray", threads=3)  # Ray would wait for ever
    assert str(info.value) == (
        "execution.threads: each run would ask for 3 CPUs (one per thread) but the largest node "
        "of the Ray cluster already connected has 2; give --threads 2 or fewer"
    )
    assert not (tmp_path / "out").exists()


def test_an_address_is_for_ray_only(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", small_spec())
    proc = cli("run", "--no-mlflow", spec_path, "--out", tmp_path / "out", "--executor", "process", "--address", "h:1")
    assert proc.returncode == 2 and proc.stderr.startswith("error: execution: address 'h:1' is for the ray executor")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    assert ExecutionSpec(address="h:1").executor == "ray"  # an address alone means ray
    in_spec = build_spec({**small_spec(), "execution": {"address": "h:1"}})
    assert (
        experiment.execution_settings(in_spec, {"executor": "local"}).address is None
    )  # asking for another executor drops it


def test_ray_not_installed_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as where it is not installed
    spec_path = write_spec(tmp_path / "spec.yaml", small_spec())
    proc = cli("run", "--no-mlflow", spec_path, "--out", tmp_path / "out", "--executor", "ray")
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "error: the ray executor needs Ray, which is not installed here: pip install 'imbalance-lab[ray]'"
    )
    assert not (tmp_path / "out").exists()


def test_importing_imbalance_lab_does_not_import_ray() -> None:
    code = "import sys, imbalance_lab, imbalance_lab.api, imbalance_lab.cli; print('ray' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


@pytest.mark.parametrize(
    "execution,device,runs,cores,cluster,expected",
    [
        ({"executor": "ray"}, "cpu", 8, 2, "local cluster", ("ray", 2, 1, "local cluster, 2 CPUs, 1 thread per run")),
        (
            {"executor": "ray", "threads": 2},
            "cpu",
            8,
            16,
            "local cluster",
            ("ray", 8, 2, "local cluster, 16 CPUs, 2 threads per run"),
        ),
        (
            {"executor": "ray"},
            "cpu",
            3,
            64,
            "cluster at head:6379",
            ("ray", 3, 1, "cluster at head:6379, 64 CPUs, 1 thread per run"),
        ),
        (
            {"address": "head:6379"},
            "cpu",
            8,
            4,
            "cluster at head:6379",
            ("ray", 4, 1, "cluster at head:6379, 4 CPUs, 1 thread per run"),
        ),
        (
            {"executor": "ray"},
            "cuda",
            8,
            16,
            "local cluster",
            ("ray", 8, 1, "local cluster, 16 CPUs, 1 thread per run, 1 GPU per run"),
        ),
        ({}, "cpu", 8, 2, "local cluster", ("process", 2, 1, "2 workers × 1 thread")),  # auto never picks ray
    ],
    ids=["local-2", "threads-2", "capped-by-runs", "address-means-ray", "gpu", "auto-not-ray"],
)
def test_the_ray_layout_chosen(
    execution: dict[str, Any], device: str, runs: int, cores: int, cluster: str, expected: tuple
) -> None:
    layout = choose_layout(
        ExecutionSpec(**execution), torch.device(device), runs, cores=cores, work=1e9, cluster=cluster
    )
    assert (layout.executor, layout.workers, layout.threads) == expected[:3]
    assert layout.describe().startswith(f"executor {expected[0]} ({expected[3]}): ")


def test_adaptive_seed_rounds_run_on_ray_as_batches(cluster: str, tmp_path: Path) -> None:
    """Each round of adaptive seeds is one batch of independent runs on the cluster; the rounds and their
    messages are those of any executor."""
    data = small_spec()
    data["seeds"] = {"min": 2, "max": 3, "metric": "recall"}
    progress = Recorder()
    api.run(build_spec(data), tmp_path / "out", executor="ray", threads=1, progress=progress)
    rounds = [m for m in progress.messages if m.startswith(("round of seed", "stopped", "settled"))]
    assert rounds[0].startswith("round of seed 1") and rounds[-1].startswith(("stopped at the maximum of 3", "settled"))
    seeds = {p.name for p in (tmp_path / "out" / "runs" / "unbalanced").iterdir()}
    assert {"seed-0", "seed-1"} <= seeds <= {"seed-0", "seed-1", "seed-2"}
