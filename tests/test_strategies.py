"""Tests for ``imbalance_lab.strategies``.

Three layers, as imbalanced-learn tests its samplers:

1. a conformance suite parametrized over every registered strategy (a new
   strategy gets these checks without writing a test);
2. each strategy against its formula or definition on a hand-computed case;
3. the class-weight loss checked against its meaning: a weight of ``k`` counts
   an example as ``k`` copies of itself.

Label vectors are shuffled (not sorted by class) so a strategy that assumed
sorted labels would fail.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chisquare

from imbalance_lab.api import validate
from imbalance_lab.errors import SpecError
from imbalance_lab.strategies import (
    STRATEGIES,
    EpochContext,
    RoleClash,
    Strategy,
    StrategyPipeline,
    build_pipeline,
)

NAMES_2 = ("a", "b")
NAMES_3 = ("a", "b", "c")
P_MIN = 1e-3  # chi-square acceptance; the seeds are fixed, so this cannot flake


def make_labels(counts: list[int], seed: int = 0) -> torch.Tensor:
    """Shuffled int64 labels with ``counts[c]`` images of class ``c``."""
    labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    return labels[torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(seed))]


def ctx_counts(counts: torch.Tensor, epoch: int = 1, epochs: int = 10, positive: int | None = None) -> EpochContext:
    """The epoch context of an arm with these training counts per class."""
    return EpochContext(epoch, epochs, torch.as_tensor(counts), positive)


def ctx_of(labels: torch.Tensor, epoch: int = 1) -> EpochContext:
    return ctx_counts(torch.bincount(labels), epoch)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def epoch(steps: list[tuple[str, dict]], labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One epoch of a freshly built pipeline."""
    names = NAMES_2 if int(labels.max()) < 2 else NAMES_3
    return build_pipeline(steps, names).epoch_indices(labels, gen(seed), ctx_of(labels))


def per_class(indices: torch.Tensor, labels: torch.Tensor, n_classes: int) -> list[int]:
    return torch.bincount(labels[indices], minlength=n_classes).tolist()


# --------------------------------------------------------------------------- #
# 1. Conformance: every registered strategy, default parameters
# --------------------------------------------------------------------------- #

LABEL_CASES = {
    "2class_100_10": [100, 10],
    "3class_50_20_5": [50, 20, 5],
    "balanced_30_30": [30, 30],
}


@pytest.fixture(params=STRATEGIES.names())
def strategy_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=list(LABEL_CASES), ids=list(LABEL_CASES))
def counts(request: pytest.FixtureRequest) -> list[int]:
    return LABEL_CASES[request.param]


def class_names_for(counts: list[int]) -> tuple[str, ...]:
    return tuple("abcdefgh"[: len(counts)])


def default_pipeline(name: str, counts: list[int]) -> StrategyPipeline:
    return StrategyPipeline([STRATEGIES.create(name, class_names_for(counts))])


def test_every_strategy_cites_its_paper(strategy_name: str) -> None:
    import inspect
    import re

    doc = inspect.getdoc(STRATEGIES.entry(strategy_name).declaration) or ""
    if strategy_name != "none":
        assert "References" in doc and re.search(r"\((19|20)\d\d\)", doc), f"{strategy_name} cites no paper"


def test_registry_has_the_documented_strategies() -> None:
    assert {"none", "class_weight", "oversample", "undersample"} <= set(STRATEGIES.names())


def test_epoch_indices_are_int64_within_range(strategy_name: str, counts: list[int]) -> None:
    labels = make_labels(counts)
    idx = default_pipeline(strategy_name, counts).epoch_indices(labels, gen(0), ctx_of(labels))
    assert idx.dtype == torch.int64
    assert idx.ndim == 1 and idx.numel() > 0
    assert int(idx.min()) >= 0 and int(idx.max()) < labels.numel()


def test_epoch_keeps_every_class(strategy_name: str, counts: list[int]) -> None:
    labels = make_labels(counts)
    idx = default_pipeline(strategy_name, counts).epoch_indices(labels, gen(0), ctx_of(labels))
    assert set(labels[idx].tolist()) == set(labels.tolist())


