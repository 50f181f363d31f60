"""Data draws (issue 26): ``data.resample: per_seed`` and ``seeds: {draws, train}``.

Properties of a draw's sets (the evaluation sets stay as the data seed cut them, counts are exact, arms nest,
draws differ from one another and repeat themselves), the default path left exactly as it was (hashes and
results), the spec's one-line errors, the executors and branching on draws, and a small experiment of 2 draws
× 2 training seeds run from the command line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import TINY_SPEC, cli, run_cli, write_spec
from imbalance_lab import api, run_one
from imbalance_lab.analysis.draws import draw_variance
from imbalance_lab.data import SOURCES
from imbalance_lab.errors import SpecError
from imbalance_lab.executors.branching import Branch, Chain, chains
from imbalance_lab.prepared import ExperimentData, prepare_data
from imbalance_lab.spec import build_spec
from imbalance_lab.stats.variance import variance_components
from test_executors import assert_same_runs, stored

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
SOURCE = {"type": "synthetic", "n_per_class": 120, "size": 8}
ARMS = [  # nested: small ⊂ unbalanced ⊂ balanced, per class
    {"name": "balanced", "train": {"a": 40, "b": 40}},
    {"name": "unbalanced", "train": {"a": 40, "b": 4}},
    {"name": "small", "train": {"a": 10, "b": 2}},
]


def draws_spec(seeds: Any = None, **data: Any) -> dict[str, Any]:
    """The tiny spec with a pool larger than every arm and an extra evaluation set."""
    spec = copy.deepcopy(TINY_SPEC)
    spec["data"]["splits"] = {
        "pool": {"a": 60, "b": 60},
        "val": {"a": 15, "b": 10},
        "test": {"a": 25, "b": 10},
        "test_balanced": {"a": 10, "b": 10},
    }
    spec["data"].update(data)
    spec["arms"] = copy.deepcopy(ARMS)
    if seeds is not None:
        spec["seeds"] = seeds
    return spec


_source = SOURCES.create("synthetic", n_per_class=120, size=8)


def prepared(spec: dict[str, Any]) -> ExperimentData:
    return prepare_data(build_spec(spec), _source)


def by_class(data: ExperimentData, indices: np.ndarray) -> list[set[int]]:
    """The source indices of each experiment class."""
    labels = data.to_experiment_label[data.source.labels[torch.from_numpy(indices)]].numpy()
    return [set(indices[labels == c].tolist()) for c in range(len(data.class_names))]


# --------------------------------------------------------------------------- #
# A draw's sets
# --------------------------------------------------------------------------- #


@PROPERTY
@given(data_seed=st.integers(0, 2**32 - 1), draw=st.integers(0, 10_000), with_val=st.booleans())
def test_a_draw_keeps_the_evaluation_sets_and_every_count(data_seed: int, draw: int, with_val: bool) -> None:
    data = prepared(draws_spec(seed=data_seed, resample="per_seed", resample_val=with_val))
    base, split = data.plan, data.split(draw)
    for name in ("test", "test_balanced"):  # fixed by the data seed
        np.testing.assert_array_equal(split.sets[name], base.sets[name])
    if not with_val:
        np.testing.assert_array_equal(split.sets["val"], base.sets["val"])
    everything = np.concatenate(list(split.sets.values()))
    assert everything.size > 0 and np.unique(everything).size == everything.size  # disjoint
    for name, counts in data.resolved.set_counts.items():
        assert data.counts(split.sets[name]) == counts, name
    # the same images as the plan, only shared out anew between the pool (and val)
    redrawn = ("pool", "val") if with_val else ("pool",)
    assert by_class(data, np.concatenate([split.sets[s] for s in redrawn])) == by_class(
        data, np.concatenate([base.sets[s] for s in redrawn])
    )
    pool = by_class(data, split.sets["pool"])
    trains = {arm["name"]: by_class(data, split.train_indices(data.resolved.arm_counts[arm["name"]])) for arm in ARMS}
    for name, classes in trains.items():
        assert [len(c) for c in classes] == data.resolved.arm_counts[name]
        assert all(c <= p for c, p in zip(classes, pool, strict=True))
    for smaller, larger in (("small", "unbalanced"), ("unbalanced", "balanced")):  # nested arms nest
        assert all(s <= big for s, big in zip(trains[smaller], trains[larger], strict=True))


@pytest.mark.parametrize("with_val", [False, True])
def test_each_draw_differs_and_the_same_draw_repeats(with_val: bool) -> None:
    spec = draws_spec(resample="per_seed", resample_val=with_val)
    data = prepared(spec)

    def minority(draw: int | None) -> frozenset[int]:  # the 4 b images of `unbalanced`
        return frozenset(by_class(data, data.split(draw).train_indices([40, 4]))[1])

    found = [minority(draw) for draw in range(6)]
    assert len(set(found)) == 6 and minority(None) not in found  # every draw its own, none the plan's
    if with_val:
        vals = {frozenset(data.split(draw).sets["val"].tolist()) for draw in range(6)}
        assert len(vals) == 6
    # the same draw in a new preparation (a rerun, another process), and with other arms beside it
    again = prepare_data(build_spec(spec))
    other_arms = copy.deepcopy(spec)
    other_arms["arms"] = [other_arms["arms"][1], {"name": "extra", "train": {"a": 5, "b": 5}}]
    for other in (again, prepared(other_arms)):
        for draw in (0, 3):
            for name, indices in data.split(draw).sets.items():
                np.testing.assert_array_equal(other.split(draw).sets[name], indices)


def test_the_arms_of_one_seed_train_on_one_draw() -> None:
    """What run_one trains on: the seed's draw, the same in every arm (a smaller arm's images inside a larger
    one's), and the training seed the run's own."""
    spec = build_spec(draws_spec({"draws": 2, "train": 2}))
    data = prepare_data(spec)
    assert [spec.draw_of(seed) for seed in spec.seeds] == [0, 0, 1, 1]
    for seed in spec.seeds:
        split = data.split(spec.draw_of(seed))
        small = by_class(data, split.train_indices(data.resolved.arm_counts["small"]))
        big = by_class(data, split.train_indices(data.resolved.arm_counts["unbalanced"]))
        assert all(s <= b for s, b in zip(small, big, strict=True))
    taken: list[np.ndarray] = []
    real = ExperimentData.subset

    def spy(self: ExperimentData, indices: np.ndarray) -> Any:
        taken.append(indices)
        return real(self, indices)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExperimentData, "subset", spy)
        result = run_one(spec, "small", 3, data=data)
    drawn = data.split(1)
    np.testing.assert_array_equal(taken[0], drawn.train_indices(data.resolved.arm_counts["small"]))
    assert not np.array_equal(taken[0], data.plan.train_indices(data.resolved.arm_counts["small"]))
    assert len(taken) == 4  # then each evaluation set, as the draw has them (val as the data seed cut it)
    for got, name in zip(taken[1:], ("val", "test", "test_balanced"), strict=True):
        np.testing.assert_array_equal(got, drawn.sets[name])
    assert result.draw == 1 and result.definition["draw"] == 1
    body = result.to_json()
    assert (body["seed"], body["draw"], body["train_seed"]) == (3, 1, 3)
    assert result.train_counts == {"a": 10, "b": 2}


def test_draw_of_each_seed() -> None:
    assert [build_spec(draws_spec({"draws": 3, "train": 2})).draw_of(s) for s in range(6)] == [0, 0, 1, 1, 2, 2]
    assert build_spec(draws_spec({"draws": 3, "train": 2})).seeds == tuple(range(6))
    listed = build_spec(draws_spec([4, 9], resample="per_seed"))
    assert [listed.draw_of(s) for s in listed.seeds] == [4, 9]  # each seed its own draw
    assert build_spec(draws_spec([4, 9])).draw_of(4) is None  # no resampling: the plan's images


# --------------------------------------------------------------------------- #
# Hashes: the default exactly as before, draws in the run's identity
# --------------------------------------------------------------------------- #


def test_the_default_leaves_the_canonical_form_and_hashes_as_they_were() -> None:
    spec = build_spec(TINY_SPEC)
    # the hashes before data draws existed (commit ad74a9a); a new setting at its default must not move them
    assert spec.spec_hash() == "8f799c553ba990cb"
    assert spec.run_hash(spec.arm("balanced"), 0) == "2553aaab341bf5fa"
    assert "resample" not in spec.to_yaml() and "draw" not in spec.run_definition(spec.arms[0], 0)
    explicit = copy.deepcopy(TINY_SPEC)
    explicit["data"].update(resample="none", resample_val=False)
    assert build_spec(explicit).spec_hash() == spec.spec_hash()
    data = prepare_data(spec)
    assert data.split(None) is data.plan
    body = run_one(spec, "unbalanced", 0, data=data).to_json()
    assert "draw" not in body and "train_seed" not in body


def test_run_hashes_follow_the_draw() -> None:
    def hashes(seeds: Any, **data: Any) -> list[str]:
        spec = build_spec(draws_spec(seeds, **data))
        return [spec.run_hash(spec.arm("small"), seed) for seed in spec.seeds]

    two_by_two = hashes({"draws": 2, "train": 2})
    assert len(set(two_by_two)) == 4
    assert hashes({"draws": 3, "train": 2})[:4] == two_by_two  # more draws: the stored runs are kept
    assert hashes({"draws": 2, "train": 3})[2] != two_by_two[2]  # seed 2 moves from draw 1 to draw 0
    assert hashes({"draws": 4, "train": 1}) == hashes(4, resample="per_seed")  # the same runs, written two ways
    assert hashes(4, resample="per_seed") != hashes(4)  # resampled images are other runs
    assert hashes(4, resample="per_seed") != hashes(4, resample="per_seed", resample_val=True)


def test_the_crossed_seeds_are_written_back_as_given() -> None:
    spec = build_spec(draws_spec({"draws": 2, "train": 3}))
    again = build_spec(json.loads(json.dumps(spec.canonical())))
    assert spec.canonical()["seeds"] == {"draws": 2, "train": 3}
    assert spec.canonical()["data"]["resample"] == "per_seed"  # implied by the crossed seeds
    assert again.spec_hash() == spec.spec_hash() and again.seeds == tuple(range(6))


# --------------------------------------------------------------------------- #
# Spec errors
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("seeds", "data", "field", "says"),
    [
        ({"draws": 2, "train": 2, "min": 3}, {}, "seeds.min", "two forms that cannot be mixed"),
        ({"draws": 2, "train": 2}, {"resample": "none"}, "data.resample", "give data.resample: per_seed"),
        (None, {"resample_val": True}, "data.resample_val", "give data.resample: per_seed"),
        ({"draws": 0, "train": 2}, {}, "seeds.draws", ""),
        ({"draws": 2}, {}, "seeds.train", "required"),
        ({"draws": 2, "train": 2, "repeats": 1}, {}, "seeds.repeats", "unknown key"),
        (None, {"resample": "per_draw"}, "data.resample", "per_seed"),
        (
            None,
            {
                "resample": "per_seed",
                "resample_val": True,
                "partitions": {"pool": "train", "val": "test", "test": "test"},
            },
            "data.resample_val",
            "share a partition",
        ),
    ],
)
def test_spec_mistakes_are_one_line(seeds: Any, data: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(SpecError) as info:
        build_spec(draws_spec(seeds, **data))
    message = str(info.value)
    assert "\n" not in message and message.startswith(field) and says in message, message


def test_the_derived_key_is_refused() -> None:
    spec = draws_spec()
    spec["draws"] = {"draws": 2, "train": 2}
    with pytest.raises(SpecError, match="data draws are written in seeds"):
        build_spec(spec)


def test_the_command_line_says_a_mixed_seeds_form_in_one_line(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "spec.yaml", draws_spec({"draws": 2, "train": 2, "max": 10}))
    done = cli("validate", path)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert "seeds.max" in done.stderr and "two forms" in done.stderr
    good = cli("validate", write_spec(tmp_path / "good.yaml", draws_spec({"draws": 2, "train": 3})))
    assert good.returncode == 0, good.stderr
    assert "6 seeds (2 data draws × 3 training seeds)" in good.stdout and "per_seed" in good.stdout


# --------------------------------------------------------------------------- #
# Executors, branching, features once
# --------------------------------------------------------------------------- #


def test_the_process_executor_trains_each_run_on_its_draw(tmp_path: Path) -> None:
    spec = draws_spec({"draws": 2, "train": 1}, resample_val=True)
    spec["arms"] = spec["arms"][1:]
    api.run(build_spec(spec), tmp_path / "local", executor="local", threads=1)
    api.run(build_spec(spec), tmp_path / "process", executor="process", workers=2, threads=1)
    local = stored(tmp_path / "local")
    assert len(local) == 4
    assert_same_runs(stored(tmp_path / "process"), local)


def test_branching_shares_epochs_within_a_draw_and_training_seed_only(tmp_path: Path) -> None:
    spec = draws_spec({"draws": 2, "train": 2})
    spec["arms"] = [
        {"name": "plain", "train": {"a": 40, "b": 4}},
        {"name": "drw", "train": {"a": 40, "b": 4}, "strategy": {"drw": {"start": 0.5}}},
    ]
    spec["training"] = {**spec["training"], "epochs": 4}
    parsed = build_spec(spec)
    found = chains(parsed, prepare_data(parsed), [(arm.name, seed) for seed in parsed.seeds for arm in parsed.arms])
    assert found == [Chain((Branch("plain", seed), Branch("drw", seed, 2))) for seed in range(4)]
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    api.run(parsed, shared, executor="local", threads=1)
    api.run(build_spec({**spec, "execution": {"share_prefixes": False}}), alone, executor="local", threads=1)
    assert_same_runs(stored(shared), stored(alone))
    branched = [json.loads(p.read_text())["provenance"] for p in shared.glob("runs/drw/seed-*/result.json")]
    assert len(branched) == 4 and all(p["branched_from"]["arm"] == "plain" for p in branched)


def test_features_once_serve_every_draw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frozen backbone's features are kept per image, so one bank serves every draw's training set."""
    import imbalance_lab.features as features

    monkeypatch.setenv("IMBALANCE_LAB_CACHE", str(tmp_path / "cache"))
    features._loaded.clear()
    spec = draws_spec({"draws": 2, "train": 1}, resample_val=True)
    spec["model"] = {"name": "resnet20", "freeze": "backbone"}
    cached = build_spec(spec)
    through = build_spec({**spec, "execution": {"feature_cache": False}})
    for seed in (0, 1):
        once, direct = run_one(cached, "unbalanced", seed), run_one(through, "unbalanced", seed)
        assert once.train_counts == direct.train_counts == {"a": 40, "b": 4}
        for name in ("val", "test"):
            np.testing.assert_allclose(once.predictions[name].probs, direct.predictions[name].probs, atol=1e-5)


