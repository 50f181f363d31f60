"""A tiny synthetic image source for tests and quick trials: learnable, seeded, instant."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field

from imbalance_lab.data.base import SOURCES, ImageSet


@SOURCES.register
def synthetic(
    n_per_class: Annotated[int, Field(ge=1, le=100_000)] = 200,
    n_classes: Annotated[int, Field(ge=2, le=26)] = 2,
    size: Annotated[int, Field(ge=4, le=64)] = 8,
    channels: Annotated[int, Field(ge=1, le=4)] = 1,
    noise: Annotated[float, Field(ge=0, le=255)] = 60.0,
    seed: int = 0,
) -> ImageSet:
    """Noisy images with a bright class-specific bar; classes are named 'a', 'b', 'c', ...

    Class ``k`` has a bright horizontal bar in row band ``k`` (of ``n_classes``
    equal bands), so a small CNN separates the classes within a few epochs while
    the noise keeps it from being trivial.
    """
    gen = torch.Generator().manual_seed(seed)
    n = n_per_class * n_classes
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    base = torch.full((n, channels, size, size), 64.0)
    band = torch.arange(size) * n_classes // size  # which class owns each row
    bar = (band.view(1, size) == labels.view(n, 1)).float()  # n × size rows
    base += 120.0 * bar.view(n, 1, size, 1)
    base += noise * torch.randn(base.shape, generator=gen)
    images = base.clamp(0, 255).round().to(torch.uint8)
    names = tuple(chr(ord("a") + k) for k in range(n_classes))
    return ImageSet(images=images, labels=labels.to(torch.int64), class_names=names)
