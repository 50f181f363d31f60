"""Calibration: temperature scaling (Guo et al. 2017, arXiv:1706.04599) and ECE, Brier score and log loss
before and after it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from imbalance_lab.decisions.base import DECISION_RULES, DecisionContext, DecisionRule, FittedDecision
from imbalance_lab.decisions.checks import check_logits, check_temperature
from imbalance_lab.metrics import (
    brier,
    expected_calibration_error,
    log_loss,
)
from imbalance_lab.metrics.checks import (
    check_class_indices,
)

TEMPERATURE_BOUNDS: tuple[float, float] = (1e-2, 1e2)
"""The interval :func:`fit_temperature` searches for ``T``."""


def _mean_nll(z: np.ndarray, y: np.ndarray, temperature: float) -> float:
    return float(-special.log_softmax(z / temperature, axis=1)[np.arange(y.shape[0]), y].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` minimising the mean NLL of ``softmax(logits / T)`` on this set.

    One scalar that rescales the confidence without changing any argmax, the
    simplest calibration that works on modern networks.

    Parameters
    ----------
    logits : np.ndarray
        Array of shape ``(N, C)``, ``C >= 2``, of finite scores.
    labels : np.ndarray
        1-D integer array of true class indices in ``[0, C)``.

    Returns
    -------
    float
        ``T`` in :data:`TEMPERATURE_BOUNDS` ``= [0.01, 100]``.

    Notes
    -----
    The mean NLL is convex in ``1 / T``, hence unimodal in ``log T``: it is
    minimised over ``log T`` on the bounds with scipy's bounded Brent method
    (``minimize_scalar(method="bounded")``, ``xatol = 1e-10``). A set that the
    logits separate perfectly has its optimum at ``T → 0`` and gets a small
    ``T`` towards the lower bound (where the NLL is 0 in float64, any such ``T``
    is as good); logits no better than chance drive ``T`` to the upper bound.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix or ``labels`` does not match it.

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On Calibration of
    Modern Neural Networks. ICML. arXiv:1706.04599.
    """
    z = check_logits(logits)
    y = check_class_indices("labels", labels, z.shape[1])
    if y.shape[0] != z.shape[0]:
        raise ValueError(f"labels: expected one label per row of logits ({z.shape[0]}), got {y.shape[0]} labels")
    low, high = (math.log(b) for b in TEMPERATURE_BOUNDS)
    result = optimize.minimize_scalar(
        lambda u: _mean_nll(z, y, math.exp(u)), bounds=(low, high), method="bounded", options={"xatol": 1e-10}
    )
    return float(math.exp(result.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / temperature)``: the probabilities at temperature ``T > 0``.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite N x C matrix or ``temperature`` is not a positive finite number.

    Examples
    --------
    >>> apply_temperature(np.array([[0.0, np.log(9.0)]]), 2.0)
    array([[0.25, 0.75]])
    """
    z = check_logits(logits)
    return special.softmax(z / check_temperature(temperature), axis=1)


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration of one set's probabilities before and after a change (e.g. temperature scaling)."""

    ece_before: float
    ece_after: float
    brier_before: float
    brier_after: float
    log_loss_before: float
    log_loss_after: float


def calibration_report(
    labels: np.ndarray, probs_before: np.ndarray, probs_after: np.ndarray, n_bins: int = 15
) -> CalibrationReport:
    """ECE, Brier score and log loss of the same set's probabilities before and after.

    Computed with :func:`~imbalance_lab.metrics.expected_calibration_error`
    (``n_bins`` equal-width bins), :func:`~imbalance_lab.metrics.brier`
    (class 1 when ``C == 2``, the multi-class score otherwise) and
    :func:`~imbalance_lab.metrics.log_loss`.

    Raises
    ------
    ValueError
        If the labels or either probability matrix are invalid, or the two matrices differ in shape.
    """
    before, after = np.asarray(probs_before), np.asarray(probs_after)
    if before.shape != after.shape:
        raise ValueError(f"probs_after: expected the shape of probs_before {before.shape}, got {after.shape}")
    return CalibrationReport(
        ece_before=expected_calibration_error(labels, before, n_bins),
        ece_after=expected_calibration_error(labels, after, n_bins),
        brier_before=brier(labels, before),
        brier_after=brier(labels, after),
        log_loss_before=log_loss(labels, before),
        log_loss_after=log_loss(labels, after),
    )


@DECISION_RULES.register
class Temperature(DecisionRule):
    """Temperature scaling: ``softmax(logits / T)`` with ``T`` of least NLL on the validation set (Guo et al. 2017).

    References
    ----------
    Guo, C., Pleiss, G., Sun, Y., Weinberger, K. Q. (2017). On Calibration of
    Modern Neural Networks. ICML. arXiv:1706.04599.
    """

    name = "temperature"

    def __init__(self) -> None:
        pass

    def _fit(self, labels: np.ndarray, logits: np.ndarray, context: DecisionContext) -> FittedDecision:
        temperature = fit_temperature(logits, labels)
        return FittedDecision(
            rule=self.name,
            params={"temperature": temperature},
            description=f"temperature {temperature:.3g} (min NLL on val)",
            n_classes=logits.shape[1],
            transform=lambda z: apply_temperature(z, temperature),
        )
