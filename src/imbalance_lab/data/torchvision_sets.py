"""Standard image sets by name: CIFAR-10, CIFAR-100, MNIST and Fashion-MNIST.

torchvision downloads the standard files (``download: true``) into ``root``, in
its own layout, so a folder torchvision filled works here and the other way
round. MNIST and Fashion-MNIST are then read by torchvision itself. The CIFAR
python batches are read here (a few lines of pickle and numpy), because
torchvision's CIFAR classes insist on the md5 sums of the full published files
and so refuse any other copy of the format, the small files the tests write
included.

References
----------
Krizhevsky, A. (2009). Learning Multiple Layers of Features from Tiny Images.
Technical report, University of Toronto. (CIFAR-10, CIFAR-100)

LeCun, Y., Bottou, L., Bengio, Y., & Haffner, P. (1998). Gradient-based
learning applied to document recognition. Proceedings of the IEEE, 86(11),
2278-2324. (MNIST)

Xiao, H., Rasul, K., & Vollgraf, R. (2017). Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.errors import DataError

PARTITIONS = ("train", "test")  # ImageSet.partition names: the published split of each image
MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR_SIDE = 32


def _one_line(err: BaseException, limit: int = 200) -> str:
    """An exception as one short line (torchvision's download errors span several lines)."""
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _missing_error(source: str, missing: Path, folder: Path) -> DataError:
    return DataError(f"{source}: {missing} not found; set download: true, or place the files at {folder}")


def _download_error(source: str, what: str, root: Path, folder: Path, err: BaseException) -> DataError:
    return DataError(
        f"{source}: downloading {what} into {root} failed ({_one_line(err)}); "
        f"check the network connection, or place the files at {folder}"
    )


# --- CIFAR: python pickle batches ------------------------------------------------------------


def _unpickle(path: Path, source: str) -> dict[str, Any]:
    """One CIFAR pickle, keys as ``str`` (files written by Python 2 load with ``bytes`` keys)."""
    try:
        with path.open("rb") as fh:
            entry = pickle.load(fh, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as err:
        raise DataError(
            f"{source}: cannot read {path} ({_one_line(err)}); delete its folder and set download: true"
        ) from None
    if not isinstance(entry, dict):
        raise DataError(
            f"{source}: {path} holds a {type(entry).__name__}, expected a CIFAR python batch (a dict); "
            "delete its folder and set download: true"
        )
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in entry.items()}


def _field(entry: dict[str, Any], key: str, path: Path, source: str) -> Any:
    if key not in entry:
        raise DataError(
            f"{source}: {path} has no {key!r} entry (keys: {', '.join(sorted(entry))}); delete its folder and set download: true"
        )
    return entry[key]


def _load_cifar(
    source: str,
    torchvision_class: str,
    batches: Mapping[str, tuple[str, ...]],
    meta: tuple[str, str],
    label_key: str,
    root: str,
    split: str,
    download: bool,
) -> ImageSet:
    """Read the CIFAR python batches of ``split`` (``meta`` = file and key of the class names)."""
    import torchvision.datasets

    tv_class = getattr(torchvision.datasets, torchvision_class)
    root_dir = Path(root).expanduser()
    folder = root_dir / tv_class.base_folder
    wanted = batches["train"] + batches["test"] if split == "all" else batches[split]
    needed = [folder / name for name in (*wanted, meta[0])]
    missing = [p for p in needed if not p.is_file()]
    if missing and download:
        try:
            torchvision.datasets.utils.download_and_extract_archive(
                tv_class.url, str(root_dir), filename=tv_class.filename, md5=tv_class.tgz_md5
            )
        except (OSError, RuntimeError) as err:  # URLError is an OSError
            raise _download_error(source, tv_class.url, root_dir, folder, err) from None
        missing = [p for p in needed if not p.is_file()]
    if missing:
        raise _missing_error(source, missing[0], folder)

    meta_path = folder / meta[0]
    names = tuple(
        n.decode("utf-8") if isinstance(n, bytes) else str(n)
        for n in _field(_unpickle(meta_path, source), meta[1], meta_path, source)
    )
    images, labels, partition = [], [], []
    for name in wanted:
        path = folder / name
        entry = _unpickle(path, source)
        data = np.asarray(_field(entry, "data", path, source))
        targets = np.asarray(_field(entry, label_key, path, source), dtype=np.int64)
        if (
            data.dtype != np.uint8
            or data.ndim != 2
            or data.shape[1] != 3 * CIFAR_SIDE * CIFAR_SIDE
            or targets.shape != (data.shape[0],)
        ):
            raise DataError(
                f"{source}: {path} holds data {data.dtype} {data.shape} and {targets.shape[0]} labels, "
                f"expected uint8 N×{3 * CIFAR_SIDE * CIFAR_SIDE} and N labels; delete its folder and set download: true"
            )
        images.append(data)
        labels.append(targets)
        partition.append(np.full(targets.shape, 0 if name in batches["train"] else 1, dtype=np.int64))
    label_array = np.concatenate(labels)
    if label_array.size and (label_array.min() < 0 or label_array.max() >= len(names)):
        raise DataError(
            f"{source}: labels in {folder} run from {label_array.min()} to {label_array.max()}, "
            f"expected 0..{len(names) - 1} (one per class name in {meta_path.name})"
        )
    # each row is the red, green and blue planes in turn, each 32×32 row-major: that is C×H×W already
    pixels = np.concatenate(images).reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE)
    return ImageSet(
        images=torch.from_numpy(pixels),
        labels=torch.from_numpy(label_array),
        class_names=names,
        partition=torch.from_numpy(np.concatenate(partition)),
        partition_names=PARTITIONS,
    )


