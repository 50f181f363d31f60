"""Animal-MNIST: 10,000 28×28 grayscale animal silhouettes, 1,000 per class, offline.

Read straight from the files of the ``animal-mnist`` package (its loader module
imports TensorFlow, which we do not need).

References
----------
The ``animal-mnist`` package on PyPI (version 0.4), data files
``animal_mnist/data/Animal_MNIST/animal_{data,label}_version_3.gz``.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.errors import DataError

CLASS_NAMES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
INSTALL_HINT = "install it with: pip install --no-deps animal-mnist"


def _data_dir() -> Path:
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"data source 'animal_mnist' needs the package animal-mnist, which is not installed; {INSTALL_HINT}"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / "Animal_MNIST"


def _read_pickle(path: Path) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as fh:
            return np.asarray(pickle.load(fh))
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise DataError(
            f"cannot read Animal-MNIST file {path} ({err}); reinstall it: pip install --force-reinstall --no-deps animal-mnist"
        ) from None


@SOURCES.implement
def animal_mnist() -> ImageSet:
    """``animal_mnist`` (:func:`~imbalance_lab.declarations.sources.animal_mnist.animal_mnist`): the package's
    two pickles, checked and read."""
    folder = _data_dir()
    images = _read_pickle(folder / "animal_data_version_3.gz")
    labels = _read_pickle(folder / "animal_label_version_3.gz")
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise DataError(
            f"unexpected Animal-MNIST shapes {images.shape}, {labels.shape} in {folder}; reinstall: pip install --force-reinstall --no-deps animal-mnist"
        )
    return ImageSet(
        images=torch.from_numpy(images.astype(np.uint8)).unsqueeze(1).contiguous(),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=CLASS_NAMES,
    )
