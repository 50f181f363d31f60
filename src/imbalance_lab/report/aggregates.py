"""The report's section on rliable's aggregates over runs (issue 26): IQM and P(better than the reference)
per arm, and the performance profiles of the headline metric."""

from __future__ import annotations

import html
from typing import Any

from imbalance_lab.analysis.analyse import Analysis
from imbalance_lab.report import plots
from imbalance_lab.report.page import REFERENCE_ROW, figure_html, fmt, md_code
from imbalance_lab.stats import Estimate, PerformanceProfile
from imbalance_lab.vocabulary import COUNTS, higher_is_better

AGGREGATES_TITLE = "Aggregates over runs (rliable)"


def _estimate_text(estimate: Estimate | None, digits: int, page: bool) -> str:
    """``value [low, high]`` (no interval with one run; on the page, the interval small beneath); ``–`` for no
    estimate."""
    if estimate is None:
        return "–"
    text = fmt(estimate.value, digits)
    if estimate.interval is not None:
        bounds = f"[{fmt(estimate.interval.low, digits)}, {fmt(estimate.interval.high, digits)}]"
        text += f"<br><span class='ci'>{bounds}</span>" if page else f" {bounds}"
    return text


def aggregate_rows(analysis: Analysis, metric: str, *, page: bool = False) -> list[tuple[str, str, str, str]]:
    """The headline set's aggregates on ``metric``, one row per arm: (arm, runs, IQM [95 %], P(arm better than
    the reference) [95 %]); ``–`` where there is none (the reference's own P). ``page``: HTML cells."""
    found = analysis.sets[analysis.headline_set].aggregates.get(metric, {})
    digits = 1 if metric in COUNTS or metric == "expected_cost" else 3
    return [
        (
            arm,
            str(found[arm].n_runs),
            _estimate_text(found[arm].iqm, digits, page),
            _estimate_text(found[arm].improvement, 2, page),
        )
        for arm in analysis.arms
        if arm in found
    ]


def _aggregates_text(analysis: Analysis) -> str:
    """What the aggregates are, in one paragraph (plain text with `code`)."""
    lower = [m for m in analysis.sets[analysis.headline_set].aggregates if not higher_is_better(m)]
    where_lower = f" (lower is better for {', '.join(lower)})" if lower else ""
    return (
        f"On the {analysis.headline_set} set, each arm's runs (one per seed) summarised as rliable does (Agarwal et "
        "al. 2021): the interquartile mean (IQM), the mean of the middle half of the runs' scores (with n runs, "
        "n // 4 are cut from each end: scipy's trim_mean), and the probability of improvement P(arm better than "
        f"`{analysis.reference}`), the chance that a run of the arm scores better than a run of the reference, ties "
        f"counting one half{where_lower}; 0.5 means neither tends to score better. Intervals: 95 %, percentile, "
        "from a stratified bootstrap that redraws each arm's runs with replacement. Nothing here is paired by seed "
        "or corrected for the number of arms: the paired tests above say which differences are significant."
    )


def profile_figure(analysis: Analysis, metric: str, profiles: dict[str, PerformanceProfile]) -> Any:
    """The performance profiles of ``metric`` as the report draws them: the arms as trained (a decision rule's
    arm is left to the tables, so that the lines stay few enough to read)."""
    derived = analysis.deployment.arms if analysis.deployment is not None else {}
    shown = {arm: profile for arm, profile in profiles.items() if arm not in derived}
    return plots.performance_profiles(shown, metric, arm_order=analysis.arms)


def aggregates_section(analysis: Analysis) -> str:
    """IQM and P(better than the reference) per arm for every headline metric, and the headline metric's
    performance profiles (the headline set; '' with no aggregates)."""
    test = analysis.sets[analysis.headline_set]
    if not test.aggregates:
        return ""
    ref = html.escape(analysis.reference)
    tables = []
    for metric in test.aggregates:
        rows = "".join(
            f"<tr{REFERENCE_ROW if arm == analysis.reference else ''}><td class='arm'>{html.escape(arm)}</td>"
            f"<td>{runs}</td><td>{iqm}</td><td>{p}</td></tr>"
            for arm, runs, iqm, p in aggregate_rows(analysis, metric, page=True)
        )
        tables.append(
            f"<div class='aggregate scroll'><h3>{html.escape(metric)}</h3><table><tr><th class='arm'>arm</th>"
            f"<th>runs</th><th>IQM<br>[95 %]</th><th>P(arm better than<br>{ref}) [95 %]</th></tr>{rows}</table></div>"
        )
    figure = ""
    derived = analysis.deployment is not None and bool(analysis.deployment.arms)
    for metric, profiles in test.profiles.items():
        better = ">" if higher_is_better(metric) else "<"
        figure += figure_html(
            f"performance profiles {metric}",
            profile_figure(analysis, metric, profiles),
            f"Performance profiles on {analysis.headline_set} {metric}: for each threshold τ, the fraction of an "
            f"arm's runs with {metric} {better} τ, with a 95 % pointwise band (stratified bootstrap over its runs)"
            + ("; the arms as trained (the decision rules' arms are in the tables)." if derived else "."),
        )
    return (
        f"<h2>{AGGREGATES_TITLE}</h2><p>{md_code(html.escape(_aggregates_text(analysis)))}</p>"
        + f"<div>{''.join(tables)}</div>"
        + figure
    )


def aggregates_markdown(analysis: Analysis) -> list[str]:
    test = analysis.sets[analysis.headline_set]
    if not test.aggregates:
        return []
    lines = ["", f"## {AGGREGATES_TITLE}", "", _aggregates_text(analysis)]
    for metric in test.aggregates:
        lines += [
            "",
            f"### {metric}",
            "",
            f"| arm | runs | IQM [95 %] | P(arm better than {analysis.reference}) [95 %] |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {arm} | {runs} | {iqm} | {p} |" for arm, runs, iqm, p in aggregate_rows(analysis, metric)]
    return lines
