"""The data-source registry and :class:`SourceLabels`, what a source holds but its pixels (no torch).

A source's declaration is a function of its parameters. It checks what it can without the images and
returns the source's :class:`SourceLabels` when it knows them without reading a file (a generated source),
else ``None``; it runs again before the implementation each time the source is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imbalance_lab.registry import Registry

SOURCES: Registry = Registry("data source")
"""Data sources by name: factories ``(**params) -> ImageSet``."""


@dataclass(frozen=True)
class SourceLabels:
    """What a source holds, but its pixels: what a spec is planned against (the classes, the counts, the
    partitions) and the images' shape.

    ``labels`` and ``partition`` are ``int64`` arrays of one entry per image (indices into
    ``class_names`` and ``partition_names``), as :class:`imbalance_lab.data.ImageSet` holds them.
    """

    class_names: tuple[str, ...]
    labels: np.ndarray
    channels: int
    image_size: tuple[int, int]
    partition: np.ndarray | None = None
    partition_names: tuple[str, ...] = ()

    def class_counts(self) -> list[int]:
        """Number of images per source class, indexed by label."""
        return np.bincount(self.labels, minlength=len(self.class_names)).tolist()


__all__ = ["SOURCES", "SourceLabels"]