# --------------------------------------------------------------------------- #
# The decomposition of the runs
# --------------------------------------------------------------------------- #


def test_runs_are_grouped_by_their_draw() -> None:
    spec = build_spec(draws_spec({"draws": 3, "train": 2}))
    values = {0: 0.70, 1: 0.72, 2: 0.80, 3: 0.82, 4: 0.74, 5: 0.78}  # seed -> recall: draws 0, 0, 1, 1, 2, 2
    per_run = {
        "small": {seed: {"recall": v} for seed, v in values.items()},
        "unbalanced": {seed: {"recall": v} for seed, v in values.items() if seed != 5},  # draw 2 unfinished
    }
    found = draw_variance(spec, per_run, ["recall"], "test")
    assert found is not None and (found.draws, found.train) == (3, 2)
    assert found.components["recall"]["small"] == variance_components([[0.70, 0.72], [0.80, 0.82], [0.74, 0.78]])
    # two complete draws are enough; the unfinished one is left out
    assert found.components["recall"]["unbalanced"] == variance_components([[0.70, 0.72], [0.80, 0.82]])
    one_draw = {arm: {s: v for s, v in runs.items() if s < 2} for arm, runs in per_run.items()}
    short = draw_variance(spec, one_draw, ["recall"], "test")
    assert short is not None and set(short.components) == set()
    assert all("fewer than 2 draws" in note for note in short.notes) and len(short.notes) == 2