def test_same_seed_same_epoch(strategy_name: str, counts: list[int]) -> None:
    labels = make_labels(counts)
    first = [default_pipeline(strategy_name, counts).epoch_indices(labels, gen(7), ctx_of(labels)) for _ in range(2)]
    assert torch.equal(first[0], first[1])
    # several epochs from one generator, as the trainer draws them
    runs = []
    for _ in range(2):
        pipeline, g = default_pipeline(strategy_name, counts), gen(7)
        runs.append(torch.cat([pipeline.epoch_indices(labels, g, ctx_of(labels)) for _ in range(3)]))
    assert torch.equal(runs[0], runs[1])


def test_different_seed_different_epoch(strategy_name: str, counts: list[int]) -> None:
    labels = make_labels(counts)
    a = default_pipeline(strategy_name, counts).epoch_indices(labels, gen(0), ctx_of(labels))
    b = default_pipeline(strategy_name, counts).epoch_indices(labels, gen(1), ctx_of(labels))
    assert not torch.equal(a, b)  # the order at least is reshuffled
    resampled = not torch.equal(torch.sort(a).values, torch.arange(labels.numel()))
    if resampled:  # a stochastic sampler: which images it draws depends on the seed too
        assert not torch.equal(torch.sort(a).values, torch.sort(b).values)


def test_loss_weights_none_or_finite_positive(strategy_name: str, counts: list[int]) -> None:
    weights = default_pipeline(strategy_name, counts).loss_weights(ctx_counts(torch.tensor(counts)))
    if weights is not None:
        assert weights.is_floating_point()
        assert weights.shape == (len(counts),)
        assert bool(torch.isfinite(weights).all()) and bool((weights > 0).all())


def test_params_are_json_and_rebuild_the_strategy(strategy_name: str) -> None:
    strategy = STRATEGIES.create(strategy_name, NAMES_2)
    params = strategy.params()
    assert json.loads(json.dumps(params)) == params
    assert STRATEGIES.create(strategy_name, NAMES_2, **params).params() == params


def test_none_visits_each_image_once_unweighted(counts: list[int]) -> None:
    labels = make_labels(counts)
    pipeline = default_pipeline("none", counts)
    g = gen(0)
    for _ in range(3):
        idx = pipeline.epoch_indices(labels, g, ctx_of(labels))
        assert torch.equal(torch.sort(idx).values, torch.arange(labels.numel()))
    assert pipeline.loss_weights(ctx_counts(torch.tensor(counts))) is None


# --------------------------------------------------------------------------- #
# 2. class_weight: formula and parameter rules
# --------------------------------------------------------------------------- #


def test_explicit_weights_in_class_order() -> None:
    strategy = STRATEGIES.create("class_weight", NAMES_2, weights={"b": 10, "a": 1})
    weights = strategy.loss_weights(ctx_counts(torch.tensor([400, 40])))
    assert weights.dtype == torch.float32
    assert weights.tolist() == [1.0, 10.0]
    assert strategy.loss_weights(ctx_counts(torch.tensor([5, 500]))).tolist() == [1.0, 10.0]  # counts ignored


def test_default_weights_are_inverse() -> None:
    assert STRATEGIES.create("class_weight", NAMES_2).params() == {"weights": "inverse"}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([400, 40], [440 / (2 * 400), 440 / (2 * 40)]),  # 0.55, 5.5
        ([50, 20, 5], [75 / (3 * 50), 75 / (3 * 20), 75 / (3 * 5)]),  # 0.5, 1.25, 5
        ([30, 30], [1.0, 1.0]),
    ],
)
def test_inverse_weights_formula(counts: list[int], expected: list[float]) -> None:
    strategy = STRATEGIES.create("class_weight", class_names_for(counts), weights="inverse")
    weights = strategy.loss_weights(ctx_counts(torch.tensor(counts)))
    torch.testing.assert_close(weights, torch.tensor(expected, dtype=torch.float32))


def test_inverse_weights_make_classes_count_equally() -> None:
    counts = torch.tensor([400, 40, 7])
    weights = STRATEGIES.create("class_weight", NAMES_3).loss_weights(ctx_counts(counts))
    per_class_total = weights * counts
    torch.testing.assert_close(per_class_total, torch.full((3,), counts.sum() / 3.0))


