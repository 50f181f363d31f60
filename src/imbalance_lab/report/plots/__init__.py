"""Figures for the report: training curves, confusion matrices, PR/ROC, forest, performance-profile and long-tail
plots, one module per family (the shared style in :mod:`~imbalance_lab.report.plots.style`, serialisation in
:mod:`~imbalance_lab.report.plots.render`); every figure function is importable from here.

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

from imbalance_lab.report.plots.confusion import (
    confusion_matrices,
)
from imbalance_lab.report.plots.costs import (
    cost_curves,
)
from imbalance_lab.report.plots.curves import (
    loss_curves,
    metric_curves,
)
from imbalance_lab.report.plots.differences import (
    forest_plot,
    performance_profiles,
    prior_curves,
)
from imbalance_lab.report.plots.long_tail import (
    factor_plot,
    recall_vs_frequency,
    sweep_figure,
)
from imbalance_lab.report.plots.ranking import (
    pr_curves,
    pr_roc_points,
    roc_curves,
)
from imbalance_lab.report.plots.render import (
    figure_data_uri,
    figure_png,
    figure_pngs,
    figure_svg,
    png_data_uri,
)
from imbalance_lab.report.plots.style import (
    PALETTE,
    arm_colors,
)

__all__ = [
    "arm_colors",
    "confusion_matrices",
    "cost_curves",
    "factor_plot",
    "figure_data_uri",
    "figure_png",
    "figure_pngs",
    "figure_svg",
    "forest_plot",
    "loss_curves",
    "metric_curves",
    "PALETTE",
    "performance_profiles",
    "png_data_uri",
    "pr_curves",
    "pr_roc_points",
    "prior_curves",
    "recall_vs_frequency",
    "roc_curves",
    "sweep_figure",
]
