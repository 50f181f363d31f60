"""MedMNIST: real, strongly imbalanced medical image sets as small arrays (Yang et al. 2023), read from their npz files.

Each 2D flavour is one ``.npz`` per size (28 px: ``<flavour>.npz``; MedMNIST+'s 64, 128 and 224 px:
``<flavour>_<size>.npz``) holding ``train_images``, ``train_labels``, ``val_images``, ``val_labels``,
``test_images`` and ``test_labels``: uint8 images ``N×H×W`` (grey) or ``N×H×W×3`` (RGB) and integer labels
``N×1``. The three published splits become partitions, as CIFAR's train and test are, so a spec can cut each
set from one of them (``data.partitions``). A missing file is downloaded once from the authors' Zenodo record
and checked against its published MD5; offline, the error names the file, the folder to put it in and the URL.
The flavours' class descriptions, sizes and checksums are MedMNIST's (``medmnist/info.py``, v3.0.2), in
:data:`imbalance_lab.declarations.sources.medmnist.FLAVOURS`.

References
----------
Yang, J., Shi, R., Wei, D., Liu, Z., Zhao, L., Ke, B., Pfister, H., & Ni, B. (2023). MedMNIST v2 - A
large-scale lightweight benchmark for 2D and 3D biomedical image classification. Scientific Data, 10, 41.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.declarations.sources.medmnist import FLAVOURS
from imbalance_lab.errors import DataError

RECORD = "https://zenodo.org/records/10519652/files"
SPLITS = ("train", "val", "test")
DOWNLOAD_TIMEOUT_S = 60


def class_name(description: str) -> str:
    """A class name a spec can use as a key: the description with every run of other characters than letters,
    digits, ``.`` and ``-`` turned into one ``_`` ("melanocytic nevi" -> ``melanocytic_nevi``)."""
    return re.sub(r"[^A-Za-z0-9.\-]+", "_", description).strip("_")


def file_name(flavour: str, size: int) -> str:
    return f"{flavour}.npz" if size == 28 else f"{flavour}_{size}.npz"


def url(flavour: str, size: int) -> str:
    return f"{RECORD}/{file_name(flavour, size)}?download=1"


def default_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "imbalance-lab" / "medmnist"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(flavour: str, size: int, path: Path) -> None:
    """Fetch the file through a temporary file in the same folder, check its MD5, then rename it into place:
    an interrupted or corrupt download leaves nothing under the file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url(flavour, size), timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            while block := response.read(1 << 20):
                out.write(block)
        got, want = _md5(Path(tmp)), FLAVOURS[flavour].md5[size]
        if got != want:
            raise DataError(
                f"medmnist: the download of {path.name} from {url(flavour, size)} has MD5 {got}, not the published "
                f"{want}; try again later, or download it by hand into {path.parent}"
            )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file is created (mkstemp's are the owner's only)
        os.replace(tmp, path)
    except (OSError, http.client.HTTPException) as err:  # no network, a refused or broken connection, a full disk
        raise DataError(
            f"medmnist: {path.name} not found in {path.parent}, and downloading it from {url(flavour, size)} failed "
            f"({type(err).__name__}: {' '.join(str(err).split())}); download it into that folder by hand"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _load(path: Path, flavour: str) -> dict[str, np.ndarray]:
    fix = f"delete {path} and download it again (download: true), or from {RECORD}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels") if f"{s}_{k}" not in npz.files]
            if missing:
                raise DataError(
                    f"medmnist: {path} has no {', '.join(missing)} (a MedMNIST npz has train/val/test images and labels); {fix}"
                )
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(
            f"medmnist: cannot read {path} ({type(err).__name__}: {' '.join(str(err).split())}); {fix}"
        ) from None


@SOURCES.implement
def medmnist(flavour: str, size: int, root: str | None, download: bool) -> ImageSet:
    """``medmnist`` (:func:`~imbalance_lab.declarations.sources.medmnist.medmnist`): the flavour's npz file,
    downloaded once when missing, checked and read, its three splits as partitions."""
    info = FLAVOURS[flavour]
    folder = Path(root).expanduser().resolve() if root is not None else default_root()
    path = folder / file_name(flavour, size)
    if not path.is_file():
        if not download:
            raise DataError(
                f"medmnist: {path.name} not found in {folder}; download it from {url(flavour, size)} into that "
                "folder, or set download: true"
            )
        _download(flavour, size, path)
    arrays = _load(path, flavour)
    images, labels, partition = [], [], []
    for p, split in enumerate(SPLITS):
        pixels, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        grey = pixels.ndim == 3
        if (
            pixels.dtype != np.uint8
            or pixels.shape[1:3] != (size, size)
            or grey != (info.channels == 1)
            or (not grey and pixels.shape[3:] != (3,))
        ):
            raise DataError(
                f"medmnist: {path}'s {split}_images are {pixels.dtype} {pixels.shape}, not uint8 N×{size}×{size}"
                f"{'' if info.channels == 1 else '×3'}; delete the file and download it again"
            )
        y = y.reshape(len(y), -1)
        if (
            not np.issubdtype(y.dtype, np.integer)
            or y.shape[1] != 1
            or len(y) != len(pixels)
            or y.min(initial=0) < 0
            or y.max(initial=0) >= len(info.labels)
        ):
            raise DataError(
                f"medmnist: {path}'s {split}_labels are {y.dtype} {y.shape}, not one integer label in "
                f"0..{len(info.labels) - 1} per image; delete the file and download it again"
            )
        images.append(pixels[:, None] if grey else pixels.transpose(0, 3, 1, 2))
        labels.append(y[:, 0].astype(np.int64))
        partition.append(np.full(len(y), p, dtype=np.int64))
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(np.concatenate(images))),
        labels=torch.from_numpy(np.concatenate(labels)),
        class_names=tuple(class_name(d) for d in info.labels),
        partition=torch.from_numpy(np.concatenate(partition)),
        partition_names=SPLITS,
    )
