"""``synthetic`` declared: a tiny generated image source for tests and quick trials, whose labels are known
from its parameters."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels


@SOURCES.declare
def synthetic(
    n_per_class: Annotated[int, Field(ge=1, le=100_000)] = 200,
    n_classes: Annotated[int, Field(ge=2, le=26)] = 2,
    size: Annotated[int, Field(ge=4, le=64)] = 8,
    channels: Annotated[int, Field(ge=1, le=4)] = 1,
    noise: Annotated[float, Field(ge=0, le=255)] = 60.0,
    seed: int = 0,
) -> SourceLabels | None:
    """Noisy images with a bright class-specific bar; classes are named 'a', 'b', 'c', ...

    Class ``k`` has a bright horizontal bar in row band ``k`` (of ``n_classes``
    equal bands), so a small CNN separates the classes within a few epochs while
    the noise keeps it from being trivial.
    """
    names = tuple(chr(ord("a") + k) for k in range(n_classes))
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return SourceLabels(names, labels, channels, (size, size))
