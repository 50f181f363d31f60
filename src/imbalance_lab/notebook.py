"""The whole experiment as one Python object, for notebooks and scripts (issue 15).

``imbalance_lab.run_experiment("spec.yaml")`` does what ``imbalance-lab run`` does
(trains what is not stored, writes the summary and the report, logs to MLflow
as the spec says) and returns an :class:`Experiment`; ``imbalance_lab.load(DIR)``
gives the same object from a results directory without training. Its tables are
pandas DataFrames in tidy form, its plots the matplotlib figures of the HTML
report, and in Jupyter it shows itself: the verdict, the test table and the key
plots, images inline.
"""

from __future__ import annotations

import html
import math
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imbalance_lab.errors import UserError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from imbalance_lab.analysis.analyse import Analysis


def _interval(c: Any) -> Any:
    return c.bootstrap if c.bootstrap is not None else c.interval


class Experiment:
    """A results directory, analysed: tables as DataFrames, plots as figures, the verdict as text."""

    def __init__(self, directory: str | Path, *, reference: str | None = None, n_boot: int = 2000) -> None:
        self.directory = Path(directory)
        self._reference = reference
        self._n_boot = n_boot
        self.run_summary: Any = None  # set by run_experiment(): the summary tables of the run (analysis.summary.Summary)
        self.report_paths: list[Path] = []  # set by run_experiment(): report.html, report.md, report.csv, ...
        self.mlflow: Any = None  # set by run_experiment(): what MLflow logging did (report.tracking.LogSummary)

    @cached_property
    def analysis(self) -> Analysis:
        """Every metric recomputed from the stored predictions (:func:`imbalance_lab.analysis.analyse.analyse`)."""
        from imbalance_lab import api
        from imbalance_lab.analysis.analyse import analyse

        spec, found = api.scan(self.directory)
        return analyse(spec, found, self._reference, n_boot=self._n_boot)

    @property
    def reference(self) -> str:
        return self.analysis.reference

    @property
    def arms(self) -> tuple[str, ...]:
        return self.analysis.arms

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """One row per arm × set × metric: mean, std, seeds, the 95 % interval, and Δ against the reference
        with its interval and Holm-adjusted p-value (empty for the reference and for metrics not compared)."""
        import pandas as pd

        rows = []
        for set_name, sa in self.analysis.sets.items():
            for arm, metrics in sa.table.items():
                for metric, stat in metrics.items():
                    c = next((c for c in sa.comparisons.get(metric, []) if c.arm == arm), None)
                    interval = None if c is None else _interval(c)
                    rows.append({
                        "arm": arm, "set": set_name, "metric": metric, "mean": stat.mean, "std": stat.std,
                        "n_seeds": stat.n, "ci_low": stat.t_ci.low if stat.t_ci else math.nan,
                        "ci_high": stat.t_ci.high if stat.t_ci else math.nan, "reference": self.reference,
                        "diff": c.mean_diff if c else math.nan,
                        "diff_low": interval.low if interval is not None else math.nan,
                        "diff_high": interval.high if interval is not None else math.nan,
                        "p_holm": c.p_holm if c else math.nan, "significant": bool(c.significant) if c else False,
                    })
        return pd.DataFrame(rows)

    def compare(self) -> pd.DataFrame:
        """The comparisons with the reference only: one row per arm × set × compared metric."""
        table = self.summary()
        compared = set()
        for set_name, sa in self.analysis.sets.items():
            for metric, comparisons in sa.comparisons.items():
                compared |= {(c.arm, set_name, metric) for c in comparisons}
        keep = [(a, s, m) in compared for a, s, m in zip(table["arm"], table["set"], table["metric"], strict=True)]
        return table[keep].reset_index(drop=True)

    def runs(self) -> pd.DataFrame:
        """One row per run and evaluation set, its metrics as columns (recomputed from the predictions)."""
        import warnings

        import pandas as pd

        from imbalance_lab.metrics import classification_metrics

        rows = []
        positive = self.analysis.positive
        for run in self.analysis.runs:
            arrays = run.predictions()
            for set_name in self.analysis.sets:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    metrics = classification_metrics(arrays[f"{set_name}_labels"],
                                                     arrays[f"{set_name}_probs"].astype(np.float64), positive=positive)
                rows.append({"arm": run.arm, "seed": run.seed, "set": set_name, **metrics})
        return pd.DataFrame(rows)

    def history(self) -> pd.DataFrame:
        """The per-epoch curves: one row per arm × seed × epoch × split × metric."""
        import pandas as pd

        rows = []
        for run in self.analysis.runs:
            if run.arm not in self.analysis.histories:  # a decided arm: its base arm's curves
                continue
            for position, entry in enumerate(run.result["history"], start=1):
                for split, log in entry.items():
                    if isinstance(log, dict):
                        rows += [{"arm": run.arm, "seed": run.seed, "epoch": int(entry.get("epoch", position)),
                                  "split": split, "metric": metric, "value": value}
                                 for metric, value in log.items() if isinstance(value, int | float)]
        return pd.DataFrame(rows)

    def verdict(self) -> str:
        """The report's verdict on the test set, one line per headline metric (and the deployment answer)."""
        from imbalance_lab.analysis.analyse import verdict
        from imbalance_lab.vocabulary import VERDICTS

        a = self.analysis
        lines = [verdict(a, a.headline_set, m) for m in a.sets[a.headline_set].metrics[:VERDICTS]]
        if a.answer is not None:
            lines.append("what to deploy: " + a.answer.verdict(a.class_names))
        if a.rounds is not None:
            lines.append("seeds: " + a.rounds.describe())
        return "\n".join(lines)

    @property
    def plot(self) -> Plots:
        """The report's figures: ``.curves()``, ``.metric()``, ``.confusion()``, ``.forest()``, ``.pr()``,
        ``.roc()``, ``.costs()``."""
        return Plots(self)

    # ------------------------------------------------------------------ notebooks
    def _repr_html_(self) -> str:
        from imbalance_lab.report.html import CSS, set_table
        from imbalance_lab.report.plots import figure_data_uri

        a = self.analysis
        verdicts = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdict().splitlines())
        figures = "".join(f"<img style='max-width:49%' alt='{name}' src='{figure_data_uri(fig)}'>"
                          for name, fig in (("loss curves", self.plot.curves()),
                                            (f"forest {self._headline()}", self.plot.forest())))
        return (f"<div class='imbalance-lab'><style>{CSS}</style><h3>{html.escape(a.spec.name)}: "
                f"{self._trained()} runs, reference <code>{html.escape(self.reference)}</code></h3>"
                f"<ul>{verdicts}</ul>{set_table(a, a.headline_set)}<div>{figures}</div>"
                f"<p class='meta'>{html.escape(str(self.directory / 'report.html'))} has every table and plot.</p></div>")

    def __repr__(self) -> str:
        return f"Experiment({str(self.directory)!r}: {self._trained()} runs, reference {self.reference!r})"

    def _trained(self) -> int:
        """Runs trained (a decision's derived runs are views of them)."""
        names = {arm.name for arm in self.analysis.spec.arms}
        return sum(run.arm in names for run in self.analysis.runs)

    def _headline(self) -> str:
        return self.analysis.sets[self.analysis.headline_set].metrics[0]


