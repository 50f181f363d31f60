"""rliable-style aggregates (issue 26): the interquartile mean, the probability of improvement and performance
profiles (``imbalance_lab.stats.aggregates``), by hand on small arrays, against scipy's ``trim_mean`` and
``mannwhitneyu`` (the functions rliable's ``aggregate_iqm`` and ``probability_of_improvement`` call) and, where
rliable is installed, against rliable itself; the stratified bootstrap against the same draws made here; and
the analysis, report and notebook DataFrame that show them."""

from __future__ import annotations

import doctest
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from imbalance_lab import api, load
from imbalance_lab.analysis.aggregates import aggregate_arms, threshold_grid
from imbalance_lab.stats import (
    Interval,
    bootstrap_improvement,
    bootstrap_iqm,
    interquartile_mean,
    performance_profile,
    probability_of_improvement,
)
from imbalance_lab.stats import aggregates as aggregates_module

GOLDEN = Path(__file__).parent / "golden" / "results"


# --------------------------------------------------------------------------- interquartile mean


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([7.0], 7.0),  # one run: itself
        ([1.0, 3.0], 2.0),  # n // 4 = 0: the plain mean
        ([3.0, 1.0, 8.0], 4.0),
        ([4.0, 1.0, 3.0, 2.0], 2.5),  # cut 1 from each end: (2 + 3) / 2
        ([5.0, 1.0, 4.0, 2.0, 3.0], 3.0),  # n = 5, int(1.25) = 1 cut: (2 + 3 + 4) / 3
        ([1.0, 2.0, 3.0, 4.0, 5.0, 100.0], 3.5),  # n = 6, 1 cut: (2 + 3 + 4 + 5) / 4
        ([0.0, 10.0, 1.0, 2.0, 3.0, 4.0, -10.0], 2.0),  # n = 7, 1 cut: (0 + 1 + 2 + 3 + 4) / 5
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 70.0, -80.0], 3.5),  # n = 8, 2 cut: (2 + 3 + 4 + 5) / 4
        ([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]], 9.25),  # 2 tasks pooled: (3 + 4 + 10 + 20) / 4
    ],
)
def test_the_interquartile_mean_by_hand(scores: list, expected: float) -> None:
    assert interquartile_mean(scores) == expected


