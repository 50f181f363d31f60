"""The ray executor against a real two-node cluster started as a user starts one (`ray start --head`, then
`ray start --address`), reached with `--address`: the same runs as the process executor bit for bit, a killed
Ray worker's run retried with nothing lost, and the cluster stopped by its own processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import descendants, run_cli
from test_executors import assert_same_runs, small_spec, stored

pytest.importorskip("ray")

RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_ports() -> list[str]:
    """Every port a node opens, free ones picked here (never Ray's defaults, which another Ray may hold)."""
    low = free_port() // 100 * 100  # worker ports: a block of 50 from a free port's hundred
    args = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-grpc-port",
            "--dashboard-agent-listen-port", "--metrics-export-port", "--runtime-env-agent-port"]  # fmt: skip
    return [a for flag in args for a in (flag, str(free_port()))] + [
        "--min-worker-port", str(low), "--max-worker-port", str(low + 49),
    ]  # fmt: skip


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def cluster_processes(temp_dir: str) -> set[int]:
    """The processes of the cluster under ``temp_dir`` (each names its session folder) and all they started."""
    own = {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and temp_dir in cmdline(int(p.name))}
    return own.union(*(descendants(pid) for pid in own)) if own else set()


def alive_nodes(address: str) -> int:
    code = (
        f"import ray; ray.init(address='{address}', log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return int(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 and proc.stdout.strip() else 0


@pytest.fixture(scope="module")
def real_cluster() -> Iterator[tuple[str, str]]:
    """A head and a second node of 1 CPU each on this machine, on free ports and in a temp folder of their own;
    stopped at the end by killing exactly its processes (`ray stop` would stop every Ray on the machine)."""
    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run(
            [str(RAY), "start", "--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp_dir,
             *common, *node_ports()],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [str(RAY), "start", "--address", address, *common, *node_ports()],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while alive_nodes(address) < 2:
            assert time.monotonic() < deadline, "the second node did not join"
            time.sleep(1)
        yield address, temp_dir
    finally:
        for _ in range(3):  # processes may start others while being stopped: until none is left
            for pid in cluster_processes(temp_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        assert not cluster_processes(temp_dir), "a process of the test's cluster outlived it"


def write(folder: Path) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(small_spec()))
    return spec


@pytest.fixture(scope="module")
def process_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small grid on two single-thread worker processes: what the cluster's runs must equal."""
    folder = tmp_path_factory.mktemp("process")
    done = run_cli("run", write(folder), "--out", folder / "out", "--no-mlflow", "--executor", "process",
                   "--workers", "2", "--threads", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return stored(folder / "out")


def test_a_grid_through_address_equals_the_process_executor_bit_for_bit(real_cluster, process_runs, tmp_path):
    address, temp_dir = real_cluster
    on_ray = run_cli("run", write(tmp_path), "--out", tmp_path / "ray", "--no-mlflow", "--address", address,
                     "--threads", "1", env_extra={"RAY_AUTH_MODE": "disabled"})  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stderr
    assert f"executor ray (cluster at {address}, 2 CPUs, 1 thread per run)" in on_ray.stdout
    assert_same_runs(stored(tmp_path / "ray"), process_runs)
    assert cluster_processes(temp_dir)  # the cluster is still up: the driver leaves a cluster it did not start


def test_a_killed_ray_worker_is_retried_and_nothing_is_lost(real_cluster, process_runs, tmp_path):
    """SIGKILL the worker process of a run once its task runs (its title names the run): the run is tried again
    and every stored run equals an undisturbed run's."""
    address, temp_dir = real_cluster
    out = tmp_path / "killed"
    exe = Path(sys.executable).with_name("imbalance-lab")
    driver = subprocess.Popen(
        [str(exe), "run", str(write(tmp_path)), "--out", str(out), "--no-mlflow", "--address", address,
         "--threads", "1", "--max-retries", "1"],
        env={**os.environ, "RAY_AUTH_MODE": "disabled"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and driver.poll() is None and time.monotonic() < deadline:
        for pid in cluster_processes(temp_dir):
            if cmdline(pid).startswith("ray::unbalanced seed 0"):
                os.kill(pid, signal.SIGKILL)
                killed = pid
                break
        time.sleep(0.05)
    output, _ = driver.communicate(timeout=240)
    assert killed is not None, f"no worker ran the run:\n{output}"
    assert driver.returncode == 0, output
    assert "unbalanced seed 0 failed (its Ray worker process died (killed, or out of memory)); trying again" in output
    assert_same_runs(stored(out), process_runs)
