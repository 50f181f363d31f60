"""The small pieces every section of the report's page is built from: numbers, figures, `code`, tables and
the cells and rows of an arm's difference to the reference."""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from imbalance_lab.report import plots
from imbalance_lab.stats import Comparison
from imbalance_lab.vocabulary import higher_is_better

REFERENCE_ROW = " class='reference'"


def fmt(value: float, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``–`` for none or NaN."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


class FigureSheet:
    """The figures of one page, drawn together when the page is complete (:func:`plots.figure_pngs` draws
    two at a time where the machine allows): :func:`figure_html` places a marker for each while the sheet
    is open (:func:`figures_together`), and :meth:`fill` puts each figure's data URI in its place."""

    def __init__(self) -> None:
        self.figures: list[Any] = []
        self.marker = f"imbalance-lab-figure-{id(self)}-"

    def place(self, fig: Any) -> str:
        self.figures.append(fig)
        return f"{self.marker}{len(self.figures) - 1}"

    def fill(self, page: str) -> str:
        for i, png in enumerate(plots.figure_pngs(self.figures)):
            page = page.replace(f"src='{self.marker}{i}'", f"src='{plots.png_data_uri(png)}'", 1)
        return page


_SHEET: ContextVar[FigureSheet | None] = ContextVar("figure_sheet", default=None)


@contextlib.contextmanager
def figures_together() -> Iterator[FigureSheet]:
    """Inside, :func:`figure_html` defers drawing to the sheet; fill the page with :meth:`FigureSheet.fill`."""
    sheet = FigureSheet()
    token = _SHEET.set(sheet)
    try:
        yield sheet
    finally:
        _SHEET.reset(token)


def figure_html(title: str, fig: Any, caption: str = "") -> str:
    """A matplotlib figure as an inline <figure> (a PNG data URI) with its caption."""
    sheet = _SHEET.get()
    uri = sheet.place(fig) if sheet is not None else plots.figure_data_uri(fig)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure><img alt='{html.escape(title)}' src='{uri}'>{cap}</figure>"


def md_code(text: str) -> str:
    """`name` -> <code>name</code> in already-escaped text."""
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def arm_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A scrolling table of one row per arm: its name (escaped) under "arm", then ``headers`` (escaped) over
    cells given as HTML."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr><td class='arm'>{html.escape(row[0])}</td>" + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>"
        for row in rows
    )
    return f"<div class='scroll'><table><tr><th class='arm'>arm</th>{head}</tr>{body}</table></div>"


def diff_cell(c: Comparison | None, metric: str, digits: int = 3) -> str:
    """A table cell of an arm's difference to the reference: the mean difference, starred and coloured when
    significant (green for better in the metric's direction), with its Holm-adjusted p-value."""
    if c is None:
        return ""
    sign = 1 if higher_is_better(metric) else -1
    css = "sig" if c.significant and sign * c.mean_diff > 0 else "worse" if c.significant else ""
    mark = " ★" if c.significant else ""
    p = "" if math.isnan(c.p_holm) else f"<br><span class='ci'>p<sub>Holm</sub>={c.p_holm:.3g}</span>"
    return f"<span class='{css}'>{c.mean_diff:+.{digits}f}{mark}</span>{p}"


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


def comparison_bounds(c: Comparison, digits: int = 3) -> str:
    """The difference's interval as ``[low, high]`` (the bootstrap's where there is one), or empty."""
    interval = c.bootstrap if c.bootstrap is not None else c.interval
    if interval is None or math.isnan(interval.low):
        return ""
    return f"[{interval.low:+.{digits}f}, {interval.high:+.{digits}f}]"
