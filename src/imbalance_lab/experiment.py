"""The orchestrator: an experiment from spec to answer, in one module (issue 25).

:func:`run` trains every run of a spec not yet stored (checks first, then the executor the layout chooses,
adaptive seed rounds, the summary); :func:`report` and :func:`compare` recompute everything from stored runs;
:func:`run_experiment` does all of what ``imbalance-lab run`` does and returns an :class:`Experiment`, the
whole experiment as one object (tables as pandas DataFrames, the report's figures, the verdict as text);
:func:`load` gives that object for a results directory without training. The API façade
(:mod:`imbalance_lab.api`), the notebook's presentation (:mod:`imbalance_lab.notebook`) and the command line
(:mod:`imbalance_lab.cli`) are thin layers above it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import math
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imbalance_lab.analysis.summary import Summary, summarize
from imbalance_lab.errors import StoreError, UserError
from imbalance_lab.preflight import as_spec, check_disk_space, check_reference, validate
from imbalance_lab.progress import NullProgress, Progress
from imbalance_lab.report.tables import to_csv, to_markdown
from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.store import (
    SPEC_FILE,
    ResultStore,
    RunScan,
    check_output_dir,
    read_spec,
    write_atomic,
    writing,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from imbalance_lab.analysis.analyse import Analysis
    from imbalance_lab.executors import RunFailure
    from imbalance_lab.executors.distributed import Launch
    from imbalance_lab.prepared import ExperimentData


def output_dir(spec: ExperimentSpec, out: str | Path | None) -> Path:
    """``out`` if given, else the spec's ``output``, else ``results/<name>``."""
    return Path(out or spec.output or Path("results") / spec.name)


def run(
    spec: ExperimentSpec | str | Path | dict,
    out: str | Path | None = None,
    *,
    force: bool = False,
    reference: str | None = None,
    progress: Progress | None = None,
    executor: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    max_retries: int | None = None,
    address: str | None = None,
    launch: Launch | None = None,
) -> Summary:
    """Run every arm × seed not yet finished in the output directory, then summarise.

    Everything that can be checked before training is checked first (the spec,
    its data and device, ``reference``, the output path, free disk space);
    nothing is written when a check fails. Finished runs in the directory are
    kept and skipped. The directory has one writer at a time: a second ``run``
    into it is refused with a message naming the first.

    ``executor``, ``workers``, ``threads``, ``max_retries`` and ``address`` (a
    Ray cluster's; it implies ``executor="ray"``) override the spec's
    ``execution`` settings (none of them changes a hash). Runs that fail on
    every attempt raise :class:`RunsFailed` after the others finished and the
    summary was written. ``launch``: this is rank 0 of a command started by ``torchrun``; each run trains
    across the launch's processes (the other ranks :func:`follow`).
    """
    from imbalance_lab.executors import choose_layout, plan, run_distributed, run_local, run_processes, run_ray
    from imbalance_lab.executors.branching import chains
    from imbalance_lab.executors.distributed import end_launch, join, run_launched
    from imbalance_lab.train import resolve_device

    progress = progress or NullProgress()
    spec, data = validate(spec)
    check_reference(spec, reference)
    overrides = {
        k: v
        for k, v in {
            "executor": executor,
            "workers": workers,
            "threads": threads,
            "max_retries": max_retries,
            "address": address,
        }.items()
        if v is not None
    }
    execution = execution_settings(spec, overrides)
    store = ResultStore(output_dir(spec, out))
    created = not store.root.exists()
    planned = plan(spec)
    try:
        with (
            store.writer(),
            contextlib.ExitStack() as cluster_open,
        ):  # makes the directory, or one line on why it cannot be made
            unfinished = sum(not store.is_finished(a, s) for a, s in planned)
            check_disk_space(spec, data, store.root, unfinished)
            device, cluster = resolve_device(spec.training.device), {}
            if execution.executor == "ray" and (
                unfinished or force
            ):  # before anything is written: no cluster, no files
                from imbalance_lab.executors.raycluster import check_fits, ray_cluster

                found = cluster_open.enter_context(ray_cluster(execution.address))
                cluster = {"cores": found.cpus, "cluster": found.where}
                asked = choose_layout(execution, device, unfinished, **cluster)
                check_fits(found, asked.threads, asked.gpus)
            done = set(store.open(spec, force=force))
            world = join(launch, spec) if launch is not None else None

            def dispatch(todo: list[tuple[str, int]], finished: int) -> list[RunFailure]:
                progress.experiment_started(len(todo) + finished, finished)
                layout = choose_layout(execution, device, len(todo), work=training_work(spec, data, todo), **cluster)
                if not todo:
                    return []
                if world is not None:
                    progress.message(f"launched: each run across the launch's {world.size} processes")
                    return run_launched(spec, store, data, todo, progress, world)
                progress.message(layout.describe())
                if layout.executor == "local":
                    run_local(spec, store, data, todo, progress, threads=layout.threads)
                    return []
                if layout.executor == "distributed":
                    return run_distributed(spec, store, data, todo, progress, max_retries=execution.max_retries)
                if layout.executor == "ray":  # one task a run, handed out in the order the other executors use
                    todo = [item for chain in chains(spec, data, todo, share=False) for item in chain.items]
                    return run_ray(
                        spec,
                        store,
                        todo,
                        progress,
                        address=execution.address,
                        threads=layout.threads,
                        gpus=layout.gpus,
                        max_retries=execution.max_retries,
                    )
                return run_processes(
                    spec,
                    store,
                    data,
                    todo,
                    progress,
                    workers=layout.workers,
                    threads=layout.threads,
                    max_retries=execution.max_retries,
                )

            if spec.adaptive is None:
                failures = dispatch([item for item in planned if item not in done], len(done))
            else:
                failures = run_rounds(spec, store, data, reference, dispatch, progress)
            if world is not None:
                end_launch()
            summary = write_summary(store.root)
            if failures:
                raise RunsFailed(failures, summary)
            return summary
    except BaseException:
        if created:  # refused or stopped before any run was stored (no cluster there, Ctrl-C): leave nothing behind
            _remove_if_empty(store.root)
        raise


