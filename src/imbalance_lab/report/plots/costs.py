"""Costs: the expected cost of each arm and decision rule over the cost ratio."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from imbalance_lab.report.plots.curves import mean_std
from imbalance_lab.report.plots.style import (
    LINE_SIZE,
    add_legend,
    arm_colors,
    new_figure,
    no_data,
    style_axes,
)


def cost_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, Sequence[float]]],
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """Expected cost per 1,000 cases against the positive class's threshold, one line per arm.

    ``curves[arm] = (thresholds (T,), costs (S, T), chosen)``: each seed's cost
    at each threshold; the line is the mean over seeds with a ±1 std band, and
    each threshold in ``chosen`` (the rules' thresholds, mean over seeds; 0.5 is
    the argmax) is a marker on the line (``gid="chosen"``).
    """
    title = "Expected cost by threshold (mean ± 1 std over seeds)"
    fig = new_figure(LINE_SIZE)
    if not curves:
        return no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    handles = []
    for arm, (thresholds, costs, chosen) in curves.items():
        mean, std = mean_std(np.asarray(costs, dtype=np.float64))
        if np.isfinite(std).any():
            ax.fill_between(thresholds, mean - std, mean + std, color=colors[arm], alpha=0.18, linewidth=0)
        ax.plot(thresholds, mean, color=colors[arm], linewidth=1.6)
        for t in chosen:
            ax.plot(
                [t],
                [np.interp(t, thresholds, mean)],
                linestyle="none",
                marker="D",
                markersize=6,
                color=colors[arm],
                markeredgecolor="white",
                zorder=4,
                gid="chosen",
            )
        handles.append(Line2D([], [], color=colors[arm], linewidth=2, label=arm))
    handles.append(Line2D([], [], linestyle="none", marker="D", color="0.3", label="thresholds used"))
    style_axes(ax, title, "threshold on the positive class's probability", "expected cost per 1,000 cases")
    add_legend(fig, handles)
    return fig
