"""The report's deployment sections: the decision rules and their costs, each arm against its base, and
calibration (HTML and Markdown)."""

from __future__ import annotations

import html

from imbalance_lab.analysis.analyse import Analysis
from imbalance_lab.report import plots
from imbalance_lab.report.page import (
    comparison_bounds,
    diff_cell,
    figure_html,
    md_code,
)
from imbalance_lab.vocabulary import CALIBRATION


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
            "" if c is None else f"{diff_cell(c, 'expected_cost', 1)} <span class='ci'>{comparison_bounds(c, 1)}</span>"
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
            f"<td>{diff_cell(comps[m], m, 1 if m == 'expected_cost' else 3)}<br><span class='ci'>"
            f"{comparison_bounds(comps[m], 1 if m == 'expected_cost' else 3)}</span></td>"
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
            f"<td>{row.before[m]:.4f}</td><td>{row.after[m]:.4f}<br>Δ {diff_cell(row.comparisons[m], m, 4)}"
            f" <span class='ci'>{comparison_bounds(row.comparisons[m], 4)}</span></td>"
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
        delta = "" if c is None else f"{c.mean_diff:+.1f}{' ★' if c.significant else ''} {comparison_bounds(c, 1)}"
        threshold = "–" if row.threshold is None else f"{row.threshold:.3f}"
        lines.append(
            f"| {rank} | {row.arm} | {row.rule} | {threshold} | {row.mean_cost:.1f} "
            f"[{row.interval.low:.1f}, {row.interval.high:.1f}] | {delta} |"
        )
    return lines