def run_rounds(
    spec: ExperimentSpec,
    store: ResultStore,
    data: ExperimentData,
    reference: str | None,
    dispatch: Any,
    progress: Progress,
) -> list[RunFailure]:
    """Adaptive seeds: train round after round until every comparison is decided or ``max`` seeds
    (:mod:`imbalance_lab.analysis.rounds`); each round's decisions come from the stored runs, so a resumed
    experiment asks for the same runs."""
    from imbalance_lab.analysis.analyse import default_reference
    from imbalance_lab.analysis.rounds import round_state, stored_values

    reference = reference or default_reference(spec, [a.name for a in spec.arms])
    positive = data.class_names.index(spec.data.positive) if spec.data.positive is not None else None
    value = stored_values(spec, store, positive)
    while True:
        state = round_state(spec, reference, value)
        progress.message(state.describe())
        if not state.todo:
            return []
        failures = dispatch(state.todo, sum(store.is_finished(a, s) for a, s in state.scheduled))
        if failures:  # a run failed on every attempt: the round cannot be judged
            return failures


def training_work(spec: ExperimentSpec, data: ExperimentData, todo: list[tuple[str, int]]) -> float:
    """The training ``todo`` asks for, in pixel-epochs (images × epochs × pixels per image, over the runs)."""
    pixels = data.source.channels * data.source.image_size[0] * data.source.image_size[1]
    return float(sum(sum(data.resolved.arm_counts[arm]) for arm, _ in todo) * spec.training.epochs * pixels)


class RunsFailed(Exception):
    """Some runs failed on every attempt; the others finished and the summary was written."""

    def __init__(self, failures: list[RunFailure], summary: Summary) -> None:
        self.failures, self.summary = failures, summary
        first = failures[0]
        super().__init__(f"{len(failures)} run(s) failed, e.g. {first.arm} seed {first.seed}: {first.error}")


