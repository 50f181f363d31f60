"""Input checks shared by the statistics: one-line ``ValueError``s naming the parameter, the expected values
and what was given."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from imbalance_lab.metrics.checks import check_probs


def check_values(name: str, values: Any) -> np.ndarray:
    """Validate a 1-D sequence of finite real numbers (may be empty) and return it as float64."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of numbers (one per seed), got shape {arr.shape}")
    if arr.size and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got NaN or infinity in {arr.tolist()}")
    return arr


def check_run_scores(name: str, scores: Any) -> np.ndarray:
    """Validate the scores of one arm: ``(runs,)`` for one task or ``(runs, tasks)``, at least one run, finite;
    return them as an ``(runs, tasks)`` float64 array."""
    arr = np.asarray(scores)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name}: expected the scores of at least one run, shape (n_runs,) or (n_runs, n_tasks), "
            f"got shape {np.shape(scores)}"
        )
    return check_finite_reals(name, arr)


def check_finite_reals(name: str, arr: np.ndarray) -> np.ndarray:
    """Validate that an array of any shape holds finite real numbers (integers or floats); return it as float64."""
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got NaN or infinity")
    return arr


def check_open_unit(name: str, value: Any) -> float:
    """Validate a number strictly between 0 and 1 (a confidence level or alpha)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name}: expected a number in (0, 1) such as 0.95, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, minimum: int) -> int:
    """Validate an integer >= ``minimum`` and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_run_probs(name: str, probs: Any) -> np.ndarray:
    """Validate ``(S, N, C)`` probabilities (an ``(N, C)`` matrix counts as one seed)."""
    arr = np.asarray(probs)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(
            f"{name}: expected an array of shape (n_seeds, n_samples, n_classes) "
            f"(or one (n_samples, n_classes) matrix), got shape {arr.shape}"
        )
    try:
        check_probs(arr.reshape(arr.shape[0] * arr.shape[1], arr.shape[2]))
    except ValueError as err:
        raise ValueError(f"{name}: {str(err).removeprefix('probs: ')}") from None
    return arr.astype(np.float64, copy=False)


def check_arm_values(values: Any) -> dict[Any, dict[Any, float]]:
    """Validate ``values[arm][seed] -> finite float``."""
    if not isinstance(values, Mapping) or not values:
        raise ValueError(f"values: expected a non-empty mapping arm -> {{seed: metric value}}, got {values!r}")
    out = {}
    for arm, per_seed in values.items():
        if not isinstance(per_seed, Mapping):
            raise ValueError(f"values[{arm!r}]: expected a mapping seed -> metric value, got {per_seed!r}")
        seeds = list(per_seed)
        vals = check_values(f"values[{arm!r}]", [per_seed[s] for s in seeds])
        out[arm] = dict(zip(seeds, vals.tolist()))
    return out
