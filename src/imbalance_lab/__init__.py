"""imbalance-lab: controlled, repeatable experiments on class-imbalanced image classification.

The names below are loaded when first used, so that ``import imbalance_lab.errors`` (or the command line's
``--help``) does not import torch and every layer of the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imbalance_lab.version import __version__

if TYPE_CHECKING:
    from imbalance_lab.experiment import Experiment, load_summary
    from imbalance_lab.notebook import load, run_experiment
    from imbalance_lab.preflight import validate
    from imbalance_lab.results import RunResult
    from imbalance_lab.runner import run_one
    from imbalance_lab.spec import ExperimentSpec, build_spec, load_spec

    run = run_experiment

_WHERE = {  # public name -> the module that defines it
    "load_summary": "imbalance_lab.experiment",
    "validate": "imbalance_lab.preflight",
    "run_one": "imbalance_lab.runner",
    "Experiment": "imbalance_lab.experiment",
    "load": "imbalance_lab.notebook",
    "run_experiment": "imbalance_lab.notebook",
    "run": "imbalance_lab.notebook",  # imbalance_lab.run(spec) does what `imbalance-lab run spec` does
    "RunResult": "imbalance_lab.results",
    "ExperimentSpec": "imbalance_lab.spec",
    "build_spec": "imbalance_lab.spec",
    "load_spec": "imbalance_lab.spec",
}
_ALIASES = {"run": "run_experiment"}

__all__ = [
    "Experiment",
    "ExperimentSpec",
    "RunResult",
    "__version__",
    "build_spec",
    "load",
    "load_spec",
    "load_summary",
    "run",
    "run_experiment",
    "run_one",
    "validate",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module when first asked for (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'imbalance_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
