"""The Python API: ``imbalance_lab.run(spec)`` does what ``imbalance-lab run spec.yaml`` does."""

from __future__ import annotations

from pathlib import Path

import yaml

from imbalance_lab.analysis.summary import Summary, summarize
from imbalance_lab.errors import StoreError
from imbalance_lab.executors import plan, run_local
from imbalance_lab.progress import NullProgress, Progress
from imbalance_lab.report.tables import to_csv, to_markdown
from imbalance_lab.spec import ExperimentSpec, build_spec, load_spec
from imbalance_lab.splits import ExperimentData, prepare_data
from imbalance_lab.store import SPEC_FILE, ResultStore, RunScan, write_atomic


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


def read_spec(directory: str | Path) -> ExperimentSpec:
    """The spec stored in a results directory."""
    root = Path(directory)
    spec_path = root / SPEC_FILE
    if not spec_path.is_file():
        raise StoreError(f"{root} is not a results directory (no {SPEC_FILE}); give the directory that 'imbalance-lab run' wrote")
    try:
        return build_spec(yaml.safe_load(spec_path.read_text()))
    except yaml.YAMLError as err:
        raise StoreError(f"{spec_path} is not valid YAML ({err}); it was changed by hand or damaged") from None


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
