"""Executors decide where runs happen; the run function is the same everywhere."""

from imbalance_lab.executors.local import plan, run_local

__all__ = ["plan", "run_local"]
