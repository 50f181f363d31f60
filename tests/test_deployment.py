"""What to deploy: decision rules fitted on each run's validation predictions become derived arms of the
analysis (compared like any arm, on the same seeds and images), costs become a metric with its own fast
bootstrap, the report ranks the arms by cost, and adding or changing decisions never retrains."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import special

from helpers import TINY_SPEC, cli, write_spec
from imbalance_lab import api
from imbalance_lab.decisions import threshold_max_fbeta, threshold_min_cost
from imbalance_lab.errors import SpecError
from imbalance_lab.metrics import predict
from imbalance_lab.spec import build_spec
from imbalance_lab.stats import ExpectedCost, cost_interval, paired_bootstrap
from imbalance_lab.vocabulary import COST as COST_METRIC

RULES = [{"threshold": {"by": "max_f1"}}, {"threshold": {"by": "min_cost"}}, "temperature", "logit_adjust"]


def with_decisions(**decisions):
    data = copy.deepcopy(TINY_SPEC)
    data["arms"] = data["arms"][:3]
    data["training"] = {**data["training"], "epochs": 3}
    data["tracking"] = {"mlflow": False}
    if decisions:
        data["decisions"] = decisions
    return data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One experiment trained without decisions; the tests add decisions to it afterwards."""
    out = tmp_path_factory.mktemp("deploy") / "out"
    api.run(build_spec(with_decisions()), out, executor="local", threads=1)
    return out


def analysed(out, *, report=False, **decisions):
    """The analysis of ``out`` with these decisions (the report's own; the report written only with ``report``,
    its figures being most of the time)."""
    spec = build_spec(with_decisions(**decisions))
    api.run(spec, out, executor="local", threads=1)  # nothing to train: every run is stored
    analysis = api.load(out).analysis
    if report:
        api.write_report(analysis, out)
    return analysis


def test_adding_and_changing_decisions_never_retrains(trained):
    stamps = {p: p.stat().st_mtime_ns for p in trained.glob("runs/*/seed-*/*")}
    runs = {
        trained / "runs" / arm / f"seed-{seed}" for arm in ("balanced", "unbalanced", "weighted") for seed in (0, 1)
    }
    assert {p.parent for p in stamps} == runs  # the glob found every run, so the comparison below can fail
    plain = build_spec(with_decisions())
    decided = build_spec(with_decisions(rules=RULES, costs={"false_negative": 10, "false_positive": 1}))
    for arm in plain.arms:
        assert decided.run_hash(arm, 0) == plain.run_hash(arm, 0)
    assert decided.spec_hash() == plain.spec_hash()
    analysis = analysed(trained, rules=RULES, costs={"false_negative": 10, "false_positive": 1})
    analysed(trained, rules=["temperature"])
    assert {p: p.stat().st_mtime_ns for p in trained.glob("runs/*/seed-*/*")} == stamps
    assert sorted(p.name for p in trained.glob("runs/*")) == ["balanced", "unbalanced", "weighted"]
    assert analysis.arms[:3] == ("balanced", "unbalanced", "weighted")
    assert "weighted+threshold(min_cost)" in analysis.arms and len(analysis.arms) == 3 + 3 * 4
    assert build_spec(decided.canonical()) == decided  # the stored spec reads back with its decisions


