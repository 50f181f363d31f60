"""The split planner: which images go to the evaluation sets, the train pool and each arm.

A spec says *how many* images per class each set gets (explicit counts, a
fraction, a majority count and ratio, a long-tail profile, balanced or
representative); :func:`resolve` turns that into exact per-class counts and
checks them against the source, and :func:`plan_splits` picks the images.

Rules (tested as properties):

* Sets are disjoint and exact in count.
* They depend only on the data seed: each class is shuffled with its own
  generator seeded by ``(data seed, its source labels)``, so adding a class or an
  arm changes nothing else.
* Evaluation sets are cut first (val, test, then others in declared order) and
  the pool last, so growing the pool never moves a test image.
* An arm's training set takes the first ``n`` images of each class's pool, so a
  smaller arm is a subset of a larger one ("unbalanced" dogs ⊂ "balanced" dogs).
* With ``data.resample: per_seed``, each data draw puts every class's pool (and,
  with ``resample_val``, its validation images and pool together) in its own
  order (:func:`draw_splits`); the test set and every other evaluation set stay
  as the data seed cut them, and the arms of one draw still nest.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from imbalance_lab.declarations.sources import SourceLabels
from imbalance_lab.declarations.strategies import check_strategies
from imbalance_lab.errors import SpecError
from imbalance_lab.spec import (
    BalancedPlan,
    CountsPlan,
    DataSpec,
    ExperimentSpec,
    FractionPlan,
    ProfilePlan,
    RatioPlan,
    RepresentativePlan,
)

REST = "rest"


# ----------------------------------------------------------------------------- classes
@dataclass(frozen=True)
class ClassMap:
    """The experiment's classes, each a group of one or more source labels."""

    names: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]

    def member_names(self, source_names: tuple[str, ...]) -> dict[str, list[str]]:
        return {n: [source_names[m] for m in ms] for n, ms in zip(self.names, self.members, strict=True)}


def _source_label(ref: int | str, field: str, source_names: tuple[str, ...]) -> int:
    if isinstance(ref, str):
        if ref not in source_names:
            raise SpecError(field, f"got {ref!r}, not a class of this source; valid: {', '.join(source_names)}")
        return source_names.index(ref)
    if not 0 <= ref < len(source_names):
        listing = ", ".join(f"{i} {n}" for i, n in enumerate(source_names))
        raise SpecError(field, f"got {ref}, not a class label of this source; valid: {listing}")
    return ref


def resolve_classes(data: DataSpec, source_names: tuple[str, ...]) -> ClassMap:
    """Resolve ``data.classes`` (labels, names, groups, ``rest``, ``all``) against the source."""
    refs = data.classes
    if refs == "all":
        refs = list(range(len(source_names)))
    if isinstance(refs, list):
        labels = [_source_label(r, f"data.classes[{i}]", source_names) for i, r in enumerate(refs)]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise SpecError(
                    f"data.classes[{i}]",
                    f"source class {source_names[label]!r} is listed twice; list each source class once",
                )
        refs = {source_names[label]: label for label in labels}
    members: dict[str, tuple[int, ...]] = {}
    owner: dict[int, str] = {}
    for name, ref in refs.items():
        if ref == REST:
            continue
        group = ref if isinstance(ref, list) else [ref]
        if not group:
            raise SpecError(f"data.classes.{name}", "the group is empty; list at least one source class")
        labels = [_source_label(r, f"data.classes.{name}", source_names) for r in group]
        for label in labels:
            if label in owner:
                raise SpecError(
                    f"data.classes.{name}",
                    f"source class {source_names[label]!r} is already used by "
                    f"{owner[label]!r}; give each source class to one experiment class",
                )
            owner[label] = name
        members[name] = tuple(labels)
    rest = [name for name, ref in refs.items() if ref == REST]
    if len(rest) > 1:
        raise SpecError(
            f"data.classes.{rest[1]}", "only one class can be 'rest' (every source class not named elsewhere)"
        )
    if rest:
        others = tuple(label for label in range(len(source_names)) if label not in owner)
        if not others:
            raise SpecError(f"data.classes.{rest[0]}", "'rest' is empty: every source class is already used")
        members[rest[0]] = others
    names = tuple(refs)
    if len(names) < 2:
        raise SpecError("data.classes", "name at least two classes")
    return ClassMap(names, tuple(members[n] for n in names))


