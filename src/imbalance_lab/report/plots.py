"""Figures for the report: training curves, confusion matrices, PR/ROC, forest, performance-profile and long-tail
plots.

Every function takes plain numpy arrays / dicts and returns a new
:class:`matplotlib.figure.Figure` with an Agg canvas. Nothing here touches
pyplot's global state or ``rcParams``: figures are built with the object API,
never registered with pyplot, and freed by the garbage collector like any other
object. :func:`figure_png`, :func:`figure_data_uri` and :func:`figure_svg`
serialise a figure byte-for-byte reproducibly (no software tag, no date).

Colours: an arm's colour is ``PALETTE[i % len(PALETTE)]`` where ``i`` is its
index in ``arm_order`` (default: the order the arms appear in the input), so
passing the experiment's arm list as ``arm_order`` gives every arm the same
colour in every plot; :func:`arm_colors` exposes the same mapping for tables.
"""

from __future__ import annotations

import base64
import io
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from imbalance_lab.metrics.thresholds import precision_recall_points, roc_points
from imbalance_lab.simulate import SWEEP_QUANTITIES
from imbalance_lab.stats import PerformanceProfile
from imbalance_lab.vocabulary import metric_range

__all__ = [
    "PALETTE",
    "arm_colors",
    "confusion_matrices",
    "factor_plot",
    "figure_data_uri",
    "figure_png",
    "figure_pngs",
    "figure_svg",
    "forest_plot",
    "loss_curves",
    "metric_curves",
    "performance_profiles",
    "pr_curves",
    "png_data_uri",
    "pr_roc_points",
    "recall_vs_frequency",
    "roc_curves",
]

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
SVG_HASH_SALT = "imbalance-lab"


# --------------------------------------------------------------------------- #
# Shared helpers
# --------------------------------------------------------------------------- #


def arm_colors(arms: Iterable[str], arm_order: Sequence[str] | None = None) -> dict[str, str]:
    """Colour of each arm: the palette entry at its index in ``arm_order`` (default: ``arms``' order)."""
    arms = list(arms)
    order = list(arm_order) if arm_order is not None else list(dict.fromkeys(arms))
    index = {arm: i for i, arm in enumerate(order)}
    missing = [arm for arm in arms if arm not in index]
    if missing:
        raise ValueError(f"The arms {missing} are not in arm_order {order}; pass the experiment's full arm list.")
    return {arm: PALETTE[index[arm] % len(PALETTE)] for arm in arms}


def _new_figure(size: tuple[float, float]) -> Figure:
    """An empty figure, at most 8 × 5 inches, with constrained ("tight") layout and an Agg canvas."""
    width, height = (min(round(want * 4) / 4, cap) for want, cap in zip(size, MAX_SIZE))
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _style_axes(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend(fig: Figure, handles: list[Any]) -> None:
    """The figure's one legend, outside the axes on the right so it never hides data."""
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)


def _no_data(fig: Figure, title: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=10, color=REFERENCE_GREY, transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _label(metric: str) -> str:
    return metric.replace("_", " ")


def _finite_points(x: np.ndarray, y: np.ndarray) -> int:
    return int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))


# --------------------------------------------------------------------------- #
# Serialisation
# --------------------------------------------------------------------------- #


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of ``fig`` (``figsize × dpi`` pixels); identical bytes for identical figures."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def figure_pngs(figures: Sequence[Figure], dpi: int = 110) -> list[bytes]:
    """PNG bytes of each of ``figures``, the same bytes as :func:`figure_png`'s.

    Drawing is most of a report's time after its imports (text layout for constrained layout, then the raster:
    about 0.1 s a figure on the 2-core machine we develop on). On Linux, with two or more cores to run on,
    a forked child draws every other figure into a temporary file while this process draws the rest; if the
    child fails, this process draws its figures too, so the result never depends on it.
    """
    if len(figures) < 4 or sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2:
        return [figure_png(fig, dpi) for fig in figures]
    theirs = range(1, len(figures), 2)
    with tempfile.TemporaryFile() as shared:
        pid = os.fork()
        if pid == 0:  # the child: its share, length-prefixed, then out without Python's exit handlers
            status = 1
            try:
                for i in theirs:
                    png = figure_png(figures[i], dpi)
                    shared.write(len(png).to_bytes(8, "little") + png)
                shared.flush()
                status = 0
            finally:
                os._exit(status)
        out: list[bytes | None] = [None] * len(figures)
        for i in range(0, len(figures), 2):
            out[i] = figure_png(figures[i], dpi)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            shared.seek(0)
            for i in theirs:
                size = int.from_bytes(shared.read(8), "little")
                out[i] = shared.read(size)
    return [png if png is not None else figure_png(fig, dpi) for png, fig in zip(out, figures, strict=True)]


