"""The command line: thin; it parses, calls the Python API and formats errors and progress.

A user mistake (:class:`UserError`) is one line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from imbalance_lab.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Controlled, repeatable experiments on class-imbalanced image classification.",
)
out_console = Console(width=None if Console().is_terminal else 200)
err_console = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 400)


class ConsoleProgress:
    """Progress on the terminal: a live bar when interactive, one line per run otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bar: Progress | None = None
        self.task: Any = None
        self.total = 0
        self.done = 0
        self.last: dict[tuple[str, int], dict[str, Any]] = {}  # each run's latest epoch entry
        self.running: dict[tuple[str, int], str] = {}
        self.epochs = 0
        self.positive: str | None = None
        self.started = time.perf_counter()

    def experiment_started(self, total_runs: int, already_done: int) -> None:
        self.total, self.done = total_runs, already_done
        if already_done:
            self.console.print(f"{already_done} of {total_runs} runs already finished in this directory: skipping them")
        if self.live:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.task = self.bar.add_task("runs", total=total_runs, completed=already_done)
            self.bar.start()

    def run_started(self, arm: str, seed: int, epochs: int) -> None:
        self.epochs = epochs
        self.running[(arm, seed)] = f"{arm} seed {seed}: epoch 0/{epochs}"
        self._describe()

    def epoch_finished(self, arm: str, seed: int, epoch: int, entry: dict[str, Any]) -> None:
        self.last[(arm, seed)] = entry
        self.running[(arm, seed)] = (
            f"{arm} seed {seed}: epoch {epoch}/{self.epochs}  val loss {entry['val']['loss']:.3f}"
        )
        self._describe()

    def _describe(self) -> None:
        """The bar's text: every run in flight (several under the process executor)."""
        if self.bar is not None:
            self.bar.update(self.task, description=" | ".join(self.running.values()))

    def run_finished(self, arm: str, seed: int, wall_time_s: float) -> None:
        self.done += 1
        self.running.pop((arm, seed), None)
        val = self.last.pop((arm, seed), {}).get("val", {})
        detail = f"val loss {val['loss']:.3f}, val bal. acc. {val['balanced_accuracy']:.3f}" if val else ""
        line = f"[{self.done}/{self.total}] {arm} seed {seed} finished in {wall_time_s:.1f} s  {detail}"
        if self.bar is not None:
            self.bar.advance(self.task)
            self.bar.console.print(line)
        else:
            self.console.print(line, highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so the run in flight cleans up like on Ctrl-C."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM (``kill``, a batch system's stop) unwinds like Ctrl-C instead of killing outright."""

    def stop(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def show_problems(problems: Any) -> None:
    """Damaged or foreign runs, one warning line each (the same lines from summary, report and run)."""
    for problem in problems:
        err_console.print(f"warning: skipped run {problem}", highlight=False, soft_wrap=True)


def show_summary(summary: Any, directory: Path, *, problems: bool = True) -> None:
    from imbalance_lab.report.tables import rich_table

    for line in summary.group_lines():
        out_console.print(line, highlight=False)
    for eval_set in summary.eval_sets:
        if eval_set != "val":
            out_console.print(rich_table(summary, eval_set))
    for row in summary.rows:
        for note in row.notes:
            out_console.print(f"note: {row.arm} ({row.eval_set}): {note}", highlight=False)
    if problems:
        show_problems(summary.problems)
    if summary.missing:
        out_console.print(f"{len(summary.missing)} run(s) not finished yet; 'imbalance-lab run' resumes them")
    out_console.print(f"written: {directory / 'summary.csv'}, {directory / 'summary.md'}, runs in {directory / 'runs'}")


MlflowUri = Annotated[
    Optional[str],
    typer.Option(
        "--mlflow-uri",
        help="MLflow tracking URI (default: the spec's tracking.mlflow_uri, else a SQLite store in the results directory).",
    ),
]
Reference = Annotated[
    Optional[str],
    typer.Option(
        "--reference",
        help="The arm every other arm is compared with (default: 'unbalanced', else the first arm with strategy none).",
    ),
]


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")],
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Results directory (default: the spec's output, else results/<name>)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Discard runs in the directory that an earlier, different spec made.")
    ] = False,
    reference: Reference = None,
    mlflow_uri: MlflowUri = None,
    no_mlflow: Annotated[
        bool, typer.Option("--no-mlflow", help="Do not log to MLflow (as tracking.mlflow: false in the spec).")
    ] = False,
    executor: Annotated[
        Optional[str],
        typer.Option(
            "--executor",
            help="auto (default: the fastest layout measured for this machine), local (this process), process (worker processes) or ray (tasks on a Ray cluster: a local one, or --address).",
        ),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", min=1, help="Worker processes of the process executor (default: one per core)."),
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option("--threads", min=1, help="Torch threads per worker (default: the cores shared out)."),
    ] = None,
    max_retries: Annotated[
        Optional[int],
        typer.Option("--max-retries", min=0, help="Try a failed run this many more times (process and ray executors)."),
    ] = None,
    address: Annotated[
        Optional[str],
        typer.Option(
            "--address",
            help="A running Ray cluster to run on: its head's host:port (as `ray start --head` prints it) or ray://host:port; implies --executor ray. Without it, --executor ray uses $RAY_ADDRESS if set, else starts a local cluster for the run.",
        ),
    ] = None,
) -> None:
    """Run every arm × seed of SPEC (skipping finished runs), then summarise, report and log to MLflow.

    Under ``torchrun`` (every process runs this command) each run trains across the launch's processes; rank 0
    stores, summarises, reports and prints, the others only train."""
    from imbalance_lab import api

    launch = torchrun_launch()
    if launch is not None and launch.rank != 0:
        api.follow(spec, launch)
        return
    progress = ConsoleProgress(out_console)
    loaded = api.as_spec(spec)
    directory = api.output_dir(loaded, out)
    failed = None
    if not no_mlflow and loaded.tracking.mlflow:  # mlflow is imported only when it logs (a second of start-up)
        quiet_mlflow()
    try:
        with terminate_as_interrupt():  # the one code path of imbalance_lab.run_experiment(): the CLI only prints
            result = api.run_experiment(
                loaded,
                directory,
                reference=reference,
                mlflow=False if no_mlflow else None,
                mlflow_uri=mlflow_uri,
                force=force,
                progress=progress,
                executor=executor,
                workers=workers,
                threads=threads,
                max_retries=max_retries,
                address=address,
                launch=launch,
            )
    except api.RunsFailed as err:
        failed, result = err, err.experiment  # type: ignore[attr-defined]
    except (KeyboardInterrupt, Terminated) as stop:
        progress.close()
        err_console.print(
            f"interrupted: the finished runs in {directory} are kept; run the same command again to resume"
        )
        raise typer.Exit(143 if isinstance(stop, Terminated) else 130) from None
    finally:
        progress.close()
    show_summary(result.run_summary, directory, problems=False)  # the report below names the skipped runs once
    show_report(result.analysis, result.report_paths)
    if failed is not None:
        for failure in failed.failures:
            err_console.print(
                f"error: {failure.arm} seed {failure.seed} failed after {failure.attempts} attempt(s): {failure.error}",
                highlight=False,
                soft_wrap=True,
            )
        err_console.print(
            f"{len(failed.failures)} run(s) failed; the others are stored and reported. Run the same "
            "command again to retry the failed ones",
            highlight=False,
        )
        raise typer.Exit(1)
    if result.mlflow is not None:
        show_mlflow(result.mlflow, directory, mlflow_uri or loaded.tracking.mlflow_uri)


def write_report(directory: Path, reference: str | None) -> Path:
    from imbalance_lab import api

    analysis, paths = api.report(directory, reference=reference)
    show_report(analysis, paths)
    return paths[0]


def show_report(analysis: Any, paths: list[Path]) -> None:
    show_problems(analysis.problems)
    show_verdicts(analysis)
    out_console.print(f"report: {paths[0]} (also {paths[1].name}, {paths[2].name})", highlight=False)


def show_verdicts(analysis: Any) -> None:
    from imbalance_lab.analysis.analyse import deploy_sentence, seeds_sentence, verdicts

    for warning in analysis.warnings:
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
    out_console.print(f"verdict on the {analysis.headline_set} set, against `{analysis.reference}`:", highlight=False)
    for line in verdicts(analysis):
        out_console.print("  " + line, highlight=False)
    from imbalance_lab.analysis.grids import factor_effects

    effects = factor_effects(analysis)
    if effects:
        out_console.print("grid factors:", highlight=False)
        for effect in effects:
            out_console.print("  " + effect.sentence(), highlight=False)
    if analysis.rounds is not None:
        out_console.print(seeds_sentence(analysis), highlight=False)
        for arm, d in analysis.rounds.decisions.items():
            when = "" if d.decided_at is None else f" after {d.decided_at} seeds"
            out_console.print(
                f"  `{arm}`: {d.state}{when} (mean Δ {d.mean_diff:+.3f}, confidence sequence "
                f"[{d.low:+.3f}, {d.high:+.3f}])",
                highlight=False,
            )
    if analysis.answer is not None:
        out_console.print(deploy_sentence(analysis), highlight=False)
    if analysis.selection is not None and analysis.selection.arms:
        out_console.print("which epoch to keep (selection study):", highlight=False)
        for sentence in analysis.selection.sentences():
            out_console.print("  " + sentence, highlight=False)


def quiet_mlflow() -> None:
    """MLflow at warnings only: no "creating tables" chatter on the first log."""
    import logging

    try:
        import mlflow  # noqa: F401  (configures its loggers on import; quieten them after)
    except ImportError:
        pass
    logging.getLogger("mlflow").setLevel(logging.WARNING)


def log_mlflow(directory: Path, uri: str | None) -> None:
    from imbalance_lab import api

    quiet_mlflow()
    show_mlflow(api.log_to_mlflow(directory, uri, report_path=directory / "report.html"), directory, uri)


def show_mlflow(logged: Any, directory: Path, uri: str | None) -> None:
    from imbalance_lab.report.tracking import default_tracking_uri

    if logged.error:
        err_console.print(
            f"warning: MLflow logging failed ({logged.error}); the results in {directory} are complete",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out_console.print(
            f"mlflow: {logged.logged} run(s) logged, {logged.skipped} already there ({uri or default_tracking_uri(directory)})",
            highlight=False,
        )


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="Results directory written by 'imbalance-lab run'.")],
    reference: Reference = None,
    mlflow_uri: MlflowUri = None,
    mlflow: Annotated[bool, typer.Option("--mlflow/--no-mlflow", help="Also log the runs to MLflow.")] = False,
) -> None:
    """Recompute every metric from the stored predictions and write report.html, report.md and report.csv (no training)."""
    from imbalance_lab import api

    show_writer(directory)
    write_report(directory, reference)
    if mlflow or mlflow_uri:
        log_mlflow(directory, mlflow_uri or api.read_spec(directory).tracking.mlflow_uri)


