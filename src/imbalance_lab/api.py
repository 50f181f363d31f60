"""The Python API, a façade: ``imbalance_lab.api.run(spec)`` trains and summarises, ``report(DIR)`` and
``compare(DIRS, out)`` analyse stored runs, ``validate(spec)`` checks a spec and loads its data (``check(spec)``
checks them as ``imbalance-lab validate`` does, without loading what it need not),
``run_simulation`` and ``run_sweep`` run seed 003's simulation. Each is
:mod:`imbalance_lab.experiment`'s, where the orchestration lives."""

from __future__ import annotations

from imbalance_lab.experiment import (
    REPORT_FILES,
    Experiment,
    RunsFailed,
    Simulated,
    compare,
    follow,
    load,
    load_summary,
    log_to_mlflow,
    output_dir,
    report,
    run,
    run_experiment,
    run_rounds,
    run_simulation,
    run_sweep,
    scan,
    training_work,
    write_data_samples,
    write_report,
    write_summary,
)
from imbalance_lab.preflight import (
    as_spec,
    check,
    check_disk_space,
    check_model,
    check_reference,
    expected_bytes,
    validate,
)
from imbalance_lab.store import read_spec

__all__ = [
    "REPORT_FILES",
    "Experiment",
    "RunsFailed",
    "Simulated",
    "as_spec",
    "check",
    "check_disk_space",
    "check_model",
    "check_reference",
    "compare",
    "expected_bytes",
    "follow",
    "load",
    "load_summary",
    "log_to_mlflow",
    "output_dir",
    "read_spec",
    "report",
    "run",
    "run_experiment",
    "run_rounds",
    "run_simulation",
    "run_sweep",
    "scan",
    "training_work",
    "validate",
    "write_data_samples",
    "write_report",
    "write_summary",
]