@pytest.mark.parametrize("shape", [(n,) for n in range(1, 14)] + [(5, 3), (4, 2), (7, 1), (3, 5)])
def test_the_interquartile_mean_is_scipys_trim_mean_to_the_bit(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        scores = rng.random(shape)
        assert interquartile_mean(scores) == sps.trim_mean(scores, 0.25, axis=None)


# --------------------------------------------------------------------------- probability of improvement


def test_the_probability_of_improvement_by_hand() -> None:
    # pairs (0.3, 0.2) 1, (0.3, 0.5) 0, (0.5, 0.2) 1, (0.5, 0.5) 1/2 -> 2.5 / 4
    assert probability_of_improvement([0.3, 0.5], [0.2, 0.5]) == 0.625
    # lower is better: (0.3, 0.5) 1, (0.5, 0.5) 1/2 -> 1.5 / 4
    assert probability_of_improvement([0.3, 0.5], [0.2, 0.5], higher_is_better=False) == 0.375
    # 3 runs against 2: x = 0.9 beats both, 0.1 neither, 0.4 beats 0.2 only -> 3 / 6
    assert probability_of_improvement([0.9, 0.1, 0.4], [0.2, 0.6]) == 0.5
    assert probability_of_improvement([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert probability_of_improvement([0.1, 0.2], [0.9, 0.8]) == 0.0
    assert probability_of_improvement([0.4, 0.4], [0.4]) == 0.5  # all ties
    # two tasks, averaged: task 1 as the first case (0.625), task 2 x always better (1.0)
    two_tasks = probability_of_improvement([[0.3, 5.0], [0.5, 6.0]], [[0.2, 1.0], [0.5, 2.0]])
    assert two_tasks == (0.625 + 1.0) / 2


@pytest.mark.parametrize(("n", "m", "tasks"), [(5, 5, 1), (3, 7, 1), (4, 4, 3), (2, 9, 2), (10, 10, 1)])
def test_the_probability_of_improvement_is_mann_whitney_u_over_n_m(n: int, m: int, tasks: int) -> None:
    rng = np.random.default_rng(n * 100 + m * 10 + tasks)
    for _ in range(10):
        x = rng.integers(0, 6, size=(n, tasks)) / 5.0  # a coarse grid: ties happen
        y = rng.integers(0, 6, size=(m, tasks)) / 5.0
        expected = np.mean(
            [sps.mannwhitneyu(x[:, t], y[:, t], alternative="greater")[0] / (n * m) for t in range(tasks)]
        )
        assert probability_of_improvement(x, y) == expected
        assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0, abs=1e-12)
        assert probability_of_improvement(x, y, higher_is_better=False) == probability_of_improvement(-x, -y)


def test_rliables_own_numbers_where_it_is_installed() -> None:
    """rliable 1.2.0's ``metrics`` (numpy and scipy only): the same IQM and P(X > Y) to the bit. rliable is not a
    test dependency (its ``arch`` dependency does not import with pandas 3); this runs where it is installed."""
    rly = pytest.importorskip("rliable.metrics")
    rng = np.random.default_rng(26)
    for runs, tasks in [(5, 1), (10, 3), (7, 2), (3, 4)]:
        x, y = rng.random((runs, tasks)), rng.integers(0, 4, size=(runs + 2, tasks)) / 3.0
        assert interquartile_mean(x) == rly.aggregate_iqm(x)
        assert probability_of_improvement(x, y) == rly.probability_of_improvement(x, y)
        assert probability_of_improvement(x, x) == rly.probability_of_improvement(x, x) == 0.5


# --------------------------------------------------------------------------- stratified bootstrap


def _draws(seed: object, runs: int, tasks: int, n_boot: int) -> np.ndarray:
    """The draws the module documents: per replicate and task, ``runs`` indices with replacement."""
    return np.random.default_rng(seed).integers(runs, size=(n_boot, tasks, runs))


def _percentiles(replicates: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(replicates, [0.025, 0.975])
    return float(low), float(high)


def test_the_iqm_interval_is_the_percentile_interval_of_the_stratified_replicates() -> None:
    scores = np.random.default_rng(0).random((6, 2))
    draws = _draws(3, 6, 2, 300)
    replicates = [
        sps.trim_mean(np.stack([scores[draws[b, t], t] for t in range(2)], axis=1), 0.25, axis=None) for b in range(300)
    ]
    found = bootstrap_iqm(scores, n_boot=300, seed=3)
    assert found.value == sps.trim_mean(scores, 0.25, axis=None)
    assert found.interval is not None
    assert (found.interval.low, found.interval.high) == pytest.approx(_percentiles(np.array(replicates)), abs=1e-12)
    assert found.interval.method == "stratified bootstrap"


def test_the_improvement_interval_is_the_percentile_interval_of_independent_redraws() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.random((5, 2)), rng.random((4, 2))
    dx, dy = _draws(7, 5, 2, 200), _draws([7, 1], 4, 2, 200)
    replicates = [
        np.mean(
            [
                sps.mannwhitneyu(x[dx[b, t], t], y[dy[b, t], t], alternative="greater")[0] / 20
                if not np.array_equal(x[dx[b, t], t], y[dy[b, t], t])
                else 0.5
                for t in range(2)
            ]
        )
        for b in range(200)
    ]
    found = bootstrap_improvement(x, y, n_boot=200, seed=7)
    assert found.value == probability_of_improvement(x, y)
    assert found.interval is not None
    assert (found.interval.low, found.interval.high) == pytest.approx(_percentiles(np.array(replicates)), abs=1e-12)


def test_the_bootstrap_is_stratified_by_task() -> None:
    # every task's runs are equal within the task: a stratified redraw keeps 4 zeros and 4 ones in each replicate,
    # so the IQM never moves; a bootstrap over the pooled runs would draw 0s and 1s in any mix
    scores = np.array([[0.0, 1.0]] * 4)
    found = bootstrap_iqm(scores, n_boot=500, seed=0)
    assert found.value == 0.5
    assert found.interval == Interval(0.5, 0.5, "stratified bootstrap")


def test_the_bootstrap_is_seeded_and_sensible() -> None:
    rng = np.random.default_rng(2)
    good, bad = 0.8 + 0.05 * rng.random(8), 0.5 + 0.05 * rng.random(8)
    assert bootstrap_iqm(good, n_boot=200, seed=4) == bootstrap_iqm(good, n_boot=200, seed=4)
    assert bootstrap_iqm(good, n_boot=200, seed=4) != bootstrap_iqm(good, n_boot=200, seed=5)
    iqm = bootstrap_iqm(good, n_boot=200, seed=4)
    assert iqm.interval is not None and good.min() <= iqm.interval.low <= iqm.value <= iqm.interval.high <= good.max()
    # clearly separated arms: every redraw has every run of one better than every run of the other
    assert bootstrap_improvement(good, bad, n_boot=200).interval == Interval(1.0, 1.0, "stratified bootstrap")
    assert bootstrap_improvement(good, bad, higher_is_better=False, n_boot=200).value == 0.0
    # the same distribution: the interval holds 1/2 and is not degenerate
    same = bootstrap_improvement(good, good[::-1].copy(), n_boot=400, seed=1)
    assert same.value == 0.5
    assert same.interval is not None and same.interval.low < 0.5 < same.interval.high


def test_one_run_gives_no_interval() -> None:
    assert bootstrap_iqm([0.7], n_boot=50).interval is None
    assert bootstrap_improvement([0.7], [0.1, 0.2], n_boot=50).interval is None
    assert bootstrap_improvement([0.7, 0.8], [0.1], n_boot=50).value == 1.0
    profile = performance_profile([0.7], [0.5, 0.8], n_boot=50)
    assert profile.fraction == (1.0, 0.0) and profile.low is None and profile.high is None


# --------------------------------------------------------------------------- performance profiles


def test_a_performance_profile_by_hand() -> None:
    scores, taus = [0.2, 0.4, 0.6, 0.8], [0.0, 0.4, 0.5, 0.8]
    assert performance_profile(scores, taus, n_boot=20).fraction == (1.0, 0.5, 0.5, 0.0)  # strictly above
    assert performance_profile(scores, taus, higher_is_better=False, n_boot=20).fraction == (0.0, 0.25, 0.5, 0.75)
    # two tasks pooled: 3 of the 4 scores lie above 0.5
    assert performance_profile([[0.2, 0.9], [0.6, 0.7]], [0.5], n_boot=20).fraction == (0.75,)


def test_a_performance_profile_band_is_the_percentile_band_of_the_redraws() -> None:
    scores = np.random.default_rng(5).random((5, 2))
    taus = np.linspace(0.0, 1.0, 21)
    draws = _draws(9, 5, 2, 300)
    replicates = np.array(
        [[np.mean(np.stack([scores[draws[b, t], t] for t in range(2)]) > tau) for tau in taus] for b in range(300)]
    )
    found = performance_profile(scores, taus, n_boot=300, seed=9)
    assert found.thresholds == tuple(taus.tolist())
    assert found.low is not None and found.high is not None
    expected_low, expected_high = np.quantile(replicates, [0.025, 0.975], axis=0)
    assert found.low == pytest.approx(expected_low.tolist(), abs=1e-12)
    assert found.high == pytest.approx(expected_high.tolist(), abs=1e-12)
    assert all(a >= b for a, b in zip(found.fraction, found.fraction[1:]))  # a profile never rises
    assert all(lo <= f <= hi for lo, f, hi in zip(found.low, found.fraction, found.high))


# --------------------------------------------------------------------------- checks and docs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: interquartile_mean([]), "scores: expected the scores of at least one run"),
        (lambda: interquartile_mean([0.1, math.nan]), "scores: expected finite numbers"),
        (lambda: interquartile_mean(np.zeros((2, 2, 2))), "shape (n_runs,) or (n_runs, n_tasks)"),
        (lambda: probability_of_improvement(np.zeros((3, 2)), np.zeros((3, 1))), "scores_y: expected the 2 task"),
        (lambda: bootstrap_iqm([0.1, 0.2], confidence=1.0), "confidence: expected a number in (0, 1)"),
        (lambda: bootstrap_improvement([0.1], [0.2], n_boot=0), "n_boot: expected an integer >= 1"),
        (lambda: performance_profile([0.1, 0.2], []), "thresholds: expected at least one threshold"),
        (lambda: performance_profile([0.1, 0.2], [0.5], seed=-1), "seed: expected an integer >= 0"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_parameter(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_docstring_examples_hold() -> None:
    failed, attempted = doctest.testmod(aggregates_module)
    assert attempted >= 6 and failed == 0


# --------------------------------------------------------------------------- the analysis, report and DataFrame


def test_every_arm_gets_its_iqm_and_p_against_the_reference_in_the_metrics_direction() -> None:
    values = {"ref": [0.5, 0.6, 0.7], "better": [0.8, 0.9, 0.7], "one_run": [0.55, math.nan]}
    found = aggregate_arms(values, "ref", "recall", n_boot=100)
    assert found["ref"].improvement is None and found["ref"].n_runs == 3
    assert found["better"].iqm.value == pytest.approx(0.8)
    assert found["better"].improvement is not None
    assert found["better"].improvement.value == pytest.approx(8.5 / 9)  # 0.7 ties 0.7, the rest beat or equal
    assert found["one_run"].n_runs == 1 and found["one_run"].iqm.interval is None  # NaN left out
    costs = aggregate_arms({"ref": [100.0, 200.0], "cheap": [10.0, 20.0]}, "ref", "expected_cost", n_boot=50)
    assert costs["cheap"].improvement is not None and costs["cheap"].improvement.value == 1.0  # lower is better
    assert list(threshold_grid({"a": [0.2]}, "recall", points=3)) == [0.0, 0.5, 1.0]
    assert list(threshold_grid({"a": [10.0, 30.0]}, "expected_cost", points=3)) == [10.0, 20.0, 30.0]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("aggregates") / "results"
    shutil.copytree(GOLDEN, root)
    assert len(list(root.glob("runs/*/seed-*/result.json"))) == 8
    return root


def test_the_report_has_the_aggregates_section_after_its_tables(stored: Path) -> None:
    analysis, _ = api.report(stored, n_boot=200)
    test = analysis.sets["test"]
    assert list(test.aggregates) == list(test.metrics)
    assert set(test.aggregates["recall"]) == set(analysis.arms)
    markdown = (stored / "report.md").read_text()
    before, section = markdown.split("## Aggregates over runs (rliable)")
    assert "## test set" in before and "## test set" not in section  # the tables come first, as they were
    assert "### expected_cost" in section and "| balanced | 2 | 1.000 [1.000, 1.000] | 1.00 [1.00, 1.00] |" in section
    page = (stored / "report.html").read_text()
    assert "<h2>Aggregates over runs (rliable)</h2>" in page and "alt='performance profiles recall'" in page


def test_the_notebook_dataframe_is_tidy_and_equals_the_analysis(stored: Path) -> None:
    exp = load(stored)
    table = exp.aggregates()
    assert not table.empty
    assert list(table.columns) == [
        "set",
        "metric",
        "arm",
        "n_runs",
        "iqm",
        "iqm_low",
        "iqm_high",
        "p_improvement",
        "p_low",
        "p_high",
        "reference",
    ]
    analysis = exp.analysis
    assert len(table) == sum(len(per_arm) for sa in analysis.sets.values() for per_arm in sa.aggregates.values())
    assert set(table["set"]) == set(analysis.sets)
    row = table[(table["set"] == "test") & (table["metric"] == "pr_auc") & (table["arm"] == "weighted")].iloc[0]
    found = analysis.sets["test"].aggregates["pr_auc"]["weighted"]
    assert row["iqm"] == found.iqm.value and row["p_improvement"] == found.improvement.value
    assert row["p_low"] == found.improvement.interval.low and row["reference"] == "unbalanced"
    reference_rows = table[table["arm"] == "unbalanced"]
    assert len(reference_rows) and reference_rows["p_improvement"].isna().all()
    figure = exp.plot.profile()
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["balanced", "unbalanced", "weighted", "both"]
    assert exp.plot.profile("f1", set_name="val").axes