def test_composed_class_weights_multiply() -> None:
    pipeline = build_pipeline(
        [("class_weight", {"weights": {"a": 1, "b": 10}}), ("class_weight", {"weights": "inverse"})], NAMES_2
    )
    torch.testing.assert_close(pipeline.loss_weights(ctx_counts(torch.tensor([400, 40]))), torch.tensor([0.55, 55.0]))
    twice = build_pipeline([("class_weight", {"weights": {"a": 2, "b": 3}})] * 2, NAMES_2)
    assert twice.loss_weights(ctx_counts(torch.tensor([1, 1]))).tolist() == [4.0, 9.0]


@pytest.mark.parametrize(
    ("weights", "named"),
    [({"a": 1, "b": 10, "c": 2}, "'c'"), ({"a": 1}, "'b'")],
    ids=["unknown_class", "missing_class"],
)
def test_weights_must_name_each_class_exactly(weights: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named) as info:
        STRATEGIES.create("class_weight", NAMES_2, weights=weights)
    assert "inverse" in str(info.value)  # says what else is valid


def test_weights_class_error_is_a_spec_error_before_running() -> None:
    spec = {
        "name": "t",
        "data": {
            "source": {"type": "synthetic", "n_per_class": 20},
            "classes": {"a": 0, "b": 1},
            "positive": "b",
            "splits": {"pool": {"a": 5, "b": 5}, "val": {"a": 2, "b": 2}, "test": {"a": 2, "b": 2}},
        },
        "arms": [{"name": "w", "train": {"a": 5, "b": 5}, "strategy": {"class_weight": {"weights": {"a": 1}}}}],
    }
    with pytest.raises(SpecError, match="'b'") as info:
        validate(spec)  # class names are known once the source's classes are resolved
    assert info.value.field == "arms[0].strategy[0].class_weight"


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_weights_must_be_positive_and_finite(bad: float) -> None:
    with pytest.raises(SpecError) as info:
        STRATEGIES.check_params("class_weight", {"weights": {"a": bad, "b": 1}})
    assert "weights" in info.value.field
    assert info.value.field.endswith(".a")  # names the class with the bad weight
    with pytest.raises(SpecError):
        STRATEGIES.create("class_weight", NAMES_2, weights={"a": bad, "b": 1})


def test_weight_error_field_path_has_no_pydantic_internals() -> None:
    # The path should read like the user's YAML: class_weight.weights.a
    with pytest.raises(SpecError) as info:
        STRATEGIES.check_params("class_weight", {"weights": {"a": 0, "b": 1}})
    assert info.value.field == "class_weight.weights.a"


def test_unknown_weights_word_says_inverse_is_valid() -> None:
    with pytest.raises(SpecError) as info:
        STRATEGIES.check_params("class_weight", {"weights": "inv"})
    assert "inverse" in str(info.value)


@pytest.mark.parametrize("name", ["oversample", "undersample"])
@pytest.mark.parametrize("ratio", [0, 1.5, -0.5])
def test_ratio_must_be_in_0_1(name: str, ratio: float) -> None:
    with pytest.raises(SpecError) as info:
        STRATEGIES.check_params(name, {"ratio": ratio})
    assert info.value.field == f"{name}.ratio"
    assert str(ratio) in str(info.value)
    with pytest.raises(SpecError, match="ratio"):
        STRATEGIES.create(name, NAMES_2, ratio=ratio)


def test_ratio_bounds_accepted() -> None:
    assert STRATEGIES.check_params("oversample", {"ratio": 1}) == {"ratio": 1.0}
    assert STRATEGIES.check_params("undersample", {"ratio": 0.01}) == {"ratio": 0.01}


def test_draw_must_be_each_epoch_or_once() -> None:
    with pytest.raises(SpecError) as info:
        STRATEGIES.check_params("undersample", {"draw": "sometimes"})
    assert info.value.field == "undersample.draw"
    assert "'sometimes'" in str(info.value) and "each_epoch" in str(info.value) and "once" in str(info.value)


def test_unknown_parameter_lists_valid_ones() -> None:
    with pytest.raises(SpecError, match="ratio") as info:
        STRATEGIES.check_params("oversample", {"ratoi": 0.5})
    assert info.value.field == "oversample.ratoi"


# --------------------------------------------------------------------------- #
# 3. Samplers against their definitions
# --------------------------------------------------------------------------- #

LABELS_400_40 = make_labels([400, 40])
MAJORITY = torch.nonzero(LABELS_400_40 == 0).flatten()
MINORITY = torch.nonzero(LABELS_400_40 == 1).flatten()


