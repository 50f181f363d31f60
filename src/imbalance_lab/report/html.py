"""The report: one self-contained HTML page (images inlined, no network), plus Markdown and CSV.

Everything is recomputed from the stored runs by :func:`imbalance_lab.analysis.analyse.analyse`.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
import time
from typing import Any

import numpy as np

from imbalance_lab.analysis.analyse import Analysis, MetricSummary, verdicts
from imbalance_lab.analysis.grids import factor_effects
from imbalance_lab.report import plots
from imbalance_lab.report.aggregates import aggregates_markdown, aggregates_section
from imbalance_lab.report.deployment import (
    calibration_markdown,
    calibration_section,
    deploy_markdown,
    deploy_section,
    versus_base_markdown,
    versus_base_section,
)
from imbalance_lab.report.draws import draws_markdown, draws_section
from imbalance_lab.report.page import diff_cell, figure_html, figures_together, fmt, forest_rows, md_code
from imbalance_lab.report.priors import priors_html, priors_markdown
from imbalance_lab.report.selection import selection_markdown, selection_section
from imbalance_lab.version import __version__
from imbalance_lab.vocabulary import COUNTS

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555;font-size:.9rem} table{border-collapse:collapse;margin:.6rem 0;font-size:.86rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;white-space:nowrap} th{background:#f4f4f6}
td.arm,th.arm{text-align:left;font-weight:600} tr.baseline td{color:#666;font-style:italic;background:#fafafa}
tr.reference td.arm::after{content:' (reference)';font-weight:400;color:#666}
.sig{color:#0a7d32;font-weight:700} .worse{color:#b3261e;font-weight:700} .ci{color:#666;font-size:.78rem}
.verdicts li{margin:.25rem 0} figure{margin:1rem 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem} pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:.8rem}
.scroll{overflow-x:auto} .warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.4rem .8rem}
.aggregate{display:inline-block;vertical-align:top;margin-right:1.5rem}
"""


def scoped_css(scope: str) -> str:
    """The report's :data:`CSS` for a fragment inside someone else's page (a notebook's output): every rule
    applies only under ``scope`` (a selector, e.g. ``.imbalance-lab``), and the page's ``body`` rule styles
    the fragment's own element, so the host page keeps its fonts, widths and tables."""
    rules = []
    for selectors, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        scoped = [scope if sel.strip() == "body" else f"{scope} {sel.strip()}" for sel in selectors.split(",")]
        rules.append(f"{','.join(scoped)}{{{declarations}}}")
    return "\n".join(rules)


def _cell(stat: MetricSummary, count: bool) -> str:
    digits = 1 if count else 3
    text = fmt(stat.mean, digits)
    if not math.isnan(stat.std):
        text += f" ± {fmt(stat.std, digits)}"
    if stat.t_ci is not None:
        text += f"<br><span class='ci'>[{fmt(stat.t_ci.low, digits)}, {fmt(stat.t_ci.high, digits)}]</span>"
    return text


def set_table(analysis: Analysis, set_name: str) -> str:
    """The summary table of one evaluation set: mean ± std [t CI], Δ vs the reference, baselines."""
    sa = analysis.sets[set_name]
    positive_counts = ("tp", "fp", "tn", "fn") if analysis.positive is not None else ()
    metrics = list(sa.metrics) + list(positive_counts)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    rows = []
    for arm in analysis.arms:
        if arm not in sa.table:
            continue
        comps = {m: next((c for c in sa.comparisons.get(m, []) if c.arm == arm), None) for m in sa.metrics}
        cells = []
        for m in metrics:
            stat = sa.table[arm].get(m)
            text = _cell(stat, m in COUNTS) if stat else ""
            if comps.get(m) is not None:
                text += "<br>Δ " + diff_cell(comps[m], m)
            cells.append(f"<td>{text}</td>")
        cls = " class='reference'" if arm == analysis.reference else ""
        rows.append(f"<tr{cls}><td class='arm'>{html.escape(arm)}</td>{''.join(cells)}</tr>")
    for kind, values in sa.baselines.items():
        label = "baseline: always majority" if kind == "majority" else "baseline: random at prior"
        cells = "".join(f"<td>{fmt(values[m], 1 if m in COUNTS else 3) if m in values else ''}</td>" for m in metrics)
        rows.append(f"<tr class='baseline'><td class='arm'>{label}</td>{cells}</tr>")
    return f"<div class='scroll'><table><tr><th class='arm'>arm</th>{head}</tr>{''.join(rows)}</table></div>"


