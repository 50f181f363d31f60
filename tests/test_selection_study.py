"""The selection study: every epoch's predictions of every evaluation set are stored, each rule picks the
epoch ``training.select`` would have kept, that epoch's test predictions are what the study scores, rules
are compared paired over the same runs, and changing rules never retrains."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from helpers import TINY_SPEC, cli, write_spec
from imbalance_lab import api, run_one
from imbalance_lab.analysis.selection import ORACLE, chosen_epoch
from imbalance_lab.errors import SpecError
from imbalance_lab.metrics import classification_metrics
from imbalance_lab.spec import build_spec

RULES = [
    "last",
    {"set": "val", "metric": "loss"},
    {"set": "val_balanced", "metric": "balanced_accuracy"},
    {"set": "val", "metric": "balanced_loss", "name": "balanced loss"},
]


def study_data(rules=None, **selection):
    data = copy.deepcopy(TINY_SPEC)
    data["data"]["splits"]["val_balanced"] = {"a": 8, "b": 8}
    data["training"] = {**data["training"], "epochs": 5}
    data["arms"] = data["arms"][:2]
    data["selection"] = {"rules": RULES if rules is None else rules, **selection}
    data["tracking"] = {"mlflow": False}
    return data


def test_every_epoch_of_every_set_is_stored_and_the_last_is_the_run_s_own_prediction():
    run = run_one(build_spec(study_data()), "unbalanced", 0)
    for name in ("val", "test", "val_balanced"):
        logits = run.epoch_logits[name]
        assert logits.shape == (5, run.predictions[name].labels.shape[0], 2) and logits.dtype == np.float32
        assert np.array_equal(logits[-1], run.predictions[name].logits), name
    # the history's per-epoch validation loss is the one of the stored logits
    from imbalance_lab.train import epoch_log

    for e, entry in enumerate(run.history):
        log = epoch_log(
            torch.from_numpy(run.epoch_logits["val"][e]), torch.from_numpy(run.predictions["val"].labels), 1
        )
        assert log["loss"] == entry["val"]["loss"]


def test_a_study_rule_keeps_the_epoch_training_select_keeps_and_scores_its_weights(tmp_path):
    """The study's `val_balanced balanced_accuracy` rule on a run trained once equals training with that rule:
    the same epoch, and test predictions bit for bit those of the selected weights."""
    study_spec = build_spec(study_data())
    api.run(study_spec, tmp_path / "study", executor="local", threads=1)
    analysis, _ = api.report(tmp_path / "study")
    study = analysis.selection
    for arm in ("balanced", "unbalanced"):
        data = copy.deepcopy(TINY_SPEC)
        data["data"]["splits"]["val_balanced"] = {"a": 8, "b": 8}
        data["arms"] = data["arms"][:2]
        data["training"] = {
            **data["training"],
            "epochs": 5,
            "select": {"set": "val_balanced", "metric": "balanced_accuracy"},
        }
        for seed in (0, 1):
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # as the study's runs were made (threads change the order of sums)
            try:
                trained = run_one(build_spec(data), arm, seed)
            finally:
                torch.set_num_threads(threads)
            outcome = study.outcomes[arm]["val_balanced balanced_accuracy"]
            assert outcome.epochs[seed] == trained.selected_epoch
            row = sorted(outcome.epochs).index(seed)
            assert np.array_equal(outcome.probs[row].astype(np.float32), trained.predictions["test"].probs)
            expected = classification_metrics(
                trained.predictions["test"].labels, trained.predictions["test"].probs.astype(np.float64), positive=1
            )
            assert outcome.values["f1"][seed] == pytest.approx(expected["f1"], abs=1e-12)


def test_rules_choose_by_their_own_set_and_metric_and_the_oracle_bounds_them(tmp_path):
    api.run(build_spec(study_data()), tmp_path / "out", executor="local", threads=1)
    analysis, paths = api.report(tmp_path / "out")
    study = analysis.selection
    assert study.rules == ("last", "val loss", "val_balanced balanced_accuracy", "balanced loss")
    assert study.reference == "last" and study.judge == "test"
    for arm in study.arms:
        for seed in (0, 1):
            stored = json.loads((tmp_path / "out" / "runs" / arm / f"seed-{seed}" / "result.json").read_text())
            history = stored["history"]
            losses = [e["val"]["loss"] for e in history]
            assert study.outcomes[arm]["last"].epochs[seed] == len(history) == 5
            assert study.outcomes[arm]["val loss"].epochs[seed] == int(np.argmin(losses)) + 1
            balanced = [e["val"]["balanced_loss"] for e in history]
            assert study.outcomes[arm]["balanced loss"].epochs[seed] == int(np.argmin(balanced)) + 1
            for m in study.metrics:  # no rule beats the epoch chosen on test itself
                oracle = study.outcomes[arm][f"{ORACLE}:{m}"].values[m][seed]
                assert all(study.outcomes[arm][r].values[m][seed] <= oracle + 1e-12 for r in study.rules)
        # the last epoch's score is the main table's
        f1 = analysis.sets["test"].table[arm]["f1"]
        assert study.outcomes[arm]["last"].mean("f1") == pytest.approx(f1.mean, abs=1e-12)
    # each rule against `last`, pooled over arms and seeds: the mean difference is the mean of the paired ones
    pooled = {c.arm: c for c in study.pooled["balanced_accuracy"]}
    assert set(pooled) == {"val loss", "val_balanced balanced_accuracy", "balanced loss"}
    for rule, c in pooled.items():
        diffs = [
            study.outcomes[a][rule].values["balanced_accuracy"][s]
            - study.outcomes[a]["last"].values["balanced_accuracy"][s]
            for a in study.arms
            for s in (0, 1)
        ]
        assert c.mean_diff == pytest.approx(np.mean(diffs), abs=1e-12)
        assert c.bootstrap is not None and c.bootstrap.low <= c.bootstrap.high
    assert (tmp_path / "out" / "selection.csv") in paths
    rows = (tmp_path / "out" / "selection.csv").read_text().splitlines()
    assert rows[0].startswith("scope,rule,judged_set,metric,mean")
    assert len(rows) == 1 + 3 * (4 + 1) * 5  # (all + 2 arms) × (4 rules + oracle) × 5 metrics
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Which epoch to keep (selection study)" in html and "oracle: best on test itself" in html
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| val_balanced balanced_accuracy |" in md


def test_changing_the_rules_never_retrains_but_turning_the_study_on_does(tmp_path):
    out = tmp_path / "out"
    first = build_spec(study_data())
    api.run(first, out, executor="local", threads=1)
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/seed-*/result.json")}
    assert len(stamps) == len(first.arms) * len(
        first.seeds
    )  # the glob found every run, so the comparison below can fail
    changed = build_spec(
        study_data(rules=[{"set": "val_balanced", "metric": "loss"}, "last"], metrics=["f1", "recall"])
    )
    assert changed.run_hash(changed.arm("unbalanced"), 0) == first.run_hash(first.arm("unbalanced"), 0)
    assert changed.spec_hash() == first.spec_hash()
    summary = api.run(changed, out, executor="local", threads=1)
    assert summary is not None
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/seed-*/result.json")} == stamps  # nothing retrained
    analysis, _ = api.report(out)
    assert analysis.selection.rules == ("val_balanced loss", "last") and analysis.selection.metrics == ("f1", "recall")
    plain = copy.deepcopy(study_data())
    del plain["selection"]
    plain_spec = build_spec(plain)
    assert plain_spec.run_hash(plain_spec.arm("unbalanced"), 0) != first.run_hash(first.arm("unbalanced"), 0)
    assert "epoch_predictions" not in plain_spec.canonical()["training"] and "selection" not in plain_spec.canonical()
    assert build_spec(first.canonical()) == first  # the stored spec reads back with its study
    # the old directory is another experiment's for the plain spec, and the message names the study
    result = cli("run", write_spec(tmp_path / "plain.yaml", plain), "--out", out)
    assert result.returncode != 0 and "selection" in result.stderr and "Traceback" not in result.stderr


def test_chosen_epoch_keeps_the_first_best_and_skips_undefined_values():
    assert chosen_epoch([0.5, 0.3, 0.3, 0.4], maximise=False) == 2
    assert chosen_epoch([0.5, 0.7, 0.7], maximise=True) == 2
    assert chosen_epoch([float("nan"), 0.2, float("nan")], maximise=True) == 2
    assert chosen_epoch([float("nan")] * 3, maximise=True) == 3  # nothing defined: the last


def test_bad_study_specs_are_one_line():
    with pytest.raises(SpecError, match=r"selection.rules\[1\].set: got 'holdout', which is not an evaluation set"):
        build_spec(study_data(rules=["last", {"set": "holdout", "metric": "loss"}]))
    with pytest.raises(SpecError, match=r"selection.rules\[0\].metric: got 'top5'"):
        build_spec(study_data(rules=[{"metric": "top5"}]))
    with pytest.raises(SpecError, match="rule 'last' is listed twice"):
        build_spec(study_data(rules=["last", "last"]))
    with pytest.raises(SpecError, match="reference 'val f1' is not one of the rules"):
        build_spec(study_data(reference="val f1"))
    with pytest.raises(SpecError, match=r"selection.metrics\[0\]: got 'loss'"):
        build_spec(study_data(metrics=["loss"]))
    with pytest.raises(SpecError, match="selection.judge: got 'train'"):
        build_spec(study_data(judge="train"))
    staged = study_data()
    staged["arms"] = [{"name": "crt", "train": {"a": 60, "b": 6}, "strategy": "crt"}]
    with pytest.raises(SpecError, match="selection: arm 'crt' trains in stages.*leave the selection study out"):
        build_spec(staged)


def test_the_curves_mark_the_kept_and_stopped_epochs_and_the_report_says_which_set_chose(tmp_path):
    data = copy.deepcopy(TINY_SPEC)
    data["data"]["splits"]["val_balanced"] = {"a": 8, "b": 8}
    data["arms"] = data["arms"][:2]
    data["training"] = {
        **data["training"],
        "epochs": 8,
        "select": {"set": "val_balanced", "metric": "balanced_loss"},
        "early_stopping": {"patience": 2},
    }
    data["tracking"] = {"mlflow": False}
    api.run(build_spec(data), tmp_path / "out", executor="local", threads=1)
    analysis, _ = api.report(tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    assert (
        "scored weights are those of the epoch with the lowest <code>balanced_loss</code> on the "
        "<code>val_balanced</code> set (training.select)"
    ) in html
    assert "training stopped when <code>balanced_loss</code> on <code>val_balanced</code>" in html
    from imbalance_lab.report import plots
    from imbalance_lab.report.html import epoch_marks

    marks = epoch_marks(analysis)
    assert len(analysis.runs) == 2 * 2  # 2 arms × 2 seeds, so the marks below are compared for every run
    assert {arm: [m["selected"] for m in marks[arm]] for arm in marks} == {
        arm: [r.result["selected_epoch"] for r in analysis.runs if r.arm == arm] for arm in analysis.arms
    }
    fig = plots.loss_curves(analysis.histories, ("train", "val", "val_balanced"), marks=marks, marks_on="val_balanced")
    ax = fig.axes[0]
    kept = [line for line in ax.lines if line.get_gid() == "selected"]
    assert sum(len(line.get_xdata()) for line in kept) == len(analysis.runs)
    xs = sorted(int(x) for line in kept for x in line.get_xdata())
    assert xs == sorted(r.result["selected_epoch"] for r in analysis.runs)
    stopped = [r.result["stopped_epoch"] for r in analysis.runs if r.result["stopped_epoch"] is not None]
    assert stopped  # some runs stop early (the unbalanced arm's, with these seeds), so the marks are compared
    drawn = [int(x) for line in ax.lines if line.get_gid() == "stopped" for x in line.get_xdata()]
    assert sorted(drawn) == sorted(stopped)
    plain = plots.loss_curves(analysis.histories)
    assert not [line for line in plain.axes[0].lines if line.get_gid() in ("selected", "stopped")]
