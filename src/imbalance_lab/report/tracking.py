"""MLflow runs made from a finished results directory.

The results directory is the source of truth; MLflow is a view of it. Logging
reads ``DIR/spec.yaml`` and the stored runs after training and writes only to
the tracking store, so a tracking server that is down, a bad URI or a missing
permission can never lose or change a result: :func:`log_experiment` returns
the failure in :class:`LogSummary` instead of raising it.

Layout in MLflow: the experiment is named after the spec; one *parent* run per
(results directory, spec hash) holds the spec and the summary tables; one
*child* run per finished (arm, seed), named ``<arm>/seed-<seed>``, holds the
run's parameters, per-epoch metrics (``step`` = epoch), final metrics per
evaluation set, ``result.json``, ``predictions.npz`` and a confusion-matrix PNG
per evaluation set. Children are found again by their ``imbalance_lab.run_hash``
tag, so logging a directory twice adds only the runs finished since.

``mlflow`` is imported only when logging, so importing this module is cheap and
does not need it installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from imbalance_lab.metrics import confusion_matrix, predict
from imbalance_lab.spec import ArmSpec, ExperimentSpec
from imbalance_lab.store import (
    PREDICTIONS_FILE,
    RESULT_FILE,
    SPEC_FILE,
    ResultStore,
    StoredRun,
    read_spec,
)

__all__ = ["LogSummary", "default_tracking_uri", "log_experiment"]

DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"  # beside a local SQLite store, as `mlflow server` names it
SUMMARY_FILES = ("summary.csv", "summary.md")
TAG_DIRECTORY = "imbalance_lab.directory"
TAG_SPEC_HASH = "imbalance_lab.spec_hash"
TAG_RUN_HASH = "imbalance_lab.run_hash"
TAG_KIND = "imbalance_lab.kind"  # "experiment" (parent) or "run" (child)
TAG_PARENT = "mlflow.parentRunId"  # MLflow's own nesting tag
MAX_PARAM_LENGTH = 6000  # MLflow rejects longer parameter values
MAX_TAG_LENGTH = 8000
PAGE_SIZE = 1000


@dataclass(frozen=True)
class LogSummary:
    """What :func:`log_experiment` did.

    ``logged`` child runs were added, ``skipped`` were already in MLflow.
    ``error`` is ``None`` on success, else one line saying why logging stopped
    (the results directory is untouched either way; logging again resumes).
    """

    experiment_id: str | None
    parent_run_id: str | None
    logged: int
    skipped: int
    error: str | None = None


def default_tracking_uri(directory: str | Path) -> str:
    """A local SQLite tracking store inside the results directory: ``sqlite:///<abs DIR>/mlflow.db``."""
    return f"sqlite:///{(Path(directory).resolve() / DB_FILE).as_posix()}"


def log_experiment(
    directory: str | Path,
    *,
    tracking_uri: str | None = None,
    report_path: str | Path | None = None,
    experiment_name: str | None = None,
    request_timeout_s: float | None = None,
    request_retries: int | None = None,
) -> LogSummary:
    """Log the finished runs of a results directory to MLflow (again: only what is new).

    Parameters
    ----------
    directory : path
        A results directory written by ``imbalance-lab run`` (it holds ``spec.yaml``).
    tracking_uri : str, optional
        Where to log: ``http://host:port`` for a tracking server, ``sqlite:///...``,
        ... Default: :func:`default_tracking_uri` (a SQLite file in ``directory``,
        with artifacts in ``directory/mlartifacts``).
    report_path : path, optional
        An HTML report to attach to the parent run.
    experiment_name : str, optional
        The MLflow experiment; default: the spec's name.
    request_timeout_s, request_retries : optional
        For a tracking server: seconds before one HTTP request times out, and how
        often a failed request is retried (with a 1 s backoff factor). MLflow's
        defaults (120 s, 7 retries with growing backoff) can wait minutes for a
        server that is down. They are passed to MLflow through its
        ``MLFLOW_HTTP_REQUEST_*`` environment variables, set only during this call
        and restored after it (as is ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``, so
        MLflow prints nothing), which another thread using MLflow meanwhile sees too.

    Returns
    -------
    LogSummary
        Runs logged and skipped; ``error`` is one line when MLflow failed (server
        down, bad URI, no permission, mlflow not installed). Nothing is raised for
        those: the results directory is only read, never written.

    Raises
    ------
    StoreError
        If ``directory`` is not a readable results directory (a user mistake).

    Notes
    -----
    Runs that are broken or were made by another spec (see
    :meth:`ResultStore.scan`) are not logged. A child run left unfinished by an
    interrupted call is deleted and logged again.
    """
    root = Path(directory).resolve()
    spec = read_spec(root)
    runs = ResultStore(root).scan(spec).runs
    uri = tracking_uri or default_tracking_uri(root)
    name = experiment_name or spec.name
    state = _Tally()
    try:
        with _mlflow_settings(request_timeout_s, request_retries):
            _log(root, spec, runs, uri, name, Path(report_path) if report_path else None, state)
    except Exception as err:  # noqa: BLE001  (any MLflow, network, database or file error: results stay safe)
        return LogSummary(state.experiment_id, state.parent_run_id, state.logged, state.skipped, _one_line(err))
    return LogSummary(state.experiment_id, state.parent_run_id, state.logged, state.skipped)