def checkpoint_text(analysis: Analysis) -> str:
    """Which weights were scored and what chose them, in one sentence (plain text with `code`)."""
    training = analysis.spec.training
    select, stop = training.rules.get("select"), training.stopping
    parts = []
    if select is not None:
        best = "highest" if select.maximise else "lowest"
        parts.append(
            f"each run's scored weights are those of the epoch with the {best} `{select.metric}` on the "
            f"`{select.set}` set (training.select)"
        )
    else:
        parts.append("each run's scored weights are those of its last epoch")
    if stop is not None:
        parts.append(
            f"training stopped when `{stop.metric}` on `{stop.set}` had not improved by more than "
            f"{stop.min_delta:g} for {stop.patience} epochs (training.early_stopping)"
        )
    return "; ".join(parts) + "."


def epoch_marks(analysis: Analysis) -> dict[str, list[dict[str, int | None]]] | None:
    """Each run's kept and stopped epoch, in the order of ``analysis.histories`` (None without a rule)."""
    if not analysis.spec.training.rules:
        return None
    return {
        arm: [
            {"selected": r.result.get("selected_epoch"), "stopped": r.result.get("stopped_epoch")}
            for r in analysis.runs
            if r.arm == arm
        ]
        for arm in analysis.arms
    }


def pr_roc_data(analysis: Analysis) -> tuple[dict[str, Any], dict[str, Any], float]:
    """The headline set's PR and ROC points per arm (seeds pooled) and its positive rate, binary only."""
    test = analysis.sets[analysis.headline_set]
    positive = analysis.positive
    derived = analysis.deployment.arms if analysis.deployment is not None else {}
    pr, roc = {}, {}
    for arm, probs in test.probs.items():
        if arm in derived:  # every decision rule keeps the positive score's order: its base arm's curve
            continue
        labels = np.tile(test.labels, probs.shape[0]) == positive
        pr[arm], roc[arm] = plots.pr_roc_points(labels, probs[:, :, positive].reshape(-1))
    return pr, roc, float(np.mean(test.labels == positive))


