"""Training curves: a metric per epoch, mean and spread over seeds, per arm and split."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from imbalance_lab.report.plots.style import (
    LINE_SIZE,
    SPLIT_LINESTYLES,
    add_legend,
    arm_colors,
    metric_label,
    new_figure,
    no_data,
    style_axes,
)
from imbalance_lab.vocabulary import metric_range


def _seed_matrix(
    seeds: Sequence[Sequence[Mapping[str, Any]]], split: str, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers (union over seeds) and a seeds × epochs matrix of values (NaN where missing)."""
    per_seed = []
    for history in seeds:
        values: dict[int, float] = {}
        for position, entry in enumerate(history, start=1):
            value = (entry.get(split) or {}).get(metric)
            values[int(entry.get("epoch", position))] = float(value) if value is not None else math.nan
        per_seed.append(values)
    epochs = np.array(sorted({e for values in per_seed for e in values}), dtype=int)
    matrix = np.full((len(per_seed), epochs.size), np.nan)
    column = {e: j for j, e in enumerate(epochs)}
    for i, values in enumerate(per_seed):
        for epoch, value in values.items():
            matrix[i, column[epoch]] = value
    return epochs, matrix


def mean_std(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and sample std (ddof=1, as in the summary tables) over finite values; NaN if undefined."""
    finite = np.isfinite(matrix)
    count = finite.sum(axis=0)
    filled = np.where(finite, matrix, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, filled.sum(axis=0) / count, np.nan)
        squares = np.where(finite, (matrix - mean) ** 2, 0.0).sum(axis=0)
        std = np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)
    return mean, std


def _check_present(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], splits: Sequence[str], metric: str
) -> None:
    """Fail on a misspelt split or metric rather than drawing an empty plot."""
    entries = [entry for seeds in histories.values() for history in seeds for entry in history]
    if not entries:
        return
    for split in splits:
        logs = [entry[split] for entry in entries if isinstance(entry.get(split), Mapping)]
        if not logs:
            keys = sorted({k for entry in entries for k, v in entry.items() if isinstance(v, Mapping)})
            raise ValueError(f"The split {split!r} is not in the histories; available splits: {', '.join(keys)}.")
        if not any(metric in log for log in logs):
            names = sorted({name for log in logs for name in log})
            raise ValueError(
                f"The metric {metric!r} is not in the {split!r} histories; available metrics: {', '.join(names)}."
            )


Marks = Mapping[str, Sequence[Mapping[str, int | None]]]
"""``marks[arm]``: one ``{"selected": epoch, "stopped": epoch or None}`` per seed, in the histories' order."""


def _draw_marks(
    ax: Any, epochs: np.ndarray, mean: np.ndarray, marks: Sequence[Mapping[str, int | None]], color: str
) -> set[str]:
    """Each seed's kept epoch (▼) and early stop (×) on an arm's mean curve; the kinds drawn."""
    drawn = set()
    column = {int(e): j for j, e in enumerate(epochs)}
    for kind, marker, gid in (("selected", "v", "selected"), ("stopped", "X", "stopped")):
        points = [column[int(m[kind])] for m in marks if m.get(kind) is not None and int(m[kind]) in column]
        points = [j for j in points if np.isfinite(mean[j])]
        if points:
            ax.plot(
                epochs[points],
                mean[points],
                linestyle="none",
                marker=marker,
                markersize=8,
                color=color,
                markeredgecolor="white",
                markeredgewidth=0.8,
                zorder=4,
                gid=gid,
            )
            drawn.add(kind)
    return drawn


def _history_figure(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    splits: Sequence[str],
    metric: str,
    title: str,
    arm_order: Sequence[str] | None,
    marks: Marks | None = None,
    marks_on: str | None = None,
) -> Figure:
    fig = new_figure(LINE_SIZE)
    if not any(len(history) for seeds in histories.values() for history in seeds):
        return no_data(fig, title)
    _check_present(histories, splits, metric)
    colors = arm_colors(histories, arm_order)
    ax = fig.add_subplot()
    handles: list[Any] = []
    marked: set[str] = set()
    for arm, seeds in histories.items():
        if not any(len(history) for history in seeds):
            continue
        handles.append(Line2D([], [], color=colors[arm], linewidth=2, label=arm))
        for k, split in enumerate(splits):
            epochs, matrix = _seed_matrix(seeds, split, metric)
            mean, std = mean_std(matrix)
            has_band = np.isfinite(std)
            if has_band.any():  # ±1 std can pass the metric's own bounds (recall below 0): clipped to them
                low, high = metric_range(metric)
                ax.fill_between(
                    epochs,
                    np.maximum(mean - std, low),
                    np.minimum(mean + std, high),
                    where=has_band,
                    color=colors[arm],
                    alpha=0.18,
                    linewidth=0,
                )
            linestyle = SPLIT_LINESTYLES[k % len(SPLIT_LINESTYLES)]
            ax.plot(
                epochs,
                mean,
                color=colors[arm],
                linestyle=linestyle,
                linewidth=1.6,
                marker="o",
                markersize=2.5,
                label=f"{arm} {split}",
            )
            if marks and arm in marks and split == (marks_on or splits[-1]):
                marked |= _draw_marks(ax, epochs, mean, marks[arm], colors[arm])
    if len(splits) > 1:
        for k, split in enumerate(splits):
            style = SPLIT_LINESTYLES[k % len(SPLIT_LINESTYLES)]
            handles.append(Line2D([], [], color="0.3", linestyle=style, linewidth=1.6, label=split))
    if "selected" in marked:
        handles.append(Line2D([], [], linestyle="none", marker="v", color="0.3", label="epoch kept (one per seed)"))
    if "stopped" in marked:
        handles.append(Line2D([], [], linestyle="none", marker="X", color="0.3", label="stopped early"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style_axes(ax, title, "epoch", metric_label(metric))
    add_legend(fig, handles)
    return fig


def loss_curves(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    split_keys: Sequence[str] = ("train", "val"),
    metric: str = "loss",
    *,
    arm_order: Sequence[str] | None = None,
    marks: Marks | None = None,
    marks_on: str | None = None,
) -> Figure:
    """Per-epoch ``metric`` of every arm: mean over seeds with a shaded ±1 std band.

    ``histories[arm]`` holds one history per seed; a history is the trainer's list
    of per-epoch dicts ``{"epoch": 1, "train": {"loss": ...}, "val": {...}}``.
    One line per (arm, split): solid for the first split (train), dashed for the
    second (val). The band is the sample std (ddof=1) and is drawn only where at
    least two seeds have a value, so a single seed gives a line without a band.
    Seeds of different lengths are aligned on their epoch numbers. With
    ``marks`` (:data:`Marks`), each seed's kept epoch is a ▼ and an early stop
    an × on its arm's mean curve of split ``marks_on`` (default the last split).
    """
    splits = tuple(split_keys)
    title = f"{metric_label(metric).capitalize()} per epoch (mean ± 1 std over seeds)"
    return _history_figure(histories, splits, metric, title, arm_order, marks, marks_on)


def metric_curves(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    metric: str,
    split: str = "val",
    *,
    arm_order: Sequence[str] | None = None,
    marks: Marks | None = None,
) -> Figure:
    """One split's per-epoch ``metric`` (e.g. ``"recall"``) per arm, as :func:`loss_curves` draws it."""
    title = f"{metric_label(metric).capitalize()} on {split} per epoch (mean ± 1 std over seeds)"
    return _history_figure(histories, (split,), metric, title, arm_order, marks)