def test_a_derived_arm_is_its_rule_applied_to_its_base_run(trained):
    analysis = analysed(trained, rules=RULES, costs={"false_negative": 10, "false_positive": 1})
    for seed in (0, 1):
        base = next(r for r in analysis.runs if r.arm == "unbalanced" and r.seed == seed).predictions()
        val_scores = special.softmax(base["val_logits"].astype(np.float64), axis=1)[:, 1]
        fitted = analysis.deployment.fits["unbalanced+threshold(max_f1)"][seed]
        assert fitted.params["threshold"] == threshold_max_fbeta(base["val_labels"], val_scores, 1, 1.0)
        derived = next(r for r in analysis.runs if r.arm == "unbalanced+threshold(max_f1)" and r.seed == seed)
        test_scores = special.softmax(base["test_logits"].astype(np.float64), axis=1)[:, 1]
        assert np.array_equal(
            predict(derived.predictions()["test_probs"]), (test_scores >= fitted.params["threshold"]).astype(np.int64)
        )
        # min_cost: the threshold of least expected cost on val at the deployment prior (the test set's 10:30)
        cost_fit = analysis.deployment.fits["unbalanced+threshold(min_cost)"][seed]
        assert cost_fit.params["threshold"] == threshold_min_cost(base["val_labels"], val_scores, 1, 10, 1, 10 / 40)
    # temperature changes calibration, never the decision
    test = analysis.sets["test"]
    assert np.array_equal(
        predict(test.probs["balanced+temperature"].reshape(-1, 2)), predict(test.probs["balanced"].reshape(-1, 2))
    )


def test_the_expected_cost_is_counted_at_the_deployment_prior(trained):
    analysis = analysed(trained, costs={"false_negative": 10, "false_positive": 1}, deployment_prior={"a": 9, "b": 1})
    assert analysis.deployment.prior_source == "decisions.deployment_prior"
    test = analysis.sets["test"]
    labels = test.labels
    for arm in ("balanced", "unbalanced+threshold(min_cost)"):
        for row in range(2):  # seeds 0 and 1, in the table's order
            decided = predict(test.probs[arm][row])
            fnr = np.mean(decided[labels == 1] != 1)
            fpr = np.mean(decided[labels == 0] == 1)
            expected = 1000 * (0.1 * fnr * 10 + 0.9 * fpr * 1)
            assert test.table[arm][COST_METRIC].values[row] == pytest.approx(expected, abs=1e-9)
    # without a declared prior or data.world: the test set's own mix
    assert analysed(trained, costs={"false_negative": 10}).deployment.prior.tolist() == [0.75, 0.25]


def test_the_cost_bootstrap_is_the_generic_one_without_its_loop():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=60)
    a, b = rng.dirichlet(np.ones(3), size=(4, 60)), rng.dirichlet(np.ones(3), size=(4, 60))
    metric = ExpectedCost(np.array([[0, 1, 2], [5, 0, 1], [9, 3, 0]], dtype=float), np.array([0.7, 0.2, 0.1]))
    fast = paired_bootstrap(metric, labels, a, b, n_boot=300, seed=5)
    slow = paired_bootstrap(lambda y, p: metric(y, p), labels, a, b, n_boot=300, seed=5)
    assert fast.diff == pytest.approx(slow.diff, abs=1e-9)
    assert (fast.low, fast.high, fast.p_value) == pytest.approx((slow.low, slow.high, slow.p_value), abs=1e-9)
    interval = cost_interval(metric, labels, a, n_boot=500, seed=1)
    mean = np.mean([metric(labels, p) for p in a])
    assert interval.low <= mean <= interval.high and interval.method == "bootstrap"