def figures(analysis: Analysis) -> list[str]:
    """Every plot of the report, as inline <figure> elements."""
    out = []
    test = analysis.sets[analysis.headline_set]
    marks = epoch_marks(analysis)
    rule = analysis.spec.training.rules.get("select") or analysis.spec.training.stopping
    rule_set = rule.set if rule is not None else "val"
    splits = ("train", "val") + ((rule_set,) if rule_set != "val" else ())
    marked = (
        (
            f" ▼ marks the epoch each seed's run kept, × where early stopping ended it (on the `{rule_set}` curve): "
            + checkpoint_text(analysis)
        )
        if marks
        else ""
    )
    out.append(
        figure_html(
            "loss curves",
            plots.loss_curves(analysis.histories, splits, marks=marks, marks_on=rule_set),
            "Training (solid) and validation (dashed) loss per epoch, mean over seeds with a ±1 std band. "
            "Training loss is the optimised, strategy-weighted loss; validation loss is plain cross-entropy."
            + marked.replace("`", ""),
        )
    )
    metric = "recall" if analysis.positive is not None else "balanced_accuracy"
    out.append(
        figure_html(
            f"validation {metric}",
            plots.metric_curves(analysis.histories, metric, split="val", marks=marks if rule_set == "val" else None),
            f"Validation {metric} per epoch (mean ± std over seeds).",
        )
    )
    if rule is not None and rule.metric != "loss" and (rule.metric, rule_set) != (metric, "val"):
        out.append(
            figure_html(
                f"{rule_set} {rule.metric}",
                plots.metric_curves(analysis.histories, rule.metric, split=rule_set, marks=marks),
                f"The rule's own curve: `{rule_set}` {rule.metric} per epoch (mean ± std over seeds), "
                "▼ the epoch each run kept.".replace("`", ""),
            )
        )
    names = list(analysis.class_names)
    out.append(
        figure_html(
            "confusion matrices",
            plots.confusion_matrices(test.confusion, names, normalize=False),
            "Test-set confusion matrices, summed over seeds (rows: true class, columns: predicted).",
        )
    )
    out.append(
        figure_html(
            "confusion matrices, row-normalised",
            plots.confusion_matrices(test.confusion, names, normalize=True),
            "The same, each row divided by its total: the diagonal is each class's recall.",
        )
    )
    if analysis.positive is not None:
        positive = analysis.positive
        pr, roc, rate = pr_roc_data(analysis)
        out.append(
            figure_html(
                "precision-recall curves",
                plots.pr_curves(pr, baseline=rate),
                f"Test-set precision–recall curves of the positive class ({names[positive]}), seeds pooled; "
                f"the dashed line is a random classifier (positive rate {rate:.3f}).",
            )
        )
        out.append(figure_html("ROC curves", plots.roc_curves(roc), "Test-set ROC curves, seeds pooled."))
    for m in test.metrics[:4]:
        rows = forest_rows(test.comparisons.get(m, []))
        if rows:
            out.append(
                figure_html(
                    f"forest plot {m}",
                    plots.forest_plot(rows, m, analysis.reference),
                    f"Difference in test {m} to `{analysis.reference}` with its 95 % interval "
                    "(paired bootstrap over test images where available, else t over seeds); filled = significant after Holm.",
                )
            )
    if analysis.positive is None and len(names) > 2:
        recalls = {arm: np.diag(cm) / np.maximum(cm.sum(axis=1), 1) for arm, cm in test.confusion.items()}
        ref_counts = analysis.train_counts[analysis.reference]
        out.append(
            figure_html(
                "recall vs frequency",
                plots.recall_vs_frequency(names, ref_counts, recalls),
                f"Per-class test recall against training images per class (of `{analysis.reference}`).",
            )
        )
    return out


def factor_section(analysis: Analysis) -> str:
    """Grid arms: each metric against each numeric factor, and where the best line changes ('' without grids)."""
    effects = factor_effects(analysis)
    if not effects:
        return ""
    sentences = "".join(f"<li>{md_code(html.escape(e.sentence()))}</li>" for e in effects)
    figs = "".join(
        figure_html(
            f"{e.metric} vs {e.factor}",
            plots.factor_plot(e.lines, e.factor, e.metric, best=e.best),
            f"Test {e.metric} against {e.factor}: one line per combination of the other factors, mean over seeds "
            "with its 95 % t-interval as a band; a ring marks the best line at each value.",
        )
        for e in effects
    )
    return f"<h2>Factors</h2><ul class='verdicts'>{sentences}</ul>{figs}"


def rounds_section(analysis: Analysis) -> str:
    """Adaptive seeds: each comparison's decision, when it was made, and why the rounds stopped."""
    state = analysis.rounds
    if state is None:
        return ""
    plan = analysis.spec.adaptive
    rows = "".join(
        f"<tr><td class='arm'>{html.escape(arm)}</td><td>{html.escape(d.state)}</td>"
        f"<td>{'–' if d.decided_at is None else d.decided_at}</td><td>{d.rounds}</td><td>{fmt(d.mean_diff)}</td>"
        f"<td>[{d.low:+.3f}, {d.high:+.3f}]</td><td>{d.p_value:.3g}</td></tr>"
        for arm, d in state.decisions.items()
    )
    return f"""<h2>Seeds as the question needed</h2>
<p>{md_code(html.escape(state.describe()))}. Rounds of seeds on <code>{html.escape(plan.metric)}</code> of the
<code>{html.escape(plan.set)}</code> set against <code>{html.escape(state.reference)}</code>, from {plan.min} to {plan.max}
seeds: an arm is better or worse when Holm's step-down over the arms rejects "no difference" with anytime-valid p-values,
and equivalent when its confidence sequence lies within ±{plan.margin:g} (betting confidence sequences for bounded
differences, Waudby-Smith &amp; Ramdas 2023; valid however often one looks, α = {plan.alpha:g}). A decided arm received
no more seeds. The tables above use every stored seed, with their own (fixed-sample) tests.</p>
<div class='scroll'><table><tr><th class='arm'>arm</th><th>decision</th><th>decided after seeds</th><th>seeds used</th>
<th>mean Δ</th><th>confidence sequence (level α/m)</th><th>anytime p</th></tr>{rows}</table></div>"""


