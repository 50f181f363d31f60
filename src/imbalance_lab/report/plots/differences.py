"""Differences to a reference arm: the forest plot, performance profiles, and curves over test priors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from imbalance_lab.report.plots.style import (
    LINE_SIZE,
    PALETTE,
    REFERENCE_GREY,
    SPLIT_LINESTYLES,
    add_legend,
    arm_colors,
    metric_label,
    new_figure,
    no_data,
    style_axes,
)
from imbalance_lab.stats import PerformanceProfile


def _optional_float(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return math.nan if value is None else float(value)


def forest_plot(
    rows: Sequence[Mapping[str, Any]],
    metric: str,
    reference: str,
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """Each arm's difference in ``metric`` to the ``reference`` arm, with its confidence interval.

    ``rows`` are ``{"arm", "diff", "low", "high", "significant"}``, drawn top to
    bottom in the given order: the interval ``[low, high]`` as a horizontal bar
    with caps, the difference as a marker (filled if significant, hollow
    otherwise), and a vertical line at 0. A row whose ``low``/``high`` is
    ``None`` or NaN is drawn as a point only. Without ``arm_order`` colours
    follow ``[reference, *arms]``. Markers carry ``gid="difference"`` and
    intervals ``gid="interval"``.
    """
    title = f"{metric_label(metric)}: difference to {reference}"
    height = 1.3 + 0.38 * max(len(rows), 1)
    fig = new_figure((LINE_SIZE[0], height))
    if not rows:
        return no_data(fig, title)
    arms = [str(row["arm"]) for row in rows]
    colors = arm_colors(arms, arm_order if arm_order is not None else list(dict.fromkeys([reference, *arms])))
    ax = fig.add_subplot()
    ax.axvline(0.0, color=REFERENCE_GREY, linewidth=1.0, zorder=1)
    for y, (arm, row) in enumerate(zip(arms, rows)):
        diff = _optional_float(row, "diff")
        low, high = _optional_float(row, "low"), _optional_float(row, "high")
        if math.isfinite(low) and math.isfinite(high):
            ax.plot(
                [low, high],
                [y, y],
                color=colors[arm],
                linewidth=1.8,
                marker="|",
                markersize=9,
                solid_capstyle="butt",
                zorder=2,
                gid="interval",
            )
        filled = bool(row.get("significant", False))
        ax.plot(
            [diff],
            [y],
            linestyle="none",
            marker="o",
            markersize=7,
            markeredgewidth=1.6,
            markeredgecolor=colors[arm],
            markerfacecolor=colors[arm] if filled else "white",
            zorder=3,
            gid="difference",
        )
    ax.set_yticks(range(len(rows)), labels=arms, fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
    ax.margins(x=0.1)
    style_axes(ax, title, f"{metric_label(metric)} difference (arm − {reference}), with confidence interval", "")
    ax.grid(False, axis="y")
    add_legend(
        fig,
        [
            Line2D([], [], linestyle="none", marker="o", color="0.3", markerfacecolor="0.3", label="significant"),
            Line2D([], [], linestyle="none", marker="o", color="0.3", markerfacecolor="white", label="not significant"),
        ],
    )
    return fig


def performance_profiles(
    profiles: Mapping[str, PerformanceProfile],
    metric: str,
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """Each arm's performance profile on ``metric`` (rliable's run-score distribution): the fraction of its runs
    that score better than τ against τ, with the bootstrap band of each profile that has one.

    ``profiles`` maps an arm to its :class:`~imbalance_lab.stats.PerformanceProfile`. Past the palette's ten
    colours the lines are dashed, then dotted, so no two arms look alike. Lines carry ``gid="profile"``.
    """
    title = f"Performance profiles: {metric_label(metric)}"
    fig = new_figure(LINE_SIZE)
    if not profiles:
        return no_data(fig, title)
    order = list(arm_order) if arm_order is not None else list(profiles)
    colors = arm_colors(profiles, order)
    ax = fig.add_subplot()
    for arm, profile in profiles.items():
        x = np.asarray(profile.thresholds)
        if profile.low is not None and profile.high is not None:
            ax.fill_between(x, profile.low, profile.high, color=colors[arm], alpha=0.12, linewidth=0)
        style = SPLIT_LINESTYLES[(order.index(arm) // len(PALETTE)) % len(SPLIT_LINESTYLES)]
        ax.plot(x, profile.fraction, color=colors[arm], linestyle=style, linewidth=1.6, label=arm, gid="profile")
    better = ">" if next(iter(profiles.values())).higher_is_better else "<"
    ax.set_ylim(-0.02, 1.02)
    style_axes(
        ax, title, f"threshold τ on {metric_label(metric)}", f"fraction of runs with {metric_label(metric)} {better} τ"
    )
    add_legend(fig, list(ax.get_lines()))
    return fig


def prior_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    labels: Sequence[str],
    metric: str,
    *,
    arm_order: Sequence[str] | None = None,
    adapting: Sequence[str] = (),
) -> Figure:
    """A metric against the test prior, one line per arm: ``curves[arm] = (mean, std)`` over its runs at each
    prior of ``labels`` (forward long tails, uniform, backward), with a ±1 std band where it has one. Arms
    whose rule re-reads each set (``adapting``) are drawn dashed. Lines carry ``gid="prior"``."""
    title = f"{metric_label(metric)} under other test priors"
    fig = new_figure(LINE_SIZE)
    if not curves:
        return no_data(fig, title)
    order = list(arm_order) if arm_order is not None else list(curves)
    colors = arm_colors(curves, order)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    for arm, (mean, std) in curves.items():
        if np.isfinite(std).all():
            ax.fill_between(x, mean - std, mean + std, color=colors[arm], alpha=0.12, linewidth=0)
        style = "--" if arm in adapting else "-"
        ax.plot(x, mean, color=colors[arm], linestyle=style, marker="o", markersize=3, label=arm, gid="prior")
    ax.set_xticks(x, list(labels), rotation=45, ha="right")
    style_axes(ax, title, "test prior (long tail, imbalance ρ)", metric_label(metric))
    add_legend(fig, list(ax.get_lines()))
    return fig
