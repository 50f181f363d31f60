"""The summary as a terminal table (rich), CSV and Markdown."""

from __future__ import annotations

import csv
import io
import math

from rich.table import Table

from imbalance_lab.analysis.summary import MetricStats, Summary

COUNT_COLUMNS = {"tp", "fp", "tn", "fn", "n"}
HEADERS = {
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "accuracy": "accuracy",
    "balanced_accuracy": "bal. acc.",
    "macro_precision": "macro prec.",
    "macro_recall": "macro recall",
    "macro_f1": "macro F1",
    "tp": "TP",
    "fp": "FP",
    "tn": "TN",
    "fn": "FN",
}


def format_stat(column: str, stat: MetricStats) -> str:
    """``mean ± std`` (counts with one decimal, ratios with three); no ± with one seed."""
    digits = 1 if column in COUNT_COLUMNS else 3
    text = f"{stat.mean:.{digits}f}"
    return text if math.isnan(stat.std) else f"{text} ± {stat.std:.{digits}f}"


def header(summary: Summary, column: str) -> str:
    name = HEADERS.get(column, column)
    if summary.positive is not None and column in ("precision", "recall", "f1"):
        return f"{summary.positive} {name}"
    return name


def rich_table(summary: Summary, eval_set: str) -> Table:
    rows = summary.for_set(eval_set)
    n_seeds = max((len(r.seeds) for r in rows), default=0)
    table = Table(title=f"{summary.experiment}: {eval_set} set, mean ± std over {n_seeds} seeds")
    table.add_column("arm", style="bold", no_wrap=True)
    for column in summary.columns:
        table.add_column(header(summary, column), justify="right")
    for row in rows:
        table.add_row(row.arm, *(format_stat(c, row.stats[c]) for c in summary.columns))
    return table


def to_csv(summary: Summary) -> str:
    """One line per (evaluation set, arm): mean and std of every metric, and the seeds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["eval_set", "arm", "n_seeds"]
    for c in summary.columns:
        head += [f"{c}_mean", f"{c}_std"]
    writer.writerow(head)
    for row in summary.rows:
        line: list[object] = [row.eval_set, row.arm, len(row.seeds)]
        for c in summary.columns:
            s = row.stats[c]
            line += [repr(s.mean), "" if math.isnan(s.std) else repr(s.std)]
        writer.writerow(line)
    return out.getvalue()


def to_markdown(summary: Summary) -> str:
    """One Markdown table per evaluation set, with the notes beneath."""
    parts = [f"# {summary.experiment}: summary\n"]
    parts += [f"- {line}" for line in summary.group_lines()]
    for eval_set in summary.eval_sets:
        rows = summary.for_set(eval_set)
        n_seeds = max(len(r.seeds) for r in rows)
        parts.append(f"\n## {eval_set} set (mean ± std over {n_seeds} seeds)\n")
        parts.append("| arm | " + " | ".join(header(summary, c) for c in summary.columns) + " |")
        parts.append("|---|" + "---:|" * len(summary.columns))
        for row in rows:
            parts.append(f"| {row.arm} | " + " | ".join(format_stat(c, row.stats[c]) for c in summary.columns) + " |")
        notes = [f"- `{r.arm}`: {n}" for r in rows for n in r.notes]
        if notes:
            parts.append("\nNotes:\n")
            parts.extend(notes)
    if summary.problems:
        parts.append(f"\n{len(summary.problems)} run(s) skipped as broken:\n")
        parts.extend(f"- {p}" for p in summary.problems)
    if summary.missing:
        parts.append(
            f"\n{len(summary.missing)} run(s) not finished: " + ", ".join(f"{a}/seed-{s}" for a, s in summary.missing)
        )
    return "\n".join(parts) + "\n"