def figure_data_uri(fig: Figure, dpi: int = 110) -> str:
    """``data:image/png;base64,...`` for inlining ``fig`` in a self-contained HTML page."""
    return png_data_uri(figure_png(fig, dpi=dpi))


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_svg(fig: Figure) -> str:
    """SVG text of ``fig``: no date, no software tag and a fixed id salt, so it is reproducible.

    The salt is set with a short ``rc_context`` (the SVG writer reads it nowhere else), so do not
    call this while another thread changes ``rcParams``.
    """
    buffer = io.StringIO()
    # The SVG writer reads its id salt from rcParams only; the context restores it on exit.
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# Training curves
# --------------------------------------------------------------------------- #


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


def _mean_std(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    fig = _new_figure(LINE_SIZE)
    if not any(len(history) for seeds in histories.values() for history in seeds):
        return _no_data(fig, title)
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
            mean, std = _mean_std(matrix)
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
    _style_axes(ax, title, "epoch", _label(metric))
    _legend(fig, handles)
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
    title = f"{_label(metric).capitalize()} per epoch (mean ± 1 std over seeds)"
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
    title = f"{_label(metric).capitalize()} on {split} per epoch (mean ± 1 std over seeds)"
    return _history_figure(histories, (split,), metric, title, arm_order, marks)


# --------------------------------------------------------------------------- #
# Confusion matrices
# --------------------------------------------------------------------------- #


def _summed_matrix(arm: str, matrix: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.asarray(matrix, dtype=float)
    if cm.ndim == 3:
        cm = cm.sum(axis=0)
    if cm.shape != (n_classes, n_classes):
        raise ValueError(
            f"The confusion matrix of arm {arm!r} must have shape ({n_classes}, {n_classes}) "
            f"(or (n_seeds, {n_classes}, {n_classes})) to match class_names. Got {np.shape(matrix)} instead."
        )
    if not np.all(np.isfinite(cm)) or np.any(cm < 0):
        raise ValueError(f"The confusion matrix of arm {arm!r} must hold finite non-negative counts.")
    return cm


def confusion_matrices(
    matrices: Mapping[str, np.ndarray],
    class_names: Sequence[str],
    normalize: bool,
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """One confusion-matrix panel per arm (rows: true class, columns: predicted), ≤ 4 per row.

    Each ``matrices[arm]`` is a ``C × C`` count matrix, or an ``n_seeds × C × C``
    stack that is summed over seeds. With ``normalize=False`` cells show the
    counts as integers; with ``normalize=True`` each row is divided by its total
    (the fraction of that true class given each prediction, 0.00–1.00; a class
    with no samples shows "–"). All panels share one colour scale and one
    colour bar; each panel's frame has the arm's colour. Cells are annotated
    when they are large enough to read (e.g. up to 10 classes for one arm,
    5 for four arms); beyond that the colours alone carry the matrix.
    """
    title = "Confusion matrices: " + (
        "fraction of each true class (row-normalised)" if normalize else "counts summed over seeds"
    )
    names = list(class_names)
    n = len(names)
    if not matrices:
        return _no_data(_new_figure(LINE_SIZE), title)
    cms = {arm: _summed_matrix(arm, m, n) for arm, m in matrices.items()}
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            cms = {arm: cm / cm.sum(axis=1, keepdims=True) for arm, cm in cms.items()}
        vmax = 1.0
    else:
        vmax = max(1.0, max(float(cm.max(initial=0.0)) for cm in cms.values()))
    colors = arm_colors(cms, arm_order)

    n_cols = min(4, len(cms))
    n_rows = math.ceil(len(cms) / n_cols)
    fig = _new_figure((1.2 + 2.3 * n_cols, 0.9 + 2.3 * n_rows))
    fig.suptitle(title, fontsize=11)
    # Cell annotations only where a cell is big enough to hold "0.00" legibly.
    width, height = fig.get_size_inches()
    panel = min((width - 1.2) / n_cols, (height - 0.9) / n_rows) - 0.5
    fontsize = min(9.0, panel * 72.0 / max(n, 1) / 2.6)
    annotate = fontsize >= MIN_ANNOTATION_FONTSIZE
    axes = []
    image = None
    for i, (arm, cm) in enumerate(cms.items()):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        axes.append(ax)
        image = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(arm, fontsize=10)
        tilt = n > 2 or max(map(len, names), default=0) > 8
        ax.set_xticks(range(n), labels=names, fontsize=7, rotation=45 if tilt else 0, ha="right" if tilt else "center")
        ax.set_yticks(range(n), labels=names if i % n_cols == 0 else [""] * n, fontsize=7)
        if i % n_cols == 0:
            ax.set_ylabel("true", fontsize=9)
        if i + n_cols >= len(cms):
            ax.set_xlabel("predicted", fontsize=9)
        for spine in ax.spines.values():
            spine.set_edgecolor(colors[arm])
            spine.set_linewidth(2)
        if annotate:
            for r in range(n):
                for c in range(n):
                    value = cm[r, c]
                    if math.isnan(value):
                        text = "–"
                    else:
                        text = f"{value:.2f}" if normalize else f"{int(round(value))}"
                    dark = not math.isnan(value) and value > 0.55 * vmax
                    ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")
    fig.colorbar(image, ax=axes, shrink=0.85, label="fraction of true class" if normalize else "count")
    return fig


# --------------------------------------------------------------------------- #
# Precision–recall and ROC
# --------------------------------------------------------------------------- #


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
    fig = _new_figure(SQUARE_SIZE)
    title = "Precision–recall curves"
    if not curves and (baseline is None or not math.isfinite(baseline)):
        return _no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    for arm, pair in curves.items():
        recall, precision = _curve_arrays(arm, pair, "recall/precision")
        label = arm if _finite_points(recall, precision) else f"{arm} (no curve)"
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
    _style_axes(ax, title, "recall", "precision")
    _legend(fig, list(ax.get_lines()))
    return fig


def roc_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    arm_order: Sequence[str] | None = None,
) -> Figure:
    """ROC curve per arm (``arm -> (fpr, tpr)``, e.g. from :func:`pr_roc_points`) with the diagonal of chance."""
    fig = _new_figure(SQUARE_SIZE)
    title = "ROC curves"
    if not curves:
        return _no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    for arm, pair in curves.items():
        fpr, tpr = _curve_arrays(arm, pair, "fpr/tpr")
        label = arm if _finite_points(fpr, tpr) else f"{arm} (no curve)"
        ax.plot(fpr, tpr, color=colors[arm], linewidth=1.6, label=label)
    ax.plot([0.0, 1.0], [0.0, 1.0], color=REFERENCE_GREY, linestyle=":", linewidth=1.0, label="random classifier")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    _style_axes(ax, title, "false positive rate", "true positive rate (recall)")
    _legend(fig, list(ax.get_lines()))
    return fig


# --------------------------------------------------------------------------- #
# Differences to a reference arm
# --------------------------------------------------------------------------- #


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
    title = f"{_label(metric)}: difference to {reference}"
    height = 1.3 + 0.38 * max(len(rows), 1)
    fig = _new_figure((LINE_SIZE[0], height))
    if not rows:
        return _no_data(fig, title)
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
    _style_axes(ax, title, f"{_label(metric)} difference (arm − {reference}), with confidence interval", "")
    ax.grid(False, axis="y")
    _legend(
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
    title = f"Performance profiles: {_label(metric)}"
    fig = _new_figure(LINE_SIZE)
    if not profiles:
        return _no_data(fig, title)
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
    _style_axes(ax, title, f"threshold τ on {_label(metric)}", f"fraction of runs with {_label(metric)} {better} τ")
    _legend(fig, list(ax.get_lines()))
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
    title = f"{_label(metric)} under other test priors"
    fig = _new_figure(LINE_SIZE)
    if not curves:
        return _no_data(fig, title)
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
    _style_axes(ax, title, "test prior (long tail, imbalance ρ)", _label(metric))
    _legend(fig, list(ax.get_lines()))
    return fig


# --------------------------------------------------------------------------- #
# Costs
# --------------------------------------------------------------------------- #


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
    fig = _new_figure(LINE_SIZE)
    if not curves:
        return _no_data(fig, title)
    colors = arm_colors(curves, arm_order)
    ax = fig.add_subplot()
    handles = []
    for arm, (thresholds, costs, chosen) in curves.items():
        mean, std = _mean_std(np.asarray(costs, dtype=np.float64))
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
    _style_axes(ax, title, "threshold on the positive class's probability", "expected cost per 1,000 cases")
    _legend(fig, handles)
    return fig


# --------------------------------------------------------------------------- #
# Long tail
# --------------------------------------------------------------------------- #


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
    fig = _new_figure(LINE_SIZE)
    shown = np.flatnonzero(counts > 0)
    if not per_arm or shown.size == 0:
        return _no_data(fig, title)
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
    _style_axes(ax, title, xlabel, "recall")
    _legend(fig, list(ax.get_lines()))
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
    title = f"{_label(metric)} vs. {_label(factor)}"
    fig = _new_figure(LINE_SIZE)
    shown = {name: pts for name, pts in lines.items() if pts}
    if not shown:
        return _no_data(fig, title)
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
    _style_axes(ax, title, _label(factor), f"{_label(metric)} (mean, 95 % CI band)")
    _legend(fig, list(ax.get_lines()[: len(shown)]))
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
            _style_axes(
                ax,
                scenario + (": gain" if col == 0 else ": gain in standard errors"),
                "negatives per positive in the validation set",
                ylabel,
            )
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False)
    return fig