def appearances(idx: torch.Tensor) -> torch.Tensor:
    return torch.bincount(idx, minlength=LABELS_400_40.numel())


def test_oversample_ratio_1_balances_and_keeps_originals() -> None:
    pipeline = build_pipeline([("oversample", {"ratio": 1.0})], NAMES_2)
    g = gen(0)
    extra_draws = torch.zeros(LABELS_400_40.numel(), dtype=torch.int64)
    n_epochs = 200
    for _ in range(n_epochs):
        idx = pipeline.epoch_indices(LABELS_400_40, g, ctx_of(LABELS_400_40))
        assert per_class(idx, LABELS_400_40, 2) == [400, 400]
        seen = appearances(idx)
        assert bool((seen[MAJORITY] == 1).all())  # majority untouched
        assert bool((seen[MINORITY] >= 1).all())  # every original minority image kept
        extra_draws += seen - 1
    minority_extras = extra_draws[MINORITY]
    assert int(minority_extras.sum()) == n_epochs * 360
    # extra draws are uniform over the minority images
    assert chisquare(minority_extras.numpy()).pvalue > P_MIN


def test_oversample_extra_draws_are_redrawn_each_epoch() -> None:
    pipeline = build_pipeline([("oversample", {"ratio": 1.0})], NAMES_2)
    g = gen(0)
    first, second = (
        torch.sort(pipeline.epoch_indices(LABELS_400_40, g, ctx_of(LABELS_400_40))).values for _ in range(2)
    )
    assert not torch.equal(first, second)


def test_oversample_tops_up_without_replacing_originals() -> None:
    # 100:90 needs only 10 extra draws; redrawing the whole class would lose ~30 originals
    labels = make_labels([100, 90])
    pipeline = build_pipeline([("oversample", {})], NAMES_2)
    g = gen(0)
    for _ in range(5):
        seen = torch.bincount(pipeline.epoch_indices(labels, g, ctx_of(labels)), minlength=labels.numel())
        assert bool((seen >= 1).all())
        assert int(seen[labels == 1].sum()) == 100 and int(seen.sum()) == 200


def test_oversample_ratio_half() -> None:
    idx = epoch([("oversample", {"ratio": 0.5})], LABELS_400_40)
    assert per_class(idx, LABELS_400_40, 2) == [400, 200]
    assert bool((appearances(idx)[MINORITY] >= 1).all())


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.0, [50, 50, 50]),
        (0.5, [50, 25, 25]),  # round(0.5 * 50) = 25
        (0.3, [50, 20, 15]),  # b already has 20 > 15: never reduced
        (0.01, [50, 20, 5]),  # target round(0.5) = 0: nothing to add
    ],
)
def test_oversample_three_classes(ratio: float, expected: list[int]) -> None:
    labels = make_labels([50, 20, 5])
    idx = epoch([("oversample", {"ratio": ratio})], labels)
    assert per_class(idx, labels, 3) == expected
    assert bool((torch.bincount(idx, minlength=labels.numel()) >= 1).all())  # nothing dropped


def test_undersample_ratio_1_draws_majority_without_replacement() -> None:
    idx = epoch([("undersample", {"ratio": 1.0})], LABELS_400_40)
    assert per_class(idx, LABELS_400_40, 2) == [40, 40]
    seen = appearances(idx)
    assert int(seen.max()) == 1  # no image twice: drawn without replacement
    assert bool((seen[MINORITY] == 1).all())  # minority kept whole


def test_undersample_each_epoch_redraws_and_covers_majority() -> None:
    pipeline = build_pipeline([("undersample", {"ratio": 1.0, "draw": "each_epoch"})], NAMES_2)
    g = gen(0)
    n_epochs = 200
    subsets = []
    total = torch.zeros(LABELS_400_40.numel(), dtype=torch.int64)
    for _ in range(n_epochs):
        idx = pipeline.epoch_indices(LABELS_400_40, g, ctx_of(LABELS_400_40))
        total += appearances(idx)
        subsets.append(set(idx[LABELS_400_40[idx] == 0].tolist()))
    assert all(a != b for a, b in zip(subsets, subsets[1:]))  # consecutive epochs differ
    majority_seen = total[MAJORITY]
    assert bool((majority_seen >= 1).all())  # all 400 majority images seen over the run
    assert int(majority_seen.sum()) == n_epochs * 40
    assert chisquare(majority_seen.numpy()).pvalue > P_MIN  # roughly uniform


