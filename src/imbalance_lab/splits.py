"""The split planner: per class, which images go to the evaluation sets and the train pool.

Rules (tested as properties):

* Sets are disjoint and exact in count.
* They depend only on the data seed: each class is shuffled with its own
  generator seeded by ``(data seed, source label)``, so adding a class or an arm
  changes nothing else.
* Evaluation sets are cut first (val, test, then others in declared order) and
  the pool last, so growing the pool never moves a test image.
* An arm's training set takes the first ``n`` images of each class's pool, so a
  smaller arm is a subset of a larger one ("unbalanced" dogs ⊂ "balanced" dogs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from imbalance_lab.data import SOURCES, ImageSet
from imbalance_lab.errors import SpecError
from imbalance_lab.spec import ArmSpec, DataSpec, ExperimentSpec


@dataclass(frozen=True)
class SplitPlan:
    """Source indices per set, and per experiment class the pool in draw order."""

    sets: dict[str, np.ndarray]
    pool_by_class: tuple[np.ndarray, ...]

    def train_indices(self, train_counts: list[int]) -> np.ndarray:
        """Source indices of an arm's training set: the first ``n_c`` pool images of each class."""
        return np.concatenate([pool[:n] for pool, n in zip(self.pool_by_class, train_counts, strict=True)])


def resolve_classes(data: DataSpec, source: ImageSet) -> list[int]:
    """The source label of each experiment class (a label index or a source class name)."""
    labels = []
    for name, ref in data.classes.items():
        if isinstance(ref, str):
            if ref not in source.class_names:
                raise SpecError(f"data.classes.{name}", f"got {ref!r}, not a class of this source; valid: {', '.join(source.class_names)}")
            labels.append(source.class_names.index(ref))
        else:
            if not 0 <= ref < len(source.class_names):
                listing = ", ".join(f"{i} {n}" for i, n in enumerate(source.class_names))
                raise SpecError(f"data.classes.{name}", f"got {ref}, not a class label of this source; valid: {listing}")
            labels.append(ref)
        if labels.count(labels[-1]) > 1:
            other = list(data.classes)[labels.index(labels[-1])]
            raise SpecError(f"data.classes.{name}", f"got {ref!r}, the same source class as {other!r}; give each class its own source class")
    return labels


def set_order(data: DataSpec) -> tuple[str, ...]:
    """The order in which sets are cut from each class: evaluation sets first, pool last."""
    return (*data.eval_sets, "pool")


def check_source(data: DataSpec, source: ImageSet) -> list[int]:
    """Check the spec's classes and counts against the source; return the source labels."""
    labels = resolve_classes(data, source)
    available = source.class_counts()
    for name, label in zip(data.classes, labels, strict=True):
        wanted = sum(data.splits[s][name] for s in set_order(data))
        if wanted > available[label]:
            parts = " + ".join(f"{s} {data.splits[s][name]}" for s in set_order(data))
            raise SpecError(
                f"data.splits.*.{name}",
                f"class {name!r} needs {wanted} images ({parts}) but the source has {available[label]}; "
                f"{wanted - available[label]} missing: lower its counts",
            )
    return labels


def plan_splits(source_labels: np.ndarray, class_labels: list[int], data: DataSpec) -> SplitPlan:
    """Cut the per-class sets from ``source_labels`` (counts already checked)."""
    sets: dict[str, list[np.ndarray]] = {s: [] for s in set_order(data)}
    pools = []
    for name, label in zip(data.classes, class_labels, strict=True):
        members = np.flatnonzero(source_labels == label)
        rng = np.random.default_rng([data.seed, label])
        members = members[rng.permutation(members.size)]
        start = 0
        for set_name in set_order(data):
            n = data.splits[set_name][name]
            sets[set_name].append(members[start:start + n])
            start += n
        pools.append(sets["pool"][-1])
    return SplitPlan({s: np.concatenate(parts) for s, parts in sets.items()}, tuple(pools))


@dataclass(frozen=True)
class LabelledImages:
    """One set's images (uint8 N×C×H×W) and experiment labels (int64, 0..C-1)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class ExperimentData:
    """The data shared by every arm and seed: the split plan and its images, decoded once."""

    class_names: tuple[str, ...]
    positive: int | None
    plan: SplitPlan
    source: ImageSet
    to_experiment_label: torch.Tensor  # source label -> experiment label (-1 if unused)

    def subset(self, indices: np.ndarray) -> LabelledImages:
        idx = torch.from_numpy(indices)
        return LabelledImages(self.source.images[idx], self.to_experiment_label[self.source.labels[idx]])

    def eval_set(self, name: str) -> LabelledImages:
        return self.subset(self.plan.sets[name])

    def train_set(self, arm: ArmSpec) -> LabelledImages:
        return self.subset(self.plan.train_indices([arm.train[c] for c in self.class_names]))

    def counts(self, indices: np.ndarray) -> list[int]:
        labels = self.to_experiment_label[self.source.labels[torch.from_numpy(indices)]]
        return torch.bincount(labels, minlength=len(self.class_names)).tolist()


def load_source(data: DataSpec) -> ImageSet:
    """Load (decode) the spec's data source."""
    return SOURCES.create(data.source.name, **data.source.params)


def prepare_data(spec: ExperimentSpec, source: ImageSet | None = None) -> ExperimentData:
    """Load the source, check it against the spec and plan the splits."""
    data = spec.data
    source = source if source is not None else load_source(data)
    labels = check_source(data, source)
    plan = plan_splits(source.labels.numpy(), labels, data)
    mapping = torch.full((len(source.class_names),), -1, dtype=torch.int64)
    mapping[torch.tensor(labels)] = torch.arange(len(labels))
    positive = data.class_names.index(data.positive) if data.positive is not None else None
    return ExperimentData(data.class_names, positive, plan, source, mapping)