def execution_settings(spec: ExperimentSpec, overrides: dict[str, Any]) -> Any:
    """The spec's execution settings with the command line's overrides, validated like the spec."""
    import pydantic

    from imbalance_lab.registry import format_validation_error
    from imbalance_lab.spec import ExecutionSpec

    settings = spec.execution.model_dump()
    if overrides.get("executor", "ray") != "ray":  # the spec's cluster address goes with its ray executor
        settings["address"] = None
    try:
        return ExecutionSpec.model_validate({**settings, **overrides})
    except pydantic.ValidationError as err:
        raise format_validation_error(err, "execution") from None


def _remove_if_empty(root: Path) -> None:
    """Remove a results directory this call made when it holds nothing but its lock files."""
    from imbalance_lab.store import LOCK_FILE, STATE_LOCK_FILE

    if root.is_dir() and {p.name for p in root.iterdir()} <= {LOCK_FILE, STATE_LOCK_FILE}:
        for name in (LOCK_FILE, STATE_LOCK_FILE):
            (root / name).unlink(missing_ok=True)
        root.rmdir()


def scan(directory: str | Path) -> tuple[ExperimentSpec, RunScan]:
    """The spec of a results directory and its usable runs; no usable run at all is an error.

    Read under the directory's shared state lock, so a writer's change of the
    spec or of the set of runs is seen whole or not at all.
    """
    store = ResultStore(directory)
    with store.state_lock(shared=True):  # a reader never creates the lock file: nothing is written here
        spec = read_spec(directory)
        found = store.scan(spec)
    weights = spec.model.weights_file_status()
    if weights is not None:  # the stored runs do not need the file; more runs would
        warnings.warn(
            f"model.pretrained: {weights}; the stored runs are read as they were made, but runs trained "
            f"into {directory} now would need the original file back in place",
            stacklevel=2,
        )
    if not found.runs:
        why = f" ({len(found.problems)} broken: {found.problems[0]})" if found.problems else ""
        others = store.other_arms(spec)
        if others and not found.problems:
            raise StoreError(
                f"{directory} has no finished runs of the arms its {SPEC_FILE} names "
                f"({', '.join(a.name for a in spec.arms)}) but holds runs of other arms "
                f"({', '.join(others)}); if {SPEC_FILE} was changed by hand or copied from another "
                f"experiment, put back the spec those runs were made with (imbalance-lab run THAT_SPEC "
                f"--out {directory} rewrites it, keeping every finished run); else run the experiment: "
                f"imbalance-lab run {Path(directory) / SPEC_FILE}"
            )
        raise StoreError(
            f"{directory} has no finished runs yet{why}; run the experiment with: imbalance-lab run {Path(directory) / SPEC_FILE}"
        )
    return spec, found


def load_summary(directory: str | Path) -> Summary:
    """Summarise the finished runs in a results directory (no training); broken runs are skipped and named."""
    spec, found = scan(directory)
    return summarize(
        spec.name,
        [a.name for a in spec.arms],
        spec.data.eval_sets,
        [r.result for r in found.runs],
        spec.data.positive,
        found.missing,
        found.problems,
    )


def write_summary(directory: str | Path) -> Summary:
    """Summarise a results directory and write ``summary.csv`` and ``summary.md`` into it."""
    summary = load_summary(directory)
    root = Path(directory)
    with writing(root, "the summary needs a writable results directory; copy it somewhere writable"):
        write_atomic(root / "summary.csv", to_csv(summary))
        write_atomic(root / "summary.md", to_markdown(summary))
    return summary


REPORT_FILES = ("report.html", "report.md", "report.csv")


def report(directory: str | Path, *, reference: str | None = None, n_boot: int = 2000) -> tuple[Analysis, list[Path]]:
    """Recompute everything from the stored runs and write ``report.html``, ``report.md`` and ``report.csv``."""
    from imbalance_lab.analysis.analyse import analyse

    spec, found = scan(directory)
    analysis = analyse(spec, found, reference, n_boot=n_boot)
    return analysis, write_report(analysis, Path(directory))


