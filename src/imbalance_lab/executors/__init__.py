"""Executors decide where runs happen; the run function is the same everywhere.

``local`` runs in this process, ``process`` in worker processes that prepare the
data once each; :func:`choose_layout` picks between them. ``distributed`` trains
each run across processes of its own (``execution.distributed``). ``ray`` runs each run
as a task on a Ray cluster (Ray is imported only then). Only the driver writes
the results directory.
"""

from imbalance_lab.executors.distributed import run_distributed
from imbalance_lab.executors.layout import Layout, available_cores, choose_layout
from imbalance_lab.executors.local import plan, run_local
from imbalance_lab.executors.process import RunFailure, run_processes
from imbalance_lab.executors.raycluster import run_ray

__all__ = [
    "Layout",
    "RunFailure",
    "available_cores",
    "choose_layout",
    "plan",
    "run_distributed",
    "run_local",
    "run_processes",
    "run_ray",
]
