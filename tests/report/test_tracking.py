"""MLflow runs from a results directory, against real MLflow: a local SQLite store and a real ``mlflow server``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import TINY_SPEC, cli, write_spec

pytest.importorskip("mlflow", reason="MLflow tracking needs the mlflow package")
from mlflow import MlflowClient  # noqa: E402

from imbalance_lab.errors import StoreError  # noqa: E402
from imbalance_lab.report.tracking import (  # noqa: E402
    child_metrics,
    default_tracking_uri,
    log_experiment,
)

N_RUNS = len(TINY_SPEC["arms"]) * len(TINY_SPEC["seeds"])
EPOCHS = TINY_SPEC["training"]["epochs"]
SERVER_START_LIMIT_S = 90  # the server creates its SQLite schema first (~100 migrations)


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_dir(fallback: Path) -> Path:
    """A fresh directory on a tmpfs when there is one, else ``fallback``.

    A new MLflow SQLite store runs ~100 schema migrations, each committed with an
    fsync: seconds on a slow disk, a fraction of that in memory.
    """
    shm = Path("/dev/shm")
    return (
        Path(tempfile.mkdtemp(prefix="imbalance-lab-test-", dir=shm))
        if shm.is_dir() and os.access(shm, os.W_OK)
        else fallback
    )


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    directory = memory_dir(tmp_path)
    yield directory
    if directory != tmp_path:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start ``mlflow server`` on a free loopback port; it comes up while the experiment trains."""
    work = tmp_path_factory.mktemp("mlflow-server")
    db_dir = memory_dir(work)
    port = free_port()
    log = (work / "server.log").open("w")
    exe = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [
            str(exe),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{db_dir / 'server.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(work / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,  # its own process group, so its workers stop with it
    )
    server = {
        "uri": f"http://127.0.0.1:{port}",
        "proc": proc,
        "log": work / "server.log",
        "artifacts": work / "artifacts",
    }
    try:
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        if db_dir != work:
            shutil.rmtree(db_dir, ignore_errors=True)


def wait_until_up(server: dict[str, Any]) -> str:
    """The server's URI once ``/health`` answers (bounded; the server's log on failure)."""
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline:
        if server["proc"].poll() is not None:
            pytest.fail(f"mlflow server exited with {server['proc'].returncode}:\n{server['log'].read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server['uri']}/health", timeout=1) as response:
                if response.status == 200:
                    return server["uri"]
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"mlflow server not up after {SERVER_START_LIMIT_S} s:\n{server['log'].read_text()[-3000:]}")


@pytest.fixture(scope="module")
def finished_dir(tmp_path_factory: pytest.TempPathFactory, mlflow_server: dict[str, Any]) -> Path:
    """The tiny experiment run through the CLI's ``main`` in this process (read-only for the tests; copy it to
    change it).

    It asks for ``mlflow_server`` only so that the server starts while this trains.
    """
    work = tmp_path_factory.mktemp("tiny")
    out = work / "out"
    proc = cli("run", write_spec(work / "spec.yaml", TINY_SPEC), "--out", out, "--no-mlflow")
    assert proc.returncode == 0, proc.stderr
    return out


def snapshot(directory: Path, runs: int = N_RUNS) -> dict[str, bytes]:
    """Every file under ``directory`` (which holds ``runs`` stored runs: checked, so a comparison of two
    snapshots can fail)."""
    found = {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(directory.rglob("*"))
    }
    assert sum(name.endswith("result.json") for name in found) == runs, sorted(found)
    return found


