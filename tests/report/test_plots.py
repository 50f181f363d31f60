"""Tests for ``imbalance_lab.report.plots``: what each figure draws, and that it serialises reproducibly.

Figures are inspected through matplotlib's artist API (lines, collections,
texts) on tiny hand-made inputs whose means, counts and intervals are known.
"""

from __future__ import annotations

import base64
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image
from sklearn import metrics as skm

from imbalance_lab.report import plots
from imbalance_lab.report.plots import (
    PALETTE,
    arm_colors,
    confusion_matrices,
    figure_data_uri,
    figure_png,
    figure_svg,
    forest_plot,
    loss_curves,
    metric_curves,
    pr_curves,
    pr_roc_points,
    recall_vs_frequency,
    roc_curves,
)
from imbalance_lab.report.plots.style import new_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = ["cat", "dog", "fox"]


# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #


def history(train_losses: list[float], val_losses: list[float], recalls: list[float] | None = None) -> list[dict]:
    recalls = recalls if recalls is not None else [0.5] * len(train_losses)
    return [
        {"epoch": e, "train": {"loss": t, "recall": r}, "val": {"loss": v, "recall": r}}
        for e, (t, v, r) in enumerate(zip(train_losses, val_losses, recalls), start=1)
    ]


def two_arm_histories() -> dict[str, list[list[dict]]]:
    return {
        "balanced": [
            history([1.0, 0.6, 0.4], [1.1, 0.8, 0.7], [0.2, 0.5, 0.7]),
            history([1.2, 0.5, 0.3], [1.3, 0.9, 0.6], [0.4, 0.6, 0.8]),
            history([0.9, 0.7, 0.2], [1.0, 0.7, 0.8], [0.3, 0.7, 0.9]),
        ],
        "unbalanced": [
            history([0.8, 0.4, 0.2], [1.5, 1.4, 1.6], [0.0, 0.1, 0.1]),
            history([0.7, 0.3, 0.1], [1.6, 1.5, 1.7], [0.1, 0.1, 0.2]),
        ],
    }


def seed_matrix(histories: dict, arm: str, split: str, metric: str) -> np.ndarray:
    return np.array([[entry[split][metric] for entry in h] for h in histories[arm]])


def binary_problem(seed: int, n: int = 400, positive_rate: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_rate).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0.0, 1.0)
    return labels, scores


FOREST_ROWS = [
    {"arm": "unbalanced", "diff": -0.20, "low": -0.30, "high": -0.10, "significant": True},
    {"arm": "weighted", "diff": 0.05, "low": -0.04, "high": 0.12, "significant": False},
    {"arm": "oversample", "diff": 0.10, "low": None, "high": None, "significant": False},
]


def all_figures() -> dict[str, Figure]:
    """One figure from every public plotting function, on small valid inputs."""
    histories = two_arm_histories()
    labels, scores = binary_problem(0)
    pr, roc = pr_roc_points(labels, scores)
    cm = np.array([[50, 3, 2], [4, 30, 1], [0, 2, 8]])
    return {
        "loss_curves": loss_curves(histories),
        "metric_curves": metric_curves(histories, "recall"),
        "confusion_counts": confusion_matrices({"a": cm, "b": cm.T}, CLASS_NAMES, normalize=False),
        "confusion_normalised": confusion_matrices({"a": cm, "b": cm.T}, CLASS_NAMES, normalize=True),
        "pr_curves": pr_curves({"a": pr}, baseline=float(labels.mean())),
        "roc_curves": roc_curves({"a": roc}),
        "forest_plot": forest_plot(FOREST_ROWS, "recall", "balanced"),
        "recall_vs_frequency": recall_vs_frequency(
            CLASS_NAMES, np.array([500, 50, 5]), {"a": np.array([0.9, 0.5, 0.1]), "b": np.array([0.8, 0.6, 0.3])}
        ),
    }


# --------------------------------------------------------------------------- #
# Inspection helpers
# --------------------------------------------------------------------------- #