def data_table(analysis: Analysis) -> str:
    names = analysis.class_names
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = [
        f"<tr><td class='arm'>set {html.escape(s)}</td>" + "".join(f"<td>{n}</td>" for n in sa.class_counts) + "</tr>"
        for s, sa in analysis.sets.items()
    ]
    rows += [
        f"<tr><td class='arm'>arm {html.escape(a)} (train)</td>"
        + "".join(f"<td>{n}</td>" for n in analysis.train_counts[a])
        + "</tr>"
        for a in analysis.arms
    ]
    groups = "".join(
        f"<li>class {html.escape(n)} = {html.escape(', '.join(m))}</li>" for n, m in analysis.groups.items()
    )
    return f"<table><tr><th class='arm'>images per class</th>{head}</tr>{''.join(rows)}</table>" + (
        f"<ul>{groups}</ul>" if groups else ""
    )


def render_html(analysis: Analysis) -> str:
    """The whole report page."""
    with figures_together() as sheet:
        page = _page(analysis)
    return sheet.fill(page)


def _page(analysis: Analysis) -> str:
    """The report page, its figures placed on the open sheet."""
    spec = analysis.spec
    verdict_items = "".join(f"<li>{md_code(html.escape(line))}</li>" for line in verdicts(analysis))
    warnings = ""
    issues = [*analysis.problems, *analysis.notes]
    if analysis.missing:
        issues.append(
            f"{len(analysis.missing)} run(s) not finished: " + ", ".join(f"{a}/seed-{s}" for a, s in analysis.missing)
        )
    if analysis.warnings:
        warnings += (
            "<div class='warn'><b>Read first:</b><ul>"
            + "".join(f"<li>{md_code(html.escape(w))}</li>" for w in analysis.warnings)
            + "</ul></div>"
        )
    if issues:
        warnings += (
            "<div class='warn'><b>Not included:</b><ul>"
            + "".join(f"<li>{html.escape(i)}</li>" for i in issues)
            + "</ul></div>"
        )
    n_seeds = len({r.seed for r in analysis.runs})
    order = [analysis.headline_set] + [s for s in analysis.sets if s != analysis.headline_set]
    tables = "".join(f"<h3>{html.escape(s)} set</h3>{set_table(analysis, s)}" for s in order)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(spec.name)} — imbalance-lab report</title><style>{CSS}</style></head><body>
