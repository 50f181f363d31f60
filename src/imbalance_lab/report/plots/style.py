"""Shared style: the palette, sizes and helpers every figure uses (a new figure with an Agg canvas, axes, legends, labels)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# matplotlib's "tab10" qualitative palette, written out so a style change cannot move it.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SPLIT_LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
REFERENCE_GREY = "0.45"
# Sizes are whole quarter inches (exact in binary), so pixel sizes are exact products with the dpi.
LINE_SIZE = (6.5, 4.0)  # inches; 715 × 440 px at 110 dpi
SQUARE_SIZE = (6.5, 4.5)
MAX_SIZE = (8.0, 5.0)
MAX_ANNOTATED_CLASSES = 30  # above this, class-name labels would only be clutter
MIN_ANNOTATION_FONTSIZE = 4.5  # points; smaller confusion-matrix cells are left unannotated


def arm_colors(arms: Iterable[str], arm_order: Sequence[str] | None = None) -> dict[str, str]:
    """Colour of each arm: the palette entry at its index in ``arm_order`` (default: ``arms``' order)."""
    arms = list(arms)
    order = list(arm_order) if arm_order is not None else list(dict.fromkeys(arms))
    index = {arm: i for i, arm in enumerate(order)}
    missing = [arm for arm in arms if arm not in index]
    if missing:
        raise ValueError(f"The arms {missing} are not in arm_order {order}; pass the experiment's full arm list.")
    return {arm: PALETTE[index[arm] % len(PALETTE)] for arm in arms}


def new_figure(size: tuple[float, float]) -> Figure:
    """An empty figure, at most 8 × 5 inches, with constrained ("tight") layout and an Agg canvas."""
    width, height = (min(round(want * 4) / 4, cap) for want, cap in zip(size, MAX_SIZE))
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def add_legend(fig: Figure, handles: list[Any]) -> None:
    """The figure's one legend, outside the axes on the right so it never hides data."""
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)


def no_data(fig: Figure, title: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=10, color=REFERENCE_GREY, transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def finite_points(x: np.ndarray, y: np.ndarray) -> int:
    return int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))
