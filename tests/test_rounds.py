"""Adaptive seeds: rounds of seeds until every comparison with the reference is decided (or max seeds);
the decisions are recomputed from the stored runs, so a killed experiment resumes asking for the same
runs, with any executor; a fixed seed count behaves as before."""

from __future__ import annotations

import copy
import json

import pytest

from helpers import TINY_SPEC, cli, write_spec
from imbalance_lab import api
from imbalance_lab.analysis.rounds import round_state
from imbalance_lab.errors import SpecError
from imbalance_lab.spec import build_spec


def adaptive(**seeds):
    data = copy.deepcopy(TINY_SPEC)
    # `broken` never sees a `b`: its recall is 0 against the reference's (`balanced`, the first plain arm),
    # a difference the rounds must call
    data["arms"] = [
        {"name": "balanced", "train": {"a": 60, "b": 60}},
        {"name": "weighted", "train": {"a": 60, "b": 6}, "strategy": {"class_weight": {"weights": "inverse"}}},
        {"name": "broken", "train": {"a": 60, "b": 0}},
    ]
    data["training"] = {**data["training"], "epochs": 2}
    data["seeds"] = {"min": 3, "max": 14, "metric": "recall", **seeds}
    data["tracking"] = {"mlflow": False}
    return data


def stored(out):
    return sorted(
        (p.parent.name, int(p.name.split("-")[1])) for p in out.glob("runs/*/seed-*") if (p / "result.json").exists()
    )


def test_the_rounds_follow_the_decisions_and_stop_when_settled_or_at_max(tmp_path):
    out = tmp_path / "out"
    spec = build_spec(adaptive())
    assert spec.seeds == tuple(range(14)) and spec.adaptive.min == 3
    api.run(spec, out, executor="local", threads=1)
    analysis, _ = api.report(out)
    state = analysis.rounds
    runs = stored(out)
    # every arm has seeds 0..k-1 contiguous; an arm stops receiving seeds once decided, the reference goes on
    per_arm = {arm: [s for a, s in runs if a == arm] for arm in ("balanced", "weighted", "broken")}
    assert sum(map(len, per_arm.values())) == len(runs) and min(map(len, per_arm.values())) >= 3  # min: 3 seeds each
    for arm, seeds in per_arm.items():
        assert seeds == list(range(len(seeds))), arm
    assert state.reference == "balanced"
    assert len(per_arm["balanced"]) == max(len(v) for v in per_arm.values()) == state.seeds
    for arm in ("weighted", "broken"):
        d = state.decisions[arm]
        if d.state != "undecided":
            assert d.decided_at == len(per_arm[arm]) or d.decided_at <= 3  # decided in the first round: 3 seeds
    assert state.stopped in ("settled", "max") and state.todo == []
    assert state.stopped == "max" or all(d.state != "undecided" for d in state.decisions.values())
    assert state.decisions["broken"].state == "worse"  # recall 0 against the reference's, every seed
    assert not analysis.missing  # unscheduled seeds are not "missing"
    # the report says per arm when it was decided and why the rounds stopped
    html = (out / "report.html").read_text()
    assert "Seeds as the question needed" in html and state.describe() in html


def test_a_killed_experiment_resumes_with_the_same_decisions_and_runs(tmp_path):
    out = tmp_path / "out"
    spec = build_spec(adaptive(max=8))
    api.run(spec, out, executor="local", threads=1)
    before = stored(out)
    analysis = api.report(out)[0]
    first = analysis.rounds
    metric = spec.adaptive.metric
    first_values = {
        (r.arm, r.seed): analysis.sets["test"]
        .table[r.arm][metric]
        .values[sorted(x.seed for x in analysis.runs if x.arm == r.arm).index(r.seed)]
        for r in analysis.runs
    }
    last = max(s for _, s in before)
    lost = [item for item in before if item[1] == last][0]  # the last round, half done when the kill came
    victim = out / "runs" / lost[0] / f"seed-{lost[1]}"
    for f in victim.iterdir():
        f.unlink()
    victim.rmdir()
    values = {(r.arm, r.seed): r for r in api.report(out)[0].runs}  # the stored runs, the lost one gone
    assert lost not in values
    resumed = round_state(spec, first.reference, lambda a, s: first_values.get((a, s)) if (a, s) != lost else None)
    assert resumed.todo == [lost]  # the replay asks for exactly the lost run
    result = cli(
        "run",
        write_spec(tmp_path / "spec.yaml", adaptive(max=8)),
        "--out",
        out,
        "--executor",
        "process",
        "--workers",
        "2",
        "--threads",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert stored(out) == before  # exactly the lost run again, nothing more
    again = api.report(out)[0].rounds
    assert {a: (d.state, d.decided_at) for a, d in again.decisions.items()} == {
        a: (d.state, d.decided_at) for a, d in first.decisions.items()
    }
    assert "round of seed" in result.stdout + result.stderr


def test_until_max_trains_every_seed_and_still_says_when_each_was_decided(tmp_path):
    out = tmp_path / "out"
    api.run(build_spec(adaptive(max=5, until="max")), out, executor="local", threads=1)
    assert len(stored(out)) == 3 * 5
    state = api.report(out)[0].rounds
    assert state.stopped == "max" and state.seeds == 5


def test_bad_adaptive_seeds_are_one_line():
    with pytest.raises(SpecError, match="seeds.metric: got 'log_loss'; the sequential test needs a metric bounded"):
        build_spec(adaptive(metric="log_loss"))
    with pytest.raises(SpecError, match="seeds: min 9 is above max 4"):
        build_spec(adaptive(min=9, max=4))
    with pytest.raises(SpecError, match="seeds.set: got 'holdout'"):
        build_spec(adaptive(set="holdout"))
    with pytest.raises(SpecError, match="seeds.patience: unknown key; valid keys here: min, max, until"):
        build_spec(adaptive(patience=3))
    spec = build_spec(adaptive())
    assert build_spec(spec.canonical()) == spec and spec.canonical()["seeds"]["max"] == 14
    fixed = copy.deepcopy(TINY_SPEC)
    assert build_spec(fixed).adaptive is None and build_spec(fixed).seeds == (0, 1)
    assert json.dumps(build_spec(fixed).canonical()["seeds"]) == "[0, 1]"
