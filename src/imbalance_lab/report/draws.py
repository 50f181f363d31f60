"""The report's section on data draws and training seeds (``data.resample: per_seed``, issue 26): each
headline metric's variance split into the draw's and training's parts."""

from __future__ import annotations

import html
import math

from imbalance_lab.analysis.analyse import Analysis
from imbalance_lab.report.page import arm_table, fmt, md_code
from imbalance_lab.vocabulary import COUNTS

DRAWS_TITLE = "Data draws and training seeds"
DRAWS_HEADERS = ("runs", "mean", "σ draw [95 %]", "σ train [95 %]", "draw's share [95 %]", "p (no draw variance)")


def _sd_text(variance: float, interval: tuple[float, float], digits: int) -> str:
    """A variance and its interval as standard deviations (the square roots keep the coverage)."""
    low, high = (math.sqrt(v) for v in interval)
    return f"{fmt(math.sqrt(variance), digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def draw_rows(analysis: Analysis, metric: str) -> list[tuple[str, ...]]:
    """The headline set's variance decomposition on ``metric``, one row per arm: (arm, runs, mean, σ_draw,
    σ_train, the draw's share, p), each with its interval."""
    found = analysis.draws.components.get(metric, {})
    digits = 1 if metric in COUNTS or metric == "expected_cost" else 3
    rows = []
    for arm in analysis.arms:
        if arm not in found:
            continue
        vc = found[arm]
        share = (
            "–"
            if math.isnan(vc.draw_share)
            else (f"{vc.draw_share:.2f} [{vc.draw_share_interval[0]:.2f}, {vc.draw_share_interval[1]:.2f}]")
        )
        rows.append(
            (
                arm,
                f"{vc.draws} × {vc.train}",
                fmt(vc.mean, digits),
                _sd_text(vc.draw_var, vc.draw_var_interval, digits),
                _sd_text(vc.train_var, vc.train_var_interval, digits),
                share,
                f"{vc.p_value:.3g}",
            )
        )
    return rows


def draws_section(analysis: Analysis) -> str:
    """Each headline metric's variance split into data draws and training (the headline set; '' without
    ``data.resample: per_seed``)."""
    draws = analysis.draws
    if draws is None:
        return ""
    notes = "".join(f"<li>{md_code(html.escape(n))}</li>" for n in draws.notes if draws.components)
    tables = [
        f"<h3>{html.escape(metric)}</h3>{arm_table(DRAWS_HEADERS, draw_rows(analysis, metric))}"
        for metric in draws.components
    ]
    return (
        f"<h2>{DRAWS_TITLE}</h2><p>{md_code(html.escape(draws.explanation()))}</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "".join(tables)
    )


def draws_markdown(analysis: Analysis) -> list[str]:
    draws = analysis.draws
    if draws is None:
        return []
    lines = ["", f"## {DRAWS_TITLE}", "", draws.explanation()]
    if draws.components:
        lines += [f"- {n}" for n in draws.notes] if draws.notes else []
    for metric in draws.components:
        lines += ["", f"### {metric}", "", "| arm | " + " | ".join(DRAWS_HEADERS) + " |", "|---|" + "---:|" * 6]
        lines += ["| " + " | ".join(row) + " |" for row in draw_rows(analysis, metric)]
    return lines