# --------------------------------------------------------------------------- #
# Logging
# --------------------------------------------------------------------------- #


@dataclass
class _Tally:
    """How far a call got, so a failure still reports what was logged."""

    experiment_id: str | None = None
    parent_run_id: str | None = None
    logged: int = 0
    skipped: int = 0


def _log(
    root: Path, spec: ExperimentSpec, runs: list[StoredRun], uri: str, name: str, report: Path | None, state: _Tally
) -> None:
    if report is not None and not report.is_file():
        raise FileNotFoundError(f"report {report} does not exist")
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise RuntimeError("mlflow is not installed; install it with: pip install mlflow") from None

    client = MlflowClient(tracking_uri=uri)
    state.experiment_id = _experiment_id(client, name, _artifact_location(uri))
    parent = _parent_run(client, state.experiment_id, root, spec)
    state.parent_run_id = parent.info.run_id
    _log_parent(client, parent, root, spec, report)

    logged = _finished_children(client, state.experiment_id, parent.info.run_id)
    for stored in runs:
        if stored.result["run_hash"] in logged:
            state.skipped += 1
            continue
        _log_child(client, state.experiment_id, parent.info.run_id, spec, stored)
        state.logged += 1
    client.set_terminated(parent.info.run_id, "FINISHED")


def _experiment_id(client: Any, name: str, artifact_location: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name, artifact_location=artifact_location)
    if experiment.lifecycle_stage != "active":
        raise RuntimeError(
            f"MLflow experiment {name!r} is deleted; restore it in MLflow or log under another experiment name"
        )
    return experiment.experiment_id


def _parent_run(client: Any, experiment_id: str, root: Path, spec: ExperimentSpec) -> Any:
    """The parent run of this directory and spec hash, made when there is none yet."""
    spec_hash = spec.spec_hash()
    query = f"tags.`{TAG_KIND}` = 'experiment' and tags.`{TAG_SPEC_HASH}` = '{spec_hash}'"
    for run in _search(client, experiment_id, query):
        if run.data.tags.get(TAG_DIRECTORY) == str(root):
            return run
    tags = {TAG_KIND: "experiment", TAG_DIRECTORY: str(root), TAG_SPEC_HASH: spec_hash}
    return client.create_run(experiment_id, tags=tags, run_name=spec.name)


def _log_parent(client: Any, parent: Any, root: Path, spec: ExperimentSpec, report: Path | None) -> None:
    from mlflow.entities import Param

    params = {
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash(),
        "n_arms": len(spec.arms),
        "arms": ",".join(arm.name for arm in spec.arms),
        "seeds": ",".join(str(seed) for seed in spec.seeds),
    }
    missing = [Param(k, _text(v, MAX_PARAM_LENGTH)) for k, v in params.items() if k not in parent.data.params]
    if missing:
        client.log_batch(parent.info.run_id, params=missing)
    for path in [root / SPEC_FILE, *(root / f for f in SUMMARY_FILES), report]:
        if path is not None and path.is_file():
            client.log_artifact(parent.info.run_id, str(path))


def _finished_children(client: Any, experiment_id: str, parent_id: str) -> set[str]:
    """Run hashes of the parent's finished children; unfinished ones (an interrupted call) are deleted."""
    done = set()
    for run in _search(client, experiment_id, f"tags.`{TAG_PARENT}` = '{parent_id}'"):
        run_hash = run.data.tags.get(TAG_RUN_HASH)
        if run.info.status == "FINISHED" and run_hash and run_hash not in done:
            done.add(run_hash)
        elif run.info.status != "FINISHED":
            client.delete_run(run.info.run_id)
    return done


