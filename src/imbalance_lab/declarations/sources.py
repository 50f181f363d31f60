"""Data sources as a spec declares them (no torch): the registry and each source's parameters.
:mod:`imbalance_lab.data` implements them."""

from __future__ import annotations

from imbalance_lab.registry import Registry

SOURCES: Registry = Registry("data source")
"""Data sources by name: factories ``(**params) -> ImageSet``."""

__all__ = ["SOURCES"]