def only_axes(fig: Figure) -> Any:
    assert len(fig.axes) == 1, [type(a).__name__ for a in fig.axes]
    return fig.axes[0]


def legend_labels(fig: Figure) -> list[str]:
    assert len(fig.legends) == 1, "expected exactly one (figure) legend"
    return [t.get_text() for t in fig.legends[0].get_texts()]


def band_y_range(collection: Any) -> tuple[float, float]:
    ys = np.concatenate([path.vertices[:, 1] for path in collection.get_paths()])
    return float(ys.min()), float(ys.max())


def lines_with_gid(ax: Any, gid: str) -> list[Any]:
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def assert_no_warnings(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


# --------------------------------------------------------------------------- #
# Training curves
# --------------------------------------------------------------------------- #


def test_loss_curves_draw_mean_line_and_std_band_per_arm_and_split() -> None:
    histories = two_arm_histories()
    fig = loss_curves(histories)
    ax = only_axes(fig)
    lines = ax.get_lines()
    assert len(lines) == 4 and len(ax.collections) == 4
    by_label = {line.get_label(): line for line in lines}
    assert set(by_label) == {"balanced train", "balanced val", "unbalanced train", "unbalanced val"}
    for arm in histories:
        assert by_label[f"{arm} train"].get_linestyle() == "-"
        assert by_label[f"{arm} val"].get_linestyle() == "--"
        assert by_label[f"{arm} train"].get_color() == by_label[f"{arm} val"].get_color()
        for split in ("train", "val"):
            values = seed_matrix(histories, arm, split, "loss")
            line = by_label[f"{arm} {split}"]
            np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
            np.testing.assert_allclose(line.get_ydata(), values.mean(axis=0))
    # each band spans mean ± sample std (ddof=1, as the summary tables use)
    expected = []
    for arm in histories:
        for split in ("train", "val"):
            values = seed_matrix(histories, arm, split, "loss")
            mean, std = values.mean(axis=0), values.std(axis=0, ddof=1)
            expected.append((float((mean - std).min()), float((mean + std).max())))
    bands = sorted(band_y_range(c) for c in ax.collections)
    np.testing.assert_allclose(bands, sorted(expected))
    assert legend_labels(fig) == ["balanced", "unbalanced", "train", "val"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss" and ax.get_title()


def test_single_seed_gives_a_line_without_band() -> None:
    fig = assert_no_warnings(lambda: loss_curves({"only": [history([1.0, 0.5], [1.2, 0.9])]}))
    ax = only_axes(fig)
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 0
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 0.5])


def test_seeds_of_different_length_and_missing_values_are_aligned_on_epochs() -> None:
    short = history([1.0, 0.5], [1.0, 0.5])
    short[1]["val"]["loss"] = float("nan")
    histories = {"arm": [history([2.0, 1.0, 0.4], [2.0, 1.0, 0.4]), short]}
    ax = only_axes(assert_no_warnings(lambda: loss_curves(histories)))
    train, val = ax.get_lines()
    np.testing.assert_allclose(train.get_ydata(), [1.5, 0.75, 0.4])
    np.testing.assert_allclose(val.get_ydata(), [1.5, 1.0, 0.4])
    assert len(ax.collections) == 2  # a band where two seeds overlap, none elsewhere