def _log_child(client: Any, experiment_id: str, parent_id: str, spec: ExperimentSpec, stored: StoredRun) -> None:
    from mlflow.entities import Param, RunTag

    result = stored.result
    arm = spec.arm(stored.arm)
    tags = {
        TAG_PARENT: parent_id,
        TAG_KIND: "run",
        TAG_RUN_HASH: result["run_hash"],
        TAG_SPEC_HASH: result["spec_hash"],
        "imbalance_lab.arm": stored.arm,
        "imbalance_lab.seed": str(stored.seed),
    }
    run = client.create_run(experiment_id, tags=tags, run_name=f"{stored.arm}/seed-{stored.seed}")
    run_id = run.info.run_id
    extra_tags = [RunTag(f"provenance.{k}", _text(v, MAX_TAG_LENGTH)) for k, v in result.get("provenance", {}).items()]
    if result.get("warnings"):
        extra_tags.append(RunTag("imbalance_lab.warnings", _text("\n".join(result["warnings"]), MAX_TAG_LENGTH)))
    params = [Param(k, _text(v, MAX_PARAM_LENGTH)) for k, v in child_params(spec, arm, result).items()]
    client.log_batch(run_id, metrics=child_metrics(result, int(time.time() * 1000)), params=params, tags=extra_tags)
    client.log_artifact(run_id, str(stored.path / RESULT_FILE))
    client.log_artifact(run_id, str(stored.path / PREDICTIONS_FILE))
    with tempfile.TemporaryDirectory(prefix="imbalance-lab-mlflow-") as tmp:
        plots = _confusion_plots(stored, spec.data.eval_sets, Path(tmp))
        if plots:
            client.log_artifacts(run_id, tmp, artifact_path="plots")
    client.set_terminated(run_id, "FINISHED")


def child_params(spec: ExperimentSpec, arm: ArmSpec, result: dict[str, Any]) -> dict[str, Any]:
    """The parameters of one (arm, seed) run, as MLflow shows them (values become strings)."""
    params: dict[str, Any] = {
        "arm": arm.name,
        "seed": result["seed"],
        "strategy": "+".join(step.name for step in arm.strategy),
        "strategy_params": json.dumps([{step.name: step.params} for step in arm.strategy], sort_keys=True),
        "model": spec.model.name,
        "model_params": json.dumps(spec.model.params, sort_keys=True),
        "data_seed": spec.data.seed,
        "spec_hash": result["spec_hash"],
        "run_hash": result["run_hash"],
    }
    params.update({f"training.{k}": v for k, v in spec.training.model_dump(mode="json").items()})
    params.update({f"train_count.{name}": n for name, n in result["train_counts"].items()})
    return params


def child_metrics(result: dict[str, Any], timestamp_ms: int) -> list[Any]:
    """Per-epoch metrics (``<part>_<name>`` at ``step=epoch``) and final ones (``<set>_<name>``).

    Final metrics are logged at the last epoch's step, one millisecond later, so
    they are each key's latest value; a final value equal to that epoch's
    history entry (the validation metrics, usually) is not logged twice.
    """
    from mlflow.entities import Metric

    metrics, seen = [], {}
    last_step = 0
    for entry in result.get("history", []):
        step = int(entry["epoch"])
        last_step = max(last_step, step)
        for part, values in entry.items():
            if isinstance(values, dict):
                for name, value in _finite(values):
                    metrics.append(Metric(f"{part}_{name}", value, timestamp_ms, step))
                    seen[(f"{part}_{name}", step)] = value
        for name, value in _finite({"lr": entry.get("lr")}):  # the epoch's learning rate (runs since issue 8)
            metrics.append(Metric(name, value, timestamp_ms, step))
    for eval_set, values in result.get("metrics", {}).items():
        for name, value in _finite(values):
            key = f"{eval_set}_{name}"
            if seen.get((key, last_step)) != value:
                metrics.append(Metric(key, value, timestamp_ms + 1, last_step))
    wall = result.get("wall_time_s")
    if isinstance(wall, int | float) and math.isfinite(wall):
        metrics.append(Metric("wall_time_s", float(wall), timestamp_ms + 1, last_step))
    return metrics


def _finite(values: dict[str, Any]) -> Iterator[tuple[str, float]]:
    for name, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            yield name, float(value)