@app.command()
def compare(
    directories: Annotated[
        list[Path], typer.Argument(help="Two or more results directories of experiments on the same data.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the comparison report.")] = Path(
        "results/comparison"
    ),
    reference: Reference = None,
) -> None:
    """Put several experiments' arms in one table and report (arms are named <experiment>.<arm>)."""
    from imbalance_lab import api

    analysis, paths = api.compare(list(directories), out, reference=reference)
    show_problems(analysis.problems)
    show_verdicts(analysis)
    out_console.print(f"report: {paths[0]} (also {paths[1].name}, {paths[2].name})", highlight=False)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")]) -> None:
    """Check SPEC and its data without training anything."""
    from imbalance_lab import api

    loaded, data = api.check(spec)
    crossed = (
        "" if loaded.draws is None else f" ({loaded.draws.draws} data draws × {loaded.draws.train} training seeds)"
    )
    out_console.print(
        f"{spec}: valid. {len(loaded.arms)} arms × {len(loaded.seeds)} seeds{crossed} = "
        f"{len(loaded.arms) * len(loaded.seeds)} runs of {loaded.training.epochs} epochs",
        highlight=False,
    )
    print_data_plan(data, loaded)


def print_data_plan(data: Any, spec: Any) -> None:
    """Per-class counts of every set and arm, with each one's imbalance ratio."""
    from imbalance_lab.splits import set_order

    names = data.class_names
    groups = data.resolved.classes.member_names(data.source.class_names)
    for name in names:
        if groups[name] != [name]:
            out_console.print(f"  class {name} = {', '.join(groups[name])}", highlight=False)
    rows = [(f"set {s}", data.resolved.set_counts[s]) for s in set_order(spec.data)]
    rows += [
        (f"arm {a.name} ({' + '.join(st.name for st in a.strategy)})", data.resolved.arm_counts[a.name])
        for a in spec.arms
    ]
    for label, counts in rows:
        nonzero = [n for n in counts if n > 0]
        ratio = f"{max(nonzero) / min(nonzero):.1f}:1" if nonzero else "-"
        listing = ", ".join(f"{c} {n}" for c, n in zip(names, counts, strict=True))
        out_console.print(f"  {label}: {listing}  (total {sum(counts)}, imbalance {ratio})", highlight=False)
    if spec.data.resample == "per_seed":
        redrawn = (
            "the validation set and every arm's training set" if spec.data.resample_val else "every arm's training set"
        )
        out_console.print(
            f"  data.resample: per_seed: each data draw takes {redrawn} anew, with these counts; "
            "the test set and any other evaluation set are the same in every draw",
            highlight=False,
        )


