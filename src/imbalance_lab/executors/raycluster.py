"""Run the plan as Ray tasks, one per (arm, seed); the driver alone writes the store.

Each run is a task of ``threads`` CPUs (and ``gpus`` GPUs: one when training on
CUDA) that sets its torch threads and calls the same
:func:`~imbalance_lab.runner.run_one` as every other executor, so results
are bit for bit those of the other executors with the same threads. A Ray
worker process prepares the experiment's data once and keeps it for the next
tasks of the same experiment (Ray reuses its worker processes). Each epoch's
history entry comes back to the driver through a Ray queue (for progress), and
the run trains its next epoch once the driver has heard it (as in one process);
the finished :class:`~imbalance_lab.results.RunResult` comes back as the task's
value, and only the driver writes it to the store, as each task finishes.

Ray's own retries are off: a run that raises, or whose worker dies (killed, out
of memory, its node lost), is reported with its error and, with
``max_retries``, tried again; the other runs go on.

Without an ``address`` a local cluster is started for the experiment (one CPU
per core, no dashboard, Ray's logs kept out of the terminal) and shut down
after, also on Ctrl-C; a Ray that this process is already connected to (a
notebook's ``ray.init()``) is used as it is and left running. With an
``address`` the runs go to that cluster, where ``imbalance-lab`` must be
installed and the spec's data reachable; the device is resolved where the
command runs. A cluster that asks for a token (Ray's ``RAY_AUTH_MODE=token``)
is reached with the token, as Ray's own client is, or refused in one line. A
killed driver takes its local cluster with it: Ray's fate-sharing ends the
raylet, GCS and workers at once, and a small watcher ends Ray's two node agents,
which would otherwise spend a minute trying to report the raylet's death to the
dead GCS before they exit.

Ray is an optional dependency (``pip install 'imbalance-lab[ray]'``): this
module imports it only when a Ray run starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from imbalance_lab.errors import UserError
from imbalance_lab.executors.layout import available_cores
from imbalance_lab.executors.process import Retries, RunFailure
from imbalance_lab.prepared import ExperimentData
from imbalance_lab.progress import Progress
from imbalance_lab.results import RunResult
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import ResultStore

POLL_S = 0.5
CONNECT_TIMEOUT_S = 5.0  # Ray itself retries an unreachable address for minutes
LOCAL_CLUSTER = "local cluster"


@dataclass(frozen=True)
class Cluster:
    """The Ray cluster the runs go to: where it is, its CPUs and GPUs, and the most that one node has."""

    where: str
    cpus: int
    gpus: float
    node_cpus: float
    node_gpus: float


def import_ray() -> ModuleType:
    """Ray, or one line on how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "the ray executor needs Ray, which is not installed here: pip install 'imbalance-lab[ray]'"
        ) from None
    return ray


@contextlib.contextmanager
def ray_cluster(address: str | None = None) -> Iterator[Cluster]:
    """Ray, connected: as this process already is, else to the cluster at ``address``, else to a new local cluster.

    A connection this process already has (``ray.init()`` in a notebook, or
    ``api.run`` around ``run_ray``) is used as it is, whatever ``address`` says.
    Shuts down only what it started. Ray's own ``RAY_ADDRESS``, when set, names
    the cluster as ``address`` does.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield _describe(ray, "Ray cluster already connected")
        return
    where = _connect(ray, address)
    watcher = None
    try:
        watcher = _watch_local_cluster() if where == LOCAL_CLUSTER else None
        yield _describe(ray, where)
    finally:
        ray.shutdown()
        if watcher is not None:
            watcher.communicate(b"shut down", timeout=10)  # the cluster ended in order: nothing for it to do


def _connect(ray: ModuleType, address: str | None) -> str:
    """Start a local cluster or connect to ``address``; say which (one line on why not)."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address in (None, "local"):
        os.environ.setdefault(
            "RAY_AUTH_MODE", "disabled"
        )  # a private cluster on this machine: no token to make in ~/.ray
        ray.init(
            address="local",
            num_cpus=available_cores(),
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        return LOCAL_CLUSTER
    _check_reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as err:  # a token missing, too
        raise UserError(
            f"execution.address: could not connect to a Ray cluster at {address!r} "
            f"({' '.join(str(err).split())}); check the address, or leave it out to start a local cluster"
        ) from None
    return f"cluster at {address}"


# Run by the watcher: it waits for the driver's word; end of input without one means the driver was killed.
_WATCHER = """
import os, signal, sys
if not sys.stdin.buffer.read():
    for pid in map(int, sys.argv[1:]):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if cmdline.read().startswith(b"ray::"):  # still the agent, not a reused pid
                    os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


def _watch_local_cluster() -> subprocess.Popen[bytes] | None:
    """A process that ends the local cluster's node agents should this process be killed (Linux)."""
    if not sys.platform.startswith("linux"):
        return None  # the agents still exit by themselves, a minute later
    try:
        import psutil  # Ray ships it
    except ImportError:
        return None
    agents = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # gone meanwhile
            if child.name().startswith("ray::"):
                agents.append(child.pid)
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHER, *map(str, agents)], stdin=subprocess.PIPE, start_new_session=True
    )  # out of the terminal's process group: Ctrl-C is the driver's


