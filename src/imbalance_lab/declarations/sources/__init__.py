"""Data sources as a spec declares them (no torch): the registry, each source's parameters, and what a source
can tell without reading its images. :mod:`imbalance_lab.data` implements them.

A source's declaration is a function of its parameters. It checks what it can without the images and
returns the source's :class:`SourceLabels` when it knows them without reading a file (a generated source),
else ``None``; it runs again before the implementation each time the source is loaded. Importing this
package declares every source.
"""

from imbalance_lab.declarations.sources import (  # noqa: F401  (declares the sources)
    animal_mnist,
    hf_dataset,
    image_folder,
    image_list,
    medmnist,
    offline_sets,
    synthetic,
    torchvision_sets,
)
from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels

__all__ = ["SOURCES", "SourceLabels"]
