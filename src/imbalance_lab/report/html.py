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
from imbalance_lab.report.draws import draws_markdown, draws_section
from imbalance_lab.report.page import figure_html, figures_together, fmt, md_code
from imbalance_lab.report.priors import priors_html, priors_markdown
from imbalance_lab.stats import Comparison
from imbalance_lab.version import __version__
from imbalance_lab.vocabulary import CALIBRATION, COUNTS, higher_is_better

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


def _diff_cell(c: Comparison | None, metric: str, digits: int = 3) -> str:
    if c is None:
        return ""
    sign = 1 if higher_is_better(metric) else -1
    css = "sig" if c.significant and sign * c.mean_diff > 0 else "worse" if c.significant else ""
    mark = " ★" if c.significant else ""
    p = "" if math.isnan(c.p_holm) else f"<br><span class='ci'>p<sub>Holm</sub>={c.p_holm:.3g}</span>"
    return f"<span class='{css}'>{c.mean_diff:+.{digits}f}{mark}</span>{p}"


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
                text += "<br>Δ " + _diff_cell(comps[m], m)
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


def forest_rows(comparisons: list[Comparison]) -> list[dict[str, Any]]:
    """Comparisons as the rows :func:`plots.forest_plot` draws: the bootstrap's interval where there is one."""
    rows = []
    for c in comparisons:
        interval = c.bootstrap if c.bootstrap is not None else c.interval
        rows.append(
            {
                "arm": c.arm,
                "diff": c.mean_diff,
                "low": getattr(interval, "low", None),
                "high": getattr(interval, "high", None),
                "significant": c.significant,
            }
        )
    return rows


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


def _comparison_bounds(c: Comparison, digits: int = 3) -> str:
    interval = c.bootstrap if c.bootstrap is not None else c.interval
    if interval is None or math.isnan(interval.low):
        return ""
    return f"[{interval.low:+.{digits}f}, {interval.high:+.{digits}f}]"


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
                    text += f"<br>Δ {_diff_cell(c, m)} <span class='ci'>{_comparison_bounds(c)}</span>"
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
                        else f" (Δ {c.mean_diff:+.3f}{' ★' if c.significant else ''} {_comparison_bounds(c)})"
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


def _costs_text(analysis: Analysis) -> str:
    """What a wrong decision costs and the world it is counted in, in one sentence (plain text)."""
    spec, answer = analysis.spec, analysis.answer
    names = analysis.class_names
    costs = spec.decisions.costs
    if analysis.positive is not None and not isinstance(costs, tuple):
        pos, neg = names[analysis.positive], names[1 - analysis.positive]
        what = (
            f"a missed {pos} costs {costs.false_negative:g} and a false alarm ({neg} taken for {pos}) "
            f"{costs.false_positive:g}"
        )
    else:
        what = "the cost matrix of decisions.costs (rows the true class, columns the decision)"
    prior = ", ".join(f"{c} {p:.3g}" for c, p in zip(names, answer.prior, strict=True))
    return f"{what}; counted at the deployment prior {prior} ({answer.prior_source})"


