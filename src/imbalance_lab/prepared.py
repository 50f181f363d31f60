"""The data every arm and seed of an experiment shares: the source decoded once, the plan applied.

:func:`prepare_data` loads the spec's source, resolves the spec against it and
cuts the sets (:mod:`imbalance_lab.splits`); :class:`ExperimentData` then hands
out each evaluation set and each arm's training set as :class:`LabelledImages`, of the plan
``data.seed`` cut or, with ``data.resample: per_seed``, of a run's data draw (:meth:`ExperimentData.split`:
indices derived per run from the one plan; the images are never copied per draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from imbalance_lab.data.base import SOURCES, ImageSet
from imbalance_lab.declarations.sources import SourceLabels
from imbalance_lab.spec import ArmSpec, DataSpec, ExperimentSpec
from imbalance_lab.splits import Resolved, SplitPlan, draw_splits, plan_data


@dataclass(frozen=True)
class LabelledImages:
    """One set's images (uint8 N×C×H×W) and experiment labels (int64, 0..C-1)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class ExperimentData:
    """The data shared by every arm and seed: the resolved plan and its images, decoded once."""

    resolved: Resolved
    plan: SplitPlan
    source: ImageSet
    to_experiment_label: torch.Tensor  # source label -> experiment label (-1 if unused)
    seed: int = 0  # the data seed that cut ``plan``; data draws are seeded from it
    resample_val: bool = False  # data.resample_val: a draw re-cuts the validation set too

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.resolved.classes.names

    @property
    def positive(self) -> int | None:
        return self.resolved.positive

    def subset(self, indices: np.ndarray) -> LabelledImages:
        idx = torch.from_numpy(indices)
        return LabelledImages(self.source.images[idx], self.to_experiment_label[self.source.labels[idx]])

    def split(self, draw: int | None = None) -> SplitPlan:
        """The sets of data draw ``draw`` (:func:`imbalance_lab.splits.draw_splits`); ``None``: the plan
        ``data.seed`` cut, which every run uses without ``data.resample``."""
        if draw is None:
            return self.plan
        classes, counts = self.resolved.classes, self.resolved.set_counts
        return draw_splits(self.plan, classes, counts, self.seed, draw, with_val=self.resample_val)

    def eval_set(self, name: str, draw: int | None = None) -> LabelledImages:
        return self.subset(self.split(draw).sets[name])

    def train_set(self, arm: ArmSpec, draw: int | None = None) -> LabelledImages:
        return self.subset(self.split(draw).train_indices(self.resolved.arm_counts[arm.name]))

    def counts(self, indices: np.ndarray) -> list[int]:
        labels = self.to_experiment_label[self.source.labels[torch.from_numpy(indices)]]
        return torch.bincount(labels, minlength=len(self.class_names)).tolist()


def load_source(data: DataSpec) -> ImageSet:
    """Load (decode) the spec's data source."""
    return SOURCES.create(data.source.name, **data.source.params)


def source_labels(source: ImageSet) -> SourceLabels:
    """What ``source`` holds but its pixels (its labels and partitions as numpy arrays, sharing memory)."""
    partition = source.partition.numpy() if source.partition is not None else None
    return SourceLabels(
        source.class_names, source.labels.numpy(), source.channels, source.image_size, partition, source.partition_names
    )


def prepare_data(spec: ExperimentSpec, source: ImageSet | None = None) -> ExperimentData:
    """Load the source, resolve the spec against it and plan the splits."""
    source = source if source is not None else load_source(spec.data)
    planned = plan_data(spec, source_labels(source))
    mapping = torch.full((len(source.class_names),), -1, dtype=torch.int64)
    for c, group in enumerate(planned.resolved.classes.members):
        mapping[torch.tensor(group)] = c
    return ExperimentData(planned.resolved, planned.plan, source, mapping, spec.data.seed, spec.data.resample_val)
