"""The Python API: ``imbalance_lab.run(spec)`` does what ``imbalance-lab run spec.yaml`` does."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from imbalance_lab.analysis.summary import Summary, summarize
from imbalance_lab.errors import StoreError, UserError
from imbalance_lab.executors import plan, run_local
from imbalance_lab.progress import NullProgress, Progress
from imbalance_lab.report.tables import to_csv, to_markdown
from imbalance_lab.spec import ExperimentSpec, build_spec, load_spec
from imbalance_lab.data.prepared import ExperimentData, prepare_data
from imbalance_lab.store import SPEC_FILE, ResultStore, RunScan, read_spec, write_atomic  # noqa: F401  (read_spec is API)

if TYPE_CHECKING:
    from imbalance_lab.analysis.analyse import Analysis


def as_spec(spec: ExperimentSpec | str | Path | dict) -> ExperimentSpec:
    """A spec object from an object, a YAML path or plain data."""
    if isinstance(spec, ExperimentSpec):
        return spec
    if isinstance(spec, dict):
        return build_spec(spec)
    return load_spec(spec)


def output_dir(spec: ExperimentSpec, out: str | Path | None) -> Path:
    """``out`` if given, else the spec's ``output``, else ``results/<name>``."""
    return Path(out or spec.output or Path("results") / spec.name)


def validate(spec: ExperimentSpec | str | Path | dict) -> tuple[ExperimentSpec, ExperimentData]:
    """Check a spec and its data (counts against the source) without training."""
    spec = as_spec(spec)
    return spec, prepare_data(spec)


def run(
    spec: ExperimentSpec | str | Path | dict,
    out: str | Path | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Run every arm × seed not yet finished in the output directory, then summarise.

    The spec and its data are checked first; nothing is written when they are
    invalid. Finished runs in the directory are kept and skipped.
    """
    progress = progress or NullProgress()
    spec, data = validate(spec)
    store = ResultStore(output_dir(spec, out))
    done = set(store.open(spec, force=force))
    todo = [item for item in plan(spec) if item not in done]
    progress.experiment_started(len(todo) + len(done), len(done))
    run_local(spec, store, data, todo, progress)
    return write_summary(store.root)


def scan(directory: str | Path) -> tuple[ExperimentSpec, RunScan]:
    """The spec of a results directory and its usable runs; no usable run at all is an error."""
    spec = read_spec(directory)
    found = ResultStore(directory).scan(spec)
    if not found.runs:
        why = f" ({len(found.problems)} broken: {found.problems[0]})" if found.problems else ""
        raise StoreError(f"{directory} has no finished runs yet{why}; run the experiment with: imbalance-lab run {Path(directory) / SPEC_FILE}")
    return spec, found


def load_summary(directory: str | Path) -> Summary:
    """Summarise the finished runs in a results directory (no training); broken runs are skipped and named."""
    spec, found = scan(directory)
    return summarize(spec.name, [a.name for a in spec.arms], spec.data.eval_sets,
                     [r.result for r in found.runs], spec.data.positive, found.missing, found.problems)


def write_summary(directory: str | Path) -> Summary:
    """Summarise a results directory and write ``summary.csv`` and ``summary.md`` into it."""
    summary = load_summary(directory)
    root = Path(directory)
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

    root.mkdir(parents=True, exist_ok=True)
    paths = [root / name for name in REPORT_FILES]
    for path, text in zip(paths, (render_html(analysis), render_markdown(analysis), render_csv(analysis)), strict=True):
        write_atomic(path, text)
    return paths


def compare(directories: list[str | Path], out: str | Path, *, reference: str | None = None, n_boot: int = 2000) -> tuple[Analysis, list[Path]]:
    """Several experiments' arms in one table and report (they must share the same data and so the same test images)."""
    from imbalance_lab.analysis.analyse import analyse
    from imbalance_lab.store import StoredRun

    if len(directories) < 2:
        raise UserError("compare: give at least two results directories")
    loaded = [(Path(d), *scan(d)) for d in directories]
    first_dir, first_spec, _ = loaded[0]
    names = [spec.name for _, spec, _ in loaded]
    if len(set(names)) != len(names):
        names = [f"{spec.name}-{i + 1}" for i, (_, spec, _) in enumerate(loaded)]
    arms, runs, missing, problems = [], [], [], []
    for name, (directory, spec, found) in zip(names, loaded, strict=True):
        if spec.data != first_spec.data:
            raise UserError(f"compare: {directory} uses other data than {first_dir} (its 'data' section differs), so its test "
                            "images differ and a comparison would be unfair; compare experiments with the same data section")
        arms += [arm.model_copy(update={"name": f"{name}.{arm.name}"}) for arm in spec.arms]
        runs += [StoredRun(f"{name}.{r.arm}", r.seed, r.path, r.result) for r in found.runs]
        missing += [(f"{name}.{a}", s) for a, s in found.missing]
        problems += [f"{name}: {p}" for p in found.problems]
    merged = first_spec.model_copy(update={"name": "comparison_of_" + "_".join(names), "arms": tuple(arms)})
    analysis = analyse(merged, RunScan(runs, missing, problems), reference, n_boot=n_boot)
    return analysis, write_report(analysis, Path(out))


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

    return log_experiment(Path(directory), tracking_uri=tracking_uri, report_path=report_path,
                          request_timeout_s=request_timeout_s, request_retries=request_retries)