def test_the_answer_ranks_by_cost_and_compares_the_two_cheapest(trained):
    analysis = analysed(trained, rules=RULES, costs={"false_negative": 10, "false_positive": 1})
    answer = analysis.answer
    costs = [row.mean_cost for row in answer.rows]
    assert costs == sorted(costs) and len(answer.rows) == len(analysis.arms)
    table = analysis.sets["test"].table
    assert all(row.mean_cost == pytest.approx(table[row.arm][COST_METRIC].mean) for row in answer.rows)
    assert answer.runner_up.arm == answer.rows[1].arm and answer.runner_up.reference == answer.rows[0].arm
    assert answer.runner_up.mean_diff == pytest.approx(answer.rows[1].mean_cost - answer.rows[0].mean_cost)
    assert answer.verdict(analysis.class_names).startswith(f"deploy `{answer.rows[0].arm}`")
    for row in answer.rows:  # base arms decide at 0.5; threshold rules at their mean threshold
        if row.rule == "argmax":
            assert row.threshold == 0.5
        elif row.rule.startswith("threshold"):
            fits = analysis.deployment.fits[row.arm].values()
            assert row.threshold == pytest.approx(np.mean([f.params["threshold"] for f in fits]))
        else:
            assert row.threshold is None
    # each rule against its own arm, on the same seeds and images
    versus = {c.arm: c for c in answer.versus_base["unbalanced"]}
    assert set(versus) == {
        f"unbalanced+{r}" for r in ("threshold(max_f1)", "threshold(min_cost)", "temperature", "logit_adjust")
    }
    assert versus["unbalanced+temperature"].mean_diff == 0.0
    # derived arms are compared with the reference arm in the main tables, and draw no training curves
    assert {c.arm for c in analysis.sets["test"].comparisons["f1"]} >= {"weighted+threshold(max_f1)"}
    assert {c.arm for c in analysis.sets["test"].comparisons[COST_METRIC]} >= {"weighted+threshold(max_f1)"}
    assert set(analysis.histories) == {"balanced", "unbalanced", "weighted"}
    thresholds, curve_costs, chosen = answer.curves[answer.rows[0].base]
    assert curve_costs.shape == (2, thresholds.size) and 0.5 in chosen


def test_the_report_and_the_cli_give_the_deployment_answer(trained, tmp_path):
    path = write_spec(tmp_path / "spec.yaml", with_decisions(rules=RULES, costs={"false_negative": 10}))
    result = cli("run", path, "--out", trained, "--no-mlflow")
    assert result.returncode == 0, result.stderr
    assert "what to deploy: deploy `" in result.stdout
    html = (trained / "report.html").read_text()
    assert "<h2>What to deploy</h2>" in html and "alt='cost curves'" in html
    assert "a missed b costs 10 and a false alarm (a taken for b) 1" in html
    md = (trained / "report.md").read_text()
    assert "## What to deploy" in md and "| 1 |" in md
    chosen = cli("report", trained, "--reference", "unbalanced+threshold(min_cost)")
    assert chosen.returncode == 0, chosen.stderr


def test_temperature_scaling_is_reported_with_its_calibration_before_and_after(trained):
    from imbalance_lab.analysis.deployment import calibration_rows

    analysis = analysed(trained, report=True, rules=["temperature", {"threshold": {"by": "max_f1"}}])
    val = analysis.sets["val"].table
    for arm in ("balanced", "unbalanced", "weighted"):
        # the temperature minimises the validation log loss, and T = 1 (the arm itself) is one candidate
        before, after = val[arm]["log_loss"].values, val[f"{arm}+temperature"]["log_loss"].values
        assert len(before) == 2  # both seeds
        assert all(a <= b + 1e-6 for a, b in zip(after, before, strict=True))
    rows = {row.arm: row for row in calibration_rows(analysis)}
    assert set(rows) == {"balanced+temperature", "unbalanced+temperature", "weighted+temperature"}  # no thresholds
    test = analysis.sets["test"].table
    row = rows["weighted+temperature"]
    assert (
        row.before["ece"] == test["weighted"]["ece"].mean
        and row.after["brier"] == test["weighted+temperature"]["brier"].mean
    )
    assert row.comparisons["ece"].mean_diff == pytest.approx(row.after["ece"] - row.before["ece"], abs=1e-6)
    assert "<h2>Calibration after the decision rules</h2>" in (trained / "report.html").read_text()


