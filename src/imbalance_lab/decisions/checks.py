"""Input checks shared by the decision rules: one-line ``ValueError``s naming the argument, what was expected
and what was given."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import cast

import numpy as np

from imbalance_lab.metrics.checks import (
    describe,
)

PRIOR_SUM_TOLERANCE: float = 1e-6
"""How far from 1 the sum of a prior may be."""


def check_real(
    name: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real number in an interval and return it as a float."""
    ok = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(float(value))
    if ok:
        v = float(cast(Real, value))
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: expected a finite number in {left}{low:g}, {high:g}{right}, got {value!r}")
    return float(cast(Real, value))  # a Real: ``ok`` held


def check_logits(logits: object, name: str = "logits") -> np.ndarray:
    """Validate an N x C (N >= 1, C >= 2) matrix of finite real scores."""
    arr = np.asarray(logits)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        raise ValueError(f"{name}: expected a 2-D array of shape (n_samples >= 1, n_classes >= 2), got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return arr


def check_prior(name: str, prior: object, n_classes: int, *, strictly_positive: bool) -> np.ndarray:
    """Validate a class prior: ``n_classes`` finite entries (> 0 or >= 0) summing to 1."""
    arr = np.asarray(prior)
    if arr.ndim != 1 or arr.shape[0] != n_classes:
        raise ValueError(f"{name}: expected a 1-D array with one entry per class ({n_classes}), got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real class frequencies, got {describe(arr)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite class frequencies, got NaN or infinity")
    lowest = float(arr.min())
    if lowest < 0.0 or (strictly_positive and lowest == 0.0):
        bound = "> 0 (every class must occur in training)" if strictly_positive else ">= 0"
        raise ValueError(f"{name}: expected every class frequency {bound}, got a minimum of {lowest:g}")
    total = float(arr.sum())
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        raise ValueError(
            f"{name}: expected class frequencies summing to 1, got a sum of {total:g}; divide the counts by their total"
        )
    return arr


def check_labels(name: str, labels: object, n_samples: int | None = None) -> np.ndarray:
    """Validate a non-empty 1-D array of non-negative integer class labels (of length ``n_samples``)."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of class indices, got {describe(arr)}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of class indices, got {describe(arr)}")
    if int(arr.min()) < 0:
        raise ValueError(f"{name}: expected class indices >= 0, got a minimum of {int(arr.min())}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name}: expected one entry per sample ({n_samples}), got {arr.shape[0]}")
    return arr.astype(np.int64, copy=False)


def check_scores(scores: object) -> np.ndarray:
    """Validate a non-empty 1-D array of positive-class probabilities in [0, 1]."""
    arr = np.asarray(scores)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"scores: expected a non-empty 1-D array of positive-class probabilities, got {describe(arr)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"scores: expected a real-valued array, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores: expected finite values, got NaN or infinity")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"scores: expected probabilities in [0, 1], got values in [{lo:g}, {hi:g}]")
    return arr


def check_positive_label(positive: object) -> int:
    if isinstance(positive, bool) or not isinstance(positive, Integral) or positive < 0:
        raise ValueError(
            f"positive: expected the class index (an integer >= 0) of the positive class, got {positive!r}"
        )
    return int(positive)


def check_costs(cost_fn: object, cost_fp: object) -> tuple[float, float]:
    c_fn = check_real("cost_fn", cost_fn, low=0.0)
    c_fp = check_real("cost_fp", cost_fp, low=0.0)
    if c_fn == 0.0 and c_fp == 0.0:
        raise ValueError("cost_fn: expected at least one of cost_fn, cost_fp to be > 0, got both 0")
    return c_fn, c_fp


def check_rate(deploy_prior: object) -> float | None:
    """Validate the positive-class rate of the deployment world (``None`` keeps the set's own)."""
    if deploy_prior is None:
        return None
    return check_real("deploy_prior", deploy_prior, low=0.0, high=1.0)


def check_cost_matrix(cost: object, n_classes: int | None = None) -> np.ndarray:
    arr = np.asarray(cost)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(
            f"cost: expected a square C x C matrix (C >= 2) indexed [true, predicted], got {describe(arr)}"
        )
    if n_classes is not None and arr.shape[0] != n_classes:
        raise ValueError(
            f"cost: expected a {n_classes} x {n_classes} matrix (one row and column per class), got shape {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"cost: expected real costs, got {describe(arr)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("cost: expected finite costs, got NaN or infinity")
    return arr


def check_temperature(temperature: object) -> float:
    return check_real("temperature", temperature, low=0.0, low_open=True)