def write_report(analysis: Analysis, root: Path) -> list[Path]:
    """Write the HTML, Markdown and CSV report of ``analysis`` into ``root``."""
    from imbalance_lab.report.html import render_csv, render_html, render_markdown
    from imbalance_lab.report.selection import selection_csv

    paths = [root / name for name in REPORT_FILES]
    texts = [render_html(analysis), render_markdown(analysis), render_csv(analysis)]
    if analysis.selection is not None and analysis.selection.arms:
        paths.append(root / "selection.csv")
        texts.append(selection_csv(analysis))
    with writing(root, "give the report a directory you can write"):
        root.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, texts, strict=True):
            write_atomic(path, text)
    return paths


def compare(
    directories: list[str | Path], out: str | Path, *, reference: str | None = None, n_boot: int = 2000
) -> tuple[Analysis, list[Path]]:
    """Several experiments' arms in one table and report (they must share the same data and so the same test images)."""
    from imbalance_lab.analysis.analyse import analyse
    from imbalance_lab.store import StoredRun

    if len(directories) < 2:
        raise UserError("compare: give at least two results directories")
    target = Path(out).resolve()
    check_output_dir(Path(out), "comparison directory", "give --out another path")
    for directory in directories:
        if Path(directory).resolve() == target:
            raise UserError(
                f"compare: --out {out} is one of the compared results directories, whose own report would be "
                "overwritten; give --out a new directory"
            )
    if (target / SPEC_FILE).is_file():
        raise UserError(
            f"compare: --out {out} is an experiment's results directory, whose own report would be "
            "overwritten; give --out a new directory"
        )
    loaded = [(Path(d), *scan(d)) for d in directories]
    first_dir, first_spec, _ = loaded[0]
    names = [spec.name for _, spec, _ in loaded]
    if len(set(names)) != len(names):
        names = [f"{spec.name}-{i + 1}" for i, (_, spec, _) in enumerate(loaded)]
    arms, runs, missing, problems = [], [], [], []
    for name, (directory, spec, found) in zip(names, loaded, strict=True):
        if spec.data != first_spec.data:
            raise UserError(
                f"compare: {directory} uses other data than {first_dir} (its 'data' section differs), so its test "
                "images differ and a comparison would be unfair; compare experiments with the same data section"
            )
        arms += [arm.model_copy(update={"name": f"{name}.{arm.name}"}) for arm in spec.arms]
        runs += [StoredRun(f"{name}.{r.arm}", r.seed, r.path, r.result) for r in found.runs]
        missing += [(f"{name}.{a}", s) for a, s in found.missing]
        problems += [f"{name}: {p}" for p in found.problems]
    specs = dict(zip(names, (spec for _, spec, _ in loaded), strict=True))
    decisions, selection, notes = _merged_analyses(specs, [d for d, _, _ in loaded])
    merged = first_spec.model_copy(
        update={
            "name": "comparison_of_" + "_".join(names),
            "arms": tuple(arms),
            "decisions": decisions,
            "selection": selection,
        }
    )
    analysis = analyse(merged, RunScan(runs, missing, problems), reference, n_boot=n_boot)
    analysis.warnings.extend(notes)
    return analysis, write_report(analysis, Path(out))


def _merged_analyses(specs: dict[str, ExperimentSpec], directories: list[Path]) -> tuple[Any, Any, list[str]]:
    """The decisions and the selection study of a comparison: each kept only where every compared experiment
    has the same one (the decisions' arms, each experiment's own, renamed as the comparison names them), so
    that no arm is decided or studied by another experiment's settings; else left out, with a warning."""
    notes = []
    firsts = list(specs.values())
    decisions = firsts[0].decisions
    if any(spec.decisions is not None for spec in firsts):
        same = all(
            spec.decisions is not None
            and spec.decisions.model_copy(update={"arms": None}) == decisions.model_copy(update={"arms": None})
            for spec in firsts
        )  # type: ignore[union-attr]
        if same:
            arms = tuple(
                f"{name}.{arm}"
                for name, spec in specs.items()
                for arm in (spec.decisions.arms or [a.name for a in spec.arms])
            )  # type: ignore[union-attr]
            decisions = decisions.model_copy(update={"arms": arms})  # type: ignore[union-attr]
        else:
            odd = next(d for d, spec in zip(directories, firsts, strict=True) if spec.decisions != firsts[0].decisions)
            notes.append(
                f"the decisions (what to deploy) are left out of this comparison: {odd} decides otherwise "
                f"than {directories[0]} (its decisions section differs); compare experiments with the same "
                f"decisions section to see them"
            )
            decisions = None
    selection = firsts[0].selection
    if any(spec.selection != selection for spec in firsts):
        odd = next(d for d, spec in zip(directories, firsts, strict=True) if spec.selection != selection)
        notes.append(
            f"the selection study is left out of this comparison: the selection sections of {odd} and "
            f"{directories[0]} differ, and the study needs the same one in every compared experiment"
        )
        selection = None
    return decisions, selection, notes