# ----------------------------------------------------------------------------- counts
def largest_remainder(total: int, weights: np.ndarray) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum to ``total`` exactly."""
    share = total * weights / weights.sum()
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()


def profile_counts(profile: str, n_max: int, ratio: float, n_classes: int, mu: float = 0.5) -> list[int]:
    """Long-tail counts: exponential (Cao et al. 2019) or step (Buda et al. 2018)."""
    if profile == "exponential":
        return [math.floor(n_max * ratio ** (-i / (n_classes - 1)) + 1e-9) for i in range(n_classes)]
    n_minority = math.floor(mu * n_classes + 0.5)  # halves round up
    return [n_max] * (n_classes - n_minority) + [math.floor(n_max / ratio + 1e-9)] * n_minority


def plan_counts(
    plan: object,
    field: str,
    names: tuple[str, ...],
    *,
    available: list[int],
    positive: int | None,
    world: np.ndarray,
) -> list[int]:
    """Exact per-class counts for one set's plan (``field`` names it in errors)."""
    if isinstance(plan, CountsPlan):
        counts = plan.root
        for key in counts:
            if key not in names:
                raise SpecError(f"{field}.{key}", f"unknown class {key!r}; the classes are: {', '.join(names)}")
        missing = [c for c in names if c not in counts]
        if missing:
            raise SpecError(field, f"no count for class {missing[0]!r}; give one for each of: {', '.join(names)}")
        return [counts[c] for c in names]
    if isinstance(plan, FractionPlan):
        return [math.floor(plan.fraction * n + 1e-9) for n in available]
    if isinstance(plan, RatioPlan):
        if len(names) != 2 or positive is None:
            raise SpecError(
                field, "majority + ratio needs two classes and a positive class; use per-class counts or a profile"
            )
        minority = math.floor(plan.majority / plan.ratio + 1e-9)
        return [minority if i == positive else plan.majority for i in range(2)]
    if isinstance(plan, ProfilePlan):
        return profile_counts(plan.profile, plan.n_max, plan.ratio, len(names), plan.mu)
    if isinstance(plan, BalancedPlan):
        return [plan.balanced] * len(names)
    if isinstance(plan, RepresentativePlan):
        return largest_remainder(plan.representative, world)
    raise TypeError(f"unknown set plan {plan!r}")


# ----------------------------------------------------------------------------- resolution
@dataclass(frozen=True)
class Resolved:
    """A spec made concrete against its source: classes, exact counts per set and arm."""

    classes: ClassMap
    positive: int | None
    world: tuple[float, ...]
    set_counts: dict[str, list[int]]
    arm_counts: dict[str, list[int]]
    partition_of_set: dict[str, int] | None = None  # set -> source partition index, when cut per partition


def set_order(data: DataSpec) -> tuple[str, ...]:
    """The order in which sets are cut from each class: evaluation sets first, pool last."""
    return (*data.eval_sets, "pool")


