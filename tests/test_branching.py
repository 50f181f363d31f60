"""Arms that train alike up to an epoch train it once and branch from a snapshot, with the same results."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from helpers import TINY_SPEC
from imbalance_lab import api, train
from imbalance_lab.executors.branching import Branch, Chain, chains
from imbalance_lab.prepared import prepare_data
from imbalance_lab.spec import build_spec
from test_executors import KillWorkersOnce, assert_same_runs, stored

EPOCHS = 4


def branching_spec(share: bool = True) -> dict[str, Any]:
    """A plain arm and arms that add late strategies to it, plus arms that share nothing with it."""
    spec = copy.deepcopy(TINY_SPEC)
    unbalanced = {"a": 60, "b": 6}
    spec["arms"] = [
        {"name": "plain", "train": unbalanced},
        {"name": "drw", "train": unbalanced, "strategy": {"drw": {"start": 0.5}}},  # weighted from epoch 3
        {"name": "drs", "train": unbalanced, "strategy": {"drs": {"start": 0.25}}},  # resampled from epoch 2
        {"name": "crt", "train": unbalanced, "strategy": {"crt": {"epochs": 2}}},  # a classifier stage after epoch 4
        {"name": "tau", "train": unbalanced, "strategy": "tau_norm"},  # the finished classifier rescaled
        {"name": "ldam", "train": unbalanced, "strategy": "ldam"},
        {"name": "ldam_drw", "train": unbalanced, "strategy": ["ldam", {"drw": {"start": 0.75}}]},
        {"name": "weighted", "train": unbalanced, "strategy": {"class_weight": {"weights": "inverse"}}},
        {"name": "balanced_drw", "train": {"a": 60, "b": 60}, "strategy": {"drw": {"start": 0.5}}},
    ]
    spec["training"] = {**spec["training"], "epochs": EPOCHS}
    spec["execution"] = {"share_prefixes": share}
    return spec


def test_runs_are_grouped_by_what_they_train_until_a_late_strategy_starts() -> None:
    spec = build_spec(branching_spec())
    data = prepare_data(spec)
    todo = [(arm.name, seed) for seed in spec.seeds for arm in spec.arms]
    found = chains(spec, data, todo)
    assert found[:5] == [  # seed by seed, the most work first (see the next test)
        Chain(
            (
                Branch("plain", 0),
                Branch("drw", 0, 2),
                Branch("drs", 0, 1),
                Branch("crt", 0, EPOCHS),
                Branch("tau", 0, EPOCHS),
            )
        ),
        Chain.single("balanced_drw", 0),  # another training set: nothing to share
        Chain((Branch("ldam", 0), Branch("ldam_drw", 0, 3))),
        Chain.single("weighted", 0),
        Chain(
            (
                Branch("plain", 1),
                Branch("drw", 1, 2),
                Branch("drs", 1, 1),
                Branch("crt", 1, EPOCHS),
                Branch("tau", 1, EPOCHS),
            )
        ),
    ]
    assert found[0].snapshot_at == {1, 2, EPOCHS}
    assert sorted(item for chain in found for item in chain.items) == sorted(todo)
    # without the plain arm, the arm that trains plainly longest is the trunk
    rest = chains(spec, data, [("drs", 0), ("drw", 0), ("tau", 0)])
    assert rest == [Chain((Branch("tau", 0), Branch("drs", 0, 1), Branch("drw", 0, 2)))]
    alone = chains(spec, data, todo, share=False)
    assert sorted(item for chain in alone for item in chain.items) == sorted(todo)
    assert all(len(chain.runs) == 1 for chain in alone)


def test_chains_come_seed_by_seed_and_the_longest_first() -> None:
    """Executors hand chains out in this order, so the shortest start last and no worker waits long at the end.
    The work of a run is its epochs times its stream (samplers change it) plus validation; a chain's is its runs'."""
    spec_data = branching_spec()
    spec_data["arms"] = [
        {"name": "undersample", "train": {"a": 60, "b": 6}, "strategy": "undersample"},  # 12 images an epoch
        {"name": "plain", "train": {"a": 60, "b": 6}},  # 66
        {"name": "oversample", "train": {"a": 60, "b": 6}, "strategy": "oversample"},  # 120
        {"name": "crt", "train": {"a": 60, "b": 6}, "strategy": {"crt": {"epochs": 4}}},  # 66, for 4 more epochs
        {"name": "balanced", "train": {"a": 60, "b": 60}},  # 120
    ]
    spec_data["seeds"] = [3, 1]
    spec = build_spec(spec_data)
    data = prepare_data(spec)
    todo = [(arm.name, seed) for seed in spec.seeds for arm in spec.arms]
    alone = [chain.items[0] for chain in chains(spec, data, todo, share=False)]
    assert [item for item in alone if item[1] == 3] == [
        ("crt", 3),
        ("oversample", 3),
        ("balanced", 3),  # equal work:
        ("plain", 3),
        ("undersample", 3),
    ]  # in todo's order
    assert [seed for _, seed in alone] == [3] * 5 + [1] * 5  # seeds in todo's order, not sorted
    shared = chains(spec, data, todo)  # crt branches from plain after its main stage: one chain
    assert [chain.items for chain in shared[:4]] == [
        [("plain", 3), ("crt", 3)],
        [("oversample", 3)],
        [("balanced", 3)],
        [("undersample", 3)],
    ]


@pytest.fixture(scope="module")
def from_scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every run trained from its first epoch (sharing off), in this process with one thread: the reference."""
    out = tmp_path_factory.mktemp("scratch") / "out"
    api.run(build_spec(branching_spec(share=False)), out, executor="local", threads=1)
    return stored(out)


