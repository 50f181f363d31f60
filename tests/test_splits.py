"""Tests for ``imbalance_lab.splits``: the split plan's rules, as properties.

Property tests (hypothesis, derandomized so a run is repeatable) draw small
specs and source label vectors with images of classes the spec does not name,
shuffled so no class is stored contiguously. Explicit tests cover the spec
checks against a source and the real Animal-MNIST demo split.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from imbalance_lab.errors import SpecError
from imbalance_lab.spec import DataSpec, build_spec
from imbalance_lab.splits import SplitPlan, check_source, plan_splits, prepare_data, resolve_classes

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True, database=None)
SETS = ("val", "test", "pool")
N_SOURCE_LABELS = 6


def spec_dict(
    classes: dict[str, Any],
    splits: dict[str, dict[str, int]],
    *,
    seed: int = 0,
    n_per_class: int = 60,
    n_source_classes: int = 2,
    arms: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A minimal valid spec on the synthetic source (positive: the last class)."""
    return {
        "name": "splits_test",
        "data": {
            "source": {"type": "synthetic", "n_per_class": n_per_class, "n_classes": n_source_classes},
            "classes": dict(classes),
            "positive": list(classes)[-1],
            "seed": seed,
            "splits": splits,
        },
        "arms": arms or [{"name": "all", "train": dict(splits["pool"])}],
    }


def data_spec(classes: dict[str, Any], splits: dict[str, dict[str, int]], seed: int = 0) -> DataSpec:
    return build_spec(spec_dict(classes, splits, seed=seed)).data


def counts_by_label(indices: np.ndarray, source_labels: np.ndarray, label: int) -> int:
    return int(np.count_nonzero(source_labels[indices] == label))


def all_sets(plan: SplitPlan) -> list[np.ndarray]:
    return [plan.sets[s] for s in SETS]


# --------------------------------------------------------------------------- #
# Drawn cases
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Case:
    """A drawn spec and a source label vector with enough images for it (plus spares)."""

    names: tuple[str, ...]
    class_labels: tuple[int, ...]  # source label of each experiment class
    splits: dict[str, dict[str, int]]
    seed: int
    spare: tuple[int, ...]  # images per class beyond the spec's needs
    source_labels: np.ndarray

    def data(self, **changes: Any) -> DataSpec:
        splits = changes.get("splits", self.splits)
        classes = dict(zip(self.names, self.class_labels))
        return data_spec(classes, splits, seed=changes.get("seed", self.seed))

    def plan(self, **changes: Any) -> SplitPlan:
        return plan_splits(self.source_labels, list(self.class_labels), self.data(**changes))


@st.composite
def cases(draw: st.DrawFn, n_classes: int | None = None) -> Case:
    c = n_classes or draw(st.sampled_from([2, 3]))
    names = ("a", "b", "c")[:c]
    class_labels = tuple(draw(st.permutations(range(N_SOURCE_LABELS)))[:c])
    splits = {s: {n: draw(st.integers(0, 8)) for n in names} for s in ("val", "test")}
    splits["pool"] = {n: draw(st.integers(1, 8)) for n in names}
    spare = tuple(draw(st.integers(0, 6)) for _ in names)
    n_other = draw(st.integers(0, 10))  # images of source classes the spec does not name
    seed = draw(st.integers(0, 2**32 - 1))
    order_seed = draw(st.integers(0, 2**16))
    parts = [np.full(sum(splits[s][n] for s in SETS) + k, lab) for n, lab, k in zip(names, class_labels, spare)]
    unused = [lab for lab in range(N_SOURCE_LABELS) if lab not in class_labels]
    parts.append(np.resize(np.array(unused), n_other))
    labels = np.concatenate(parts).astype(np.int64)
    labels = labels[np.random.default_rng(order_seed).permutation(labels.size)]
    return Case(names, class_labels, splits, seed, spare, labels)


# --------------------------------------------------------------------------- #
# Properties of plan_splits
# --------------------------------------------------------------------------- #


@PROPERTY
@given(cases())
def test_sets_are_disjoint(case: Case) -> None:
    sets = all_sets(case.plan())
    for s in sets:
        assert np.unique(s).size == s.size  # no image twice within a set
    joined = np.concatenate(sets)
    assert np.unique(joined).size == joined.size  # nor across sets