def split_runs(client: MlflowClient, experiment_id: str) -> tuple[Any, list[Any]]:
    """The one parent run and its children."""
    runs = client.search_runs([experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == len(runs) - 1
    return parents[0], children


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def check_child(client: MlflowClient, child: Any, out: Path) -> None:
    """A child run holds its stored run's parameters, per-epoch history, final metrics and files."""
    arm, seed = child.data.params["arm"], int(child.data.params["seed"])
    assert child.info.run_name == f"{arm}/seed-{seed}"
    assert child.info.status == "FINISHED"
    result = json.loads((out / "runs" / arm / f"seed-{seed}" / "result.json").read_text())
    arm_spec = next(a for a in TINY_SPEC["arms"] if a["name"] == arm)
    params = child.data.params
    assert child.data.tags["imbalance_lab.run_hash"] == result["run_hash"] == params["run_hash"]
    assert params["spec_hash"] == result["spec_hash"]
    assert params["model"] == "simple_cnn" and json.loads(params["model_params"]) == {"width": 4, "hidden": 8}
    assert params["training.epochs"] == str(EPOCHS) and params["training.lr"] == "0.01"
    assert {k: int(params[f"train_count.{k}"]) for k in ("a", "b")} == result["train_counts"] == arm_spec["train"]
    expected_strategy = {
        "balanced": "none",
        "unbalanced": "none",
        "weighted": "class_weight",
        "both": "class_weight+oversample",
    }
    assert params["strategy"] == expected_strategy[arm]
    if arm == "both":
        assert json.loads(params["strategy_params"]) == [
            {"class_weight": {"weights": {"a": 1, "b": 2}}},
            {"oversample": {}},
        ]

    for key, part, name in [
        ("train_loss", "train", "loss"),
        ("val_loss", "val", "loss"),
        ("val_recall", "val", "recall"),
    ]:
        history = client.get_metric_history(child.info.run_id, key)
        assert [m.step for m in history] == list(range(1, EPOCHS + 1)), key
        assert [m.value for m in history] == pytest.approx([e[part][name] for e in result["history"]], rel=1e-12)
    for eval_set in ("val", "test"):
        for name, value in result["metrics"][eval_set].items():
            assert child.data.metrics[f"{eval_set}_{name}"] == pytest.approx(value, rel=1e-12), f"{eval_set}_{name}"
    assert artifact_paths(client, child.info.run_id) == {
        "result.json",
        "predictions.npz",
        "plots/confusion_val.png",
        "plots/confusion_test.png",
    }


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #


def test_local_sqlite_store_holds_one_parent_and_a_child_per_run(
    finished_dir: Path, tmp_path: Path, fast_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = shutil.copytree(finished_dir, fast_tmp / "out")
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory (MLflow's default ./mlruns)
    late = tmp_path / "late-run"
    shutil.move(out / "runs" / "both" / "seed-1", late)  # a run that finishes after the first logging
    runs_before = snapshot(out / "runs", N_RUNS - 1)

    report = tmp_path / "report.html"
    report.write_text("<html><body>report</body></html>")

    first = log_experiment(out, report_path=report)

    assert (first.error, first.logged, first.skipped) == (None, N_RUNS - 1, 0)
    assert snapshot(out / "runs", N_RUNS - 1) == runs_before
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlartifacts").exists()
    shutil.move(late, out / "runs" / "both" / "seed-1")
    runs_before = snapshot(out / "runs")
    second = log_experiment(out)
    assert (second.error, second.logged, second.skipped) == (None, 1, N_RUNS - 1)
    assert second.parent_run_id == first.parent_run_id

    client = MlflowClient(tracking_uri=default_tracking_uri(out))
    experiment = client.get_experiment_by_name("tiny")
    assert experiment.experiment_id == first.experiment_id
    assert experiment.artifact_location == (out / "mlartifacts").resolve().as_uri()
    parent, children = split_runs(client, experiment.experiment_id)
    assert parent.info.run_id == first.parent_run_id
    assert parent.data.tags["imbalance_lab.directory"] == str(out.resolve())
    assert (
        parent.data.tags["imbalance_lab.spec_hash"]
        == json.loads((out / "runs/both/seed-0/result.json").read_text())["spec_hash"]
    )
    assert parent.data.params["spec_name"] == "tiny"
    assert (parent.data.params["n_arms"], parent.data.params["seeds"]) == ("4", "0,1")
    assert {"spec.yaml", "summary.csv", "summary.md", "report.html"} == artifact_paths(client, parent.info.run_id)
    assert sorted(c.info.run_name for c in children) == sorted(
        f"{a['name']}/seed-{s}" for a in TINY_SPEC["arms"] for s in TINY_SPEC["seeds"]
    )
    for child in children:
        check_child(client, child, out)
    png = Path(client.download_artifacts(children[0].info.run_id, "plots/confusion_test.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = log_experiment(out)
    assert (again.error, again.logged, again.skipped) == (None, 0, N_RUNS)

    interrupted = children[0]  # a child left unfinished by an interrupted call is replaced
    client.update_run(interrupted.info.run_id, status="RUNNING")
    resumed = log_experiment(out)
    assert (resumed.error, resumed.logged, resumed.skipped) == (None, 1, N_RUNS - 1)
    _, children = split_runs(client, experiment.experiment_id)
    assert len(children) == N_RUNS and interrupted.info.run_id not in {c.info.run_id for c in children}
    assert client.get_run(interrupted.info.run_id).info.lifecycle_stage == "deleted"
    assert snapshot(out / "runs") == runs_before


def test_tracking_server_over_http(
    finished_dir: Path, mlflow_server: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    uri = wait_until_up(mlflow_server)
    before = snapshot(finished_dir)

    first = log_experiment(finished_dir, tracking_uri=uri, request_timeout_s=30, request_retries=2)
    again = log_experiment(finished_dir, tracking_uri=uri, request_timeout_s=30, request_retries=2)

    assert (first.error, first.logged, first.skipped) == (None, N_RUNS, 0)
    assert (again.error, again.logged, again.skipped, again.parent_run_id) == (None, 0, N_RUNS, first.parent_run_id)
    assert snapshot(finished_dir) == before
    assert "View run" not in capfd.readouterr().out  # MLflow prints run links on a server unless told not to
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment(first.experiment_id)
    assert experiment.name == "tiny" and experiment.artifact_location.startswith("mlflow-artifacts:")
    parent, children = split_runs(client, first.experiment_id)
    assert parent.info.run_id == first.parent_run_id
    assert len(children) == N_RUNS
    for child in children:
        check_child(client, child, finished_dir)
    assert any(mlflow_server["artifacts"].rglob("predictions.npz"))  # uploaded through the server's proxy


def test_server_down_reports_an_error_and_leaves_results_untouched(finished_dir: Path) -> None:
    before, environment = snapshot(finished_dir), dict(os.environ)

    summary = log_experiment(
        finished_dir, tracking_uri=f"http://127.0.0.1:{free_port()}", request_timeout_s=2, request_retries=0
    )

    assert summary.error and "\n" not in summary.error
    assert (summary.logged, summary.skipped, summary.parent_run_id) == (0, 0, None)
    assert snapshot(finished_dir) == before
    assert dict(os.environ) == environment  # the MLflow knobs were set only during the call


def test_bad_uri_is_reported_not_raised(finished_dir: Path) -> None:
    summary = log_experiment(finished_dir, tracking_uri="nosuchscheme://somewhere")
    assert summary.error and summary.logged == 0


def test_metrics_skip_non_finite_values_and_log_each_value_once() -> None:
    result = {
        "history": [
            {"epoch": 1, "train": {"loss": 0.9, "recall": float("nan")}, "val": {"loss": 0.8, "recall": 0.5}},
            {
                "epoch": 2,
                "lr": 0.01,
                "stage": "crt",
                "train": {"loss": 0.7, "recall": 0.4},
                "val": {"loss": float("inf"), "recall": 0.75},
            },
        ],
        "metrics": {
            "val": {"recall": 0.75, "f1": 0.6, "tp": 3, "flag": True},
            "test": {"recall": 0.5, "log_loss": float("nan")},
        },
        "wall_time_s": 1.5,
    }

    logged = sorted((m.key, m.step, m.value) for m in child_metrics(result, timestamp_ms=1000))

    assert logged == sorted(
        [
            ("train_loss", 1, 0.9),
            ("val_loss", 1, 0.8),
            ("val_recall", 1, 0.5),
            ("train_loss", 2, 0.7),
            ("train_recall", 2, 0.4),
            ("val_recall", 2, 0.75),  # final val recall: the same, once
            ("lr", 2, 0.01),  # the epoch's learning rate (absent from runs made before schedules)
            ("val_f1", 2, 0.6),
            ("val_tp", 2, 3.0),
            ("test_recall", 2, 0.5),
            ("wall_time_s", 2, 1.5),
        ]
    )


def test_a_directory_without_a_spec_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a results directory"):
        log_experiment(tmp_path)
