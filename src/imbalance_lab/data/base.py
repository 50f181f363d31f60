"""What every data source yields: decoded uint8 images, integer labels, class names."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from imbalance_lab.declarations.sources import SOURCES


@dataclass(frozen=True)
class ImageSet:
    """Labelled images held in memory, decoded once.

    Parameters
    ----------
    images : torch.Tensor
        ``uint8`` tensor ``N×C×H×W``.
    labels : torch.Tensor
        ``int64`` tensor ``N`` of indices into ``class_names``.
    class_names : tuple of str
        The source's own class names, indexed by label.
    partition : torch.Tensor, optional
        ``int64`` tensor ``N`` of indices into ``partition_names``, for sources
        with published partitions (CIFAR's train and test), so a spec can cut
        each set from one of them (``data.partitions``).
    partition_names : tuple of str
        Names of the partitions (e.g. ``("train", "test")``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    partition: torch.Tensor | None = None
    partition_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 N×C×H×W, got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must be int64 of length {self.images.shape[0]}, got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if self.partition is not None and (self.partition.shape != self.labels.shape or not self.partition_names):
            raise ValueError("partition must be int64 of the labels' length, with partition_names")

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    def class_counts(self) -> list[int]:
        """Number of images per source class, indexed by label."""
        return torch.bincount(self.labels, minlength=len(self.class_names)).tolist()


__all__ = ["SOURCES", "ImageSet"]