@PROPERTY
@given(cases())
def test_sets_have_exact_counts_of_named_classes_only(case: Case) -> None:
    plan = case.plan()
    for set_name in SETS:
        indices = plan.sets[set_name]
        assert indices.dtype.kind == "i"
        assert np.isin(case.source_labels[indices], case.class_labels).all()
        for name, label in zip(case.names, case.class_labels):
            assert counts_by_label(indices, case.source_labels, label) == case.splits[set_name][name]
    for pool, name, label in zip(plan.pool_by_class, case.names, case.class_labels):
        assert pool.size == case.splits["pool"][name]
        assert (case.source_labels[pool] == label).all()
    assert np.array_equal(np.sort(np.concatenate(plan.pool_by_class)), np.sort(plan.sets["pool"]))


@PROPERTY
@given(cases())
def test_same_seed_same_sets(case: Case) -> None:
    first, second = case.plan(), case.plan()
    for a, b in zip(all_sets(first), all_sets(second)):
        assert np.array_equal(a, b)


@PROPERTY
@given(cases(), st.data())
def test_growing_the_pool_leaves_val_and_test_alone(case: Case, data: st.DataObject) -> None:
    grow = {n: data.draw(st.integers(0, k), label=f"grow_{n}") for n, k in zip(case.names, case.spare)}
    bigger = {**case.splits, "pool": {n: case.splits["pool"][n] + grow[n] for n in case.names}}
    small, large = case.plan(), case.plan(splits=bigger)
    assert np.array_equal(small.sets["val"], large.sets["val"])
    assert np.array_equal(small.sets["test"], large.sets["test"])
    for pool_small, pool_large in zip(small.pool_by_class, large.pool_by_class):
        assert np.array_equal(pool_small, pool_large[: pool_small.size])  # old pool is the new pool's prefix


@PROPERTY
@given(cases(n_classes=3))
def test_adding_a_class_leaves_the_others_alone(case: Case) -> None:
    two = Case(
        case.names[:2],
        case.class_labels[:2],
        {s: {n: c for n, c in counts.items() if n in case.names[:2]} for s, counts in case.splits.items()},
        case.seed,
        case.spare[:2],
        case.source_labels,
    )
    with_two, with_three = two.plan(), case.plan()
    for set_name in SETS:
        three = with_three.sets[set_name]
        kept = three[np.isin(case.source_labels[three], two.class_labels)]
        assert np.array_equal(with_two.sets[set_name], kept)
    for a, b in zip(with_two.pool_by_class, with_three.pool_by_class[:2]):
        assert np.array_equal(a, b)


@PROPERTY
@given(cases(), st.data())
def test_smaller_arm_is_a_subset_of_a_larger_one(case: Case, data: st.DataObject) -> None:
    plan = case.plan()
    pool = [case.splits["pool"][n] for n in case.names]
    large = [data.draw(st.integers(0, p), label="large") for p in pool]
    small = [data.draw(st.integers(0, n), label="small") for n in large]
    small_idx, large_idx = plan.train_indices(small), plan.train_indices(large)
    assert np.isin(small_idx, large_idx).all()
    assert np.isin(large_idx, plan.sets["pool"]).all()
    for n, label in zip(small, case.class_labels):
        assert counts_by_label(small_idx, case.source_labels, label) == n
    # each class's images are a prefix of that class's pool
    for pool_c, n, label in zip(plan.pool_by_class, small, case.class_labels):
        assert np.array_equal(small_idx[case.source_labels[small_idx] == label], pool_c[:n])


def test_different_seed_different_sets() -> None:
    labels = np.repeat(np.arange(2), 100)
    splits = {"pool": {"a": 40, "b": 40}, "val": {"a": 20, "b": 10}, "test": {"a": 20, "b": 10}}
    plans = [plan_splits(labels, [0, 1], data_spec({"a": 0, "b": 1}, splits, seed=s)) for s in (0, 1, 2**40)]
    for i, a in enumerate(plans):
        for b in plans[i + 1:]:
            for set_name in SETS:
                assert not np.array_equal(np.sort(a.sets[set_name]), np.sort(b.sets[set_name]))