def test_metric_curves_draw_one_solid_line_per_arm() -> None:
    histories = two_arm_histories()
    fig = metric_curves(histories, "recall", split="val")
    ax = only_axes(fig)
    assert [line.get_label() for line in ax.get_lines()] == ["balanced val", "unbalanced val"]
    assert all(line.get_linestyle() == "-" for line in ax.get_lines())
    assert len(ax.collections) == 2
    np.testing.assert_allclose(
        ax.get_lines()[0].get_ydata(), seed_matrix(histories, "balanced", "val", "recall").mean(axis=0)
    )
    assert ax.get_ylabel() == "recall" and "val" in ax.get_title()
    assert legend_labels(fig) == ["balanced", "unbalanced"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "recal"}, "metric 'recal'.*available metrics: loss, recall"),
        ({"split": "test"}, "split 'test'.*train, val"),
    ],
)
def test_misspelt_metric_or_split_names_the_valid_ones(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        metric_curves(two_arm_histories(), **{"metric": "recall", **kwargs})


# --------------------------------------------------------------------------- #
# Colours
# --------------------------------------------------------------------------- #


def test_an_arm_has_the_same_palette_colour_in_every_plot() -> None:
    order = ["balanced", "unbalanced", "weighted"]
    assert arm_colors(["weighted", "balanced"], order) == {"weighted": PALETTE[2], "balanced": PALETTE[0]}
    labels, scores = binary_problem(1)
    pr, roc = pr_roc_points(labels, scores)
    curves = only_axes(loss_curves({"weighted": [history([1.0], [1.0])]}, arm_order=order)).get_lines()[0]
    pr_line = only_axes(pr_curves({"weighted": pr}, None, arm_order=order)).get_lines()[0]
    roc_line = only_axes(roc_curves({"weighted": roc}, arm_order=order)).get_lines()[0]
    marker = lines_with_gid(
        only_axes(forest_plot([FOREST_ROWS[1]], "recall", "balanced", arm_order=order)), "difference"
    )[0]
    assert {
        to_hex(curves.get_color()),
        to_hex(pr_line.get_color()),
        to_hex(roc_line.get_color()),
        to_hex(marker.get_markeredgecolor()),
    } == {PALETTE[2]}
    assert arm_colors([f"arm{i}" for i in range(12)])["arm11"] == PALETTE[1]  # the palette cycles


def test_arm_missing_from_arm_order_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\['other'\] are not in arm_order"):
        roc_curves({"other": (np.array([0.0, 1.0]), np.array([0.0, 1.0]))}, arm_order=["balanced"])


# --------------------------------------------------------------------------- #
# Confusion matrices
# --------------------------------------------------------------------------- #


def panel_annotations(ax: Any, n: int) -> list[list[str]]:
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert len(ax.texts) == n * n
    return [[texts[(r, c)] for c in range(n)] for r in range(n)]


def test_confusion_counts_are_summed_over_seeds_and_annotated_as_integers() -> None:
    rng = np.random.default_rng(3)
    stacks = {arm: rng.integers(0, 200, size=(4, 3, 3)) for arm in ("a", "b", "c")}
    fig = confusion_matrices(stacks, CLASS_NAMES, normalize=False)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3 and len(fig.axes) == 4  # three panels and one shared colour bar
    vmax = max(int(s.sum(axis=0).max()) for s in stacks.values())
    for ax, (arm, stack) in zip(panels, stacks.items()):
        assert ax.get_title() == arm
        annotated = np.array(panel_annotations(ax, 3), dtype=int)
        np.testing.assert_array_equal(annotated, stack.sum(axis=0))  # rows true, columns predicted
        assert ax.images[0].get_clim() == (0.0, vmax)
        assert [t.get_text() for t in ax.get_xticklabels()] == CLASS_NAMES


def test_normalised_confusion_rows_sum_to_one_and_empty_rows_show_a_dash() -> None:
    cm = np.array([[7, 2, 1], [1, 1, 1], [0, 0, 0]])
    fig = assert_no_warnings(lambda: confusion_matrices({"a": cm}, CLASS_NAMES, normalize=True))
    ax = next(ax for ax in fig.axes if ax.images)
    text = panel_annotations(ax, 3)
    assert text[2] == ["–", "–", "–"]
    rows = np.array(text[:2], dtype=float)
    assert np.all((rows >= 0) & (rows <= 1))
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=0.015)  # two-decimal rounding
    assert text[0] == ["0.70", "0.20", "0.10"]
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_confusion_grid_has_at_most_four_panels_per_row_and_fits_8x5() -> None:
    cm = np.eye(2, dtype=int) * 5
    fig = confusion_matrices({f"arm{i}": cm for i in range(6)}, ["neg", "pos"], normalize=False)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in panels} == {(2, 4)}
    width, height = fig.get_size_inches()
    assert width <= 8 and height <= 5