def resolve(spec: ExperimentSpec, source: SourceLabels) -> Resolved:
    """Check everything that depends on the source's classes and sizes; one :class:`SpecError` if not."""
    data = spec.data
    classes = resolve_classes(data, source.class_names)
    names = classes.names
    per_label = source.class_counts()
    available = [sum(per_label[m] for m in ms) for ms in classes.members]
    positive = None
    if data.positive is not None:
        if data.positive not in names:
            raise SpecError(
                "data.positive", f"got {data.positive!r}, which is not one of the classes ({', '.join(names)})"
            )
        positive = names.index(data.positive)
    elif len(names) == 2:
        raise SpecError(
            "data.positive",
            f"a two-class experiment must name its positive (minority) class, one of: {', '.join(names)}",
        )
    if data.world is not None:
        for key in data.world:
            if key not in names:
                raise SpecError(f"data.world.{key}", f"unknown class {key!r}; the classes are: {', '.join(names)}")
        missing = [c for c in names if c not in data.world]
        if missing:
            raise SpecError(
                "data.world", f"no frequency for class {missing[0]!r}; give one for each of: {', '.join(names)}"
            )
        world = np.array([data.world[c] for c in names], dtype=np.float64)
    else:
        world = np.array(available, dtype=np.float64)
    world = world / world.sum()
    if spec.decisions is not None:
        spec.decisions.check_classes(names)
    partition_of_set = _partitions(data, source)
    # what each set can draw from: the whole class, or the class within the set's partition
    labels_np, part_np = source.labels, source.partition

    def available_in(set_name: str) -> list[int]:
        if partition_of_set is None:
            return available
        inside = part_np == partition_of_set[set_name]
        return [int(np.isin(labels_np[inside], ms).sum()) for ms in classes.members]

    set_counts = {}
    for s in set_order(data):
        kw = {"available": available_in(s), "positive": positive, "world": world}
        set_counts[s] = plan_counts(data.splits[s], f"data.splits.{s}", names, **kw)
    groups = (
        {None: list(set_order(data))}
        if partition_of_set is None
        else {
            p: [s for s in set_order(data) if partition_of_set[s] == p] for p in sorted(set(partition_of_set.values()))
        }
    )
    for p, sets in groups.items():
        have = available_in(sets[0])
        where = "" if p is None else f" in partition {source.partition_names[p]!r}"
        for c, name in enumerate(names):
            wanted = sum(set_counts[s][c] for s in sets)
            if wanted > have[c]:
                parts = " + ".join(f"{s} {set_counts[s][c]}" for s in sets)
                raise SpecError(
                    f"data.splits.*.{name}",
                    f"class {name!r} needs {wanted} images{where} ({parts}) but the source has {have[c]}; "
                    f"{wanted - have[c]} missing: lower its counts",
                )
    kw = {"available": available, "positive": positive, "world": world}
    pool = set_counts["pool"]
    arm_counts = {}
    for i, arm in enumerate(spec.arms):
        where = arm.where(i)
        counts = plan_counts(arm.train, f"{where}.train", names, **{**kw, "available": pool})
        for c, name in enumerate(names):
            if counts[c] > pool[c]:
                raise SpecError(
                    f"{where}.train.{name}",
                    f"got {counts[c]}, more than the {pool[c]} images of the pool "
                    f"(data.splits.pool); lower it or enlarge the pool",
                )
        if sum(counts) == 0:
            raise SpecError(f"{where}.train", "the training set is empty; give at least one image")
        check_strategies([(s.name, s.params) for s in arm.strategy], names, f"{where}.strategy")
        arm_counts[arm.name] = counts
        unseen = [name for name, n in zip(names, counts, strict=True) if n == 0]
        if unseen:
            warnings.warn(
                f"{where}.train: arm {arm.name!r} has no training images of class {', '.join(map(repr, unseen))}; "
                "it will never predict it from learning (give it at least one image if that is not intended)",
                UnseenClassWarning,
                stacklevel=2,
            )
    return Resolved(classes, positive, tuple(world.tolist()), set_counts, arm_counts, partition_of_set)


class UnseenClassWarning(UserWarning):
    """An arm trains without any image of a class."""


def _partitions(data: DataSpec, source: SourceLabels) -> dict[str, int] | None:
    """``data.partitions`` as set -> partition index, checked against the source."""
    if data.partitions is None:
        return None
    if source.partition is None:
        raise SpecError(
            "data.partitions",
            f"the source {data.source.name!r} has no published partitions; "
            "remove data.partitions (or use a source such as cifar10 with split: all)",
        )
    out = {}
    for set_name, part in data.partitions.items():
        if set_name not in data.splits:
            raise SpecError(
                f"data.partitions.{set_name}", f"unknown set {set_name!r}; the sets are: {', '.join(data.splits)}"
            )
        if part not in source.partition_names:
            raise SpecError(
                f"data.partitions.{set_name}",
                f"got {part!r}; this source's partitions are: {', '.join(source.partition_names)}",
            )
        out[set_name] = source.partition_names.index(part)
    missing = [s for s in data.splits if s not in out]
    if missing:
        raise SpecError(
            "data.partitions", f"no partition for set {missing[0]!r}; name one for each of: {', '.join(data.splits)}"
        )
    return out


# ----------------------------------------------------------------------------- images
@dataclass(frozen=True)
class SplitPlan:
    """Source indices per set, and per experiment class the pool in draw order."""

    sets: dict[str, np.ndarray]
    pool_by_class: tuple[np.ndarray, ...]

    def train_indices(self, train_counts: list[int]) -> np.ndarray:
        """Source indices of an arm's training set: the first ``n_c`` pool images of each class."""
        return np.concatenate([pool[:n] for pool, n in zip(self.pool_by_class, train_counts, strict=True)])


