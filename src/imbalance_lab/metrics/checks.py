"""Input checks shared by the metric families (one-line ``ValueError``s naming the argument), the warning for
undefined values, and safe division."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Literal, cast, overload

import numpy as np
import numpy.typing as npt


class UndefinedMetricWarning(UserWarning):
    """A metric had a zero denominator or could not be computed.

    Mirrors ``sklearn.exceptions.UndefinedMetricWarning`` with
    ``zero_division=0``: the result stays a finite number (``0.0``) so that
    aggregation over runs keeps working, but the caller is told which value is
    not real. Ranking metrics that cannot score any class report ``nan``
    instead (as sklearn's ``roc_auc_score`` does), also with this warning.
    """


def describe(arr: np.ndarray) -> str:
    """Short ``shape/dtype`` description of an array for error messages."""
    return f"shape {arr.shape} and dtype {arr.dtype}"


def check_int_at_least_one(name: str, value: object) -> int:
    """Validate ``value`` (the argument ``name``) as an int >= 1 and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


def check_n_classes(n_classes: object) -> int:
    """Validate ``n_classes`` as an int >= 1 and return it as a Python int."""
    return check_int_at_least_one("n_classes", n_classes)


def check_class_indices(name: str, values: np.ndarray, n_classes: int) -> np.ndarray:
    """Validate a 1-D, non-empty integer array of class indices in ``[0, n_classes)``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class indices, got {describe(arr)}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one sample, got an empty array")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of class indices, got {describe(arr)}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"{name}: expected class indices in [0, {n_classes}), got values in [{lo}, {hi}]")
    return arr.astype(np.int64, copy=False)


def check_probs(probs: np.ndarray) -> np.ndarray:
    """Validate an N x C (N >= 1, C >= 2) matrix of finite probabilities in [0, 1]."""
    arr = np.asarray(probs)
    if arr.ndim != 2:
        raise ValueError(f"probs: expected a 2-D array of shape (n_samples, n_classes), got {describe(arr)}")
    if arr.shape[0] == 0:
        raise ValueError(f"probs: expected at least one sample (row), got {describe(arr)}")
    if arr.shape[1] < 2:
        raise ValueError(f"probs: expected at least 2 class columns, got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"probs: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("probs: expected finite values, got NaN or infinity")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"probs: expected probabilities in [0, 1], got values in [{lo}, {hi}]")
    return arr


def check_labels_probs(labels: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a label vector against a probability matrix (shapes, range)."""
    p = check_probs(probs)
    y = check_class_indices("labels", labels, p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"labels: expected one label per row of probs ({p.shape[0]}), got {y.shape[0]} labels")
    return y, p


def check_cm(cm: np.ndarray) -> np.ndarray:
    """Validate a square, non-negative, finite confusion matrix."""
    arr = np.asarray(cm)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"cm: expected a non-empty square 2-D confusion matrix, got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"cm: expected a numeric array of counts, got {describe(arr)}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("cm: expected finite non-negative counts, got a negative or non-finite entry")
    return arr


def check_nonempty_cm(cm: np.ndarray) -> np.ndarray:
    """Validate a confusion matrix that must count at least one sample."""
    arr = check_cm(cm)
    if arr.sum() == 0:
        raise ValueError("cm: expected at least one counted sample, got an all-zero confusion matrix")
    return arr


def safe_divide(num: npt.ArrayLike, den: npt.ArrayLike) -> np.ndarray:
    """Element-wise ``num / den`` as float64 with 0.0 where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


@overload
def check_positive(positive: object, n_classes: int, *, optional: Literal[False]) -> int: ...
@overload
def check_positive(positive: object, n_classes: int, *, optional: bool = True) -> int | None: ...


def check_positive(positive: object, n_classes: int, *, optional: bool = True) -> int | None:
    """Validate a positive class index in ``[0, n_classes)`` (``None`` allowed when ``optional``)."""
    if positive is None and optional:
        return None
    # cast: typeshed's Integral lacks the reflected comparison (``0 <= positive``) that every Integral has
    if isinstance(positive, bool) or not isinstance(positive, Integral) or not 0 <= cast(int, positive) < n_classes:
        allowed = " or None" if optional else ""
        raise ValueError(f"positive: expected a class index in [0, {n_classes}){allowed}, got {positive!r}")
    return int(positive)


@overload
def binary_positive(positive: object, n_classes: Literal[2]) -> int: ...
@overload
def binary_positive(positive: object, n_classes: int) -> int | None: ...


def binary_positive(positive: object, n_classes: int) -> int | None:
    """The positive class of a binary task: ``positive`` if given, class 1 when ``C == 2``, else ``None``."""
    k = check_positive(positive, n_classes)
    if k is None and n_classes == 2:
        return 1
    return k


def check_beta(beta: object) -> float:
    """Validate the F-beta weight as a positive finite number."""
    if isinstance(beta, bool) or not isinstance(beta, Real) or not 0.0 < float(beta) < np.inf:
        raise ValueError(f"beta: expected a positive finite number, got {beta!r}")
    return float(beta)


def check_thresholds(thresholds: object) -> np.ndarray:
    """Validate a non-empty 1-D array of finite real thresholds (any order, any range)."""
    arr = np.asarray(thresholds)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"thresholds: expected a non-empty 1-D array of numbers, got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"thresholds: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("thresholds: expected finite values, got NaN or infinity")
    return arr


def check_train_counts(train_counts: object) -> np.ndarray:
    """Validate per-class training counts: a non-empty 1-D array of non-negative integers."""
    arr = np.asarray(train_counts)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"train_counts: expected a non-empty 1-D array with one count per class, got {describe(arr)}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"train_counts: expected integer counts, got {describe(arr)}")
    if int(arr.min()) < 0:
        raise ValueError(f"train_counts: expected non-negative counts, got a minimum of {int(arr.min())}")
    return arr.astype(np.int64, copy=False)


def warn_undefined(problems: list[str], outcome: str = "set to 0.0", stacklevel: int = 2) -> None:
    """Emit one :class:`UndefinedMetricWarning` listing every problem (nothing if none).

    ``stacklevel`` counts from the caller of this helper, as in ``warnings.warn``.
    """
    if problems:
        warnings.warn(
            f"Ill-defined metric(s) {outcome}: " + "; ".join(problems) + ".",
            UndefinedMetricWarning,
            stacklevel=stacklevel + 1,
        )