def log_to_mlflow(
    directory: str | Path,
    tracking_uri: str | None = None,
    report_path: Path | None = None,
    *,
    request_timeout_s: float | None = 10,
    request_retries: int | None = 2,
) -> Any:
    """Log the stored runs to MLflow (default: a SQLite store in the directory); failures are reported, never raised."""
    from imbalance_lab.report.tracking import log_experiment

    return log_experiment(
        Path(directory),
        tracking_uri=tracking_uri,
        report_path=report_path,
        request_timeout_s=request_timeout_s,
        request_retries=request_retries,
    )


@dataclasses.dataclass(frozen=True)
class Simulated:
    """What :func:`run_simulation` or :func:`run_sweep` wrote: the table as Markdown, the files, and the
    MLflow outcome (``None`` when not logged) with its store's URI."""

    markdown: str
    written: list[Path]
    logged: Any = None
    mlflow_uri: str | None = None


def run_simulation(
    out: str | Path,
    *,
    negatives: int | None = None,
    positives: int | None = None,
    acc_neg: float | None = None,
    acc_pos: float | None = None,
    losses: list[str] | None = None,
    metrics: list[str] | None = None,
    seed: int = 0,
    repeats: int = 1,
    mlflow: bool = True,
    mlflow_uri: str | None = None,
) -> Simulated:
    """Seed 003's simulation (:mod:`imbalance_lab.simulate`): losses (``bce``, ``focal:gamma=2``, ...) and
    metrics on a validation set of given composition, for a model of given per-class accuracies; with no
    case given, seed 003's study beside its printed figures. Writes ``simulation.csv`` and
    ``simulation.md`` into ``out`` and logs the rows to MLflow (default: a SQLite store in ``out``)."""
    from imbalance_lab import simulate as sim

    out = Path(out)
    check_output_dir(out, "output folder", "give --out another path")
    check_simulation_seed(seed)
    custom = [v for v in (negatives, positives, acc_neg, acc_pos) if v is not None]
    if custom:
        case = sim.Case(
            negatives if negatives is not None else 1_000_000,
            positives if positives is not None else 10_000,
            acc_neg if acc_neg is not None else 0.999,
            acc_pos if acc_pos is not None else 0.5,
        )
        cases, printed, title = [case], None, f"simulate: {case.label()}"
        parsed = [sim.parse_loss(text) for text in (losses or ["bce"])]
    else:
        cases, printed, title = sim.SEED_003_CASES, sim.SEED_003_PRINTED, "simulate: seed 003's study"
        parsed = [sim.parse_loss(text) for text in (losses or ["bce", "focal"])]
    metrics = metrics or ["precision", "recall", "f1"]
    unknown = [m for m in metrics if m not in sim.METRICS]
    if unknown:
        raise UserError(f"simulate --metric {unknown[0]!r}: unknown; valid: {', '.join(sim.METRICS)}")
    rows = sim.study(cases, parsed, metrics, seed=seed, repeats=repeats, printed=printed)
    markdown = sim.to_markdown(rows, title)
    records = sim.to_table(rows)
    written = [out / "simulation.csv", out / "simulation.md"]
    with writing(out, "give --out a folder you can write"):
        write_atomic(written[0], sim.records_csv(records))
        write_atomic(written[1], markdown)
    if not mlflow:
        return Simulated(markdown, written)
    from imbalance_lab.report.tracking import default_tracking_uri, log_simulation

    uri = mlflow_uri or default_tracking_uri(out)
    return Simulated(markdown, written, log_simulation(records, uri), uri)