def _check_reachable(address: str) -> None:
    """Refuse at once an address where no Ray cluster answers: nothing listens, or something else does (Ray
    itself would retry such an address for minutes, printing its own log lines as it goes)."""
    if address == "auto":  # Ray finds a cluster started on this machine, or says there is none
        return
    client = address.startswith("ray://")
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        host, port = hostport, "10001" if client else "6379"
    problem = ray_answers(host.strip("[]"), int(port), client=client, timeout=CONNECT_TIMEOUT_S)
    if problem == ASKS_FOR_TOKEN:
        if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
            return  # Ray's client sends the token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)
        raise UserError(
            f"execution.address: the Ray cluster at {address!r} asks for a token (its nodes run with "
            "RAY_AUTH_MODE=token); run with RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN or "
            "~/.ray/auth_token"
        )
    if problem is not None:
        raise UserError(
            f"execution.address: no Ray cluster answers at {address!r} ({problem}); start one with "
            "`ray start --head` and give the address it prints, or leave the address out to start a "
            "local cluster"
        )


# One gRPC call made by hand over HTTP/2 (RFC 9113; gRPC's framing: a flag byte and a 4-byte length before each
# message): GetClusterId of a head node's GCS, or a PING of a Ray Client server (ray://). Ray's own client
# needs no such probe when the cluster is there, but retries for minutes when it is not.
_GCS_METHOD = ("/ray.rpc.NodeInfoGcsService/GetClusterId", b"")  # GetClusterIdRequest: no fields
_CLIENT_METHOD = ("/ray.rpc.RayletDriver/ClusterInfo", b"\x08\x06")  # ClusterInfoRequest(type=PING)
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x7
_END_STREAM, _END_HEADERS, _ACK = 0x1, 0x4, 0x1
_STATUS_200 = 0x88  # HPACK's static-table entry 8, ":status: 200"
# gRPC's UNAUTHENTICATED as the literal `grpc-status: 16` that Ray's gRPC server sends (no Huffman coding):
# the answer of a Ray cluster with token authentication (RAY_AUTH_MODE=token) to a call without the token.
_UNAUTHENTICATED = b"\x0bgrpc-status\x0216"
ASKS_FOR_TOKEN = "it is a Ray cluster that asks for a token (token authentication)"


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _header(name: str | int, value: str) -> bytes:
    """An HPACK header field, not indexed: a static-table name (by its index, under 15) or a literal name,
    and a literal value (names and values under 127 bytes, no Huffman coding)."""
    data = value.encode()
    if isinstance(name, int):
        return bytes([name, len(data)]) + data
    return bytes([0, len(name)]) + name.encode() + bytes([len(data)]) + data


