"""The ray executor against a real two-node cluster started as a user starts one (`ray start --head`, then
`ray start --address`), with Ray's token authentication (`RAY_AUTH_MODE=token`), reached with `--address`: the
same runs as the process executor bit for bit, a killed Ray worker's run retried with nothing lost, the address
refused in one line without the token, and the cluster stopped by its own processes."""

from __future__ import annotations

import os
import secrets
import shutil
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

ray = pytest.importorskip("ray")
if not hasattr(ray.exceptions, "AuthenticationError"):
    pytest.skip("this Ray has no token authentication", allow_module_level=True)

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


def alive_nodes(address: str, env: dict[str, str]) -> int:
    code = (
        f"import ray; ray.init(address='{address}', log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    return int(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 and proc.stdout.strip() else 0


def stop_cluster(temp_dir: str) -> None:
    """Kill exactly the processes of the cluster under ``temp_dir`` (`ray stop` would stop every Ray on the
    machine), check none is left, and remove its folder."""
    for _ in range(3):  # processes may start others while being stopped: until none is left
        for pid in cluster_processes(temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
    assert not cluster_processes(temp_dir), "a process of the test's cluster outlived it"
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A head and a second node of 1 CPU each on this machine, on free ports and in a temp folder of their own,
    asking for a random token; its address, folder and what a client needs in its environment (the token, and a
    HOME of its own, so that no ~/.ray/auth_token of the user's is found)."""
    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")  # short: Ray's socket paths live under it
    home = tmp_path_factory.mktemp("home")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    auth = {"HOME": str(home), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    env = {**clean, **auth}
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
        while alive_nodes(address, env) < 2:
            assert time.monotonic() < deadline, "the second node did not join"
            time.sleep(1)
        yield address, temp_dir, auth
    finally:
        stop_cluster(temp_dir)


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
    address, temp_dir, auth = real_cluster
    on_ray = run_cli("run", write(tmp_path), "--out", tmp_path / "ray", "--no-mlflow", "--address", address,
                     "--threads", "1", env_extra=auth)  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stderr
    assert f"executor ray (cluster at {address}, 2 CPUs, 1 thread per run)" in on_ray.stdout
    assert_same_runs(stored(tmp_path / "ray"), process_runs)
    assert cluster_processes(temp_dir)  # the cluster is still up: the driver leaves a cluster it did not start


def test_a_killed_ray_worker_is_retried_and_nothing_is_lost(real_cluster, process_runs, tmp_path):
    """SIGKILL the worker process of a run once its task runs (its title names the run): the run is tried again
    and every stored run equals an undisturbed run's."""
    address, temp_dir, auth = real_cluster
    out = tmp_path / "killed"
    exe = Path(sys.executable).with_name("imbalance-lab")
    driver = subprocess.Popen(
        [str(exe), "run", str(write(tmp_path)), "--out", str(out), "--no-mlflow", "--address", address,
         "--threads", "1", "--max-retries", "1"],
        env={**os.environ, **auth}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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


def without_auth(auth: dict[str, str], **keep: str) -> dict[str, str]:
    """A client's environment with none of Ray's token settings but ``keep`` (and the cluster's own HOME)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return {**env, "HOME": auth["HOME"], **keep}


def test_without_token_mode_the_address_is_refused_in_one_line(real_cluster, tmp_path):
    address, _, auth = real_cluster
    exe = Path(sys.executable).with_name("imbalance-lab")
    proc = subprocess.run(
        [str(exe), "run", str(write(tmp_path)), "--out", str(tmp_path / "out"), "--no-mlflow", "--address", address],
        env=without_auth(auth), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr == (
        f"error: execution.address: the Ray cluster at {address!r} asks for a token (its nodes run with "
        "RAY_AUTH_MODE=token); run with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
        "~/.ray/auth_token\n"
    )
    assert not (tmp_path / "out").exists()


def test_token_mode_without_a_token_is_one_line(real_cluster, tmp_path):
    address, _, auth = real_cluster
    exe = Path(sys.executable).with_name("imbalance-lab")
    proc = subprocess.run(
        [str(exe), "run", str(write(tmp_path)), "--out", str(tmp_path / "out"), "--no-mlflow", "--address", address],
        env=without_auth(auth, RAY_AUTH_MODE="token"), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: execution.address: could not connect to a Ray cluster at {address!r}")
    assert "no authentication token was found" in proc.stderr
    assert not (tmp_path / "out").exists()