def run_sweep(out: str | Path, *, positives: int | None = None, seed: int = 0, repeats: int = 40) -> Simulated:
    """How plainly each loss and metric shows a 10-point gain in minority recall, over validation ratios
    1:1 to 1:1000 (``positives`` per set, default 100; at least 40 draws per case): ``sweep.csv``,
    ``sweep.md`` and ``sweep.png`` in ``out``."""
    from imbalance_lab import simulate as sim
    from imbalance_lab.report.plots import figure_png, sweep_figure

    out = Path(out)
    check_output_dir(out, "output folder", "give --out another path")
    check_simulation_seed(seed)
    if positives is not None and positives < 1:
        raise UserError(f"simulate --positives {positives} must be at least 1")
    records = sim.sweep(positives=positives or 100, repeats=max(repeats, 40), seed=seed)
    markdown = sim.sweep_markdown(records)
    written = [out / "sweep.csv", out / "sweep.md", out / "sweep.png"]
    with writing(out, "give --out a folder you can write"):
        write_atomic(written[0], sim.records_csv(records))
        write_atomic(written[1], markdown)
        write_atomic(written[2], figure_png(sweep_figure(records)))
    return Simulated(markdown, written)


def check_simulation_seed(seed: int) -> None:
    if seed < 0:
        raise UserError(f"simulate --seed {seed}: a seed is a whole number 0 or more; give e.g. --seed 0")


def write_data_samples(
    spec: ExperimentSpec | str | Path | dict, png: str | Path | None = None, per_class: int = 10
) -> tuple[ExperimentSpec, ExperimentData, Path]:
    """Before training: validate the spec and its data, and write a PNG grid of ``per_class`` sample images
    of each class (default ``<output>/data_samples.png``); returns the spec, its data and the PNG's path."""
    from imbalance_lab.report.samples import png_bytes, sample_grid

    loaded, prepared = validate(spec)
    target = Path(png) if png is not None else output_dir(loaded, None) / "data_samples.png"
    check_output_dir(target.parent, "folder", "give --png a path in a folder you can write")
    with writing(target, "give --png a path you can write"):
        write_atomic(target, png_bytes(sample_grid(prepared, per_class)))
    return loaded, prepared, target


def _interval(c: Any) -> Any:
    return c.bootstrap if c.bootstrap is not None else c.interval


