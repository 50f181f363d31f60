"""The results directory: one directory per finished run, written atomically.

Layout::

    DIR/spec.yaml                       the spec used (canonical form)
    DIR/runs/<arm>/seed-<seed>/         one finished run:
        result.json                     spec hash, run hash, history, metrics, timing
        predictions.npz                 <set>_labels (int64 N), <set>_probs, <set>_logits (float32 N×C);
                                        with a selection study <set>_epoch_logits (float32 E×N×C)
        model.pt                        the final weights (a state dict), with execution.save_weights
    DIR/summary.csv, DIR/summary.md     the summary table

A run is written into a hidden temporary directory beside its final place and
renamed into place when complete, so a kill leaves either a whole run or
nothing; leftovers of killed runs are removed on the next start. Finished runs
are never rewritten.

One writer at a time: ``run`` holds an advisory lock on ``DIR/.lock`` (which
names the holder) for its whole life; the kernel releases it on any exit, a
crash included, so a lock is never stale. Changes readers could see half-done
(the spec and the set of runs) happen under a second, short lock
(``DIR/.state.lock``) that readers take shared while they read, so ``summary``
and ``report`` see the directory either before or after a change, never mixed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imbalance_lab.errors import SpecError, StoreError
from imbalance_lab.results import MODEL_FILE, PREDICTIONS_FILE, RESULT_FILE, RunResult
from imbalance_lab.spec import ExperimentSpec, definition_differences, load_spec

SPEC_FILE = "spec.yaml"
TMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"
STATE_LOCK_FILE = ".state.lock"
REQUIRED_RESULT_KEYS = ("arm", "seed", "run_hash", "train_counts", "history", "metrics")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file via a temporary file in the same directory and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename == tmp:  # the file meant, not the temporary one
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


@dataclass(frozen=True)
class StoredRun:
    """A finished run read back from disk."""

    arm: str
    seed: int
    path: Path
    result: dict[str, Any]

    def predictions(self) -> dict[str, np.ndarray]:
        with np.load(self.path / PREDICTIONS_FILE) as npz:
            return {k: npz[k] for k in npz.files}


class ResultStore:
    """Reads and writes one experiment's results directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def run_dir(self, arm: str, seed: int) -> Path:
        return self.root / "runs" / arm / f"seed-{seed}"

    def is_finished(self, arm: str, seed: int) -> bool:
        return (self.run_dir(arm, seed) / RESULT_FILE).is_file()

    def read_run(self, arm: str, seed: int) -> StoredRun:
        path = self.run_dir(arm, seed)
        try:
            result = json.loads((path / RESULT_FILE).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise StoreError(f"cannot read {path / RESULT_FILE} ({err}); delete {path} to run it again") from None
        absent = [k for k in REQUIRED_RESULT_KEYS if not isinstance(result, dict) or k not in result]
        if absent:
            raise StoreError(
                f"{path / RESULT_FILE} is damaged (it lacks {', '.join(absent)}); delete {path} to run it again"
            )
        return StoredRun(arm, seed, path, result)

    # ----------------------------------------------------------------- writing
    def open(self, spec: ExperimentSpec, *, force: bool = False) -> list[tuple[str, int]]:
        """Make the directory ready for ``spec``; return the (arm, seed) runs already finished.

        Finished runs of the same arm and seed must have been made by the same
        definition (data, model, training, arm); otherwise the directory belongs to
        another spec and is refused, unless ``force`` discards those runs. Adding
        arms or seeds is fine: their runs are simply added.
        """
        stale = []
        done = []
        for arm in spec.arms:
            for seed in spec.seeds:
                if not self.is_finished(arm.name, seed):
                    continue
                stored = self.read_run(arm.name, seed)
                if stored.result.get("run_hash") != spec.run_hash(arm, seed):
                    stale.append(stored)
                else:
                    done.append((arm.name, seed))
        if stale and not force:
            first = stale[0]
            raise StoreError(
                f"{self.root} holds results of a different spec (run {first.arm}/seed-{first.seed} was made with "
                f"{_how_made(first, spec, 'this spec') or 'other data, model, training or arm settings' + _changed(self.root, spec)}); "
                f"use --out NEW_DIR, or --force to discard the {len(stale)} outdated run(s)"
            )
        self.make_root()
        runs = self.root / "runs"
        for folder in [runs, *(runs / arm.name for arm in spec.arms)]:
            if folder.exists() and not folder.is_dir():
                raise StoreError(
                    f"{folder} is a file, but the results directory keeps its runs in a folder of that "
                    f"name; move the file out of {self.root}, or give --out another directory"
                )
        with self.state_lock(shared=False):
            for stored in stale:
                _remove_run(stored.path)
            self._remove_leftovers()
            write_atomic(self.root / SPEC_FILE, spec.to_yaml())
        return done

    def make_root(self) -> None:
        """Create the results directory, or a one-line :class:`StoreError` saying why it cannot be."""
        check_output_dir(self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(prefix=TMP_PREFIX, dir=self.root)
            probe.close()
        except OSError as err:
            raise StoreError(
                f"cannot write the results directory {self.root} ({err.strerror or err}); "
                "give --out (or the spec's output) a directory you can write"
            ) from None

    @contextlib.contextmanager
    def writer(self, command: str | None = None) -> Iterator[None]:
        """Hold the one-writer lock of this directory (created if needed) while the block runs.

        A second writer is refused at once with a :class:`StoreError` naming the
        holder (process, host, start time, command). The lock is the kernel's
        (``flock``): it goes away with the process, however it ends.
        """
        self.make_root()
        path = self.root / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd, shared=False, wait=False):
                holder = _read_holder(path)
                raise StoreError(
                    f"{self.root} is in use by another run ({holder}); wait for it to finish, "
                    "or give this one another --out"
                )
            os.ftruncate(fd, 0)
            os.write(
                fd,
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "command": command or " ".join(["imbalance-lab", *sys.argv[1:]]),
                    }
                ).encode(),
            )
            os.fsync(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock; the file stays (its content names the last holder)

    def writer_active(self) -> str | None:
        """Who holds the writer lock now (a description), or ``None``."""
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if _try_lock(fd, shared=True, wait=False):
                return None
            return _read_holder(path)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def state_lock(self, *, shared: bool) -> Iterator[None]:
        """The short lock around changes of the spec and of the set of runs (readers: ``shared=True``).

        A reader finding no lock file reads without it: no writer has changed the
        directory since it was made (or it is a copy made by other means).
        """
        try:  # a reader never creates the file: where none exists, no writer has changed anything yet
            fd = os.open(self.root / STATE_LOCK_FILE, os.O_RDONLY if shared else os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            if not shared:
                raise
            yield
            return
        try:
            _try_lock(fd, shared=shared, wait=True)
            yield
        finally:
            os.close(fd)

    def _remove_leftovers(self) -> None:
        runs = self.root / "runs"
        if runs.is_dir():
            for leftover in runs.glob(f"*/{TMP_PREFIX}*"):
                shutil.rmtree(leftover, ignore_errors=True)

    def write_run(self, result: RunResult) -> Path:
        """Store a finished run atomically (a whole directory renamed into place)."""
        final = self.run_dir(result.arm, result.seed)
        if final.exists():
            raise StoreError(f"{final} already holds a finished run; it is never rewritten")
        with writing(
            final,
            f"the runs stored before {result.arm}/seed-{result.seed} are kept; fix that (free "
            "space, permissions) and run the same command again to resume",
        ):
            return self._write_run(result, final)

    def _write_run(self, result: RunResult, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}seed-{result.seed}-", dir=final.parent))
        tmp.chmod(0o755)
        try:
            with open(tmp / PREDICTIONS_FILE, "wb") as fh:
                np.savez_compressed(fh, **result.prediction_arrays())
                fh.flush()
                os.fsync(fh.fileno())
            if result.weights is not None:
                import torch  # only runs that keep weights need it here

                with open(tmp / MODEL_FILE, "wb") as fh:
                    torch.save(result.weights, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
            with open(tmp / RESULT_FILE, "w") as fh:
                json.dump(result.to_json(), fh, indent=1, allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())
            with self.state_lock(shared=False):
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def other_arms(self, spec: ExperimentSpec) -> list[str]:
        """Arms with finished runs here that ``spec`` does not name."""
        return sorted(
            {p.parent.parent.name for p in self.root.glob(f"runs/*/seed-*/{RESULT_FILE}")}
            - {arm.name for arm in spec.arms}
        )

    def scan(self, spec: ExperimentSpec) -> RunScan:
        """Every run of ``spec`` that can be analysed; what is missing or broken is named, not fatal.

        A run is broken when its ``result.json`` or ``predictions.npz`` cannot be
        read or lacks an evaluation set, or when it was made by another definition of
        its arm (a different run hash: runs of different specs mixed in one directory).
        """
        good, missing, problems, foreign = [], [], [], []
        for arm in spec.arms:
            for seed in spec.seeds:
                path = self.run_dir(arm.name, seed)
                if not path.exists():
                    missing.append((arm.name, seed))
                    continue
                where = f"{arm.name}/seed-{seed}"
                if not (path / RESULT_FILE).is_file():
                    problems.append(f"{where}: result.json missing (a damaged run); delete {path} to run it again")
                    continue
                try:
                    stored = self.read_run(arm.name, seed)
                except StoreError:
                    problems.append(
                        f"{where}: result.json damaged (not the JSON of a finished run); delete {path} to run it again"
                    )
                    continue
                if stored.result.get("run_hash") != spec.run_hash(arm, seed):
                    foreign.append(stored)
                    made = _how_made(stored, spec, SPEC_FILE)
                    problems.append(
                        f"{where}: made with other settings than {SPEC_FILE} "
                        f"({made or 'run hash ' + repr(stored.result.get('run_hash'))}); it was copied in "
                        f"from another experiment: move it out, or delete {path} to run it again"
                    )
                    continue
                try:
                    arrays = stored.predictions()
                except Exception as err:  # noqa: BLE001  (zip, pickle and value errors of a damaged npz)
                    problems.append(
                        f"{where}: predictions.npz damaged ({type(err).__name__}); delete {path} to run it again"
                    )
                    continue
                wrong = _check_predictions(arrays, spec.data.eval_sets, len(stored.result["train_counts"]))
                if wrong:
                    problems.append(f"{where}: predictions.npz damaged ({wrong}); delete {path} to run it again")
                    continue
                good.append(stored)
        if foreign and not good:  # not one run matches: the spec is what changed, not the runs
            raise StoreError(
                f"{self.root / SPEC_FILE} does not match any of the {len(foreign)} runs it holds: it "
                f"was changed by hand or copied from another experiment "
                f"({_how_made(foreign[0], spec, SPEC_FILE) or 'its data, model, training or arms differ'}); "
                f"put back the spec the runs were made with (imbalance-lab run THAT_SPEC --out "
                f"{self.root} rewrites it, keeping every finished run)"
            )
        return RunScan(good, missing, problems)


@dataclass(frozen=True)
class RunScan:
    """What a results directory holds for a spec: usable runs, missing ones, and broken ones with reasons."""

    runs: list[StoredRun]
    missing: list[tuple[str, int]]
    problems: list[str]


def _check_predictions(arrays: dict[str, np.ndarray], sets: Any, n_classes: int) -> str:
    """What is wrong with a run's prediction arrays (``""`` when nothing): shapes, label range, finiteness."""
    for name in sets:
        labels, probs, logits = arrays.get(f"{name}_labels"), arrays.get(f"{name}_probs"), arrays.get(f"{name}_logits")
        if labels is None or probs is None:
            return f"no {name!r} set"
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            return f"{name}_labels is not a vector of class indices"
        if probs.shape != (labels.shape[0], n_classes):
            return f"{name}_probs has shape {probs.shape}, expected {(labels.shape[0], n_classes)}: one row per label"
        if logits is not None and logits.shape != probs.shape:
            return f"{name}_logits has shape {logits.shape}, expected {probs.shape}"
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            return f"{name}_labels holds a class index outside 0..{n_classes - 1}"
        if not np.isfinite(probs).all():
            return f"{name}_probs is not finite"
    return ""


def _remove_run(path: Path) -> None:
    """Delete a run: renamed out of place first (atomic), so nobody sees half of it."""
    gone = path.with_name(f"{TMP_PREFIX}discarded-{path.name}-{os.getpid()}")
    os.rename(path, gone)
    shutil.rmtree(gone)


def _try_lock(fd: int, *, shared: bool, wait: bool) -> bool:
    """``flock`` the file; ``False`` when another holder has it and ``wait`` is off.

    Where ``fcntl`` does not exist (Windows) there is no lock: ``True``.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (not on Linux or macOS)
        return True
    flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, flags)
    except BlockingIOError:
        return False
    return True


def _read_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"process {info['pid']} on {info['host']} since {info['started']}: {info['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not yet said who it is"


@contextlib.contextmanager
def writing(target: Path, fix: str) -> Iterator[None]:
    """Turn a failed write under ``target`` into a one-line :class:`StoreError` ending with ``fix``."""
    try:
        yield
    except OSError as err:
        named = next(
            (
                name
                for name in (err.filename2, err.filename)  # the file meant, not our temporary one
                if name and not any(part.startswith(TMP_PREFIX) for part in Path(str(name)).parts)
            ),
            target,
        )
        raise StoreError(f"cannot write {named} ({err.strerror or err}); {fix}") from None


def check_output_dir(
    root: Path, what: str = "results directory", fix: str = "give --out (or the spec's output) another path"
) -> None:
    """A one-line :class:`StoreError` when directory ``root`` cannot be made or used; creates nothing."""
    if root.exists() and not root.is_dir():
        raise StoreError(f"{what} {root} is an existing file, not a directory; {fix}")
    ancestor = _nearest_existing(root)
    if not ancestor.is_dir():
        raise StoreError(f"{what} {root} cannot be made: {ancestor} is a file, not a directory; {fix}")


def free_bytes(path: Path) -> int:
    """Free space (bytes) on the file system that holds ``path`` or, if absent, its nearest existing parent."""
    return shutil.disk_usage(_nearest_existing(path)).free


def _nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def read_spec(directory: str | Path) -> ExperimentSpec:
    """The spec stored in a results directory (``DIR/spec.yaml``), or a one-line :class:`StoreError`."""
    root = Path(directory)
    path = root / SPEC_FILE
    if not path.is_file():
        raise StoreError(
            f"{root} is not a results directory (no {SPEC_FILE} file); give the directory that 'imbalance-lab run' wrote"
        )
    try:
        return load_spec(path, stored=True)
    except SpecError as err:
        raise StoreError(
            f"{path} is damaged or was changed by hand ({err}); restore it from your spec file "
            f"(imbalance-lab run SPEC --out {root} rewrites it)"
        ) from None


def _how_made(stored: StoredRun, spec: ExperimentSpec, called: str, shown: int = 2) -> str:
    """How a stored run's settings differ from what ``spec`` (called ``called`` in the message) would
    make, from the definition the run recorded: ``training.epochs: 3 in the runs, 5 in spec.yaml``;
    ``""`` for runs stored before runs recorded it."""
    made_with = stored.result.get("definition")
    arm = next((a for a in spec.arms if a.name == stored.arm), None)
    if not isinstance(made_with, dict) or not made_with or arm is None:
        return ""
    found = definition_differences(made_with, spec.run_definition(arm, stored.seed))
    found = [f.replace("in the spec", f"in {called}") for f in found]
    if not found:
        return ""
    more = f"; {len(found) - shown} more" if len(found) > shown else ""
    return "; ".join(found[:shown]) + more


def _changed(root: Path, spec: ExperimentSpec) -> str:
    """Which top-level spec sections differ from the stored spec.yaml, as a message fragment."""
    import yaml

    try:
        old = yaml.safe_load((root / SPEC_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return ""
    new = spec.canonical()
    keys = [k for k in ("data", "model", "training") if old.get(k) != new.get(k)]
    if (old.get("selection") is None) != (new.get("selection") is None):  # the runs keep per-epoch predictions or not
        keys.append("selection")
    return f"; changed: {', '.join(keys)}" if keys else ""
