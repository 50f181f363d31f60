"""The ray executor and a real cluster that asks for a token (Ray's token authentication, `RAY_AUTH_MODE=token`),
started with `ray start --head` as a user starts one: with the cluster's token the grid runs there; without it,
one line says so and nothing is written. The two-node tests are in tests/test_ray_real_cluster.py."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import run_cli, write_spec
from test_executors import assert_same_runs, local_one_thread, small_spec, stored  # noqa: F401  (a fixture)
from test_ray_real_cluster import RAY, cluster_processes, free_port, node_ports

ray = pytest.importorskip("ray")
if not hasattr(ray.exceptions, "AuthenticationError"):
    pytest.skip("this Ray has no token authentication", allow_module_level=True)


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[tuple[str, str]]:
    """A head of 1 CPU that asks for a token, on free ports and in a temp folder of its own, and its token;
    stopped at the end by killing exactly its processes."""
    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's socket paths live under it
    token = secrets.token_hex(16)
    port = free_port()
    try:
        subprocess.run(
            [str(RAY), "start", "--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp_dir,
             "--num-cpus", "1", "--disable-usage-stats", *node_ports()],
            env={**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield f"127.0.0.1:{port}", token
    finally:
        for _ in range(3):  # processes may start others while being stopped: until none is left
            for pid in cluster_processes(temp_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        assert not cluster_processes(temp_dir), "a process of the test's cluster outlived it"
        shutil.rmtree(temp_dir, ignore_errors=True)


def run_on(
    address: str, out: Path, home: Path, monkeypatch: pytest.MonkeyPatch, **auth: str
) -> subprocess.CompletedProcess[str]:
    """The small spec through ``--address``, with only the Ray token settings in ``auth`` (a HOME of the test's
    own: no ~/.ray/auth_token of the user's is found)."""
    for key in [key for key in os.environ if key.startswith("RAY_AUTH")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    spec = write_spec(home / "spec.yaml", small_spec())
    return run_cli("run", spec, "--out", out, "--no-mlflow", "--address", address, "--threads", "1", env_extra=auth)


def test_with_its_token_the_grid_runs_on_the_cluster(
    token_cluster: tuple[str, str], local_one_thread: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, token = token_cluster
    proc = run_on(address, tmp_path / "out", tmp_path, monkeypatch, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    assert proc.returncode == 0, proc.stderr
    assert f"executor ray (cluster at {address}, 1 CPU" in proc.stdout
    assert_same_runs(stored(tmp_path / "out"), local_one_thread)


def test_without_token_mode_the_address_is_refused_in_one_line(
    token_cluster: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = token_cluster
    proc = run_on(address, tmp_path / "out", tmp_path, monkeypatch)
    assert proc.returncode == 2 and proc.stderr == (
        f"error: execution.address: the Ray cluster at {address!r} asks for a token (its nodes run with "
        "RAY_AUTH_MODE=token); run with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
        "~/.ray/auth_token\n"
    )
    assert not (tmp_path / "out").exists()


def test_token_mode_without_a_token_is_one_line(
    token_cluster: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = token_cluster
    proc = run_on(address, tmp_path / "out", tmp_path, monkeypatch, RAY_AUTH_MODE="token")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"error: execution.address: could not connect to a Ray cluster at {address!r}")
    assert "no authentication token was found" in proc.stderr
    assert not (tmp_path / "out").exists()
