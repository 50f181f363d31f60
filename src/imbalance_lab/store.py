"""The results directory: one directory per finished run, written atomically.

Layout::

    DIR/spec.yaml                       the spec used (canonical form)
    DIR/runs/<arm>/seed-<seed>/         one finished run:
        result.json                     spec hash, run hash, history, metrics, timing
        predictions.npz                 <set>_labels (int64 N), <set>_probs, <set>_logits (float32 N×C)
    DIR/summary.csv, DIR/summary.md     the summary table

A run is written into a hidden temporary directory beside its final place and
renamed into place when complete, so a kill leaves either a whole run or
nothing; leftovers of killed runs are removed on the next start. Finished runs
are never rewritten.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imbalance_lab.errors import StoreError
from imbalance_lab.results import PREDICTIONS_FILE, RESULT_FILE, RunResult
from imbalance_lab.spec import ExperimentSpec

SPEC_FILE = "spec.yaml"
TMP_PREFIX = ".tmp-"


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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
        except (OSError, json.JSONDecodeError) as err:
            raise StoreError(f"cannot read {path / RESULT_FILE}: {err}; delete {path} to run it again") from None
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
                f"other data, model, training or arm settings{_changed(self.root, spec)}); "
                f"use --out NEW_DIR, or --force to discard the {len(stale)} outdated run(s)"
            )
        for stored in stale:
            shutil.rmtree(stored.path)
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        write_atomic(self.root / SPEC_FILE, spec.to_yaml())
        return done

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
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}seed-{result.seed}-", dir=final.parent))
        tmp.chmod(0o755)
        try:
            with open(tmp / PREDICTIONS_FILE, "wb") as fh:
                np.savez_compressed(fh, **result.prediction_arrays())
                fh.flush()
                os.fsync(fh.fileno())
            with open(tmp / RESULT_FILE, "w") as fh:
                json.dump(result.to_json(), fh, indent=1, allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def scan(self, spec: ExperimentSpec) -> RunScan:
        """Every run of ``spec`` that can be analysed; what is missing or broken is named, not fatal.

        A run is broken when its ``result.json`` or ``predictions.npz`` cannot be
        read or lacks an evaluation set, or when it was made by another definition of
        its arm (a different run hash: runs of different specs mixed in one directory).
        """
        good, missing, problems = [], [], []
        for arm in spec.arms:
            for seed in spec.seeds:
                path = self.run_dir(arm.name, seed)
                if not path.exists():
                    missing.append((arm.name, seed))
                    continue
                where = f"{arm.name}/seed-{seed}"
                try:
                    stored = self.read_run(arm.name, seed)
                except StoreError:
                    problems.append(f"{where}: result.json missing or unreadable (a partly-written or damaged run)")
                    continue
                if stored.result.get("run_hash") != spec.run_hash(arm, seed):
                    problems.append(f"{where}: made by a different spec (run hash {stored.result.get('run_hash')!r})")
                    continue
                try:
                    arrays = stored.predictions()
                except Exception as err:  # noqa: BLE001  (zip, pickle and value errors of a damaged npz)
                    problems.append(f"{where}: predictions.npz unreadable ({type(err).__name__})")
                    continue
                absent = [s for s in spec.data.eval_sets if f"{s}_labels" not in arrays or f"{s}_probs" not in arrays]
                if absent:
                    problems.append(f"{where}: predictions.npz lacks the {absent[0]!r} set")
                    continue
                good.append(stored)
        return RunScan(good, missing, problems)


@dataclass(frozen=True)
class RunScan:
    """What a results directory holds for a spec: usable runs, missing ones, and broken ones with reasons."""

    runs: list[StoredRun]
    missing: list[tuple[str, int]]
    problems: list[str]


def read_spec(directory: str | Path) -> ExperimentSpec:
    """The spec stored in a results directory (``DIR/spec.yaml``), or a one-line :class:`StoreError`."""
    import yaml

    from imbalance_lab.spec import build_spec

    root = Path(directory)
    path = root / SPEC_FILE
    if not path.is_file():
        raise StoreError(f"{root} is not a results directory (no {SPEC_FILE}); give the directory that 'imbalance-lab run' wrote")
    try:
        return build_spec(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as err:
        raise StoreError(f"cannot read {path} ({' '.join(str(err).split())}); it was changed by hand or damaged") from None


def _changed(root: Path, spec: ExperimentSpec) -> str:
    """Which top-level spec sections differ from the stored spec.yaml, as a message fragment."""
    import yaml

    try:
        old = yaml.safe_load((root / SPEC_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return ""
    new = spec.canonical()
    keys = [k for k in ("data", "model", "training") if old.get(k) != new.get(k)]
    return f"; changed: {', '.join(keys)}" if keys else ""