def test_confusion_matrix_of_the_wrong_shape_names_the_arm() -> None:
    with pytest.raises(ValueError, match=r"arm 'b' must have shape \(3, 3\)"):
        confusion_matrices({"a": np.eye(3), "b": np.eye(2)}, CLASS_NAMES, normalize=False)


# --------------------------------------------------------------------------- #
# PR and ROC
# --------------------------------------------------------------------------- #


def test_pr_roc_points_match_scikit_learn() -> None:
    labels, scores = binary_problem(4)
    (recall, precision), (fpr, tpr) = pr_roc_points(labels.astype(bool), scores)
    ref_precision, ref_recall, _ = skm.precision_recall_curve(labels, scores)
    ref_fpr, ref_tpr, _ = skm.roc_curve(labels, scores)
    np.testing.assert_array_equal(recall, ref_recall)
    np.testing.assert_array_equal(precision, ref_precision)
    np.testing.assert_array_equal(fpr, ref_fpr)
    np.testing.assert_array_equal(tpr, ref_tpr)


def test_pr_roc_points_return_empty_curves_where_undefined() -> None:
    scores = np.linspace(0, 1, 6)
    (recall, precision), (fpr, tpr) = assert_no_warnings(lambda: pr_roc_points(np.zeros(6, int), scores))
    assert recall.size == precision.size == fpr.size == tpr.size == 0
    (recall, precision), (fpr, tpr) = assert_no_warnings(lambda: pr_roc_points(np.ones(6, int), scores))
    assert recall.size > 0 and np.all(precision == 1.0) and fpr.size == tpr.size == 0
    with pytest.raises(ValueError, match="labels must be 0/1"):
        pr_roc_points(np.array([0, 2, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="same length"):
        pr_roc_points(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))


def test_pr_curves_draw_one_step_line_per_arm_and_the_positive_rate() -> None:
    labels, scores = binary_problem(5)
    pr, _ = pr_roc_points(labels, scores)
    no_positives, _ = pr_roc_points(np.zeros(20, int), np.linspace(0, 1, 20))
    fig = assert_no_warnings(lambda: pr_curves({"a": pr, "b": no_positives}, baseline=0.1))
    ax = only_axes(fig)
    a, b, base = ax.get_lines()
    np.testing.assert_array_equal(a.get_xdata(), pr[0])
    np.testing.assert_array_equal(a.get_ydata(), pr[1])
    assert a.get_drawstyle() == "steps-post"
    assert b.get_label() == "b (no curve)" and len(b.get_xdata()) == 0
    assert base.get_linestyle() == "--" and set(base.get_ydata()) == {0.1}
    assert "random classifier" in base.get_label()
    assert legend_labels(fig)[:2] == ["a", "b (no curve)"]
    assert ax.get_xlabel() == "recall" and ax.get_ylabel() == "precision"
    assert figure_png(fig, dpi=30).startswith(PNG_SIGNATURE)  # an empty curve also renders


def test_pr_curves_without_baseline_and_with_nan_points() -> None:
    recall = np.array([1.0, np.nan, 0.0])
    ax = only_axes(pr_curves({"a": (recall, np.array([0.5, np.nan, 1.0]))}, baseline=None))
    assert len(ax.get_lines()) == 1


def test_roc_curves_draw_one_line_per_arm_and_the_diagonal() -> None:
    labels, scores = binary_problem(6)
    _, roc_a = pr_roc_points(labels, scores)
    _, roc_b = pr_roc_points(labels, 1 - scores)
    fig = roc_curves({"a": roc_a, "b": roc_b})
    ax = only_axes(fig)
    a, b, diagonal = ax.get_lines()
    np.testing.assert_array_equal(b.get_xdata(), roc_b[0])
    np.testing.assert_array_equal(b.get_ydata(), roc_b[1])
    np.testing.assert_array_equal(diagonal.get_xdata(), [0, 1])
    np.testing.assert_array_equal(diagonal.get_ydata(), [0, 1])
    assert legend_labels(fig) == ["a", "b", "random classifier"]


# --------------------------------------------------------------------------- #
# Forest plot and long tail
# --------------------------------------------------------------------------- #


def test_forest_plot_marks_each_difference_with_its_interval() -> None:
    fig = forest_plot(FOREST_ROWS, "recall", "balanced")
    ax = only_axes(fig)
    markers = lines_with_gid(ax, "difference")
    intervals = lines_with_gid(ax, "interval")
    assert len(markers) == 3 and len(intervals) == 2  # "oversample" has no interval: a point only
    for y, (row, marker) in enumerate(zip(FOREST_ROWS, markers)):
        assert list(marker.get_xdata()) == [row["diff"]] and list(marker.get_ydata()) == [y]
        filled = to_hex(marker.get_markerfacecolor()) == to_hex(marker.get_markeredgecolor())
        assert filled == row["significant"]
    for row, interval in zip(FOREST_ROWS, intervals):
        assert list(interval.get_xdata()) == [row["low"], row["high"]]
    zero = [line for line in ax.get_lines() if line.get_gid() is None]
    assert len(zero) == 1 and list(zero[0].get_xdata()) == [0, 0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["unbalanced", "weighted", "oversample"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first row on top
    assert "balanced" in ax.get_title() and "balanced" in ax.get_xlabel()


def test_forest_plot_survives_nan_differences() -> None:
    rows = [{"arm": "a", "diff": float("nan"), "low": float("nan"), "high": None, "significant": False}]
    ax = only_axes(forest_plot(rows, "f1", "ref"))
    assert len(lines_with_gid(ax, "difference")) == 1 and not lines_with_gid(ax, "interval")


def test_recall_vs_frequency_is_a_log_x_series_per_arm_with_class_labels() -> None:
    counts = np.array([500, 0, 5, 50])
    names = ["head", "empty", "tail", "middle"]
    recalls = {"a": np.array([0.9, np.nan, 0.1, 0.5]), "b": np.array([0.8, np.nan, 0.3, 0.4])}
    fig = assert_no_warnings(lambda: recall_vs_frequency(names, counts, recalls))
    ax = only_axes(fig)
    assert ax.get_xscale() == "log"
    assert len(ax.get_lines()) == 2
    a = ax.get_lines()[0]
    np.testing.assert_array_equal(a.get_xdata(), [5, 50, 500])  # rarest first; the empty class is left out
    np.testing.assert_array_equal(a.get_ydata(), [0.1, 0.5, 0.9])
    assert sorted(t.get_text() for t in ax.texts) == ["head", "middle", "tail"]
    tail = next(t for t in ax.texts if t.get_text() == "tail")
    assert tail.xy == (5.0, 0.3)  # next to the class's highest recall
    assert "1 class with none not shown" in ax.get_xlabel()
    assert legend_labels(fig) == ["a", "b"]


def test_recall_vs_frequency_rejects_misaligned_inputs() -> None:
    with pytest.raises(ValueError, match="arm 'a' must have one entry per class"):
        recall_vs_frequency(CLASS_NAMES, np.array([3, 2, 1]), {"a": np.array([0.5, 0.5])})


# --------------------------------------------------------------------------- #
# Empty inputs, every figure, serialisation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "build",
    [
        lambda: loss_curves({}),
        lambda: loss_curves({"a": []}),
        lambda: metric_curves({"a": [[]]}, "recall"),
        lambda: confusion_matrices({}, CLASS_NAMES, normalize=True),
        lambda: pr_curves({}, None),
        lambda: roc_curves({}),
        lambda: forest_plot([], "recall", "ref"),
        lambda: recall_vs_frequency(CLASS_NAMES, np.zeros(3), {"a": np.zeros(3)}),
    ],
)
def test_empty_inputs_give_a_no_data_figure(build: Callable[[], Figure]) -> None:
    fig = assert_no_warnings(build)
    assert isinstance(fig, Figure)
    assert any(t.get_text() == "no data" for ax in fig.axes for t in ax.texts)


def test_every_figure_renders_to_a_png_of_its_size_without_pyplot() -> None:
    figures = all_figures()
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        assert type(fig.canvas).__name__ == "FigureCanvasAgg", name
        width, height = fig.get_size_inches()
        assert width <= 8 and height <= 5, name
        assert width * 4 == int(width * 4) and height * 4 == int(height * 4), name  # whole quarter inches
        png = figure_png(fig, dpi=20)
        assert png.startswith(PNG_SIGNATURE), name
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (round(width * 20), round(height * 20)), name
    assert plt.get_fignums() == []


def test_figure_png_at_the_default_dpi_has_the_expected_pixels() -> None:
    fig = roc_curves({"a": (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.8, 1.0]))})
    png = figure_png(fig)
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.size == (715, 495)  # 6.5 × 4.5 in at 110 dpi
        assert "Software" not in image.info
    assert len(png) < 150_000


