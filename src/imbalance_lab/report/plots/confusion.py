"""Confusion matrices, one panel per arm, summed or normalised over seeds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from imbalance_lab.report.plots.style import (
    LINE_SIZE,
    MIN_ANNOTATION_FONTSIZE,
    arm_colors,
    new_figure,
    no_data,
)


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
        return no_data(new_figure(LINE_SIZE), title)
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
    fig = new_figure((1.2 + 2.3 * n_cols, 0.9 + 2.3 * n_rows))
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
