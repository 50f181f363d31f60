"""Precision–recall and ROC curves, per arm, from the stored scores."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from imbalance_lab.metrics.thresholds import precision_recall_points, roc_points
from imbalance_lab.report.plots.style import (
    REFERENCE_GREY,
    SQUARE_SIZE,
    add_legend,
    arm_colors,
    finite_points,
    new_figure,
    no_data,
    style_axes,
)


def pr_roc_points(
    labels: np.ndarray, scores: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((recall, precision), (fpr, tpr))`` of one binary problem.

    ``labels`` are 0/1 (or bool) with 1 the positive class; ``scores`` the
    positive-class score (probability). The points are
    :func:`imbalance_lab.metrics.thresholds.precision_recall_points` and
    :func:`~imbalance_lab.metrics.thresholds.roc_points` (scikit-learn's
    ``precision_recall_curve`` and ``roc_curve``, without importing it). A curve that is undefined comes back as
    two empty arrays instead of NaN and warnings: the PR curve without
    positives, the ROC curve without positives or negatives.

    To show several seeds as one curve, either pool them (concatenate the
    seeds' labels and scores and call this once: the curve of all test
    predictions together, which is what :func:`pr_curves` and
    :func:`roc_curves` expect by default), or call it per seed and average
    precision (or tpr) on a common recall (or fpr) grid with ``np.interp``.
    """
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(
            f"labels and scores must be 1-D arrays of the same length. Got shapes {y.shape} and {s.shape}."
        )
    if y.dtype == bool:
        y = y.astype(int)
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0/1 (1 = positive). Got values {np.unique(y)[:10].tolist()}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite.")
    y = y.astype(int)
    empty = (np.empty(0), np.empty(0))
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    pr = empty
    if n_pos > 0:
        pr = precision_recall_points(y, s)
    roc = empty
    if n_pos > 0 and n_neg > 0:
        roc = roc_points(y, s)
    return pr, roc


def _curve_arrays(arm: str, pair: tuple[np.ndarray, np.ndarray], names: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = (np.asarray(a, dtype=float).ravel() for a in pair)
    if x.shape != y.shape:
        raise ValueError(f"The {names} arrays of arm {arm!r} must have the same length. Got {x.size} and {y.size}.")
    return x, y


def pr_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    baseline: float | None,
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """Precision–recall curve per arm (``arm -> (recall, precision)``, e.g. from :func:`pr_roc_points`).

    Drawn as steps, as scikit-learn's ``PrecisionRecallDisplay`` does. ``baseline``
    (the positive rate of the evaluation set) is drawn as a dashed horizontal
    "random classifier" line; ``None`` or NaN leaves it out. An arm whose curve
    is empty or all NaN keeps its legend entry, marked "(no curve)".
    """
    fig = new_figure(SQUARE_SIZE)
    title = "Precision–recall curves"
    if not curves and (baseline is None or not math.isfinite(baseline)):
        return no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    for arm, pair in curves.items():
        recall, precision = _curve_arrays(arm, pair, "recall/precision")
        label = arm if finite_points(recall, precision) else f"{arm} (no curve)"
        ax.plot(recall, precision, color=colors[arm], linewidth=1.6, drawstyle="steps-post", label=label)
    if baseline is not None and math.isfinite(baseline):
        ax.axhline(
            baseline,
            color=REFERENCE_GREY,
            linestyle="--",
            linewidth=1.0,
            label=f"random classifier (positive rate {baseline:.3g})",
        )
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    style_axes(ax, title, "recall", "precision")
    add_legend(fig, list(ax.get_lines()))
    return fig


def roc_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """ROC curve per arm (``arm -> (fpr, tpr)``, e.g. from :func:`pr_roc_points`) with the diagonal of chance."""
    fig = new_figure(SQUARE_SIZE)
    title = "ROC curves"
    if not curves:
        return no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    for arm, pair in curves.items():
        fpr, tpr = _curve_arrays(arm, pair, "fpr/tpr")
        label = arm if finite_points(fpr, tpr) else f"{arm} (no curve)"
        ax.plot(fpr, tpr, color=colors[arm], linewidth=1.6, label=label)
    ax.plot([0.0, 1.0], [0.0, 1.0], color=REFERENCE_GREY, linestyle=":", linewidth=1.0, label="random classifier")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    style_axes(ax, title, "false positive rate", "true positive rate (recall)")
    add_legend(fig, list(ax.get_lines()))
    return fig
