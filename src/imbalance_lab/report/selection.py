"""The report's selection-study section: which checkpoint rule's epoch scores best on the judged set, against
the reference rule (HTML, Markdown and CSV)."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

import numpy as np

from imbalance_lab.analysis.analyse import Analysis
from imbalance_lab.report import plots
from imbalance_lab.report.page import (
    comparison_bounds,
    diff_cell,
    figure_html,
    fmt,
    forest_rows,
    md_code,
)


def _rule_rows(study: Any, scope: str) -> list[dict[str, Any]]:
    """One row per rule (and the oracle) of one scope (an arm, or ``all`` pooled): means, Δ and epochs."""
    from imbalance_lab.analysis.selection import ORACLE

    if scope == "all":
        means = study.pooled_means
        comparisons = study.pooled
        epochs = {
            label: float(np.mean([np.mean(list(study.outcomes[a][label].epochs.values())) for a in study.arms]))
            for label in means
        }
    else:
        outcomes = study.outcomes[scope]
        means = {label: {m: o.mean(m) for m in study.metrics} for label, o in outcomes.items()}
        comparisons = study.comparisons[scope]
        epochs = {label: o.mean_epoch() for label, o in outcomes.items()}
    rows = []
    for label in study.rules:
        cells = {}
        for m in study.metrics:
            c = next((c for c in comparisons.get(m, []) if c.arm == label), None)
            cells[m] = (means[label][m], c)
        rows.append({"rule": label, "cells": cells, "epoch": epochs[label], "oracle": False})
    cells = {m: (means[f"{ORACLE}:{m}"][m], None) for m in study.metrics}
    rows.append(
        {"rule": f"{ORACLE}: best on {study.judge} itself", "cells": cells, "epoch": float("nan"), "oracle": True}
    )
    return rows


def selection_section(analysis: Analysis) -> str:
    """The selection study: which rule's epoch scores best on the judged set, against the reference rule."""
    study = analysis.selection
    if study is None or not study.arms:
        return ""
    spec = analysis.spec.selection
    sets = sorted({r.set for r in spec.rules if r != "last"})
    compositions = "; ".join(
        f"<code>{html.escape(name)}</code>: "
        + ", ".join(
            f"{n} {html.escape(c)}" for c, n in zip(analysis.class_names, analysis.sets[name].class_counts, strict=True)
        )
        for name in sets + [study.judge]
        if name in analysis.sets
    )
    sentences = "".join(f"<li>{md_code(html.escape(t))}</li>" for t in study.sentences())
    head = "".join(f"<th>{html.escape(study.judge)} {html.escape(m)}</th>" for m in study.metrics)

    def table(scope: str) -> str:
        rows = []
        for row in _rule_rows(study, scope):
            cells = []
            for m in study.metrics:
                mean, c = row["cells"][m]
                text = fmt(mean)
                if c is not None:
                    text += f"<br>Δ {diff_cell(c, m)} <span class='ci'>{comparison_bounds(c)}</span>"
                cells.append(f"<td>{text}</td>")
            cls = (
                " class='reference'" if row["rule"] == study.reference else " class='baseline'" if row["oracle"] else ""
            )
            rows.append(
                f"<tr{cls}><td class='arm'>{html.escape(row['rule'])}</td><td>{fmt(row['epoch'], 1)}</td>"
                f"{''.join(cells)}</tr>"
            )
        return (
            f"<div class='scroll'><table><tr><th class='arm'>rule</th><th>mean epoch kept</th>{head}</tr>"
            f"{''.join(rows)}</table></div>"
        )

    per_arm = "".join(f"<h3>arm {html.escape(arm)}</h3>{table(arm)}" for arm in study.arms)
    metric = study.metrics[0]
    pooled_rows = forest_rows(study.pooled.get(metric, []))
    forest = (
        figure_html(
            f"selection forest {metric}",
            plots.forest_plot(pooled_rows, metric, study.reference),
            f"Difference in {study.judge} {metric} between each rule's epoch and `{study.reference}`'s, every "
            "arm and seed pooled, with its 95 % interval (paired bootstrap over runs and test images); "
            "filled = significant after Holm.".replace("`", ""),
        )
        if pooled_rows
        else ""
    )
    return f"""<h2>Which epoch to keep (selection study)</h2>
<p>Every run kept each evaluation set's predictions at every epoch; each rule below picked an epoch per run from those
same runs (no run was trained twice), and that epoch's predictions on the <code>{html.escape(study.judge)}</code> set are
scored. Sets: {compositions}. Each rule is compared with <code>{html.escape(study.reference)}</code> on the same runs —
a paired two-level bootstrap over the runs and the {html.escape(study.judge)} images where the metric allows it, else a
paired t-test — with Holm's correction over the rules; ★ = p<sub>Holm</sub> &lt; 0.05. The oracle row keeps, per run, the
epoch best on {html.escape(study.judge)} itself: an upper bound for scale, not a rule anyone can use.</p>
<ul class="verdicts">{sentences}</ul>
<h3>every arm and seed pooled</h3>{table("all")}
{forest}
{per_arm}"""


def selection_markdown(analysis: Analysis) -> list[str]:
    study = analysis.selection
    if study is None or not study.arms:
        return []
    lines = ["", "## Which epoch to keep (selection study)", ""] + [f"- {t}" for t in study.sentences()]
    for scope in ("all", *study.arms):
        lines += [
            "",
            f"### {'every arm and seed pooled' if scope == 'all' else 'arm ' + scope}",
            "",
            "| rule | mean epoch | " + " | ".join(f"{study.judge} {m}" for m in study.metrics) + " |",
            "|---|---:|" + "---:|" * len(study.metrics),
        ]
        for row in _rule_rows(study, scope):
            cells = []
            for m in study.metrics:
                mean, c = row["cells"][m]
                cells.append(
                    fmt(mean)
                    + (
                        ""
                        if c is None
                        else f" (Δ {c.mean_diff:+.3f}{' ★' if c.significant else ''} {comparison_bounds(c)})"
                    )
                )
            lines.append(f"| {row['rule']} | {fmt(row['epoch'], 1)} | " + " | ".join(cells) + " |")
    return lines


def selection_csv(analysis: Analysis) -> str:
    """Long format: one row per (scope, rule, metric); scope is an arm or ``all`` (every arm and seed pooled)."""
    study = analysis.selection
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "scope",
            "rule",
            "judged_set",
            "metric",
            "mean",
            "mean_epoch",
            "reference",
            "diff_vs_reference",
            "ci_low",
            "ci_high",
            "p_holm",
            "significant",
        ]
    )
    for scope in ("all", *study.arms):
        for row in _rule_rows(study, scope):
            for m in study.metrics:
                mean, c = row["cells"][m]
                interval = None if c is None else (c.bootstrap if c.bootstrap is not None else c.interval)
                writer.writerow(
                    [
                        scope,
                        row["rule"],
                        study.judge,
                        m,
                        mean,
                        row["epoch"],
                        study.reference,
                        "" if c is None else c.mean_diff,
                        "" if interval is None else interval.low,
                        "" if interval is None else interval.high,
                        "" if c is None else c.p_holm,
                        "" if c is None else c.significant,
                    ]
                )
    return out.getvalue()