@pytest.mark.parametrize("seeds", [[0, 1, 2], {"draws": 1, "train": 3}])
def test_one_training_seed_or_one_draw_says_the_decomposition_needs_both(seeds: Any) -> None:
    spec = build_spec(draws_spec(seeds, resample="per_seed"))
    per_run = {"small": {seed: {"recall": 0.1 * seed} for seed in spec.seeds}}
    found = draw_variance(spec, per_run, ["recall"], "test")
    assert found is not None and not found.components
    assert "needs at least 2 draws and 2 training seeds per draw" in found.explanation()
    assert draw_variance(build_spec(draws_spec([0, 1, 2])), per_run, ["recall"], "test") is None  # no draws


# --------------------------------------------------------------------------- #
# End to end
# --------------------------------------------------------------------------- #


def test_two_draws_by_two_training_seeds_from_the_command_line(tmp_path: Path) -> None:
    spec = draws_spec({"draws": 2, "train": 2})
    spec["arms"] = spec["arms"][1:]  # unbalanced, small
    out = tmp_path / "out"
    done = run_cli("run", "--no-mlflow", write_spec(tmp_path / "spec.yaml", spec), "--out", out, "--executor", "local")
    assert done.returncode == 0, done.stderr
    results = {
        p.parent.relative_to(out).as_posix(): json.loads(p.read_text()) for p in out.glob("runs/*/*/result.json")
    }
    assert len(results) == 8
    for where, result in results.items():
        seed = result["seed"]
        assert where.endswith(f"seed-{seed}")
        assert (result["draw"], result["train_seed"], result["definition"]["draw"]) == (seed // 2, seed, seed // 2)
        assert sum(result["train_counts"].values()) == {"unbalanced": 44, "small": 12}[result["arm"]]
    labels = {}
    for run in out.glob("runs/*/*"):
        with np.load(run / "predictions.npz") as npz:
            labels[run.name, run.parent.name] = {s: npz[f"{s}_labels"] for s in ("val", "test", "test_balanced")}
    first = next(iter(labels.values()))
    for found in labels.values():  # every run scored on the same evaluation sets
        for name, array in found.items():
            np.testing.assert_array_equal(array, first[name])
    stored_spec = (out / "spec.yaml").read_text()
    assert "draws: 2" in stored_spec and "resample: per_seed" in stored_spec
    # the report splits each headline metric's variance into draws and training, from the stored runs
    report = (out / "report.md").read_text()
    assert "## Data draws and training seeds" in report and "### balanced_accuracy" in report
    assert "<h2>Data draws and training seeds</h2>" in (out / "report.html").read_text()
    table = api.load(out).draw_variance()
    assert set(table["arm"]) == {"unbalanced", "small"} and set(table["draws"]) == {2} and set(table["train"]) == {2}
    row = table[(table["arm"] == "small") & (table["metric"] == "balanced_accuracy")].iloc[0]
    by_draw = [
        [results[f"runs/small/seed-{2 * d + t}"]["metrics"]["test"]["balanced_accuracy"] for t in (0, 1)]
        for d in (0, 1)
    ]
    expected = variance_components(by_draw)
    assert row["draw_var"] == pytest.approx(expected.draw_var) and row["train_var"] == pytest.approx(expected.train_var)
    assert row["draw_var_high"] == pytest.approx(expected.draw_var_interval[1])
    # a resume with more draws keeps the stored runs and trains only the new draw's
    more = run_cli(
        "run",
        "--no-mlflow",
        write_spec(tmp_path / "more.yaml", draws_spec({"draws": 3, "train": 2}) | {"arms": spec["arms"]}),
        "--out",
        out,
        "--executor",
        "local",
    )
    assert more.returncode == 0, more.stderr
    kept = {p.parent.relative_to(out).as_posix(): json.loads(p.read_text()) for p in out.glob("runs/*/*/result.json")}
    assert len(kept) == 12 and all(kept[where] == result for where, result in results.items())
