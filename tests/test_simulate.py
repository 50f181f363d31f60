"""Seed 003's simulation: exact expectations against hand-derived closed forms, the seed's printed figures
within Monte Carlo error of them, and the command as a user runs it."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from helpers import cli
from imbalance_lab import simulate as sim
from imbalance_lab.errors import UserError

CLI = [sys.executable, "-m", "imbalance_lab.cli"]


def bce_neg_closed_form(b: float) -> float:
    """E[−log(1 − s)] for s ~ U(0, b): (1/b)∫₀ᵇ −log(1 − s) ds = 1 + (1 − b)/b · log(1 − b)."""
    return 1 + (1 - b) / b * math.log(1 - b)


def bce_pos_closed_form(a: float) -> float:
    """E[−log s] for s ~ U(a, 1): (1/(1 − a)) [s − s log s]ₐ¹ = (1 − a + a log a) / (1 − a); 1 for a = 0."""
    return 1.0 if a == 0 else (1 - a + a * math.log(a)) / (1 - a)


@pytest.mark.parametrize("acc_neg,acc_pos", [(0.999, 0.5), (0.98, 0.9), (0.75, 0.6), (1.0, 1.0)])
def test_bce_expectation_equals_the_closed_form(acc_neg, acc_pos):
    case = sim.Case(1_000_000, 10_000, acc_neg, acc_pos)
    neg = bce_neg_closed_form(0.5 / acc_neg)
    pos = bce_pos_closed_form(1 - 0.5 / acc_pos)
    mean = (1_000_000 * neg + 10_000 * pos) / 1_010_000
    assert sim.expected_loss(case, sim.bce()) == pytest.approx(mean, abs=2e-6)  # Keras' ε = 1e-7 aside
    assert sim.expected_loss(case, sim.bce(reduction="sum")) == pytest.approx(1_010_000 * mean, rel=5e-6)
    balanced = sim.expected_loss(case, sim.balanced_bce())
    assert balanced == pytest.approx((neg + pos) / 2, abs=2e-6)  # each class counts alike


def test_focal_expectation_equals_the_closed_form():
    # positives U(0, 1): α ∫ (1 − s)² (−log s) ds = α H₃ / 3 = α · 11/18; negatives U(0, 1): (1 − α) · 11/18 too
    case = sim.Case(3, 7, 0.5, 0.5)
    for alpha, gamma in [(0.25, 2.0), (0.5, 2.0)]:
        loss = sim.focal(alpha=alpha, gamma=gamma)
        expected = 7 * alpha * 11 / 18 + 3 * (1 - alpha) * 11 / 18
        assert sim.expected_loss(case, loss) == pytest.approx(expected, rel=1e-5)
    # γ = 0 is α-weighted cross-entropy: with α = 0.5 half of BCE
    half = sim.expected_loss(case, sim.focal(alpha=0.5, gamma=0.0, reduction="mean"))
    assert half == pytest.approx(0.5 * sim.expected_loss(case, sim.bce()), rel=1e-6)


def test_population_metrics_follow_from_the_rates():
    case = sim.Case(1_000_000, 10_000, 0.98, 0.9)
    m = sim.expected_metrics(case)
    tp, fp = 10_000 * 0.9, 1_000_000 * 0.02
    assert m["recall"] == pytest.approx(0.9) and m["precision"] == pytest.approx(tp / (tp + fp))
    assert m["f1"] == pytest.approx(2 * tp / (2 * tp + fp + 1_000))
    assert m["balanced_accuracy"] == pytest.approx((0.9 + 0.98) / 2)
    # ROC-AUC: neg U(0, b), pos U(a, 1) with a < b: P(pos > neg) = 1 − P(both in [a, b], pos < neg)
    a, b = 1 - 0.5 / 0.9, 0.5 / 0.98
    overlap = (b - a) ** 2 / 2 / ((1 - a) * b)
    assert m["roc_auc"] == pytest.approx(1 - overlap, abs=1e-9)
    # a large draw agrees with the population values
    drawn = sim.monte_carlo(case, [sim.bce()], seed=3)
    for key in ("precision", "recall", "f1", "balanced_accuracy", "mcc", "roc_auc", "pr_auc"):
        assert drawn[key].value == pytest.approx(m[key], abs=0.01), key


def test_seed_003_s_figures_lie_within_monte_carlo_error_of_the_expectation():
    rows = sim.study(
        sim.SEED_003_CASES, [sim.bce(), sim.focal()], ["precision", "recall", "f1"], printed=sim.SEED_003_PRINTED
    )
    checked = [r for r in rows if r.printed is not None]
    assert len(checked) == 6 * 4  # bce on the four cases, focal on the two skewed ones; loss, P, R, F1 each
    for row in checked:
        assert abs(row.z) < 3, (row.case.label(), row.quantity, row.printed, row.expected, row.expected_se)
    # the seed's point: on the skewed set BCE barely moves between the two models, on the balanced set it does
    bce = {(r.case.negatives, r.case.acc_pos): r.expected for r in rows if r.quantity == "bce(mean)"}
    assert abs(bce[(1_000_000, 0.5)] - bce[(1_000_000, 0.9)]) < 0.002
    assert bce[(10_000, 0.5)] - bce[(10_000, 0.9)] > 0.3


def test_monte_carlo_is_seeded_and_its_error_is_honest():
    case = sim.Case(20_000, 2_000, 0.95, 0.7)
    losses = [sim.bce(), sim.focal(reduction="mean")]
    a, b = sim.monte_carlo(case, losses, seed=1), sim.monte_carlo(case, losses, seed=1)
    assert {k: v.value for k, v in a.items()} == {k: v.value for k, v in b.items()}
    exact = sim.expected(case, losses)
    z = [
        (sim.monte_carlo(case, losses, seed=s)["bce(mean)"].value - exact["bce(mean)"]) / a["bce(mean)"].se
        for s in range(40)
    ]
    assert abs(np.mean(z)) < 0.5 and 0.6 < np.std(z) < 1.5  # standardised errors look standard normal
    repeated = sim.monte_carlo(case, losses, seed=1, repeats=4)
    assert repeated["roc_auc"].se is not None and a["roc_auc"].se is None


def test_bad_cases_and_losses_are_one_line():
    with pytest.raises(UserError, match=r"acc_neg 0.3 must lie in \[0.5, 1\]"):
        sim.Case(10, 10, 0.3, 0.9)
    with pytest.raises(UserError, match="positives 0 must be at least 1"):
        sim.Case(10, 0, 0.9, 0.9)
    with pytest.raises(UserError, match="gamma must be a number"):
        sim.parse_loss("focal:gamma=abc")
    with pytest.raises(UserError, match="unknown loss 'hinge'"):
        sim.parse_loss("hinge")
    assert sim.parse_loss("focal:alpha=0.5,gamma=1,reduction=mean").describe() == "focal(alpha=0.5, gamma=1, mean)"


def test_the_command_runs_seed_003_s_study_and_logs_it_to_mlflow(tmp_path):
    done = subprocess.run(
        [*CLI, "simulate", "--out", str(tmp_path / "sim")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "seed 003's study" in done.stdout and "0.3139" in done.stdout and "31,629.95" in done.stdout
    assert "mlflow: 8 run(s) logged" in done.stdout and "INFO" not in done.stderr
    table = (tmp_path / "sim" / "simulation.csv").read_text().splitlines()
    assert table[0].startswith("negatives,positives,acc_neg,acc_pos,draw,quantity,expected,drawn,drawn_se,seed_003,z")
    assert len(table) == 1 + 8 * 4
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'sim' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("simulate").experiment_id])
    assert len(runs) == 8
    some = next(
        r
        for r in runs
        if r.data.params["acc_pos"] == "0.9"
        and r.data.params["negatives"] == "1000000"
        and r.data.params["draw"] == "bce(mean)"
    )
    assert some.data.metrics["expected_bce_mean"] == pytest.approx(0.31515, abs=1e-4)
    assert some.data.metrics["drawn_recall"] == pytest.approx(0.9, abs=0.02) and "drawn_se_f1" in some.data.metrics


def test_the_command_takes_one_case_and_refuses_bad_input_in_one_line(tmp_path):
    done = subprocess.run(
        [
            *CLI,
            "simulate",
            "--negatives",
            "5000",
            "--positives",
            "50",
            "--acc-pos",
            "0.8",
            "--loss",
            "balanced_bce",
            "--metric",
            "mcc",
            "--metric",
            "pr_auc",
            "--no-mlflow",
            "--out",
            str(tmp_path / "one"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "5,000:50, acc 0.999/0.8" in done.stdout and "balanced_bce(mean)" in done.stdout and "pr_auc" in done.stdout
    assert not (tmp_path / "one" / "mlflow.db").exists()
    for args, message in [
        (["--acc-neg", "0.2"], "acc_neg 0.2 must lie in [0.5, 1]"),
        (["--metric", "auc"], "simulate --metric 'auc': unknown"),
        (["--loss", "focal:gamma"], "expected key=value"),
    ]:
        bad = cli("simulate", *args, "--no-mlflow", "--out", tmp_path / "bad")  # the same main, in this process
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert not (tmp_path / "bad").exists()


def test_the_sweep_shows_where_each_quantity_loses_the_minority():
    records = sim.sweep(positives=100, ratios=(1, 10, 1000), repeats=5)
    at = {(r["scenario"], r["quantity"], r["ratio"]): r for r in records}
    pure, trade = (s.name for s in sim.SCENARIOS)
    # class-balanced BCE: the same gain at every ratio; plain BCE: a gain that shrinks with the positives' share
    balanced = [at[(pure, "balanced_bce(mean)", r)]["gain"] for r in (1, 10, 1000)]
    assert max(balanced) - min(balanced) < 1e-9 and balanced[0] > 0.1
    plain = [at[(pure, "bce(mean)", r)]["gain"] for r in (1, 10, 1000)]
    assert plain[0] == pytest.approx(balanced[0]) and plain[0] > plain[1] > plain[2] > 0
    # the seed's trade-off: on a 1:1000 set the loss prefers the low-recall model, plainly
    assert at[(trade, "bce(mean)", 1000)]["z"] < -3 and at[(trade, "balanced_bce(mean)", 1000)]["z"] > 3
    assert at[(trade, "balanced_accuracy", 1000)]["gain"] == pytest.approx(0.05 - 0.005)
    # threshold metrics: limited by the 100 positives (recall's SE 0.05 for each of two draws)
    assert at[(pure, "balanced_accuracy", 10)]["z"] == pytest.approx(
        0.05 / math.sqrt((0.5 * 0.5 + 0.6 * 0.4) / 4 / 100 + 2 * 0.98 * 0.02 / 4 / 1000), rel=1e-6
    )


def test_the_sweep_command_writes_its_table_and_plot(tmp_path):
    # 10 positives a set (default 100): the same table and plot, ten times smaller draws for the rank metrics' SEs
    done = subprocess.run(
        [*CLI, "simulate", "--sweep", "--positives", "10", "--out", str(tmp_path / "sw")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sw" / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((tmp_path / "sw" / "sweep.csv").read_text().splitlines()) == 1 + 2 * 7 * 7
    bad = cli("simulate", "--sweep", "--acc-pos", "0.7", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "simulate --sweep" in bad.stderr and not (tmp_path / "bad").exists()
