"""A tiny synthetic image source for tests and quick trials: learnable, seeded, instant."""

from __future__ import annotations

import torch

from imbalance_lab.data.base import SOURCES, ImageSet


@SOURCES.implement
def synthetic(n_per_class: int, n_classes: int, size: int, channels: int, noise: float, seed: int) -> ImageSet:
    """``synthetic`` (:func:`~imbalance_lab.declarations.sources.synthetic.synthetic`): the images drawn from
    ``seed``, each with its class's bar."""
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
