"""``animal_mnist`` declared: Animal-MNIST's silhouettes, read from the installed ``animal-mnist`` package."""

from __future__ import annotations

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels


@SOURCES.declare
def animal_mnist() -> SourceLabels | None:
    """Animal-MNIST silhouettes (10 classes, 28×28 grayscale), from the installed animal-mnist package."""
    return None