@app.command()
def data(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")],
    png: Annotated[
        Optional[Path],
        typer.Option("--png", help="Where to write the sample grid (default: OUTPUT_DIR/data_samples.png)."),
    ] = None,
    per_class: Annotated[int, typer.Option("--per-class", min=1, max=50, help="Sample images per class.")] = 10,
) -> None:
    """Before training: per-class counts of every split and arm, imbalance ratios, and a PNG grid of samples."""
    from imbalance_lab import api

    loaded, prepared, target = api.write_data_samples(spec, png, per_class)
    out_console.print(
        f"{loaded.name}: source {loaded.data.source.name}, {len(prepared.source.labels)} images "
        f"of {prepared.source.channels}×{prepared.source.image_size[0]}×{prepared.source.image_size[1]}",
        highlight=False,
    )
    print_data_plan(prepared, loaded)
    out_console.print(f"sample images per class: {target}", highlight=False)


@app.command()
def summary(
    directory: Annotated[Path, typer.Argument(help="Results directory written by 'imbalance-lab run'.")],
) -> None:
    """Summarise the finished runs in DIRECTORY (mean ± std over seeds), writing summary.csv/.md."""
    from imbalance_lab import api

    show_writer(directory)
    show_summary(api.write_summary(directory), directory)


def show_writer(directory: Path) -> None:
    """Say so when a run is writing into the directory now (its unfinished runs are left out, not lost)."""
    from imbalance_lab.store import ResultStore

    holder = ResultStore(directory).writer_active()
    if holder:
        out_console.print(
            f"note: a run is writing into {directory} now ({holder}); runs it has not finished are left out",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def simulate(
    negatives: Annotated[
        Optional[int],
        typer.Option("--negatives", help="Negatives in the validation set (seed 003: 1,000,000 and 10,000)."),
    ] = None,
    positives: Annotated[
        Optional[int], typer.Option("--positives", help="Positives in the validation set (seed 003: 10,000).")
    ] = None,
    acc_neg: Annotated[
        Optional[float],
        typer.Option("--acc-neg", help="The model's accuracy on negatives at the 0.5 threshold, in [0.5, 1]."),
    ] = None,
    acc_pos: Annotated[
        Optional[float], typer.Option("--acc-pos", help="The model's accuracy on positives (its recall), in [0.5, 1].")
    ] = None,
    loss: Annotated[
        Optional[list[str]],
        typer.Option(
            "--loss",
            help="bce, focal or balanced_bce, with parameters as focal:alpha=0.25,gamma=2,reduction=sum (repeatable).",
        ),
    ] = None,
    metric: Annotated[
        Optional[list[str]],
        typer.Option(
            "--metric",
            help="precision, recall, f1, accuracy, balanced_accuracy, mcc, roc_auc, pr_auc (repeatable; default precision, recall, f1).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte Carlo draws (0 or more).")] = 0,
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats", min=1, help="Independent draws averaged per case (SE of rank metrics needs 2 or more)."
        ),
    ] = 1,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where the tables (and, by default, an MLflow store) go.")
    ] = Path("results/simulate"),
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Do not log to MLflow.")] = False,
    mlflow_uri: Annotated[
        Optional[str], typer.Option("--mlflow-uri", help="MLflow tracking URI (default: a SQLite store in --out).")
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="Instead: how plainly each loss and metric shows a 10-point gain in minority recall, over validation ratios 1:1 to 1:1000 (--positives per set, default 100): sweep.csv, sweep.md, sweep.png.",
        ),
    ] = False,
) -> None:
    """Seed 003's simulation: a loss and the metrics on a validation set of given composition, for a model
    of given per-class accuracies: exact expectation and a seeded Monte Carlo draw. Without options it runs
    seed 003's study beside the seed's printed figures."""
    from imbalance_lab import api

    if sweep:
        if any(v is not None for v in (negatives, acc_neg, acc_pos)) or loss or metric:
            raise UserError(
                "simulate --sweep: it sets its own cases, losses and metrics; give only --positives, "
                "--seed, --repeats and --out with it"
            )
        show_simulated(api.run_sweep(out, positives=positives, seed=seed, repeats=repeats), out)
        return
    if not no_mlflow:
        quiet_mlflow()
    show_simulated(
        api.run_simulation(
            out,
            negatives=negatives,
            positives=positives,
            acc_neg=acc_neg,
            acc_pos=acc_pos,
            losses=loss,
            metrics=metric,
            seed=seed,
            repeats=repeats,
            mlflow=not no_mlflow,
            mlflow_uri=mlflow_uri,
        ),
        out,
    )


