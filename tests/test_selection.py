"""Checkpoint selection and early stopping: the chosen epoch's weights are the ones scored, training stops
when the rule says, both are in the run hash, and bad rules are one line."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from helpers import TINY_SPEC
from imbalance_lab import api, run_one
from imbalance_lab.errors import SpecError
from imbalance_lab.spec import build_spec


def spec_with(**training):
    data = copy.deepcopy(TINY_SPEC)
    data["training"] = {**data["training"], "epochs": 6, **training}
    return build_spec(data)


def test_the_selected_epoch_s_weights_are_the_ones_scored():
    chosen = run_one(spec_with(select={"metric": "balanced_loss"}), "unbalanced", 0)
    curve = [e["val"]["balanced_loss"] for e in chosen.history]
    assert chosen.selected_epoch == int(np.argmin(curve)) + 1 and chosen.stopped_epoch is None
    assert len(chosen.history) == 6
    # the model scored is the one of that epoch: a run trained for exactly that many epochs predicts the same
    k = chosen.selected_epoch
    short = run_one(spec_with(epochs=k), "unbalanced", 0)
    for name in ("val", "test"):
        assert np.array_equal(chosen.predictions[name].probs, short.predictions[name].probs), name
    assert chosen.metrics["val"]["log_loss"] == pytest.approx(chosen.history[k - 1]["val"]["loss"], abs=1e-6)
    last = run_one(spec_with(), "unbalanced", 0)
    assert last.selected_epoch == 6 and last.stopped_epoch is None
    if k != 6:
        assert not np.array_equal(last.predictions["test"].probs, chosen.predictions["test"].probs)


def test_early_stopping_ends_training_after_patience_epochs_without_improvement():
    spec = spec_with(epochs=12, early_stopping={"patience": 2, "metric": "balanced_accuracy", "min_delta": 0.5})
    run = run_one(spec, "unbalanced", 0)
    # no epoch beats the first by more than 0.5 of balanced accuracy: stopped after epoch 1 + 2
    assert run.stopped_epoch == 3 and len(run.history) == 3 and run.selected_epoch == 3  # select: last
    loose = run_one(spec_with(epochs=12, early_stopping={"patience": 3}), "unbalanced", 0)  # val loss, min
    losses = [e["val"]["loss"] for e in loose.history]
    if loose.stopped_epoch is not None:
        best = int(np.argmin(losses)) + 1
        assert loose.stopped_epoch == best + 3 == len(loose.history)
    else:
        assert len(loose.history) == 12 and int(np.argmin(losses)) + 1 > 12 - 3


def test_a_rule_can_choose_by_another_evaluation_set(tmp_path):
    data = copy.deepcopy(TINY_SPEC)
    data["data"]["splits"]["val_balanced"] = {"balanced": 8}
    data["training"] = {
        **data["training"],
        "epochs": 4,
        "select": {"metric": "balanced_accuracy", "set": "val_balanced"},
    }
    spec = build_spec(data)
    run = run_one(spec, "unbalanced", 0)
    assert len(run.history) == 4 and all("val_balanced" in e for e in run.history)
    curve = [e["val_balanced"]["balanced_accuracy"] for e in run.history]
    assert run.selected_epoch == int(np.argmax(curve)) + 1
    api.run(spec, tmp_path / "out", executor="local", threads=1)
    stored = json.loads((tmp_path / "out" / "runs" / "unbalanced" / "seed-0" / "result.json").read_text())
    assert stored["selected_epoch"] == run.selected_epoch and stored["stopped_epoch"] is None


def test_rules_are_part_of_the_run_hash_and_the_default_keeps_old_hashes():
    plain, chosen = spec_with(), spec_with(select={"metric": "f1"})
    stopping = spec_with(early_stopping={"patience": 3})
    arm = plain.arm("weighted")
    hashes = {s.run_hash(arm, 0) for s in (plain, chosen, stopping)}
    assert len(hashes) == 3
    assert spec_with(select="last").run_hash(arm, 0) == plain.run_hash(arm, 0)
    assert "select" not in plain.canonical()["training"] and "early_stopping" not in plain.canonical()["training"]
    assert build_spec(chosen.canonical()) == chosen


def test_bad_rules_are_one_line():
    with pytest.raises(SpecError, match=r"training.select.metric: got 'accuracy_top5'; valid: loss, balanced_loss"):
        spec_with(select={"metric": "accuracy_top5"})
    with pytest.raises(SpecError, match=r"training.early_stopping.set: got 'holdout'"):
        spec_with(early_stopping={"patience": 2, "set": "holdout"})
    multi = copy.deepcopy(TINY_SPEC)
    del multi["data"]["positive"]
    multi["data"]["source"]["n_classes"] = 3
    multi["data"]["classes"] = {"a": 0, "b": 1, "c": 2}
    multi["data"]["splits"] = {"pool": {"balanced": 40}, "val": {"balanced": 10}, "test": {"balanced": 10}}
    multi["arms"] = [{"name": "all", "train": {"balanced": 40}}]
    multi["training"]["select"] = {"metric": "recall"}
    with pytest.raises(SpecError, match="need data.positive"):
        build_spec(multi)
    staged = copy.deepcopy(TINY_SPEC)
    staged["arms"] = [{"name": "crt", "train": {"a": 60, "b": 6}, "strategy": "crt"}]
    staged["training"]["early_stopping"] = {"patience": 2}
    with pytest.raises(SpecError, match="arm 'crt' trains in stages"):  # the spec itself refuses: no caller of
        build_spec(staged)  # the trainer (run_one included) can pass such an arm a stopping rule
    staged["arms"] = [{"name": "tau", "train": {"a": 60, "b": 6}, "strategy": ["none", {"tau_norm": {"tau": 1}}]}]
    with pytest.raises(SpecError, match=r"training.early_stopping: arm 'tau' .*changes the model after training"):
        build_spec(staged)
    staged["arms"] = [{"name": "drw", "train": {"a": 60, "b": 6}, "strategy": "drw"}]  # one stage: a rule may follow
    assert build_spec(staged).training.stopping is not None