def test_undersample_once_keeps_one_subset_per_pipeline() -> None:
    def subsets(seed: int) -> list[set[int]]:
        pipeline = build_pipeline([("undersample", {"ratio": 1.0, "draw": "once"})], NAMES_2)
        g = gen(seed)
        out = []
        for _ in range(5):
            idx = pipeline.epoch_indices(LABELS_400_40, g, ctx_of(LABELS_400_40))
            assert per_class(idx, LABELS_400_40, 2) == [40, 40]
            out.append(set(idx[LABELS_400_40[idx] == 0].tolist()))
        return out

    run = subsets(0)
    assert all(s == run[0] for s in run)
    assert len(run[0]) == 40
    assert subsets(0)[0] == run[0]  # same seed, same subset
    assert subsets(1)[0] != run[0]  # the subset depends on the run's seed


def test_undersample_ratio_half() -> None:
    idx = epoch([("undersample", {"ratio": 0.5})], LABELS_400_40)
    assert per_class(idx, LABELS_400_40, 2) == [80, 40]
    assert int(appearances(idx).max()) == 1


@pytest.mark.parametrize(("ratio", "expected"), [(1.0, [5, 5, 5]), (0.5, [10, 10, 5]), (0.2, [25, 20, 5])])
def test_undersample_three_classes(ratio: float, expected: list[int]) -> None:
    labels = make_labels([50, 20, 5])
    idx = epoch([("undersample", {"ratio": ratio})], labels)
    assert per_class(idx, labels, 3) == expected


def test_oversample_then_undersample_apply_in_order() -> None:
    steps = [("oversample", {"ratio": 0.5}), ("undersample", {"ratio": 1.0})]
    idx = epoch(steps, LABELS_400_40)
    # oversample: 400:40 -> 400:200; then undersample: -> 200:200
    assert per_class(idx, LABELS_400_40, 2) == [200, 200]
    assert int(appearances(idx)[MAJORITY].max()) == 1
    # the other order gives a different stream: 40:40, then nothing to oversample
    reverse = epoch(steps[::-1], LABELS_400_40)
    assert per_class(reverse, LABELS_400_40, 2) == [40, 40]


def test_samplers_leave_loss_weights_alone() -> None:
    for name in ("oversample", "undersample", "none"):
        assert build_pipeline([(name, {})], NAMES_2).loss_weights(ctx_counts(torch.tensor([400, 40]))) is None
    mixed = build_pipeline([("oversample", {}), ("class_weight", {"weights": {"a": 1, "b": 2}})], NAMES_2)
    assert mixed.loss_weights(ctx_counts(torch.tensor([400, 40]))).tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------- #
# 4. The class-weight loss means "k copies of the example"
# --------------------------------------------------------------------------- #


def test_class_weight_equals_duplicated_examples() -> None:
    g = gen(0)
    x = torch.randn(7, 4, generator=g)
    y = torch.tensor([0, 1, 2, 1, 0, 2, 2])
    weight = torch.randn(3, 4, generator=g).requires_grad_()
    bias = torch.randn(3, generator=g).requires_grad_()
    w = STRATEGIES.create("class_weight", NAMES_3, weights={"a": 1, "b": 3, "c": 2}).loss_weights(
        ctx_counts(torch.bincount(y))
    )

    def loss_and_grads(xs: torch.Tensor, ys: torch.Tensor, example_weights: torch.Tensor | None, reduce: str):
        per_example = F.cross_entropy(xs @ weight.T + bias, ys, reduction="none")
        if example_weights is not None:
            per_example = per_example * example_weights
        loss = per_example.sum() if reduce == "sum" else per_example.mean()
        return (loss.detach(), *torch.autograd.grad(loss, [weight, bias]))

    copies = w[y].to(torch.int64)
    x_dup, y_dup = x.repeat_interleave(copies, dim=0), y.repeat_interleave(copies)
    assert x_dup.shape[0] == 1 * 2 + 3 * 2 + 2 * 3

    weighted = loss_and_grads(x, y, w[y], "sum")  # sum_i w[y_i] * CE_i
    duplicated = loss_and_grads(x_dup, y_dup, None, "sum")
    for a, b in zip(weighted, duplicated):
        torch.testing.assert_close(a, b)

    # train.py's batch loss is mean_i(w[y_i] * CE_i): the same, scaled by 1 / batch size
    trainer_form = loss_and_grads(x, y, w[y], "mean")
    for a, b in zip(trainer_form, duplicated):
        torch.testing.assert_close(a * y.numel(), b)

    # and the weights matter: the unweighted loss is not the duplicated one
    unweighted = loss_and_grads(x, y, None, "sum")
    assert not torch.allclose(unweighted[1], duplicated[1])
    assert not math.isclose(float(unweighted[0]), float(duplicated[0]))