def test_classes_are_shuffled_independently_by_label() -> None:
    # the same counts for two classes must not pick the same positions within each class
    labels = np.repeat(np.arange(2), 100)
    splits = {"pool": {"a": 40, "b": 40}, "val": {"a": 20, "b": 20}, "test": {"a": 20, "b": 20}}
    plan = plan_splits(labels, [0, 1], data_spec({"a": 0, "b": 1}, splits))
    a_pos, b_pos = plan.pool_by_class[0], plan.pool_by_class[1] - 100
    assert not np.array_equal(a_pos, b_pos)


def test_extra_eval_sets_are_cut_before_the_pool() -> None:
    labels = np.repeat(np.arange(2), 60)
    base = {"pool": {"a": 20, "b": 20}, "val": {"a": 10, "b": 5}, "test": {"a": 10, "b": 5}}
    with_calib = {**base, "calib": {"a": 5, "b": 5}}
    plain = plan_splits(labels, [0, 1], data_spec({"a": 0, "b": 1}, base))
    extra = plan_splits(labels, [0, 1], data_spec({"a": 0, "b": 1}, with_calib))
    assert np.array_equal(plain.sets["val"], extra.sets["val"])
    assert np.array_equal(plain.sets["test"], extra.sets["test"])
    assert counts_by_label(extra.sets["calib"], labels, 0) == 5
    joined = np.concatenate([extra.sets[s] for s in ("val", "test", "calib", "pool")])
    assert np.unique(joined).size == joined.size


# --------------------------------------------------------------------------- #
# prepare_data: the data every arm shares
# --------------------------------------------------------------------------- #

TWO_SPLITS = {"pool": {"a": 30, "b": 30}, "val": {"a": 10, "b": 4}, "test": {"a": 12, "b": 6}}
TWO_ARMS = [{"name": "balanced", "train": {"a": 30, "b": 30}}, {"name": "unbalanced", "train": {"a": 30, "b": 3}}]


def test_every_arm_shares_val_and_test() -> None:
    spec = build_spec(spec_dict({"a": 0, "b": 1}, TWO_SPLITS, arms=TWO_ARMS))
    one_arm = build_spec(spec_dict({"a": 0, "b": 1}, TWO_SPLITS, arms=TWO_ARMS[1:]))
    data, other = prepare_data(spec), prepare_data(one_arm)
    for name, expected in (("val", [10, 4]), ("test", [12, 6])):
        first = data.eval_set(name)
        data.train_set(spec.arm("balanced"))  # building an arm's set changes nothing
        for again in (data.eval_set(name), other.eval_set(name)):
            assert torch.equal(first.images, again.images)
            assert torch.equal(first.labels, again.labels)
        assert torch.bincount(first.labels, minlength=2).tolist() == expected
    balanced, unbalanced = (data.train_set(spec.arm(n)) for n in ("balanced", "unbalanced"))
    assert torch.bincount(balanced.labels).tolist() == [30, 30]
    assert torch.bincount(unbalanced.labels).tolist() == [30, 3]
    assert torch.equal(unbalanced.images[:30], balanced.images[:30])  # the same majority images


def test_experiment_labels_follow_class_order() -> None:
    # classes named in reverse source order: experiment label 0 is source label 1
    splits = {"pool": {"y": 5, "x": 5}, "val": {"y": 2, "x": 3}, "test": {"y": 2, "x": 3}}
    data = prepare_data(build_spec(spec_dict({"y": 1, "x": 0}, splits, n_per_class=20)))
    assert data.class_names == ("y", "x")
    assert data.positive == 1
    val = data.eval_set("val")
    assert torch.bincount(val.labels, minlength=2).tolist() == [2, 3]
    assert torch.equal(data.source.labels[torch.from_numpy(data.plan.sets["val"])], 1 - val.labels)