def _search(client: Any, experiment_id: str, query: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs([experiment_id], query, max_results=PAGE_SIZE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


# --------------------------------------------------------------------------- #
# Confusion matrices
# --------------------------------------------------------------------------- #


def _confusion_plots(stored: StoredRun, eval_sets: tuple[str, ...], out: Path) -> list[Path]:
    """``confusion_<set>.png`` in ``out`` for each evaluation set (none when matplotlib is missing)."""
    if importlib.util.find_spec("matplotlib") is None:
        return []
    arrays = stored.predictions()
    class_names = list(stored.result["classes"])
    written = []
    for eval_set in eval_sets:
        if f"{eval_set}_labels" not in arrays:
            continue
        probs = arrays[f"{eval_set}_probs"]
        cm = confusion_matrix(arrays[f"{eval_set}_labels"], predict(probs), probs.shape[1])
        path = out / f"confusion_{eval_set}.png"
        path.write_bytes(confusion_png(cm, class_names, f"{stored.arm} seed {stored.seed}: {eval_set}"))
        written.append(path)
    return written


def confusion_png(cm: np.ndarray, class_names: list[str], title: str) -> bytes:
    """A confusion matrix (rows true, columns predicted) as PNG bytes; counts in the cells up to 20 classes.

    Margins are sized from the class names instead of a layout engine, which
    would draw the figure twice (a third of the time per run logged).
    """
    import io

    from matplotlib.figure import Figure

    n = cm.shape[0]
    names = class_names if len(class_names) == n else [str(i) for i in range(n)]
    labelled = n <= 40
    margin = 0.55 + (0.075 * min(24, max(map(len, names))) if labelled else 0.0)  # inches for tick labels + axis label
    cells = min(9.0, max(1.6, 0.45 * n))
    width, height = cells + margin + 0.3, cells + margin + 0.45
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((margin / width, margin / height, cells / width, cells / height))
    image = ax.imshow(cm, cmap="Blues", aspect="auto")
    ticks = np.arange(n) if labelled else []
    ax.set_xticks(ticks, names if labelled else [], rotation=90 if n > 3 else 0)
    ax.set_yticks(ticks, names if labelled else [])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize="medium")
    if n <= 20:
        threshold = cm.max() / 2
        for (i, j), count in np.ndenumerate(cm):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    else:
        fig.colorbar(image, ax=ax, fraction=0.04)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a new experiment in a local SQLite store go beside the database file.

    (MLflow's own default is ``./mlruns`` relative to the working directory.)
    A server or another store decides for itself: ``None``.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri[len(prefix) :] in ("", ":memory:"):
        return None
    database = Path(uri[len(prefix) :].split("?", 1)[0])
    return (database.parent / ARTIFACTS_DIR).resolve().as_uri()


@contextlib.contextmanager
def _mlflow_settings(timeout_s: float | None, retries: int | None) -> Iterator[None]:
    """Set MLflow's knobs (environment variables, its only interface) for one call, then restore them.

    Always: no "View run at" lines printed to stdout when a run ends on a server.
    """
    settings = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
    if timeout_s is not None:
        settings["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(max(1, math.ceil(timeout_s)))
    if retries is not None:
        settings["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(max(0, int(retries)))
        settings["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = "1"
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _text(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(err: BaseException) -> str:
    message = " ".join(str(err).split()) or type(err).__name__
    return message if len(message) <= 300 else message[:297] + "..."


def log_simulation(
    records: list[dict[str, Any]],
    uri: str,
    experiment_name: str = "simulate",
    request_timeout_s: float | None = None,
    request_retries: int | None = None,
) -> LogSummary:
    """Log a simulation (:mod:`imbalance_lab.simulate`) to MLflow, as seed 003 logs its figures: one run per
    case and draw, its composition and accuracies as parameters, each quantity's expectation, drawn value
    and standard error as metrics. Failures come back as one line in ``error``; nothing is raised."""
    state = _Tally()
    try:
        with _mlflow_settings(request_timeout_s, request_retries):
            from mlflow import MlflowClient
            from mlflow.entities import Metric, Param

            client = MlflowClient(tracking_uri=uri)
            state.experiment_id = _experiment_id(client, experiment_name, _artifact_location(uri))
            groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for record in records:
                key = (record["negatives"], record["positives"], record["acc_neg"], record["acc_pos"], record["draw"])
                groups.setdefault(key, []).append(record)
            now = int(time.time() * 1000)
            for (negatives, positives, acc_neg, acc_pos, draw), group in groups.items():
                run = client.create_run(
                    state.experiment_id,
                    tags={TAG_KIND: "simulation"},
                    run_name=f"{negatives}:{positives} acc {acc_neg}/{acc_pos} {draw}",
                )
                params = [
                    Param(k, str(v))
                    for k, v in (
                        ("negatives", negatives),
                        ("positives", positives),
                        ("acc_neg", acc_neg),
                        ("acc_pos", acc_pos),
                        ("draw", draw),
                    )
                ]
                metrics = []
                for record in group:
                    # MLflow's names take letters, digits, _ - . / and spaces: bce(mean) → bce_mean,
                    # focal(alpha=0.25, gamma=2, sum) → focal_alpha0.25_gamma2_sum
                    name = record["quantity"].replace("(", "_").replace(", ", "_").replace("=", "").replace(")", "")
                    for field, value in (
                        ("expected", record["expected"]),
                        ("drawn", record["drawn"]),
                        ("drawn_se", record["drawn_se"]),
                    ):
                        if value is not None and math.isfinite(value):
                            metrics.append(Metric(f"{field}_{name}", float(value), now, 0))
                client.log_batch(run.info.run_id, metrics=metrics, params=params)
                client.set_terminated(run.info.run_id, "FINISHED")
                state.logged += 1
    except Exception as err:  # noqa: BLE001  (any MLflow, network or database error: the tables are written already)
        return LogSummary(state.experiment_id, None, state.logged, 0, _one_line(err))
    return LogSummary(state.experiment_id, None, state.logged, 0)