def test_data_uri_round_trips_to_the_png_bytes() -> None:
    fig = forest_plot(FOREST_ROWS, "recall", "balanced")
    uri = figure_data_uri(fig)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :], validate=True) == figure_png(fig)


def test_same_input_gives_identical_png_and_svg() -> None:
    first = [loss_curves(two_arm_histories()), confusion_matrices({"a": np.eye(3) * 4}, CLASS_NAMES, normalize=False)]
    second = [loss_curves(two_arm_histories()), confusion_matrices({"a": np.eye(3) * 4}, CLASS_NAMES, normalize=False)]
    for a, b in zip(first, second):
        assert figure_png(a, dpi=50) == figure_png(b, dpi=50)
    svg_a, svg_b = figure_svg(first[0]), figure_svg(second[0])
    assert svg_a == svg_b and svg_a.lstrip().startswith("<?xml")
    assert "<dc:date>" not in svg_a
    assert type(first[0].canvas).__name__ == "FigureCanvasAgg"  # saving as SVG left the Agg canvas in place


def test_module_never_imports_pyplot() -> None:
    files = sorted(Path(plots.__file__).parent.glob("*.py"))
    assert len(files) >= 8  # the package's families, read
    for file in files:
        source = file.read_text(encoding="utf-8")
        assert "import matplotlib.pyplot" not in source and "from matplotlib import pyplot" not in source, file