def test_source_too_small_names_class_and_shortfall() -> None:
    splits = {"pool": {"a": 10, "b": 15}, "val": {"a": 5, "b": 5}, "test": {"a": 5, "b": 5}}
    spec = build_spec(spec_dict({"a": 0, "b": 1}, splits, n_per_class=20))
    with pytest.raises(SpecError) as info:
        prepare_data(spec)
    message = str(info.value)
    assert info.value.field == "data.splits.*.b"
    assert "'b'" in message and "25" in message and "5 missing" in message
    assert "'a'" not in message  # class a (20 of 20) fits


def test_resolve_classes_accepts_source_class_names() -> None:
    splits = {"pool": {"x": 5, "y": 5}, "val": {"x": 2, "y": 2}, "test": {"x": 2, "y": 2}}
    spec = build_spec(spec_dict({"x": "c", "y": "a"}, splits, n_per_class=20, n_source_classes=3))
    data = prepare_data(spec)
    assert resolve_classes(spec.data, data.source) == [2, 0]
    assert check_source(spec.data, data.source) == [2, 0]
    pool = data.plan.sets["pool"]
    assert sorted(set(data.source.labels[torch.from_numpy(pool)].tolist())) == [0, 2]


@pytest.mark.parametrize(("ref", "shown"), [("zebra", "'zebra'"), (5, "5"), (-1, "-1")])
def test_resolve_classes_rejects_unknown_class(ref: Any, shown: str) -> None:
    splits = {"pool": {"x": 5, "y": 5}, "val": {"x": 2, "y": 2}, "test": {"x": 2, "y": 2}}
    spec = build_spec(spec_dict({"x": "a", "y": ref}, splits, n_per_class=20))
    with pytest.raises(SpecError) as info:
        prepare_data(spec)
    assert info.value.field == "data.classes.y"
    message = str(info.value)
    assert shown in message
    assert "a" in message and "b" in message  # lists what is valid


def test_one_source_class_cannot_be_two_experiment_classes() -> None:
    # 'b' is source label 1: x and y would share (and overlap in) every set
    splits = {"pool": {"x": 5, "y": 5}, "val": {"x": 2, "y": 2}, "test": {"x": 2, "y": 2}}
    with pytest.raises(SpecError) as info:
        prepare_data(build_spec(spec_dict({"x": "b", "y": 1}, splits, n_per_class=20)))
    assert info.value.field.startswith("data.classes")


def test_negative_data_seed_is_a_spec_error_or_works() -> None:
    try:
        spec = build_spec(spec_dict({"a": 0, "b": 1}, TWO_SPLITS, seed=-1))
    except SpecError as err:
        assert err.field == "data.seed"
        return
    data = prepare_data(spec)  # accepted at load, so it must plan
    assert data.plan.sets["pool"].size == 60


# --------------------------------------------------------------------------- #
# The real data set of the demo
# --------------------------------------------------------------------------- #


@pytest.mark.skipif(importlib.util.find_spec("animal_mnist") is None, reason="animal-mnist not installed")
def test_animal_mnist_demo_split() -> None:
    splits = {"pool": {"cat": 400, "dog": 400}, "val": {"cat": 200, "dog": 20}, "test": {"cat": 400, "dog": 40}}
    spec = build_spec({
        "name": "cats_vs_dogs",
        "data": {"source": "animal_mnist", "classes": {"cat": 2, "dog": 4}, "positive": "dog", "seed": 0, "splits": splits},
        "arms": [{"name": "balanced", "train": {"cat": 400, "dog": 400}}, {"name": "unbalanced", "train": {"cat": 400, "dog": 40}}],
    })
    data = prepare_data(spec)
    source_labels = data.source.labels.numpy()
    assert data.source.class_names[2] == "cat" and data.source.class_names[4] == "dog"
    for set_name in SETS:
        indices = data.plan.sets[set_name]
        assert set(source_labels[indices].tolist()) == {2, 4}
        assert counts_by_label(indices, source_labels, 2) == splits[set_name]["cat"]
        assert counts_by_label(indices, source_labels, 4) == splits[set_name]["dog"]
    joined = np.concatenate(all_sets(data.plan))
    assert joined.size == 1460 and np.unique(joined).size == joined.size
    assert torch.bincount(data.eval_set("test").labels).tolist() == [400, 40]
    assert torch.bincount(data.train_set(spec.arm("unbalanced")).labels).tolist() == [400, 40]