class Experiment:
    """A results directory, analysed: tables as DataFrames, plots as figures, the verdict as text."""

    def __init__(self, directory: str | Path, *, reference: str | None = None, n_boot: int = 2000) -> None:
        self.directory = Path(directory)
        self._reference = reference
        self._n_boot = n_boot
        self.run_summary: Any = (
            None  # set by run_experiment(): the summary tables of the run (analysis.summary.Summary)
        )
        self.report_paths: list[Path] = []  # set by run_experiment(): report.html, report.md, report.csv, ...
        self.mlflow: Any = None  # set by run_experiment(): what MLflow logging did (report.tracking.LogSummary)

    @cached_property
    def analysis(self) -> Analysis:
        """Every metric recomputed from the stored predictions (:func:`imbalance_lab.analysis.analyse.analyse`)."""
        from imbalance_lab.analysis.analyse import analyse

        spec, found = scan(self.directory)
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
                    rows.append(
                        {
                            "arm": arm,
                            "set": set_name,
                            "metric": metric,
                            "mean": stat.mean,
                            "std": stat.std,
                            "n_seeds": stat.n,
                            "ci_low": stat.t_ci.low if stat.t_ci else math.nan,
                            "ci_high": stat.t_ci.high if stat.t_ci else math.nan,
                            "reference": self.reference,
                            "diff": c.mean_diff if c else math.nan,
                            "diff_low": interval.low if interval is not None else math.nan,
                            "diff_high": interval.high if interval is not None else math.nan,
                            "p_holm": c.p_holm if c else math.nan,
                            "significant": bool(c.significant) if c else False,
                        }
                    )
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

    def aggregates(self) -> pd.DataFrame:
        """rliable's aggregates beside the paired tests, one row per set × compared metric × arm
        (:func:`imbalance_lab.analysis.frames.aggregates_frame`)."""
        from imbalance_lab.analysis.frames import aggregates_frame  # the analysis' tables: imported when asked for

        return aggregates_frame(self.analysis)

    def test_priors(self) -> pd.DataFrame:
        """Every arm under the test priors of ``evaluation.test_priors``, one row per arm × prior × seed × metric
        (:func:`imbalance_lab.analysis.frames.test_priors_frame`)."""
        from imbalance_lab.analysis.frames import test_priors_frame  # the analysis' tables: imported when asked for

        return test_priors_frame(self.analysis)

    def draw_variance(self) -> pd.DataFrame:
        """The variance of each headline metric split into data draws and training, one row per metric × arm
        (:func:`imbalance_lab.analysis.frames.draw_variance_frame`)."""
        from imbalance_lab.analysis.frames import draw_variance_frame  # the analysis' tables: imported when asked for

        return draw_variance_frame(self.analysis)

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
                    metrics = classification_metrics(
                        arrays[f"{set_name}_labels"], arrays[f"{set_name}_probs"].astype(np.float64), positive=positive
                    )
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
                        rows += [
                            {
                                "arm": run.arm,
                                "seed": run.seed,
                                "epoch": int(entry.get("epoch", position)),
                                "split": split,
                                "metric": metric,
                                "value": value,
                            }
                            for metric, value in log.items()
                            if isinstance(value, int | float)
                        ]
        return pd.DataFrame(rows)

    def verdict(self) -> str:
        """The report's verdict on the test set, one line per headline metric (and the deployment answer)."""
        from imbalance_lab.analysis.analyse import deploy_sentence, seeds_sentence, verdicts

        lines = [*verdicts(self.analysis), deploy_sentence(self.analysis), seeds_sentence(self.analysis)]
        return "\n".join(line for line in lines if line is not None)

    @property
    def plot(self) -> Plots:
        """The report's figures: ``.curves()``, ``.metric()``, ``.confusion()``, ``.forest()``, ``.profile()``,
        ``.pr()``, ``.roc()``, ``.costs()``."""
        return Plots(self)

    # ------------------------------------------------------------------ notebooks
    def _repr_html_(self) -> str:
        from imbalance_lab.report.html import scoped_css, set_table
        from imbalance_lab.report.plots import figure_data_uri

        a = self.analysis
        verdicts = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdict().splitlines())
        figures = "".join(
            f"<img style='max-width:49%' alt='{name}' src='{figure_data_uri(fig)}'>"
            for name, fig in (("loss curves", self.plot.curves()), (f"forest {self._headline()}", self.plot.forest()))
        )
        return (
            f"<div class='imbalance-lab'><style>{scoped_css('.imbalance-lab')}</style><h3>{html.escape(a.spec.name)}: "
            f"{self._trained()} runs, reference <code>{html.escape(self.reference)}</code></h3>"
            f"<ul>{verdicts}</ul>{set_table(a, a.headline_set)}<div>{figures}</div>"
            f"<p class='meta'>{html.escape(str(self.directory / 'report.html'))} has every table and plot.</p></div>"
        )

    def __repr__(self) -> str:
        return f"Experiment({str(self.directory)!r}: {self._trained()} runs, reference {self.reference!r})"

    def _trained(self) -> int:
        """Runs trained (a decision's derived runs are views of them)."""
        names = {arm.name for arm in self.analysis.spec.arms}
        return sum(run.arm in names for run in self.analysis.runs)

    def _headline(self) -> str:
        return self.analysis.sets[self.analysis.headline_set].metrics[0]


