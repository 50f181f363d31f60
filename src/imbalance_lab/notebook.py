"""The notebook's presentation of an experiment (issue 15): progress as a bar in the cell's output and the
report's figures shown inline. ``imbalance_lab.run_experiment`` and ``imbalance_lab.load`` come through here, so
that in Jupyter an experiment shows itself; the experiment itself is :mod:`imbalance_lab.experiment`'s.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from imbalance_lab import experiment
from imbalance_lab.experiment import Experiment


def run_experiment(spec: Any, out: str | Path | None = None, **options: Any) -> Experiment:
    """:func:`imbalance_lab.experiment.run_experiment`, with a progress bar in a notebook (unless ``progress``
    is given) and figures shown inline."""
    if options.get("progress") is None and in_notebook():
        options["progress"] = NotebookProgress()
    show_figures_inline()
    return experiment.run_experiment(spec, out, **options)


def load(directory: str | Path, *, reference: str | None = None) -> Experiment:
    """:func:`imbalance_lab.experiment.load`, with figures shown inline in a notebook."""
    show_figures_inline()
    return experiment.load(directory, reference=reference)


def show_figures_inline() -> None:
    """In a notebook, show a matplotlib Figure as its PNG: the report's figures are made without pyplot,
    so the inline backend's formatter is not there to do it."""
    if not in_notebook():
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    from imbalance_lab.report.plots import figure_png

    get_ipython().display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where progress is a bar, not terminal lines)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class NotebookProgress:
    """Progress as one HTML progress bar in the notebook's output, updated in place as runs finish."""

    def __init__(self) -> None:
        from IPython.display import HTML, display

        self._html = HTML
        self._handle = display(HTML("<i>starting…</i>"), display_id=True)
        self.total = self.done = 0
        self.note = ""

    def _show(self) -> None:
        share = self.done / self.total if self.total else 1.0
        self._handle.update(
            self._html(
                f"<div><progress value='{self.done}' max='{max(self.total, 1)}' style='width:60%'></progress> "
                f"{self.done}/{self.total} runs ({share:.0%}) <span style='color:#666'>{html.escape(self.note)}</span></div>"
            )
        )

    def experiment_started(self, total_runs: int, already_done: int) -> None:
        self.total, self.done = total_runs, already_done
        self._show()

    def run_started(self, arm: str, seed: int, epochs: int) -> None:
        self.note = f"training {arm} seed {seed}"
        self._show()

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        pass

    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None:
        self.done += 1
        self.note = f"{arm} seed {seed} finished in {wall_time_s:.1f} s"
        self._show()

    def message(self, text: str) -> None:
        self.note = text
        self._show()