def deploy_section(analysis: Analysis) -> str:
    """What to deploy: every arm (and arm + rule) ranked by its expected cost on test, the verdict, cost curves."""
    answer = analysis.answer
    if answer is None:
        return ""
    versus = {c.arm: c for comps in answer.versus_base.values() for c in comps}
    rows = []
    for rank, row in enumerate(answer.rows, start=1):
        c = versus.get(row.arm)
        delta = (
            ""
            if c is None
            else f"{_diff_cell(c, 'expected_cost', 1)} <span class='ci'>{_comparison_bounds(c, 1)}</span>"
        )
        threshold = "–" if row.threshold is None else f"{row.threshold:.3f}"
        rows.append(
            f"<tr><td>{rank}</td><td class='arm'>{html.escape(row.arm)}</td><td>{html.escape(row.rule)}</td>"
            f"<td>{threshold}</td><td>{row.mean_cost:.1f}<br><span class='ci'>[{row.interval.low:.1f}, "
            f"{row.interval.high:.1f}]</span></td><td>{delta}</td></tr>"
        )
    table = (
        "<div class='scroll'><table><tr><th>rank</th><th class='arm'>arm</th><th>rule</th><th>threshold</th>"
        "<th>expected cost per 1,000 [95 %]</th><th>Δ vs its arm as trained</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )
    curves = ""
    if answer.curves:
        curves = figure_html(
            "cost curves",
            plots.cost_curves(answer.curves),
            f"Expected cost on {analysis.headline_set} at the deployment prior against the threshold, "
            "for the cheapest arms as trained (mean ± 1 std over seeds); ◆ the thresholds used: 0.5 "
            "(the argmax) and each threshold rule's, chosen on validation (mean over seeds).",
        )
    return f"""<h2>What to deploy</h2>
<p>Each decision rule is fitted on each run's validation predictions and applied to its {html.escape(analysis.headline_set)}
predictions: no run is trained again. Costs: {md_code(html.escape(_costs_text(analysis)))}. Intervals: 95 %, seeds and
test images resampled together; Δ: each rule against its own arm as trained, paired over the same seeds and images, Holm
over the arm's rules (★ = p<sub>Holm</sub> &lt; 0.05).</p>
<ul class="verdicts"><li>{md_code(html.escape(answer.verdict(analysis.class_names)))}</li></ul>
{table}{curves}"""


def versus_base_section(analysis: Analysis) -> str:
    """Each decided arm against its own arm as trained, on the headline metrics (paired, Holm over its rules)."""
    from imbalance_lab.analysis.deployment import versus_base

    table = versus_base(analysis)
    if not table:
        return ""
    metrics = list(next(iter(table.values())))
    head = "".join(f"<th>Δ {html.escape(m)}</th>" for m in metrics)
    rows = []
    for arm, comps in table.items():
        cells = "".join(
            f"<td>{_diff_cell(comps[m], m, 1 if m == 'expected_cost' else 3)}<br><span class='ci'>"
            f"{_comparison_bounds(comps[m], 1 if m == 'expected_cost' else 3)}</span></td>"
            for m in metrics
        )
        rows.append(f"<tr><td class='arm'>{html.escape(arm)}</td>{cells}</tr>")
    return (
        f"<h2>Each decision against its own arm</h2><p>On the {html.escape(analysis.headline_set)} set: the rule's "
        "arm minus the arm as trained, on the same seeds and images (paired two-level bootstrap where the metric "
        "allows it, else a paired t-test over seeds; Holm over the arm's rules; ★ = p<sub>Holm</sub> &lt; 0.05). "
        "The tables above compare every arm, decided or not, with the reference.</p>"
        f"<div class='scroll'><table><tr><th class='arm'>arm + rule</th>{head}</tr>{''.join(rows)}</table></div>"
    )


def calibration_section(analysis: Analysis) -> str:
    """ECE, Brier and log loss before and after each probability-producing decision rule (test set)."""
    from imbalance_lab.analysis.deployment import calibration_rows

    rows = calibration_rows(analysis)
    if not rows:
        return ""
    head = "".join(f"<th>{m} before</th><th>{m} after</th>" for m in CALIBRATION)
    body = []
    for row in rows:
        cells = "".join(
            f"<td>{row.before[m]:.4f}</td><td>{row.after[m]:.4f}<br>Δ {_diff_cell(row.comparisons[m], m, 4)}"
            f" <span class='ci'>{_comparison_bounds(row.comparisons[m], 4)}</span></td>"
            for m in CALIBRATION
        )
        body.append(f"<tr><td class='arm'>{html.escape(row.arm)}</td>{cells}</tr>")
    return (
        f"<h2>Calibration after the decision rules</h2><p>On the {html.escape(analysis.headline_set)} set, mean "
        "over seeds; Δ: the rule against its own arm, paired t-test over seeds (★ = p &lt; 0.05). ECE uses 15 "
        "equal-width bins of the top-class probability (Guo et al. 2017).</p>"
        f"<div class='scroll'><table><tr><th class='arm'>arm + rule</th>{head}</tr>{''.join(body)}</table></div>"
    )


def versus_base_markdown(analysis: Analysis) -> list[str]:
    from imbalance_lab.analysis.deployment import versus_base

    table = versus_base(analysis)
    if not table:
        return []
    metrics = list(next(iter(table.values())))
    lines = [
        "",
        "## Each decision against its own arm",
        "",
        "| arm + rule | " + " | ".join(f"Δ {m}" for m in metrics) + " |",
        "|---|" + "---:|" * len(metrics),
    ]
    for arm, comps in table.items():
        cells = [
            f"{comps[m].mean_diff:+.{1 if m == 'expected_cost' else 3}f}{' ★' if comps[m].significant else ''}"
            for m in metrics
        ]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines


def calibration_markdown(analysis: Analysis) -> list[str]:
    from imbalance_lab.analysis.deployment import calibration_rows

    rows = calibration_rows(analysis)
    if not rows:
        return []
    lines = [
        "",
        "## Calibration after the decision rules",
        "",
        "| arm + rule | " + " | ".join(f"{m} before → after (Δ)" for m in CALIBRATION) + " |",
        "|---|" + "---:|" * len(CALIBRATION),
    ]
    for row in rows:
        cells = [
            f"{row.before[m]:.4f} → {row.after[m]:.4f} ({row.comparisons[m].mean_diff:+.4f}"
            f"{' ★' if row.comparisons[m].significant else ''})"
            for m in CALIBRATION
        ]
        lines.append(f"| {row.arm} | " + " | ".join(cells) + " |")
    return lines


def deploy_markdown(analysis: Analysis) -> list[str]:
    answer = analysis.answer
    if answer is None:
        return []
    versus = {c.arm: c for comps in answer.versus_base.values() for c in comps}
    lines = [
        "",
        "## What to deploy",
        "",
        f"- {answer.verdict(analysis.class_names)}",
        f"- costs: {_costs_text(analysis)}",
        "",
        "| rank | arm | rule | threshold | expected cost per 1,000 [95 %] | Δ vs its arm as trained |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for rank, row in enumerate(answer.rows, start=1):
        c = versus.get(row.arm)
        delta = "" if c is None else f"{c.mean_diff:+.1f}{' ★' if c.significant else ''} {_comparison_bounds(c, 1)}"
        threshold = "–" if row.threshold is None else f"{row.threshold:.3f}"
        lines.append(
            f"| {rank} | {row.arm} | {row.rule} | {threshold} | {row.mean_cost:.1f} "
            f"[{row.interval.low:.1f}, {row.interval.high:.1f}] | {delta} |"
        )
    return lines


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
