"""Test helpers: a tiny synthetic spec and a way to run the CLI as a user does."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
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
        {
            "name": "both",
            "train": {"a": 60, "b": 6},
            "strategy": [{"class_weight": {"weights": {"a": 1, "b": 2}}}, "oversample"],
        },
    ],
    "model": {"name": "simple_cnn", "width": 4, "hidden": 8},
    "training": {"epochs": 2, "batch_size": 32, "lr": 0.01},
    "seeds": [0, 1],
}


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_cli(
    *args: str | Path | int,
    cwd: Path | None = None,
    check: bool = False,
    timeout: float = 300,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``imbalance-lab ARGS`` in a subprocess, as a user would (a hang past ``timeout`` fails the test);
    ``env_extra`` is added to its environment."""
    exe = Path(sys.executable).with_name("imbalance-lab")
    env = {**os.environ, "COLUMNS": "200", **(env_extra or {})}
    proc = subprocess.run(
        [str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def kill_once_a_run_is_stored(
    *args: str | Path, out: Path, watch: Callable[[int], None] | None = None
) -> dict[Path, bytes]:
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


def waits_for_lock(path: Path, pid: int | None = None) -> bool:
    """Whether a process (``pid``, else any) waits, blocked, for the ``flock`` of ``path`` (the kernel's
    /proc/locks lists a waiter as ``N: -> FLOCK ...``): the event that proves it is stopped there."""
    inode = f":{path.stat().st_ino} "
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1:3] == ["->", "FLOCK"] and inode in line and (pid is None or int(fields[5]) == pid):
            return True
    return False


def _ctrl_c_as_from_a_terminal() -> None:
    """In a child before it runs its program: SIGINT's default action, as for a command typed at a terminal,
    whatever this process inherited (a shell's background job ignores SIGINT, and so would the child)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class HeldRun:
    """``imbalance-lab ARGS`` in a subprocess, writing into the new results directory ``out``, that the test
    stops where it wants by events, never by a timing window: :meth:`hold_a_run_in_flight` returns once the
    driver has stored exactly one run and waits, with the next one trained, to store it.

    Two holds do it. The driver's stdout is a pipe the test keeps full when it wants, so the driver's next
    line waits until the test reads; and the test takes the results directory's state lock, under which the
    driver renames a trained run into place (``ResultStore.state_lock``), so a trained run waits in its
    hidden temporary directory. Use it as a context manager: on the way out it kills the driver (if still
    running) and lets go of both.
    """

    FILLER = b"\0"  # what the test writes into the pipe; the driver never prints a NUL

    def __init__(self, *args: str | Path, out: Path, new_session: bool = False) -> None:
        from imbalance_lab.store import ResultStore

        assert not out.exists(), "HeldRun needs a new results directory: its spec.yaml appearing is an event"
        self.out, self.store = out, ResultStore(out)
        self.stdout = bytearray()
        self._lock = contextlib.ExitStack()
        self._stderr = tempfile.TemporaryFile()
        self._read, write = os.pipe()
        os.set_blocking(self._read, False)
        # the test's own way into the pipe, non-blocking; the driver's (the same pipe, opened anew) blocks
        self._fill_end = os.open(f"/proc/self/fd/{write}", os.O_WRONLY | os.O_NONBLOCK)
        self._fill()  # the driver's first line (printed after it opened the directory) waits
        exe = Path(sys.executable).with_name("imbalance-lab")
        env = {**os.environ, "COLUMNS": "200"}
        self.driver = subprocess.Popen(
            [str(exe), *map(str, args)],
            stdout=write,
            stderr=self._stderr,
            env=env,
            start_new_session=new_session,
            preexec_fn=_ctrl_c_as_from_a_terminal,
        )
        os.close(write)

    def __enter__(self) -> HeldRun:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.driver.poll() is None:
                self.driver.kill()
                self.driver.wait(timeout=60)
        finally:
            self._lock.close()
            os.close(self._read)
            os.close(self._fill_end)
            self._stderr.close()

    def hold_a_run_in_flight(self) -> Path:
        """Step the driver until it has stored exactly one run and waits, blocked on the state lock the test
        holds, to store the next, trained one; return that run's temporary directory."""
        spec_file = self.out / "spec.yaml"
        self._wait(spec_file.exists, "spec.yaml")  # written under the state lock: the driver holds it or let go
        self._hold()  # from here no run can be stored
        self._drain()  # the driver's first line goes out: it trains its first run and waits to store it
        self._wait(self._waits, "the driver waiting to store its first run")
        self._fill()  # its next line ("[1/N] ...") will wait
        self._lock.close()  # the first run is stored; the driver waits on its line
        stored = self._wait(self.stored, "the first run stored")
        self._hold()  # (after the driver let go of the lock it took for the rename)
        self._drain()  # it goes on, trains the next run and waits to store it
        self._wait(self._waits, "the driver waiting to store its second run")
        assert self.stored() == stored, "a run was stored while the test held the lock"
        (in_flight,) = self.out.glob("runs/*/.tmp-seed-*")  # the trained run, whole, in its hidden directory
        assert (in_flight / "result.json").is_file()
        return in_flight

    def stop(self, signum: int, *, group: bool = False) -> subprocess.CompletedProcess[str]:
        """Send ``signum`` to the held driver (its process group with ``group``), wait for it to end (60 s, a
        bound for a hang), then let go of the lock; return its exit code and output."""
        (os.killpg if group else os.kill)(self.driver.pid, signum)
        try:
            self.driver.wait(timeout=60)
        finally:
            self._lock.close()
        self._drain()
        self._stderr.seek(0)
        return subprocess.CompletedProcess(
            self.driver.args, self.driver.returncode, self.stdout.decode(), self._stderr.read().decode()
        )

    def stored(self) -> list[Path]:
        """The runs stored so far (their result.json)."""
        return sorted(self.out.glob("runs/*/seed-*/result.json"))

    def _waits(self) -> bool:
        return waits_for_lock(self.out / ".state.lock", self.driver.pid)

    def _hold(self) -> None:
        self._lock.enter_context(self.store.state_lock(shared=False))

    def _fill(self) -> None:
        for chunk in (self.FILLER * 65536, self.FILLER):  # whole pages, then what is left of the last one
            with contextlib.suppress(BlockingIOError):
                while True:
                    os.write(self._fill_end, chunk)

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while data := os.read(self._read, 65536):
                self.stdout += data.replace(self.FILLER, b"")

    def _wait(self, found: Callable[[], Any], what: str, deadline_s: float = 240) -> Any:
        """Wait for an event (``found()`` true, returned); the deadline bounds a hang, it is no timing window."""
        end = time.monotonic() + deadline_s
        while not (value := found()):
            code = self.driver.poll()
            if code is not None or time.monotonic() > end:
                self._drain()
                self._stderr.seek(0)
                state = f"ended with exit {code}" if code is not None else f"still runs after {deadline_s} s"
                raise AssertionError(
                    f"no {what}: the driver {state}\nstdout: {self.stdout.decode()}\n"
                    f"stderr: {self._stderr.read().decode()}"
                )
            time.sleep(0.02)
        return value


def run_recording_states(monkeypatch: Any, spec: Any, arm: str, seed: int = 0) -> tuple[Any, list[dict[str, Any]]]:
    """``run_one`` of ``arm`` with the model's state dict copied at the end of every epoch (the trainer's
    model, caught as ``fit`` receives it): the run's result and the states, in epoch order."""
    import imbalance_lab.runner as runner
    from imbalance_lab import run_one

    seen: dict[str, Any] = {}
    real_fit = runner.fit

    def spying_fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        seen["model"] = model
        return real_fit(model, *args, **kwargs)

    states: list[dict[str, Any]] = []
    monkeypatch.setattr(runner, "fit", spying_fit)
    result = run_one(
        spec,
        arm,
        seed,
        on_epoch=lambda epoch, entry: states.append({k: v.clone() for k, v in seen["model"].state_dict().items()}),
    )
    return result, states