def plan_splits(
    source_labels: np.ndarray,
    classes: ClassMap,
    set_counts: dict[str, list[int]],
    seed: int,
    partition: np.ndarray | None = None,
    partition_of_set: dict[str, int] | None = None,
) -> SplitPlan:
    """Cut the per-class sets in ``set_counts`` order (counts already checked).

    With ``partition_of_set``, each set is cut from its class's images in that
    source partition (each class × partition shuffled by its own generator).
    """
    sets: dict[str, list[np.ndarray]] = {s: [] for s in set_counts}
    pools = []
    for c, group in enumerate(classes.members):
        members = np.flatnonzero(np.isin(source_labels, group))
        if partition_of_set is None:
            streams = {None: members[np.random.default_rng([seed, *sorted(group)]).permutation(members.size)]}
        else:
            streams = {}
            for p in sorted(set(partition_of_set.values())):
                inside = members[partition[members] == p]
                streams[p] = inside[np.random.default_rng([seed, *sorted(group), 1000 + p]).permutation(inside.size)]
        start = dict.fromkeys(streams, 0)
        for set_name, counts in set_counts.items():
            p = None if partition_of_set is None else partition_of_set[set_name]
            sets[set_name].append(streams[p][start[p] : start[p] + counts[c]])
            start[p] += counts[c]
        pools.append(sets["pool"][-1])
    return SplitPlan({s: np.concatenate(parts) for s, parts in sets.items()}, tuple(pools))


@dataclass(frozen=True)
class DataPlan:
    """A spec's data planned against its source's labels: the classes and counts (:class:`Resolved`), the
    source indices of every set (:class:`SplitPlan`), and the labels they were planned from. No image is
    needed for it, so ``imbalance-lab validate`` can answer with it before any image is read where a source
    knows its labels (:class:`~imbalance_lab.declarations.sources.SourceLabels`)."""

    resolved: Resolved
    plan: SplitPlan
    source: SourceLabels

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.resolved.classes.names


def plan_data(spec: ExperimentSpec, source: SourceLabels) -> DataPlan:
    """Resolve the spec against the source's labels and cut the sets with the data seed."""
    resolved = resolve(spec, source)
    plan = plan_splits(
        source.labels,
        resolved.classes,
        resolved.set_counts,
        spec.data.seed,
        source.partition,
        resolved.partition_of_set,
    )
    return DataPlan(resolved, plan, source)


def draw_splits(
    plan: SplitPlan,
    classes: ClassMap,
    set_counts: dict[str, list[int]],
    seed: int,
    draw: int,
    *,
    with_val: bool = False,
) -> SplitPlan:
    """The sets of data draw ``draw`` (``data.resample: per_seed``), from the plan the data seed cut.

    Each class's pool is put in a new order by a generator seeded by ``(data seed, draw, the class's
    source labels)``: the ``draw``-th child (``spawn_key=(draw,)``) of the seed sequence that cut the
    class, so draws are independent of one another and of that cut, and the same in every arm, process
    and rerun. Arms then take the first ``n`` images of each class's new order, so within a draw a
    smaller arm is still a subset of a larger one. With ``with_val``, the class's validation images and
    its pool are ordered together and the validation set takes the first ones (as many as before), the
    pool the rest. Every other set (test, extra evaluation sets) is the plan's own, and the images a
    draw uses are those the plan uses, so nothing is copied or decoded again and a features cache keyed
    by image serves every draw.
    """
    val_ends = np.cumsum(set_counts["val"])
    vals, pools = [], []
    for c, group in enumerate(classes.members):
        pool = plan.pool_by_class[c]
        val = plan.sets["val"][val_ends[c] - set_counts["val"][c] : val_ends[c]]
        generator = np.random.default_rng(np.random.SeedSequence([seed, *sorted(group)], spawn_key=(draw,)))
        if with_val:
            both = np.concatenate([val, pool])
            both = both[generator.permutation(both.size)]
            val, pool = both[: val.size], both[val.size :]
        else:
            pool = pool[generator.permutation(pool.size)]
        vals.append(val)
        pools.append(pool)
    return SplitPlan({**plan.sets, "val": np.concatenate(vals), "pool": np.concatenate(pools)}, tuple(pools))