# --------------------------------------------------------------------------- #
# 5. The whole registry in the one trainer: trains, is seeded, composes
# --------------------------------------------------------------------------- #

TRAINING_SPEC = {
    "name": "conformance",
    "data": {
        "source": {"type": "synthetic", "n_per_class": 40, "n_classes": 3, "size": 8},
        "classes": "all",
        "splits": {"pool": {"balanced": 30}, "val": {"balanced": 4}, "test": {"balanced": 6}},
    },
    "arms": [],
    "model": {"name": "simple_cnn", "width": 2, "hidden": 8},
    "training": {"epochs": 2, "batch_size": 16, "lr": 0.01},
}


def conformance_spec(strategy: list) -> dict:
    spec = json.loads(json.dumps(TRAINING_SPEC))
    # deferred strategies switch on in the second epoch; cRT adds one epoch of its own
    params = {"drw": {"start": 0.5}, "drs": {"start": 0.5}, "influence_balanced": {"start": 0.5}, "crt": {"epochs": 1}}
    steps = [{s: params[s]} if s in params else s for s in strategy]
    spec["arms"] = [{"name": "arm", "train": {"profile": "exponential", "n_max": 30, "ratio": 10}, "strategy": steps}]
    return spec


def train_twice(strategy: list):
    from imbalance_lab import build_spec, run_one

    spec = build_spec(conformance_spec(strategy))
    return run_one(spec, "arm", 5), run_one(spec, "arm", 5)


def test_every_strategy_trains_reproducibly(strategy_name: str) -> None:
    first, second = train_twice([strategy_name])
    for name in ("val", "test"):
        a, b = first.predictions[name], second.predictions[name]
        assert np.isfinite(a.logits).all() and np.isfinite(a.probs).all()
        np.testing.assert_array_equal(a.logits, b.logits)  # bit-identical under the run's seed on CPU
        np.testing.assert_allclose(a.probs.sum(axis=1), 1.0, atol=1e-5)
    assert first.history and [h["train"]["loss"] for h in first.history] == [h["train"]["loss"] for h in second.history]
    assert all(math.isfinite(h["train"]["loss"]) for h in first.history)


def test_every_strategy_composes_with_weights_and_a_sampler(strategy_name: str) -> None:
    first, second = train_twice([strategy_name, "class_balanced", "oversample"])
    np.testing.assert_array_equal(first.predictions["test"].logits, second.predictions["test"].logits)


def test_strategies_that_share_a_role_are_refused_naming_both() -> None:
    from imbalance_lab.declarations.strategies import ROLE_WORDS
    from imbalance_lab.strategies import check_strategies

    names = STRATEGIES.names()
    roles = {n: STRATEGIES.entry(n).declaration.roles for n in names}
    assert {r for rs in roles.values() for r in rs} == set(ROLE_WORDS)  # every role is held by some strategy
    for a in names:
        for b in names:
            steps = [(a, {}), (b, {})]
            if roles[a] & roles[b]:
                with pytest.raises(SpecError) as info:
                    check_strategies(steps, NAMES_3, "arms[0].strategy")
                assert f"{a} and {b} both" in str(info.value)
                assert info.value.field == "arms[0].strategy[1]"
            elif {"views", "mixing"} <= roles[a] | roles[b]:  # views and mixing exclude each other too
                with pytest.raises(SpecError, match=f"{a} and {b}: an arm either mixes batches or trains on two views"):
                    check_strategies(steps, NAMES_3, "arms[0].strategy")
            else:
                check_strategies(steps, NAMES_3, "arms[0].strategy")


def test_two_losses_in_a_spec_is_a_one_line_error() -> None:
    spec = conformance_spec(["focal", "ldam"])
    with pytest.raises(SpecError, match="focal and ldam both define the loss") as info:
        validate(spec)
    assert "\n" not in str(info.value)