class Plots:
    """The HTML report's figures for one experiment, as matplotlib figures."""

    def __init__(self, experiment: Experiment) -> None:
        self._e = experiment

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
            raise UserError(
                f"set_name {name!r}: not an evaluation set of this experiment; valid: {', '.join(self._a.sets)}"
            )
        sa = self._a.sets[name]
        return plots.confusion_matrices(sa.confusion, list(self._a.class_names), normalize=normalize)

    def forest(self, metric: str | None = None) -> Figure:
        from imbalance_lab.report import plots
        from imbalance_lab.report.page import forest_rows

        metric = metric or self._e._headline()
        test = self._a.sets[self._a.headline_set]
        if metric not in test.comparisons:
            raise UserError(
                f"metric {metric!r}: not compared on the {self._a.headline_set} set; valid: "
                f"{', '.join(test.comparisons)}"
            )
        return plots.forest_plot(forest_rows(test.comparisons[metric]), metric, self._a.reference)

    def profile(self, metric: str | None = None, set_name: str | None = None) -> Figure:
        """Performance profiles (rliable): each arm's fraction of runs better than a threshold, with its 95 %
        bootstrap band, for the arms as trained; by default the report's own figure, on the headline set's first
        metric; any metric scored on any set otherwise."""
        from imbalance_lab.analysis.aggregates import profile_arms, scores_by_arm
        from imbalance_lab.report.aggregates import profile_figure

        name = set_name or self._a.headline_set
        if name not in self._a.sets:
            raise UserError(
                f"set_name {name!r}: not an evaluation set of this experiment; valid: {', '.join(self._a.sets)}"
            )
        sa = self._a.sets[name]
        metric = metric or sa.metrics[0]
        profiles = sa.profiles.get(metric)
        if profiles is None:
            recorded = list(next(iter(sa.table.values()), {}))
            if metric not in recorded:
                raise UserError(f"metric {metric!r}: not scored on the {name} set; valid: {', '.join(recorded)}")
            profiles = profile_arms(scores_by_arm(sa.table, metric), metric, n_boot=self._e._n_boot)
        return profile_figure(self._a, metric, profiles)

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
            raise ValueError(
                "no costs: give decisions.costs in the spec (e.g. {false_negative: 10, false_positive: 1})"
            )
        return plots.cost_curves(answer.curves)


def follow(spec: ExperimentSpec | str | Path | dict, launch: Launch) -> None:
    """A rank other than 0 of a command started by ``torchrun``: the same checks as rank 0, then its share of
    every run rank 0 trains; it writes nothing (rank 0 stores, summarises and reports)."""
    from imbalance_lab.executors.distributed import follow as follow_runs

    spec, data = validate(spec)
    follow_runs(spec, data, launch)


def load(directory: str | Path, *, reference: str | None = None) -> Experiment:
    """The experiment stored in a results directory, without training (a one-line error if it holds none)."""
    scan(directory)  # a missing or empty directory is a StoreError now, not at first use
    return Experiment(directory, reference=reference)


def run_experiment(
    spec: Any,
    out: str | Path | None = None,
    *,
    reference: str | None = None,
    mlflow: bool | None = None,
    mlflow_uri: str | None = None,
    **run_options: Any,
) -> Experiment:
    """Do what ``imbalance-lab run SPEC`` does and return the :class:`Experiment`.

    Trains every run not yet stored (``run_options``: ``force``, ``progress``,
    ``executor``, ``workers``, ``threads``, ``max_retries``, ``address``, as
    :func:`run`), writes the summary and the report, and logs
    to MLflow unless ``mlflow=False`` or the spec's ``tracking.mlflow`` is off.
    """
    loaded = as_spec(spec)
    directory = output_dir(loaded, out)
    failed = None
    try:
        summary = run(loaded, directory, reference=reference, **run_options)
    except RunsFailed as err:  # the others are stored: report them, then say what failed
        failed, summary = err, err.summary
    analysis, paths = report(directory, reference=reference)
    result = Experiment(directory, reference=reference)
    result.__dict__["analysis"] = analysis  # the report's own analysis: not computed twice
    result.run_summary, result.report_paths, result.mlflow = summary, paths, None
    if failed is not None:
        failed.experiment = result  # type: ignore[attr-defined]
        raise failed
    if loaded.tracking.mlflow if mlflow is None else mlflow:
        result.mlflow = log_to_mlflow(
            directory, mlflow_uri or loaded.tracking.mlflow_uri, report_path=directory / "report.html"
        )
    return result
