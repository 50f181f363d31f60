"""imbalance-lab: controlled, repeatable experiments on class-imbalanced image classification."""

__version__ = "0.1.0"

from imbalance_lab.api import load_summary, validate  # noqa: E402
from imbalance_lab.experiment import run_one  # noqa: E402
from imbalance_lab.notebook import Experiment, load, run_experiment  # noqa: E402

run = run_experiment  # imbalance_lab.run(spec) does what `imbalance-lab run spec` does (DESIGN.md: one obvious way)
from imbalance_lab.results import RunResult  # noqa: E402
from imbalance_lab.spec import ExperimentSpec, build_spec, load_spec  # noqa: E402

__all__ = ["Experiment", "ExperimentSpec", "RunResult", "__version__", "build_spec", "load", "load_spec",
           "load_summary", "run", "run_experiment", "run_one", "validate"]