def _show_figures_inline() -> None:
    """In a notebook, show a matplotlib Figure as its PNG: the report's figures are made without pyplot,
    so the inline backend's formatter is not there to do it."""
    if not in_notebook():
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    from imbalance_lab.report.plots import figure_png

    get_ipython().display_formatter.formatters["image/png"].for_type(Figure, figure_png)


class Plots:
    """The HTML report's figures for one experiment, as matplotlib figures."""

    def __init__(self, experiment: Experiment) -> None:
        self._e = experiment
        _show_figures_inline()

    @property
    def _a(self) -> Analysis:
        return self._e.analysis

    def _recorded(self, metric: str, splits: tuple[str, ...]) -> None:
        """``metric`` must be recorded per epoch for every split in ``splits`` (else one line naming the valid)."""
        epochs = [entry for runs in self._a.histories.values() for history in runs for entry in history]
        for split in splits:
            found = sorted({m for entry in epochs for m in entry.get(split, {})})
            if not found:
                valid = sorted({k for entry in epochs for k, v in entry.items() if isinstance(v, dict)})
                raise UserError(f"split {split!r}: no epoch recorded it; valid: {', '.join(valid)}")
            if metric not in found:
                raise UserError(f"metric {metric!r}: not recorded per epoch on {split}; valid: {', '.join(found)}")

    def curves(self, metric: str = "loss", splits: tuple[str, ...] = ("train", "val")) -> Figure:
        from imbalance_lab.report import plots
        from imbalance_lab.report.html import epoch_marks

        self._recorded(metric, tuple(splits))
        return plots.loss_curves(self._a.histories, splits, metric, marks=epoch_marks(self._a))

    def metric(self, metric: str = "balanced_accuracy", split: str = "val") -> Figure:
        from imbalance_lab.report import plots

        self._recorded(metric, (split,))
        return plots.metric_curves(self._a.histories, metric, split)

    def confusion(self, normalize: bool = False, set_name: str | None = None) -> Figure:
        from imbalance_lab.report import plots

        name = set_name or self._a.headline_set
        if name not in self._a.sets:
            raise UserError(f"set_name {name!r}: not an evaluation set of this experiment; valid: "
                            f"{', '.join(self._a.sets)}")
        sa = self._a.sets[name]
        return plots.confusion_matrices(sa.confusion, list(self._a.class_names), normalize=normalize)

    def forest(self, metric: str | None = None) -> Figure:
        from imbalance_lab.report import plots
        from imbalance_lab.report.html import forest_rows

        metric = metric or self._e._headline()
        test = self._a.sets[self._a.headline_set]
        if metric not in test.comparisons:
            raise UserError(f"metric {metric!r}: not compared on the {self._a.headline_set} set; valid: "
                            f"{', '.join(test.comparisons)}")
        return plots.forest_plot(forest_rows(test.comparisons[metric]), metric, self._a.reference)

    def _curve_points(self) -> tuple[dict[str, Any], dict[str, Any], float]:
        from imbalance_lab.report.html import pr_roc_data

        if self._a.positive is None:
            raise ValueError("PR and ROC curves are for a binary experiment with data.positive")
        return pr_roc_data(self._a)

    def pr(self) -> Figure:
        from imbalance_lab.report import plots

        pr, _, rate = self._curve_points()
        return plots.pr_curves(pr, baseline=rate)

    def roc(self) -> Figure:
        from imbalance_lab.report import plots

        _, roc, _ = self._curve_points()
        return plots.roc_curves(roc)

    def costs(self) -> Figure:
        from imbalance_lab.report import plots

        answer = self._a.answer
        if answer is None:
            raise ValueError("no costs: give decisions.costs in the spec (e.g. {false_negative: 10, false_positive: 1})")
        return plots.cost_curves(answer.curves)


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
        self._handle.update(self._html(
            f"<div><progress value='{self.done}' max='{max(self.total, 1)}' style='width:60%'></progress> "
            f"{self.done}/{self.total} runs ({share:.0%}) <span style='color:#666'>{html.escape(self.note)}</span></div>"))

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