def test_each_decision_is_compared_with_its_own_arm_on_the_same_seeds_and_images(trained):
    from imbalance_lab.analysis.deployment import versus_base

    analysis = analysed(trained, report=True, rules=RULES, costs={"false_negative": 10, "false_positive": 1})
    table = versus_base(analysis)
    assert set(table) == set(analysis.deployment.arms)
    test = analysis.sets["test"].table
    for arm, comps in table.items():
        base = analysis.deployment.arms[arm][0]
        assert set(comps) == {"recall", "precision", "f1", "f2", "balanced_accuracy", COST_METRIC}
        assert comps["f1"].reference == base and comps["f1"].bootstrap is not None
        diffs = [a - b for a, b in zip(test[arm]["f1"].values, test[base]["f1"].values, strict=True)]
        assert comps["f1"].mean_diff == pytest.approx(np.mean(diffs), abs=1e-8)
    assert table["weighted+temperature"]["recall"].mean_diff == 0.0  # same decisions
    assert "<h2>Each decision against its own arm</h2>" in (trained / "report.html").read_text()


def test_multi_class_decisions_take_a_cost_matrix():
    data = copy.deepcopy(TINY_SPEC)
    del data["data"]["positive"]
    data["data"]["source"]["n_classes"] = 3
    data["data"]["classes"] = {"a": 0, "b": 1, "c": 2}
    data["data"]["splits"] = {"pool": {"balanced": 40}, "val": {"balanced": 10}, "test": {"balanced": 10}}
    data["arms"] = [{"name": "all", "train": {"a": 40, "b": 20, "c": 5}}]
    data["decisions"] = {
        "rules": ["logit_adjust", {"prior_correction": {"prior": "em"}}],
        "costs": [[0, 1, 1], [5, 0, 1], [20, 5, 0]],
    }
    spec = build_spec(data)
    assert list(spec.decision_arms()) == ["all+logit_adjust", "all+prior_correction(prior=em)"]
    bad = copy.deepcopy(data)
    bad["decisions"]["rules"] = [{"threshold": {"by": "max_f1"}}]
    with pytest.raises(SpecError, match=r"decisions.rules\[0\]: a threshold rule .* needs data.positive"):
        build_spec(bad)
    bad["decisions"] = {"costs": [[0, 1], [1, 0]]}
    with pytest.raises(SpecError, match=r"decisions.costs: got a 2×2 cost matrix for 3 classes; expected 3×3"):
        build_spec(bad)
    bad["decisions"] = {"costs": {"false_negative": 3}}
    with pytest.raises(SpecError, match="decisions.costs: false_negative/false_positive costs are for a binary"):
        build_spec(bad)


def test_bad_decisions_are_one_line():
    with pytest.raises(SpecError, match="decisions: give rules"):
        build_spec(with_decisions(rules=[]))
    with pytest.raises(SpecError, match=r"decisions.rules\[0\]: threshold by min_cost needs decisions.costs"):
        build_spec(with_decisions(rules=[{"threshold": {"by": "min_cost"}}]))
    with pytest.raises(SpecError, match=r"decisions.rules\[0\].threshold: beta: expected a positive number"):
        build_spec(with_decisions(rules=[{"threshold": {"by": "max_fbeta"}}]))
    with pytest.raises(SpecError, match=r"decisions.rules\[0\]"):
        build_spec(with_decisions(rules=["platt"]))
    with pytest.raises(SpecError, match="rule temperature is listed twice"):
        build_spec(with_decisions(rules=["temperature", "temperature"]))
    with pytest.raises(SpecError, match="decisions.deployment_prior: 'dog' is not a class"):
        build_spec(with_decisions(costs={"false_negative": 10}, deployment_prior={"a": 1, "dog": 1}))
    with pytest.raises(SpecError, match="decisions.deployment_prior: class 'b' has no frequency"):
        build_spec(with_decisions(costs={"false_negative": 10}, deployment_prior={"a": 1}))
    with pytest.raises(SpecError, match=r"decisions.arms\[1\]: got 'both', which is not an arm; valid: balanced"):
        build_spec(with_decisions(rules=["temperature"], arms=["weighted", "both"]))
    only = build_spec(with_decisions(rules=["temperature", "logit_adjust"], arms=["weighted"]))
    assert list(only.decision_arms()) == ["weighted+temperature", "weighted+logit_adjust"]
