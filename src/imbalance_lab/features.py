"""Features once: a frozen backbone's features of every image an experiment uses, computed once and
kept on disk, so that each arm and seed trains only its head.

A frozen backbone is in eval mode, so an image's features are the same in every
epoch, arm and seed (given the same backbone weights). They are computed for the
union of the experiment's sets (the pool and every evaluation set) in one pass,
stored as ``<cache>/<key>.pt`` and read by every run that needs them. The key is
a SHA-256 of everything the features depend on: the images themselves (so the
source, its decoding and the split), the model's name and parameters, the
backbone's weights, and how it computes (device type, precision, memory layout).
The cache is ``$IMBALANCE_LAB_CACHE/features``, else
``$XDG_CACHE_HOME/imbalance-lab/features`` (``~/.cache`` without it). Concurrent
runs wait on a lock while one of them computes; files are written whole or not
at all. Turn it off with ``execution.feature_cache: false`` (results agree up to
the last bits of floating-point sums; measured in ``benchmarks/feature_cache.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imbalance_lab.models.base import ImageClassifier
from imbalance_lab.prepared import ExperimentData
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.train import Compute, predict_features

FORMAT = 1  # bump when what is stored changes


def cache_dir() -> Path:
    """Where features are kept (see the module's note)."""
    own = os.environ.get("IMBALANCE_LAB_CACHE")
    if own:
        return Path(own).expanduser() / "features"
    base = os.environ.get("XDG_CACHE_HOME", "")
    home = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return home / "imbalance-lab" / "features"


@dataclass(frozen=True)
class FeatureBank:
    """Features of a sorted array of source indices."""

    index: np.ndarray  # sorted source indices
    features: torch.Tensor  # float32, len(index) × F, on the CPU

    def take(self, source_indices: np.ndarray) -> torch.Tensor:
        rows = np.searchsorted(self.index, source_indices)
        if not np.array_equal(self.index[np.minimum(rows, len(self.index) - 1)], source_indices):
            raise KeyError("source indices outside the bank")  # a bug, not a user mistake
        return self.features[torch.from_numpy(rows)]


def used_indices(data: ExperimentData) -> np.ndarray:
    """Every source image the experiment's sets hold (pool and evaluation sets), sorted."""
    return np.unique(np.concatenate([np.asarray(v, dtype=np.int64) for v in data.plan.sets.values()]))


def feature_key(
    spec: ExperimentSpec, data: ExperimentData, model: ImageClassifier, compute: Compute, index: np.ndarray
) -> str:
    digest = hashlib.sha256()
    about = {
        "format": FORMAT,
        "model": spec.model.name,
        "params": spec.model.params,
        "torch": torch.__version__,
        "device": compute.device.type,
        "precision": compute.precision,
        "channels_last": compute.channels_last,
    }
    digest.update(json.dumps(about, sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(data.source.images[torch.from_numpy(index)].numpy()).tobytes())
    for name, tensor in model.backbone.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# this process's bank, by key (a worker keeps the one experiment's it is running)
_loaded: dict[str, FeatureBank] = {}


def feature_bank(spec: ExperimentSpec, data: ExperimentData, model: ImageClassifier, compute: Compute) -> FeatureBank:
    """The experiment's features under ``model``'s frozen backbone: from this process's memory, the disk
    cache, or computed now (and stored)."""
    index = used_indices(data)
    key = feature_key(spec, data, model, compute, index)
    if key in _loaded:
        return _loaded[key]
    folder = cache_dir()
    path = folder / f"{key}.pt"

    def compute_now() -> FeatureBank:
        images = data.source.images[torch.from_numpy(index)]
        return FeatureBank(index, predict_features(model, images, spec.training.eval_batch_size, compute).cpu())

    try:
        with _locked(folder / f"{key}.lock"):
            bank = _read(path, index)
            if bank is None:
                bank = compute_now()
                _write(path, bank)
    except OSError:  # no writable cache here: computed for this process only
        bank = compute_now()
    _loaded.clear()
    _loaded[key] = bank
    return bank


def _read(path: Path, index: np.ndarray) -> FeatureBank | None:
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        bank = FeatureBank(stored["index"].numpy(), stored["features"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError):
        return None  # missing or damaged: computed again
    if not np.array_equal(bank.index, index) or bank.features.shape[0] != index.size:
        return None
    return bank


def _write(path: Path, bank: FeatureBank) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save({"index": torch.from_numpy(bank.index), "features": bank.features}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