def test_a_pipeline_refuses_two_owners_of_a_role_whoever_builds_it() -> None:
    """The one-owner rule is the pipeline's own: built directly (as the trainer's caller could), a second
    loss is refused, not silently ignored behind the first."""
    with pytest.raises(RoleClash, match="focal and ldam both define the loss") as info:
        build_pipeline([("none", {}), ("focal", {}), ("ldam", {})], NAMES_3)
    assert info.value.index == 2
    with pytest.raises(RoleClash, match="crt and crt both add a training stage"):
        StrategyPipeline([STRATEGIES.create("crt", NAMES_3), STRATEGIES.create("crt", NAMES_3)])
    assert build_pipeline([("focal", {}), ("class_weight", {})], NAMES_3).loss_owner.name == "focal"


def test_binary_only_forms_are_refused_with_three_classes() -> None:
    spec = conformance_spec([])
    spec["arms"][0]["strategy"] = [{"focal": {"form": "sigmoid"}}]
    with pytest.raises(SpecError, match="two classes") as info:
        validate(spec)
    assert info.value.field == "arms[0].strategy[0].focal"


def _run(spec_dict: dict, arm: str, seed: int = 0):
    from imbalance_lab import build_spec, run_one

    return run_one(build_spec(spec_dict), arm, seed)


def test_none_and_unit_weights_train_exactly_as_plain_training(tiny_spec) -> None:
    tiny_spec["arms"] = [
        {"name": "plain", "train": {"a": 60, "b": 6}},
        {"name": "none_twice", "train": {"a": 60, "b": 6}, "strategy": ["none", "none"]},
        {"name": "unit", "train": {"a": 60, "b": 6}, "strategy": {"class_weight": {"weights": {"a": 1, "b": 1}}}},
        {"name": "weighted", "train": {"a": 60, "b": 6}, "strategy": {"class_weight": {"weights": {"a": 1, "b": 3}}}},
        {"name": "balanced_cb", "train": {"a": 60, "b": 6}, "strategy": {"class_balanced": {"beta": 0}}},
    ]
    plain = _run(tiny_spec, "plain")
    for arm in ("none_twice", "unit", "balanced_cb"):  # β = 0: every effective-number weight is 1
        np.testing.assert_array_equal(_run(tiny_spec, arm).predictions["test"].logits, plain.predictions["test"].logits)
    weighted = _run(tiny_spec, "weighted")
    assert not np.array_equal(weighted.predictions["test"].logits, plain.predictions["test"].logits)


def test_the_trainer_applies_class_weights_to_its_loss(tiny_spec) -> None:
    # the loss the trainer reports for a weighted arm is the weighted one: weights {a: 1, b: k} on an
    # untrained model scale the minority's share of the first batches' loss
    tiny_spec["training"]["lr"] = 1e-12  # the model stays (numerically) where it started
    tiny_spec["training"]["epochs"] = 1
    tiny_spec["arms"] = [
        {"name": "plain", "train": {"a": 60, "b": 6}},
        {"name": "w", "train": {"a": 60, "b": 6}, "strategy": {"class_weight": {"weights": {"a": 2, "b": 2}}}},
    ]
    plain, doubled = _run(tiny_spec, "plain"), _run(tiny_spec, "w")
    assert doubled.history[0]["train"]["loss"] == pytest.approx(2 * plain.history[0]["train"]["loss"], rel=1e-5)


def test_a_strategy_that_changes_the_finished_model_must_declare_it():
    """The spec reads ``changes_finished_model`` from the declaration (no rule may choose an epoch for such an
    arm) and the trainer reads the same flag: a strategy overriding ``finish_model`` without it is refused
    where it is defined."""
    with pytest.raises(TypeError, match="overrides finish_model: set changes_finished_model = True"):

        class Undeclared(Strategy):
            name = "undeclared"

            def finish_model(self, model, ctx):
                pass

    class Declared(Strategy):
        name = "declared"
        changes_finished_model = True

        def finish_model(self, model, ctx):
            pass

    assert StrategyPipeline([Declared(["a", "b"])]).changes_finished_model
    assert not StrategyPipeline([STRATEGIES.create("none", ["a", "b"])]).changes_finished_model
    assert StrategyPipeline([STRATEGIES.create("tau_norm", ["a", "b"])]).changes_finished_model