def show_simulated(simulated: Any, out: Path) -> None:
    out_console.print(simulated.markdown, highlight=False, soft_wrap=True)
    out_console.print(f"written: {', '.join(str(path) for path in simulated.written)}", highlight=False)
    logged = simulated.logged
    if logged is None:
        return
    if logged.error:
        err_console.print(
            f"warning: MLflow logging failed ({logged.error}); the tables in {out} are complete",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out_console.print(f"mlflow: {logged.logged} run(s) logged ({simulated.mlflow_uri})", highlight=False)


@app.command(name="list")
def list_(kind: Annotated[str, typer.Argument(help="strategies, models, sources or decisions")] = "strategies") -> None:
    """List the registered strategies, models, data sources or decision rules."""
    from imbalance_lab.catalogue import KINDS, catalogue

    if kind not in KINDS:
        raise UserError(f"list: got {kind!r}; valid: {', '.join(KINDS)}")
    entries = catalogue()[kind]
    width = max((len(entry["name"]) for entry in entries), default=0)
    for entry in entries:
        params = ", ".join(entry["params"]) or "no parameters"
        summary = entry["summary"].replace("``", "")  # docstrings quote code as ``x``; a terminal shows it plain
        if entry["published_weights"]:
            params += "; pretrained: true"
        out_console.print(f"{entry['name']:{width}}  {escape(summary)}  [dim]({params})[/dim]")


def torchrun_launch() -> Any:
    """This process's place in a ``torchrun`` launch of more than one process (from the variables every
    ``torch.distributed`` launcher sets), or ``None``."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size < 2 or "RANK" not in os.environ or "MASTER_ADDR" not in os.environ:
        return None
    from imbalance_lab.executors.distributed import Launch

    return Launch(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0") or 0))


def show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """Warnings from the library (skipped images, ...) as one line each on stderr."""
    err_console.print(f"warning: {message}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point: user mistakes exit 2 with one line, no traceback."""
    import warnings

    try:  # typer vendors click from 0.2x on; its exceptions live there
        from typer._click import exceptions as click_errors
    except ImportError:  # pragma: no cover  (an older typer on the real click)
        import click.exceptions as click_errors

    warnings.showwarning = show_warning
    try:
        code = app(standalone_mode=False)
    except UserError as err:
        err_console.print(f"error: {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except click_errors.NoArgsIsHelpError as err:  # bare `imbalance-lab`: the help, as click shows it
        err.show()
        sys.exit(err.exit_code)
    except click_errors.UsageError as err:  # bad arguments or options: one line like every other mistake
        command = err.ctx.command_path if err.ctx is not None else "imbalance-lab"
        err_console.print(
            f"error: {' '.join(err.format_message().split())} (see: {command} --help)", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except click_errors.ClickException as err:
        err_console.print(f"error: {' '.join(err.format_message().split())}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # typer turns an end of input into Abort
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def entry() -> None:
    """The console script (and ``python -m imbalance_lab.cli``): :func:`main`, then out of the process as soon as
    its work is done.

    A normal interpreter exit tears down every module and object, which after torch is imported takes about
    0.45 s on the 2-core machine we develop on (docs/benchmarks.md, time to a first answer), longer than most
    commands' own work. So the exit handlers run (MLflow's, multiprocessing's, temporary files', logging's),
    the output is flushed and the process ends without that teardown. With another thread still running, the
    exit is the normal one, which waits for it.
    """
    import atexit
    import threading

    try:
        main()
        code: int | str | None = 0
    except SystemExit as done:
        code = done.code
    if threading.active_count() > 1:
        sys.exit(code)
    if isinstance(code, str):  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
