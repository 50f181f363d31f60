"""Test helpers: a tiny synthetic spec and a way to run the CLI as a user does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

TINY_SPEC: dict[str, Any] = {
    "name": "tiny",
    "data": {
        "source": {"type": "synthetic", "n_per_class": 120, "size": 8},
        "classes": {"a": 0, "b": 1},
        "positive": "b",
        "splits": {
            "pool": {"a": 60, "b": 60},
            "val": {"a": 20, "b": 10},
            "test": {"a": 30, "b": 10},
        },
    },
    "arms": [
        {"name": "balanced", "train": {"a": 60, "b": 60}},
        {"name": "unbalanced", "train": {"a": 60, "b": 6}},
        {"name": "weighted", "train": {"a": 60, "b": 6}, "strategy": {"class_weight": {"weights": "inverse"}}},
        {"name": "both", "train": {"a": 60, "b": 6}, "strategy": [{"class_weight": {"weights": {"a": 1, "b": 2}}}, "oversample"]},
    ],
    "model": {"name": "simple_cnn", "width": 4, "hidden": 8},
    "training": {"epochs": 2, "batch_size": 32, "lr": 0.01},
    "seeds": [0, 1],
}


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_cli(*args: str | Path | int, cwd: Path | None = None, check: bool = False,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``imbalance-lab ARGS`` in a subprocess, as a user would (a hang past ``timeout`` fails the test)."""
    exe = Path(sys.executable).with_name("imbalance-lab")
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def kill_once_a_run_is_stored(*args: str | Path, out: Path,
                              watch: Callable[[int], None] | None = None) -> dict[Path, bytes]:
    """Start ``imbalance-lab ARGS`` (a run into ``out``), SIGKILL it once its first run is stored; return the stored files.

    ``watch(pid)`` is called while waiting, to look at what the run has started.
    """
    exe = Path(sys.executable).with_name("imbalance-lab")
    driver = subprocess.Popen([str(exe), *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("runs/*/seed-*/result.json")) and time.monotonic() < deadline:
            if watch is not None:
                watch(driver.pid)
            time.sleep(0.05)
        stored = {p: p.read_bytes() for p in out.glob("runs/*/seed-*/*")}
        assert stored, "no run finished in time"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=30)
    return stored


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``imbalance-lab ARGS`` in this process, through the console script's own ``main``.

    The same code path as :func:`run_cli` (argument parsing, the one-line error
    handler, exit codes) without the few seconds a fresh interpreter costs; use
    :func:`run_cli` where a separate process matters (signals, concurrency).
    Returns a ``CompletedProcess`` with the exit code and the captured output.
    """
    import contextlib
    import io
    import warnings

    from imbalance_lab import cli as cli_module

    argv = ["imbalance-lab", *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    code: int | str | None = 0
    try:
        sys.argv = argv
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            try:
                cli_module.main()
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    if code is None:
        code = 0
    elif isinstance(code, str):  # sys.exit("message") prints the message and exits 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(argv, int(code), out.getvalue(), err.getvalue())


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (children, grandchildren, ...), from /proc; zombies left out."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (not gone, not zombies)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def wait_until_gone(pids: set[int], deadline_s: float = 30) -> set[int]:
    """Wait (at most ``deadline_s``, a bound for a hang, not a timing window) until none of ``pids`` runs;
    return those still running."""
    end = time.monotonic() + deadline_s
    while alive(pids) and time.monotonic() < end:
        time.sleep(0.1)
    return alive(pids)
