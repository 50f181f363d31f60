"""The report's section on other test priors (``evaluation.test_priors``): a table and a figure per metric."""

from __future__ import annotations

import html
from typing import Any

from imbalance_lab.analysis.shifted_priors import PriorScores
from imbalance_lab.report import plots
from imbalance_lab.report.page import arm_table, figure_html

PRIORS_TITLE = "Under other test priors"
SHOWN: tuple[str, ...] = ("accuracy", "macro_f1")


def _explanation(scores: PriorScores) -> str:
    adapting = (
        f" Dashed: {', '.join(scores.adapting)}, whose rule estimates the prior of each reweighted set (EM) and "
        "adapts to it; every other arm's predictions stay as they are."
        if scores.adapting
        else ""
    )
    return (
        f"Each run scored on the {scores.set_name} set reweighted to other class priors (rows of its confusion "
        "matrix scaled, exact for per-class counts; no image is drawn): forward long tails at imbalance ρ, in the "
        f"order of `{scores.ordered_by}`'s training counts, the uniform prior, and backward long tails (the "
        "order reversed), as in the test-agnostic protocol (Zhang et al. 2022). Balanced accuracy and recall do "
        "not move with the prior; accuracy, precision and F1 do. Mean over seeds, ±1 std band." + adapting
    )


def rows(scores: PriorScores, metric: str) -> list[list[str]]:
    """One row per arm: its name, then its mean over seeds at each prior (three decimals)."""
    return [[arm] + [f"{v:.3f}" for v in scores.mean(arm, metric)] for arm in scores.values]


def priors_html(analysis: Any) -> str:
    """The section as HTML; '' when ``evaluation.test_priors`` is off."""
    scores = analysis.priors
    if scores is None:
        return ""
    parts = [f"<h2>{PRIORS_TITLE}</h2><p>{html.escape(_explanation(scores)).replace('`', '')}</p>"]
    for metric in SHOWN:
        parts.append(f"<h3>{html.escape(metric)}</h3>{arm_table(scores.labels, rows(scores, metric))}")
        curves = {arm: (scores.mean(arm, metric), scores.std(arm, metric)) for arm in scores.values}
        parts.append(
            figure_html(
                f"{metric} under other test priors",
                plots.prior_curves(curves, scores.labels, metric, arm_order=analysis.arms, adapting=scores.adapting),
                f"{metric} on the {scores.set_name} set reweighted to each prior, mean over seeds with a ±1 std band.",
            )
        )
    return "".join(parts)


def priors_markdown(analysis: Any) -> list[str]:
    scores = analysis.priors
    if scores is None:
        return []
    lines = ["", f"## {PRIORS_TITLE}", "", _explanation(scores)]
    for metric in SHOWN:
        lines += ["", f"### {metric}", "", "| arm | " + " | ".join(scores.labels) + " |"]
        lines.append("|---|" + "---:|" * len(scores.labels))
        lines += ["| " + " | ".join(row) + " |" for row in rows(scores, metric)]
    return lines