def count_epochs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the stage of every epoch trained in this process."""
    trained: list[str] = []
    real = train._train_epoch

    def counting(*args: Any, **kwargs: Any) -> tuple[dict[str, float], int]:
        trained.append(args[3].name)  # the stage plan
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_train_epoch", counting)
    return trained


def test_branched_runs_equal_runs_trained_from_the_start(
    from_scratch: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = count_epochs(monkeypatch)
    out = tmp_path / "out"
    api.run(build_spec(branching_spec()), out, executor="local", threads=1)
    assert_same_runs(stored(out), from_scratch)
    # per seed: plain 4 + drw 2 + drs 3 + crt 0 (+2 crt) + tau 0, ldam 4 + ldam_drw 1, weighted 4, balanced_drw 4
    assert trained.count("main") == 2 * (4 + 2 + 3 + 0 + 0 + 4 + 1 + 4 + 4)
    assert trained.count("crt") == 2 * 2
    provenance = {
        p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())["provenance"]
        for p in out.glob("runs/*/*/result.json")
    }
    assert provenance["drw/seed-0"]["branched_from"] == {"arm": "plain", "epoch": 2}
    assert provenance["ldam_drw/seed-1"]["branched_from"] == {"arm": "ldam", "epoch": 3}
    assert "branched_from" not in provenance["plain/seed-0"] and "branched_from" not in provenance["weighted/seed-0"]
    # a run's timing counts the epochs it trained itself, not the prefix it branched from
    results = {
        p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text()) for p in out.glob("runs/*/*/result.json")
    }
    for run, own_epochs in (("plain/seed-0", 4), ("drw/seed-0", 2), ("ldam_drw/seed-1", 1)):
        result = results[run]
        assert result["timing"]["images_trained"] == sum(result["train_counts"].values()) * own_epochs, run
        assert result["timing"]["train_s"] > 0


def test_worker_processes_branch_too_and_a_kill_mid_chain_loses_only_the_run_in_flight(
    from_scratch: dict[str, Any], tmp_path: Path
) -> None:
    progress = KillWorkersOnce(arm="drs")  # at the first epoch of a branched run (the trunk is stored by then)
    out = tmp_path / "out"
    api.run(
        build_spec(branching_spec()), out, executor="process", workers=2, threads=1, max_retries=1, progress=progress
    )
    assert progress.killed >= 1 and progress.struck is not None
    assert any(
        m.startswith(f"drs seed {progress.struck[1]} failed (its worker process died") for m in progress.messages
    )
    assert_same_runs(stored(out), from_scratch)