def load(directory: str | Path, *, reference: str | None = None) -> Experiment:
    """The experiment stored in a results directory, without training (a one-line error if it holds none)."""
    from imbalance_lab import api

    api.scan(directory)  # a missing or empty directory is a StoreError now, not at first use
    return Experiment(directory, reference=reference)


def run_experiment(spec: Any, out: str | Path | None = None, *, reference: str | None = None, mlflow: bool | None = None,
               mlflow_uri: str | None = None, **run_options: Any) -> Experiment:
    """Do what ``imbalance-lab run SPEC`` does and return the :class:`Experiment`.

    Trains every run not yet stored (``run_options``: ``force``, ``progress``,
    ``executor``, ``workers``, ``threads``, ``max_retries``, ``address``, as
    :func:`imbalance_lab.api.run`), writes the summary and the report, and logs
    to MLflow unless ``mlflow=False`` or the spec's ``tracking.mlflow`` is off. In a
    notebook, progress is a progress bar (:class:`NotebookProgress`) unless one is given.
    """
    from imbalance_lab import api

    loaded = api.as_spec(spec)
    directory = api.output_dir(loaded, out)
    if run_options.get("progress") is None and in_notebook():
        run_options["progress"] = NotebookProgress()
    failed = None
    try:
        summary = api.run(loaded, directory, reference=reference, **run_options)
    except api.RunsFailed as err:  # the others are stored: report them, then say what failed
        failed, summary = err, err.summary
    analysis, paths = api.report(directory, reference=reference)
    result = Experiment(directory, reference=reference)
    result.__dict__["analysis"] = analysis  # the report's own analysis: not computed twice
    result.run_summary, result.report_paths, result.mlflow = summary, paths, None
    if failed is not None:
        failed.experiment = result  # type: ignore[attr-defined]
        raise failed
    if (loaded.tracking.mlflow if mlflow is None else mlflow):
        result.mlflow = api.log_to_mlflow(directory, mlflow_uri or loaded.tracking.mlflow_uri,
                                          report_path=directory / "report.html")
    return result
