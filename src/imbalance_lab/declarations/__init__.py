"""What every registry entry accepts, declared without torch: the data sources, models and strategies by
name, with their parameters and the checks that need no tensors.

A spec is checked against these alone (``imbalance-lab validate`` answers without importing torch); the
modules that build the entries (:mod:`imbalance_lab.data`, :mod:`imbalance_lab.models`,
:mod:`imbalance_lab.strategies`) implement them (:meth:`imbalance_lab.registry.Registry.implement`).
"""

from imbalance_lab.declarations.models import MODELS
from imbalance_lab.declarations.sources import SOURCES
from imbalance_lab.declarations.strategies import STRATEGIES

__all__ = ["MODELS", "SOURCES", "STRATEGIES"]
