"""Long tail: recall against class frequency, factor plots of a grid, and the simulation sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from imbalance_lab.report.plots.style import (
    LINE_SIZE,
    MAX_ANNOTATED_CLASSES,
    PALETTE,
    add_legend,
    arm_colors,
    metric_label,
    new_figure,
    no_data,
    style_axes,
)
from imbalance_lab.simulate import SWEEP_QUANTITIES
from imbalance_lab.vocabulary import metric_range


def recall_vs_frequency(
    class_names: Sequence[str],
    train_counts: np.ndarray,
    recalls: Mapping[str, np.ndarray],
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """Long-tail view: per-class recall against training images per class (log x), one series per arm.

    Classes are joined from the rarest to the most frequent so each arm reads as
    one line; each class name is written once, next to its highest point (up to
    30 classes). Classes with no training images cannot sit on a log axis and
    are left out (the x label says how many).
    """
    title = "Per-class recall vs. training images per class"
    names = list(class_names)
    counts = np.asarray(train_counts, dtype=float).ravel()
    if counts.size != len(names):
        raise ValueError(f"train_counts must have one entry per class ({len(names)}). Got {counts.size} instead.")
    per_arm = {arm: np.asarray(r, dtype=float).ravel() for arm, r in recalls.items()}
    for arm, r in per_arm.items():
        if r.size != len(names):
            raise ValueError(
                f"The recalls of arm {arm!r} must have one entry per class ({len(names)}). Got {r.size} instead."
            )
    fig = new_figure(LINE_SIZE)
    shown = np.flatnonzero(counts > 0)
    if not per_arm or shown.size == 0:
        return no_data(fig, title)
    order = shown[np.argsort(counts[shown], kind="stable")]
    colors = arm_colors(per_arm, arm_order)
    ax = fig.add_subplot()
    for arm, r in per_arm.items():
        ax.plot(counts[order], r[order], color=colors[arm], linewidth=1.2, marker="o", markersize=4, label=arm)
    if order.size <= MAX_ANNOTATED_CLASSES:
        stacked = np.vstack([r[order] for r in per_arm.values()])
        finite = np.isfinite(stacked)
        top = np.where(finite.any(axis=0), np.where(finite, stacked, -np.inf).max(axis=0), 0.0)
        for j, cls in enumerate(order):
            ax.annotate(
                names[cls], (counts[cls], top[j]), xytext=(3, 4), textcoords="offset points", fontsize=7, color="0.25"
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_ylim(-0.03, 1.1)
    hidden = counts.size - shown.size
    xlabel = "training images per class (log scale)"
    if hidden:
        xlabel += f"; {hidden} class{'es' if hidden > 1 else ''} with none not shown"
    style_axes(ax, title, xlabel, "recall")
    add_legend(fig, list(ax.get_lines()))
    return fig


def factor_plot(
    lines: Mapping[str, Sequence[Any]],
    factor: str,
    metric: str,
    *,
    best: Sequence[tuple[float, str]] = (),
) -> Figure:
    """A metric against a numeric grid factor: one line per strategy, its 95 % interval as a band.

    ``lines`` maps a line's name to points with ``x``, ``mean``, ``low`` and
    ``high`` (:class:`~imbalance_lab.analysis.grids.FactorPoint`). The x axis is
    logarithmic when every value is positive and they span a factor of 20 or
    more (imbalance ratios). ``best`` (value, line) pairs are marked with a ring
    (tied lines joined by ``" = "``).
    """
    title = f"{metric_label(metric)} vs. {metric_label(factor)}"
    fig = new_figure(LINE_SIZE)
    shown = {name: pts for name, pts in lines.items() if pts}
    if not shown:
        return no_data(fig, title)
    colors = arm_colors(shown)
    ax = fig.add_subplot()
    xs_all = np.array([p.x for pts in shown.values() for p in pts], dtype=float)
    for name, pts in shown.items():
        x = np.array([p.x for p in pts], dtype=float)
        mean = np.array([p.mean for p in pts], dtype=float)
        low = np.array([p.low for p in pts], dtype=float)
        high = np.array([p.high for p in pts], dtype=float)
        ax.plot(x, mean, color=colors[name], marker="o", markersize=4, linewidth=1.4, label=name)
        band = np.isfinite(low) & np.isfinite(high)
        if band.any():  # a t-interval over few seeds can pass the metric's own bounds: clip it to them
            floor, ceiling = metric_range(metric)
            ax.fill_between(
                x[band],
                np.clip(low[band], floor, ceiling),
                np.clip(high[band], floor, ceiling),
                color=colors[name],
                alpha=0.15,
                linewidth=0,
            )
    for x, names in best:
        for name in names.split(" = "):
            point = next((p for p in shown.get(name, ()) if p.x == x), None)
            if point is not None:
                ax.plot(
                    [x],
                    [point.mean],
                    marker="o",
                    markersize=10,
                    markerfacecolor="none",
                    markeredgecolor=colors[name],
                    markeredgewidth=1.5,
                    linestyle="none",
                )
    if xs_all.size and (xs_all > 0).all() and xs_all.max() / xs_all.min() >= 20:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_xticks(sorted(set(xs_all.tolist())))
    style_axes(ax, title, metric_label(factor), f"{metric_label(metric)} (mean, 95 % CI band)")
    add_legend(fig, list(ax.get_lines()[: len(shown)]))
    return fig


def sweep_figure(records: list[dict[str, Any]]) -> Figure:
    """`imbalance-lab simulate --sweep`'s figure (:func:`imbalance_lab.simulate.sweep`): each scenario's gain (left)
    and gain in standard errors (right) against the validation ratio, per quantity."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in records))
    fig = Figure(figsize=(11, 4.2 * len(scenarios)), dpi=100, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(scenarios), 2, squeeze=False)
    handles = []
    for row, scenario in enumerate(scenarios):
        mine = [r for r in records if r["scenario"] == scenario]
        positives = mine[0]["positives"]
        for col, (key, ylabel) in enumerate(
            (("gain", "gain (a loss's fall counts as a gain)"), ("z", f"gain ÷ its SE ({positives} positives)"))
        ):
            ax = axes[row][col]
            for i, quantity in enumerate(SWEEP_QUANTITIES):
                points = [r for r in mine if r["quantity"] == quantity]
                (line,) = ax.plot(
                    [r["ratio"] for r in points],
                    [r[key] for r in points],
                    marker="o",
                    markersize=3,
                    color=PALETTE[i % len(PALETTE)],
                    label=quantity,
                    linestyle="--" if i < 3 else "-",
                )
                if row == 0 and col == 0:
                    handles.append(line)
            ax.axhline(0, color="0.5", linewidth=0.8)
            if key == "z":
                for level in (2, -2):
                    ax.axhline(level, color="0.7", linewidth=0.8, linestyle=":")
            ax.set_xscale("log")
            style_axes(
                ax,
                scenario + (": gain" if col == 0 else ": gain in standard errors"),
                "negatives per positive in the validation set",
                ylabel,
            )
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return fig
