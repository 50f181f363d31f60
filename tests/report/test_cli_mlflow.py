"""MLflow through the CLI, as a user meets it: on by default, and a dead server never costs results."""

from __future__ import annotations

import socket

import pytest

from helpers import TINY_SPEC, cli, run_cli, write_spec


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_logs_to_a_local_sqlite_store_by_default(tmp_path):
    from mlflow import MlflowClient

    spec = dict(TINY_SPEC, seeds=[0], arms=TINY_SPEC["arms"][:2])
    out = tmp_path / "out"
    proc = run_cli("run", write_spec(tmp_path / "spec.yaml", spec), "--out", out, check=True)
    assert "mlflow: 2 run(s) logged, 0 already there (sqlite:///" in proc.stdout
    client = MlflowClient(f"sqlite:///{out.resolve() / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs if "mlflow.parentRunId" in r.data.tags) == [
        "balanced/seed-0",
        "unbalanced/seed-0",
    ]
    again = cli("report", out, "--mlflow")
    assert again.returncode == 0, again.stderr
    assert "mlflow: 0 run(s) logged, 2 already there" in again.stdout


@pytest.mark.parametrize("via", ["flag", "spec"])
def test_server_down_warns_and_keeps_every_result(tmp_path, via):
    uri = f"http://127.0.0.1:{_closed_port()}"
    spec = dict(TINY_SPEC, seeds=[0], arms=TINY_SPEC["arms"][:2])
    extra: list[str] = ["--mlflow-uri", uri] if via == "flag" else []
    if via == "spec":
        spec["tracking"] = {"mlflow_uri": uri}
    out = tmp_path / "out"
    proc = run_cli("run", write_spec(tmp_path / "spec.yaml", spec), "--out", out, *extra)
    assert proc.returncode == 0, proc.stderr
    assert "warning: MLflow logging failed" in proc.stderr and "the results in" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(list(out.glob("runs/*/seed-0/result.json"))) == 2
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()