def ray_answers(host: str, port: int, *, client: bool = False, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Whether a Ray head (its GCS) or, with ``client``, a Ray Client server answers at ``host:port``: ``None``
    if so, else what happened instead, in a few words (nothing listens, it is not HTTP/2, the call failed), or
    :data:`ASKS_FOR_TOKEN` where a Ray cluster answers that wants a token (the probe sends none)."""
    path, message = _CLIENT_METHOD if client else _GCS_METHOD
    headers = (
        bytes([0x83, 0x86])  # :method POST, :scheme http (static-table entries 3 and 6)
        + _header(0x04, path)
        + _header(0x01, f"{host}:{port}")  # :path, :authority
        + _header("content-type", "application/grpc")
        + _header("te", "trailers")
    )
    request = (
        _H2_PREFACE
        + _frame(_SETTINGS, 0, 0)
        + _frame(_HEADERS, _END_HEADERS, 1, headers)
        + _frame(_DATA, _END_STREAM, 1, b"\x00" + len(message).to_bytes(4, "big") + message)
    )
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            pending, status_ok, first = b"", False, True

            def read_to(size: int) -> bool:
                nonlocal pending
                while len(pending) < size:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = sock.recv(65536)
                    if not chunk:
                        return False
                    pending += chunk
                return True

            while True:
                if not read_to(9):
                    return "it closed the connection" + ("" if pending else " without a word")
                length, kind, flags = int.from_bytes(pending[:3], "big"), pending[3], pending[4]
                stream = int.from_bytes(pending[5:9], "big") & 0x7FFFFFFF
                if first and (kind != _SETTINGS or stream != 0):  # an HTTP/2 server's first frame is its SETTINGS
                    return f"it does not speak HTTP/2 as Ray does; it said {_printable(pending)!r}"
                first = False
                if not read_to(9 + length):
                    return "it closed the connection"
                payload, pending = pending[9 : 9 + length], pending[9 + length :]
                if kind == _SETTINGS and not flags & _ACK:
                    sock.sendall(_frame(_SETTINGS, _ACK, 0))
                elif kind == _GOAWAY:
                    return "it refused the call (HTTP/2 GOAWAY)"
                elif kind == _RST_STREAM and stream == 1:
                    return "it refused the call (HTTP/2 RST_STREAM)"
                elif kind == _HEADERS and stream == 1:
                    if not status_ok and payload[:1] != bytes([_STATUS_200]):
                        return "it answered the call with an HTTP status other than 200"
                    status_ok = True
                    if flags & _END_STREAM and _UNAUTHENTICATED in payload:
                        return ASKS_FOR_TOKEN
                    if flags & _END_STREAM:  # trailers only: a gRPC error, such as no such method
                        return "it has no Ray service of that name (the gRPC call failed)"
                elif kind == _DATA and stream == 1 and status_ok:
                    if length >= 5 and payload[0] in (0, 1) and int.from_bytes(payload[1:5], "big") == length - 5:
                        return None
                    return "it answered the call, but not with a gRPC message"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as err:
        return err.strerror or type(err).__name__


def _printable(data: bytes) -> str:
    """The start of what a server said, as text."""
    return data[:40].decode("latin-1").replace("\r", "").replace("\n", " ").strip()


def _describe(ray: ModuleType, where: str) -> Cluster:
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    total = ray.cluster_resources()
    return Cluster(
        where,
        int(total.get("CPU", 0)),
        float(total.get("GPU", 0)),
        max((n.get("CPU", 0) for n in nodes), default=0),
        max((n.get("GPU", 0) for n in nodes), default=0),
    )


def check_fits(cluster: Cluster, threads: int, gpus: float) -> None:
    """A run must fit on one node, or Ray would wait for it for ever."""
    if threads > cluster.node_cpus:
        raise UserError(
            f"execution.threads: each run would ask for {threads} CPUs (one per thread) but the largest node "
            f"of the {cluster.where} has {cluster.node_cpus:g}; give --threads {int(cluster.node_cpus)} or fewer"
        )
    if gpus > cluster.node_gpus:
        raise UserError(
            f"training.device: each run would ask for {gpus:g} GPU but the largest node of the {cluster.where} "
            f"has {cluster.node_gpus:g}; run on a cluster with GPUs, or set training.device: cpu"
        )


# This Ray worker process's prepared data, by spec hash: Ray reuses its worker processes, so a worker
# prepares an experiment's data once for all the runs it is given (one experiment kept at a time).
_prepared: dict[str, ExperimentData] = {}


def _prepared_data(spec: ExperimentSpec) -> ExperimentData:
    from imbalance_lab.prepared import prepare_data

    key = spec.spec_hash()
    if key not in _prepared:
        _prepared.clear()
        _prepared[key] = prepare_data(spec)
    return _prepared[key]


class EpochsHeard:
    """Where a run's task waits until the driver has heard the last epoch it reported, before it reports the
    next or returns (as the process executor's workers do, see ``EPOCH_HEARD`` there): whatever the
    progress does at an epoch finds the run still in flight. A Ray actor (of no CPU) made by the driver for
    one experiment; ``attempt`` tells a retried run's epochs from its first try's."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, int], asyncio.Event] = {}

    def _event(self, attempt: str, epoch: int) -> asyncio.Event:
        return self._events.setdefault((attempt, epoch), asyncio.Event())

    async def wait(self, attempt: str, epoch: int) -> None:
        await self._event(attempt, epoch).wait()
        del self._events[attempt, epoch]

    async def heard(self, attempt: str, epoch: int) -> None:
        self._event(attempt, epoch).set()


def train_run(
    spec: ExperimentSpec, arm: str, seed: int, threads: int, channel: Any, heard: Any, attempt: str
) -> RunResult:
    """One run, in a Ray worker: its threads, the worker's prepared data, each epoch sent to the driver (the
    next one, and the result, once the driver has heard the last)."""
    import ray
    import torch

    from imbalance_lab.runner import run_one

    torch.set_num_threads(threads)
    channel.put(("started", arm, seed))
    unheard: list[Any] = []  # the driver's answer to the last epoch reported, while it is awaited

    def on_epoch(epoch: int, entry: dict[str, Any]) -> None:
        ray.get(unheard)
        channel.put(("epoch", arm, seed, epoch, entry, attempt))
        unheard[:] = [heard.wait.remote(attempt, epoch)]

    result = run_one(spec, arm, seed, data=_prepared_data(spec), on_epoch=on_epoch)
    ray.get(unheard)
    return result


def run_ray(
    spec: ExperimentSpec,
    store: ResultStore,
    todo: Iterable[tuple[str, int]],
    progress: Progress,
    *,
    address: str | None = None,
    threads: int = 1,
    gpus: float = 0,
    max_retries: int = 0,
) -> list[RunFailure]:
    """Run ``todo`` as Ray tasks of ``threads`` CPUs and ``gpus`` GPUs each; return the runs that failed.

    Results are bit for bit those of :func:`~imbalance_lab.executors.run_local`
    with the same number of threads; only the order in which runs finish differs.
    """
    pending = list(todo)
    if not pending:
        return []
    with ray_cluster(address) as cluster:
        check_fits(cluster, threads, gpus)
        return _run_tasks(import_ray(), spec, store, pending, progress, threads, gpus, max_retries)


def _run_tasks(
    ray: ModuleType,
    spec: ExperimentSpec,
    store: ResultStore,
    pending: list[tuple[str, int]],
    progress: Progress,
    threads: int,
    gpus: float,
    max_retries: int,
) -> list[RunFailure]:
    from ray.util.queue import Empty, Queue

    channel = Queue(actor_options={"num_cpus": 0})
    epochs_heard = ray.remote(num_cpus=0)(EpochsHeard).remote()
    task = ray.remote(train_run)
    resources = {
        "num_cpus": threads,
        "num_gpus": gpus,
        "max_retries": 0,
        "retry_exceptions": False,
    }  # we retry, and say why
    shared_spec = ray.put(spec)
    running: dict[Any, tuple[str, int]] = {}  # task -> its run
    retries = Retries(max_retries, progress)
    attempts = itertools.count()

    def submit(item: tuple[str, int]) -> None:
        ref = task.options(name=f"{item[0]} seed {item[1]}", **resources).remote(
            shared_spec, *item, threads, channel, epochs_heard, str(next(attempts))
        )
        running[ref] = item

    def failed(item: tuple[str, int], error: str, detail: str) -> None:
        if retries.failed(item, error, detail):
            submit(item)

    def report(messages: list[tuple[Any, ...]]) -> None:
        waiting = channel.qsize()
        for message in messages + (channel.get_nowait_batch(waiting) if waiting else []):
            if message[0] == "started":
                progress.run_started(message[1], message[2], spec.training.epochs)
            else:
                progress.epoch_finished(*message[1:5])
                epochs_heard.heard.remote(message[5], message[3])

    for item in pending:
        submit(item)
    try:
        while running:
            try:
                heard = [channel.get(timeout=POLL_S)]  # progress as it comes; finished runs at least every POLL_S
            except Empty:
                heard = []
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
            report(heard)  # after the wait: a finished task's messages were all sent before it finished
            for ref in ready:
                item = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as err:  # the run raised
                    cause = err.cause if err.cause is not None else err
                    failed(item, f"{type(cause).__name__}: {' '.join(str(cause).split())}", _plain(str(err)))
                except ray.exceptions.RayError as err:  # its worker or node died, or it was cancelled
                    failed(item, _why_lost(err), _plain(str(err)))
                else:
                    store.write_run(result)
                    progress.run_finished(result.arm, result.seed, result.wall_time_s)
    finally:
        for ref in running:  # Ctrl-C or an error here: stop what is still queued or training
            ray.cancel(ref, force=True)
        channel.shutdown(force=True)
        ray.kill(epochs_heard)
    return retries.failures


def _plain(text: str) -> str:
    """Ray's text without its terminal colours (for a bug report)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _why_lost(err: Exception) -> str:
    """One line for a run lost with its Ray worker or node."""
    ray = import_ray()
    if isinstance(err, ray.exceptions.WorkerCrashedError):
        return "its Ray worker process died (killed, or out of memory)"
    if isinstance(err, ray.exceptions.OutOfMemoryError):
        return "Ray killed its worker: its node ran out of memory"
    if isinstance(err, ray.exceptions.NodeDiedError):
        return "the Ray node running it died"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__