def _small_figures(n: int) -> list:
    figs = []
    for k in range(n):
        fig = new_figure((4, 3))
        ax = fig.add_subplot()
        ax.plot(np.arange(10), np.arange(10) ** (1 + k / 4), label=f"curve {k}")
        ax.set_title(f"figure {k}")
        ax.legend()
        figs.append(fig)
    return figs


def test_figures_drawn_together_are_the_bytes_drawn_one_by_one():
    """figure_pngs (a forked child draws every other figure on Linux) gives figure_png's bytes, in order."""
    figs = _small_figures(5)
    together = plots.figure_pngs(figs)
    assert together == [plots.figure_png(fig) for fig in figs]
    assert len(set(together)) == 5  # five different figures, not one repeated
    assert plots.figure_pngs(figs[:2]) == together[:2]  # too few to share: drawn here


def test_figures_drawn_here_when_the_child_fails(monkeypatch):
    """A child that cannot draw leaves its figures to this process: the same bytes, nothing missing."""
    figs = _small_figures(4)
    expected = [plots.figure_png(fig) for fig in figs]
    parent, draw = os.getpid(), plots.figure_png

    def fails_in_child(fig, dpi=110):
        if os.getpid() != parent:
            raise RuntimeError("the child cannot draw")
        return draw(fig, dpi)

    monkeypatch.setattr(plots, "figure_png", fails_in_child)
    assert plots.figure_pngs(figs) == expected