@SOURCES.implement
def cifar10(root: str, split: str, download: bool) -> ImageSet:
    """``cifar10`` (:func:`~imbalance_lab.declarations.sources.torchvision_sets.cifar10`):
    the python batches of ``ROOT/cifar-10-batches-py``."""
    batches = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
    return _load_cifar("cifar10", "CIFAR10", batches, ("batches.meta", "label_names"), "labels", root, split, download)


@SOURCES.implement
def cifar100(root: str, split: str, download: bool) -> ImageSet:
    """``cifar100`` (:func:`~imbalance_lab.declarations.sources.torchvision_sets.cifar100`):
    the python files of ``ROOT/cifar-100-python``, its fine labels."""
    batches = {"train": ("train",), "test": ("test",)}
    return _load_cifar(
        "cifar100", "CIFAR100", batches, ("meta", "fine_label_names"), "fine_labels", root, split, download
    )


# --- MNIST and Fashion-MNIST: idx files, read by torchvision ----------------------------------


def _load_mnist_like(
    source: str, torchvision_class: str, class_names: tuple[str, ...], root: str, split: str, download: bool
) -> ImageSet:
    """Read MNIST-format idx files with torchvision (it needs all four uncompressed files in ``ROOT/<class>/raw``)."""
    import torchvision.datasets

    tv_class = getattr(torchvision.datasets, torchvision_class)
    root_dir = Path(root).expanduser()
    folder = root_dir / torchvision_class / "raw"
    needed = [folder / Path(name).stem for name, _ in tv_class.resources]  # the .gz names, less ".gz"
    missing = [p for p in needed if not p.is_file()]
    if missing and not download:
        raise _missing_error(source, missing[0], folder)
    parts = []
    for train in {"train": (True,), "test": (False,), "all": (True, False)}[split]:
        try:
            parts.append(tv_class(str(root_dir), train=train, download=download))
        except (
            OSError,
            RuntimeError,
        ) as err:  # URLError is an OSError; torchvision wraps mirror failures in RuntimeError
            if missing:
                what = f"the {torchvision_class} files (mirrors: {', '.join(tv_class.mirrors)})"
                raise _download_error(source, what, root_dir, folder, err) from None
            raise DataError(
                f"{source}: cannot read the idx files in {folder} ({_one_line(err)}); delete them and set download: true"
            ) from None
        except (AssertionError, TypeError, ValueError) as err:  # torchvision's idx reader checks the header with assert
            raise DataError(
                f"{source}: cannot read the idx files in {folder} ({_one_line(err)}); delete them and set download: true"
            ) from None
        missing = []
    for part in parts:
        if part.data.ndim != 3 or part.data.shape[0] != part.targets.shape[0]:
            raise DataError(
                f"{source}: the idx files in {folder} hold {tuple(part.data.shape)} images and {part.targets.shape[0]} labels, "
                "expected N×28×28 and N; delete them and set download: true"
            )
    labels = torch.cat([p.targets for p in parts]).to(torch.int64)
    if labels.numel() and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise DataError(
            f"{source}: labels in {folder} run from {int(labels.min())} to {int(labels.max())}, expected 0..{len(class_names) - 1}"
        )
    images = torch.cat([p.data for p in parts]).unsqueeze(1).contiguous()
    trains = {"train": (True,), "test": (False,), "all": (True, False)}[split]
    partition = torch.cat(
        [
            torch.full((p.targets.shape[0],), 0 if t else 1, dtype=torch.int64)
            for p, t in zip(parts, trains, strict=True)
        ]
    )
    return ImageSet(
        images=images, labels=labels, class_names=class_names, partition=partition, partition_names=PARTITIONS
    )


@SOURCES.implement
def mnist(root: str, split: str, download: bool) -> ImageSet:
    """``mnist`` (:func:`~imbalance_lab.declarations.sources.torchvision_sets.mnist`):
    the idx files of ``ROOT/MNIST/raw``, read by torchvision."""
    return _load_mnist_like("mnist", "MNIST", MNIST_CLASS_NAMES, root, split, download)


@SOURCES.implement
def fashion_mnist(root: str, split: str, download: bool) -> ImageSet:
    """``fashion_mnist`` (:func:`~imbalance_lab.declarations.sources.torchvision_sets.fashion_mnist`):
    the idx files of ``ROOT/FashionMNIST/raw``, read by torchvision."""
    return _load_mnist_like("fashion_mnist", "FashionMNIST", FASHION_MNIST_CLASS_NAMES, root, split, download)