<h1>{html.escape(spec.name)}</h1>
<p class="meta">{len(analysis.runs)} runs: {len(analysis.arms)} arms × {n_seeds} seeds · spec hash {spec.spec_hash()} ·
reference arm <b>{html.escape(analysis.reference)}</b> · imbalance-lab {__version__} · {time.strftime("%Y-%m-%d %H:%M")}</p>
{warnings}
<h2>Verdict (test set)</h2>
<ul class="verdicts">{verdict_items}</ul>
<p class="meta">Significance: each arm against the reference on the same seeds and test images — a paired two-level bootstrap
(seeds and test images resampled together) where the metric allows it, else a paired t-test over seeds — with Holm's correction
over the arms; ★ = p<sub>Holm</sub> &lt; 0.05. Intervals under each mean are 95 % t-intervals over seeds (none with one seed), clipped to the metric's range
(a rate cannot pass 0 or 1; clipping keeps the coverage, since the true mean lies in the range).</p>
<p class="meta">Checkpoint: {md_code(html.escape(checkpoint_text(analysis)))}</p>
<h2>Data</h2>{data_table(analysis)}
<h2>Results</h2>{tables}
{aggregates_section(analysis)}
{priors_html(analysis)}
{draws_section(analysis)}
{factor_section(analysis)}
{rounds_section(analysis)}
{deploy_section(analysis)}
{versus_base_section(analysis)}
{calibration_section(analysis)}
{selection_section(analysis)}
<h2>Plots</h2>{"".join(figures(analysis))}
<h2>Spec</h2><pre>{html.escape(spec.to_yaml())}</pre>
</body></html>
"""


def render_markdown(analysis: Analysis) -> str:
    """Verdicts and one table per evaluation set (mean ± std, Δ vs the reference with p_Holm)."""
    lines = [f"# {analysis.spec.name}: report", "", f"Reference arm: `{analysis.reference}`.", ""]
    if analysis.warnings:
        lines += ["## Read first", ""] + [f"- {w}" for w in analysis.warnings] + [""]
    skipped = [*analysis.problems, *(f"{a}/seed-{s}: not finished" for a, s in analysis.missing)]
    if skipped:
        lines += ["## Not included", ""] + [f"- {p}" for p in skipped] + [""]
    lines += ["## Verdict (test set)", ""]
    lines += [f"- {line}" for line in verdicts(analysis)]
    effects = factor_effects(analysis)
    if effects:
        lines += ["", "## Factors", ""] + [f"- {e.sentence()}" for e in effects]
    if analysis.rounds is not None:
        lines += [
            "",
            "## Seeds as the question needed",
            "",
            f"- {analysis.rounds.describe()}",
            "",
            "| arm | decision | decided after seeds | seeds used | mean Δ | confidence sequence |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {arm} | {d.state} | {'–' if d.decided_at is None else d.decided_at} | {d.rounds} | "
            f"{fmt(d.mean_diff)} | [{d.low:+.3f}, {d.high:+.3f}] |"
            for arm, d in analysis.rounds.decisions.items()
        ]
    lines += deploy_markdown(analysis)
    lines += versus_base_markdown(analysis)
    lines += calibration_markdown(analysis)
    lines += selection_markdown(analysis)
    for set_name, sa in analysis.sets.items():
        lines += [
            "",
            f"## {set_name} set",
            "",
            "| arm | " + " | ".join(sa.metrics) + " |",
            "|---|" + "---:|" * len(sa.metrics),
        ]
        for arm in analysis.arms:
            if arm not in sa.table:
                continue
            cells = []
            for m in sa.metrics:
                s = sa.table[arm][m]
                text = fmt(s.mean) + ("" if math.isnan(s.std) else f" ± {fmt(s.std)}")
                c = next((c for c in sa.comparisons.get(m, []) if c.arm == arm), None)
                if c is not None:
                    text += f" (Δ {c.mean_diff:+.3f}{' ★' if c.significant else ''})"
                cells.append(text)
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        for kind, values in sa.baselines.items():
            lines.append(
                f"| *baseline: {kind}* | "
                + " | ".join(fmt(values[m]) if m in values else "" for m in sa.metrics)
                + " |"
            )
    lines += aggregates_markdown(analysis)  # after the tables, which stay as they were
    lines += priors_markdown(analysis)
    lines += draws_markdown(analysis)
    return "\n".join(lines) + "\n"


def render_csv(analysis: Analysis) -> str:
    """Long format: one row per (set, arm, metric) with mean, std, CIs and the comparison with the reference."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "eval_set",
            "arm",
            "metric",
            "mean",
            "std",
            "n_seeds",
            "t_ci_low",
            "t_ci_high",
            "bootstrap_ci_low",
            "bootstrap_ci_high",
            "reference",
            "diff_vs_reference",
            "p_seed",
            "p_bootstrap",
            "p_holm",
            "significant",
        ]
    )
    for set_name, sa in analysis.sets.items():
        for arm, metrics in sa.table.items():
            for m, s in metrics.items():
                c = next((c for c in sa.comparisons.get(m, []) if c.arm == arm), None)
                row = [
                    set_name,
                    arm,
                    m,
                    s.mean,
                    s.std,
                    s.n,
                    s.t_ci.low if s.t_ci else "",
                    s.t_ci.high if s.t_ci else "",
                    s.bootstrap_ci.low if s.bootstrap_ci else "",
                    s.bootstrap_ci.high if s.bootstrap_ci else "",
                    analysis.reference,
                ]
                if c is not None:
                    row += [
                        c.mean_diff,
                        c.seed_test.p_value if c.seed_test else "",
                        c.bootstrap.p_value if c.bootstrap else "",
                        c.p_holm,
                        c.significant,
                    ]
                else:
                    row += ["", "", "", "", ""]
                writer.writerow(row)
    return out.getvalue()
