"""Tests for ``imbalance_lab.stats``.

Reference checks against scipy (t intervals, paired t and Wilcoxon tests) and
hand-computed cases (a t interval, Holm on four p-values, arms compared with a
reference); properties of Holm with hypothesis (derandomized); the paired
bootstrap on identical arms, on a clearly better arm, against sklearn, with its
vectorised path checked number for number against the generic callable path,
and its p-value checked for calibration on simulated nulls. All data are made
here from fixed seeds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn import metrics as skm

import imbalance_lab.stats.bootstrap  # noqa: F401  (monkeypatched below)
from imbalance_lab import stats
from imbalance_lab.metrics import (
    UndefinedMetricWarning,
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    per_class_precision_recall_f1,
    predict,
)
from imbalance_lab.stats import (
    BootstrapDiff,
    Interval,
    SeedTest,
    bootstrap_interval,
    compare_to_reference,
    holm,
    paired_bootstrap,
    paired_seed_test,
    t_interval,
)
from imbalance_lab.vocabulary import FAST

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True, database=None)
ATOL = 1e-12


def random_runs(rng: np.random.Generator, n_seeds: int, n: int, n_classes: int) -> np.ndarray:
    """``(S, N, C)`` random probability rows (Dirichlet(1)), float32 as stored by the runs."""
    return rng.dirichlet(np.ones(n_classes), size=(n_seeds, n)).astype(np.float32)


def probs_with_decisions(decisions: np.ndarray, n_classes: int) -> np.ndarray:
    """An ``(N, C)`` probability matrix whose argmax is ``decisions``."""
    probs = np.full((decisions.size, n_classes), 0.2 / (n_classes - 1))
    probs[np.arange(decisions.size), decisions] = 0.8
    return probs


# --------------------------------------------------------------------------- #
# t_interval / bootstrap_interval
# --------------------------------------------------------------------------- #


def test_t_interval_hand_computed() -> None:
    # mean 3, s = sqrt(2.5), sem = sqrt(0.5), t_{4, 0.975} = 2.7764451051977987
    iv = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(0.5)
    assert (iv.low, iv.high) == pytest.approx((3.0 - half, 3.0 + half), rel=0, abs=ATOL)
    assert iv.method == "t"
    assert iv.low == pytest.approx(1.0367568, abs=1e-7) and iv.high == pytest.approx(4.9632432, abs=1e-7)


@pytest.mark.parametrize("n", [2, 3, 5, 20])
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_t_interval_matches_scipy(n: int, confidence: float) -> None:
    values = np.random.default_rng(n).normal(0.7, 0.05, size=n)
    ref = sps.t.interval(confidence, df=n - 1, loc=values.mean(), scale=sps.sem(values))
    iv = t_interval(values.tolist(), confidence)
    assert (iv.low, iv.high) == pytest.approx(ref, rel=0, abs=ATOL)


@pytest.mark.parametrize("interval", [t_interval, bootstrap_interval])
def test_no_interval_from_fewer_than_two_seeds(interval: Callable[..., Interval | None]) -> None:
    assert interval([0.8]) is None
    assert interval([]) is None
    assert interval([0.8, 0.9]) is not None


@pytest.mark.parametrize("interval", [t_interval, bootstrap_interval])
def test_zero_spread_gives_zero_width_interval(interval: Callable[..., Interval | None]) -> None:
    iv = interval([0.1, 0.1, 0.1])
    assert iv.low == iv.high == pytest.approx(0.1, abs=1e-15)


def test_bootstrap_interval_covers_mean_and_is_seeded() -> None:
    values = np.random.default_rng(1).normal(0.6, 0.1, size=8)
    iv = bootstrap_interval(values, seed=3)
    assert iv.method == "bootstrap"
    assert values.min() <= iv.low < values.mean() < iv.high <= values.max()
    assert bootstrap_interval(values, seed=3) == iv
    assert bootstrap_interval(values, seed=4) != iv
    narrow = bootstrap_interval(values, confidence=0.5, seed=3)
    assert iv.low < narrow.low < narrow.high < iv.high


def test_bootstrap_interval_approaches_t_interval_for_large_normal_samples() -> None:
    values = np.random.default_rng(2).normal(0.0, 1.0, size=400)
    boot = bootstrap_interval(values, n_boot=10_000, seed=0)
    t = t_interval(values)
    half = (t.high - t.low) / 2
    assert abs(boot.low - t.low) < 0.1 * half
    assert abs(boot.high - t.high) < 0.1 * half


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": [[0.1, 0.2]]}, "values: expected a 1-D"),
        ({"values": [0.1, float("nan")]}, "values: expected finite"),
        ({"values": [0.1, 0.2], "confidence": 1.0}, "confidence"),
        ({"values": [0.1, 0.2], "n_boot": 0}, "n_boot"),
        ({"values": [0.1, 0.2], "seed": -1}, "seed"),
    ],
)
def test_bootstrap_interval_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bootstrap_interval(**kwargs)


# --------------------------------------------------------------------------- #
# paired_seed_test
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("n", [2, 3, 5, 8, 12])
@pytest.mark.parametrize(("method", "scipy_test"), [("t", sps.ttest_rel), ("wilcoxon", sps.wilcoxon)])
def test_seed_test_matches_scipy(n: int, method: str, scipy_test: Callable) -> None:
    rng = np.random.default_rng(10 + n)
    a = rng.normal(0.70, 0.03, size=n)
    b = a + rng.normal(0.02, 0.03, size=n)
    ref = scipy_test(a, b)
    res = paired_seed_test(a.tolist(), b.tolist(), method=method)
    assert res == SeedTest(float(ref.statistic), float(ref.pvalue), {"t": "paired t", "wilcoxon": "wilcoxon"}[method])


def test_wilcoxon_with_five_seeds_returns_its_exact_p() -> None:
    res = paired_seed_test([0.9, 0.8, 0.85, 0.95, 0.7], [0.1, 0.2, 0.3, 0.4, 0.5], method="wilcoxon")
    assert res.p_value == pytest.approx(2 / 2**5)  # the smallest two-sided exact p with 5 pairs


@pytest.mark.parametrize("method", ["t", "wilcoxon"])
def test_seed_test_all_equal_gives_p_one(method: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy would warn (or give nan) here
        res = paired_seed_test([0.7, 0.8, 0.75], [0.7, 0.8, 0.75], method=method)
    assert res.p_value == 1.0 and res.statistic == 0.0


def test_seed_test_needs_two_pairs_and_valid_arguments() -> None:
    assert paired_seed_test([0.7], [0.6]) is None
    with pytest.raises(ValueError, match="b: expected one value per seed of a"):
        paired_seed_test([0.7, 0.8], [0.6])
    with pytest.raises(ValueError, match="method"):
        paired_seed_test([0.7, 0.8], [0.6, 0.7], method="sign")


# --------------------------------------------------------------------------- #
# holm
# --------------------------------------------------------------------------- #


def test_holm_hand_computed() -> None:
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=0, atol=ATOL)


def test_holm_caps_and_keeps_nan() -> None:
    np.testing.assert_allclose(holm([0.6, np.nan, 0.2]), [0.6, np.nan, 0.4], rtol=0, atol=ATOL)
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])
    assert holm([]).shape == (0,)
    assert np.isnan(holm([np.nan])).all()
    with pytest.raises(ValueError, match="p_values"):
        holm([0.1, 1.5])


@PROPERTY
@given(st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=1, max_size=12))
def test_holm_properties(p: list[float]) -> None:
    raw = np.array(p)
    adj = holm(p)
    known = ~np.isnan(raw)
    assert np.array_equal(np.isnan(adj), ~known)
    r, a = raw[known], adj[known]
    m = r.size
    assert np.all(a >= r) and np.all(a <= 1.0)
    assert np.all(a <= np.minimum(1.0, m * r) + 1e-15)  # never worse than Bonferroni
    order = np.argsort(r, kind="stable")
    assert np.all(np.diff(a[order]) >= 0)  # same order as the raw p-values
    if m:
        assert a.min() == pytest.approx(min(1.0, m * r.min()))  # the smallest p gets factor m


# --------------------------------------------------------------------------- #
# paired_bootstrap
# --------------------------------------------------------------------------- #


def test_identical_arms_give_zero_difference_and_p_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=150)
    probs = random_runs(rng, 3, 150, 2)
    for metric in ("recall", lambda y, p: float(np.mean(predict(p) == y))):
        res = paired_bootstrap(metric, labels, probs, probs.copy(), n_boot=300, positive=1)
        assert res == BootstrapDiff(0.0, 0.0, 0.0, 1.0, 300)
        assert res.low <= 0.0 <= res.high


def test_clearly_better_arm_is_detected() -> None:
    labels = np.repeat([0, 1], [300, 200])
    weak = labels.copy()
    weak[300:][60:] = 0  # recall 60/200 = 0.3
    strong = labels.copy()
    strong[300:][180:] = 0  # recall 180/200 = 0.9
    res = paired_bootstrap(
        "recall", labels, probs_with_decisions(weak, 2)[None], probs_with_decisions(strong, 2)[None], positive=1
    )
    assert res.diff == pytest.approx(0.6)
    assert res.p_value < 0.01
    assert res.p_value == pytest.approx(2 / 2001)  # no replicate reached 0: the +1-corrected minimum
    assert 0.0 < res.low < res.diff < res.high
    flipped = paired_bootstrap(
        "recall", labels, probs_with_decisions(strong, 2), probs_with_decisions(weak, 2), positive=1
    )
    assert flipped.diff == pytest.approx(-0.6) and flipped.high < 0.0 and flipped.p_value == res.p_value


def _sklearn_metric(name: str, positive: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """sklearn's value of a fast-path metric on argmax decisions."""

    def fn(labels: np.ndarray, probs: np.ndarray) -> float:
        yhat = probs.argmax(axis=1)
        if name == "accuracy":
            return skm.accuracy_score(labels, yhat)
        if name == "balanced_accuracy":
            return skm.balanced_accuracy_score(labels, yhat)
        scorer = {"recall": skm.recall_score, "precision": skm.precision_score, "f1": skm.f1_score}[name]
        return scorer(labels, yhat, labels=[positive], average="macro", zero_division=0)

    return fn


def _package_metric(name: str, positive: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """The package's own value of a fast-path metric, from the functions behind ``classification_metrics``."""

    def fn(labels: np.ndarray, probs: np.ndarray) -> float:
        cm = confusion_matrix(labels, predict(probs), probs.shape[1])
        if name == "accuracy":
            return accuracy(cm)
        if name == "balanced_accuracy":  # over the classes present in *these* labels
            return balanced_accuracy(cm)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            precision, recall, f1 = per_class_precision_recall_f1(cm)
        return float({"precision": precision, "recall": recall, "f1": f1}[name][positive])

    return fn


@pytest.mark.parametrize("metric", FAST)
def test_fast_path_equals_generic_path(metric: str) -> None:
    rng = np.random.default_rng(5)
    labels = rng.permutation(np.repeat([0, 1, 2], [26, 12, 2]))  # class 2 is missing from ~13% of replicates
    a, b = random_runs(rng, 3, 40, 3), random_runs(rng, 3, 40, 3)
    fast = paired_bootstrap(metric, labels, a, b, n_boot=200, seed=7, positive=2)
    generic = paired_bootstrap(_package_metric(metric, 2), labels, a, b, n_boot=200, seed=7)
    assert fast.p_value == generic.p_value
    assert (fast.diff, fast.low, fast.high) == pytest.approx((generic.diff, generic.low, generic.high), rel=0, abs=ATOL)
    # the observed difference is sklearn's, averaged over seeds
    sk = _sklearn_metric(metric, 2)
    expected = np.mean([sk(labels, p) for p in b]) - np.mean([sk(labels, p) for p in a])
    assert fast.diff == pytest.approx(expected, rel=0, abs=ATOL)


def test_fast_path_equals_generic_path_across_draw_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats.bootstrap, "CHUNK_ELEMENTS", 7 * 50)  # 7 replicates per block: 9 blocks for 60
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 2, size=50)
    a, b = random_runs(rng, 2, 50, 2), random_runs(rng, 2, 50, 2)
    fast = paired_bootstrap("f1", labels, a, b, n_boot=60, seed=1, positive=1)
    generic = paired_bootstrap(_package_metric("f1", 1), labels, a, b, n_boot=60, seed=1)
    assert fast.p_value == generic.p_value
    assert (fast.low, fast.high) == pytest.approx((generic.low, generic.high), rel=0, abs=ATOL)


def test_paired_bootstrap_is_deterministic_given_seed() -> None:
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 2, size=80)
    a, b = random_runs(rng, 2, 80, 2), random_runs(rng, 2, 80, 2)
    first = paired_bootstrap("accuracy", labels, a, b, n_boot=500, seed=11)
    assert paired_bootstrap("accuracy", labels, a, b, n_boot=500, seed=11) == first
    other = paired_bootstrap("accuracy", labels, a, b, n_boot=500, seed=12)
    assert other.diff == first.diff and (other.low, other.high) != (first.low, first.high)


def test_paired_bootstrap_p_value_is_calibrated_under_the_null() -> None:
    # Two exchangeable arms (independent random probabilities for the same labels):
    # the fraction of p < 0.05 over 200 simulated nulls should be near 0.05.
    labels = np.repeat([0, 1], 60)
    p_values, two_level = [], []
    for i in range(200):
        rng = np.random.default_rng([42, i])
        a, b = random_runs(rng, 2, 120, 2), random_runs(rng, 2, 120, 2)
        p_values.append(
            paired_bootstrap("recall", labels, a, b, n_boot=199, seed=i, positive=1, resample_seeds=False).p_value
        )
        two_level.append(paired_bootstrap("recall", labels, a, b, n_boot=199, seed=i, positive=1).p_value)
    p_values = np.array(p_values)
    assert 0.01 <= np.mean(p_values < 0.05) <= 0.12
    assert 0.35 <= np.mean(p_values < 0.5) <= 0.65
    # resampling seeds as well only widens the null distribution: never more false alarms
    assert np.mean(np.array(two_level) < 0.05) <= np.mean(p_values < 0.05)


def test_paired_bootstrap_warns_when_the_full_set_metric_is_undefined() -> None:
    labels = np.array([0, 1, 0, 1, 1])
    never_positive = probs_with_decisions(np.zeros(5, dtype=np.int64), 2)
    sometimes = probs_with_decisions(np.array([0, 1, 1, 1, 0]), 2)
    with pytest.warns(UndefinedMetricWarning, match="precision of class 1"):
        res = paired_bootstrap("precision", labels, never_positive, sometimes, n_boot=50, positive=1)
    assert res.diff == pytest.approx(2 / 3)  # precision 0 (undefined) vs 2/3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "recall"}, "positive: expected the positive class index"),
        ({"metric": "recall", "positive": 2}, "positive"),
        ({"metric": "auc", "positive": 1}, "metric: expected a callable or one of"),
        ({"metric": "accuracy", "probs_b": np.full((2, 10, 2), 0.5)}, "probs_b: expected the shape of probs_a"),
        ({"metric": "accuracy", "labels": np.zeros(9, dtype=np.int64)}, "labels: expected one label per image"),
        ({"metric": "accuracy", "probs_a": np.full((1, 10, 2), 1.5)}, r"probs_a: expected probabilities in \[0, 1\]"),
        ({"metric": "accuracy", "confidence": 0.0}, "confidence"),
    ],
)
def test_paired_bootstrap_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    half = np.full((1, 10, 2), 0.5)
    args = {"labels": np.zeros(10, dtype=np.int64), "probs_a": half, "probs_b": half}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(**args, n_boot=10)


# --------------------------------------------------------------------------- #
# compare_to_reference
# --------------------------------------------------------------------------- #

BASE = [0.50, 0.52, 0.48, 0.51, 0.49]


def arm(diffs: list[float], seeds: range = range(5)) -> dict[int, float]:
    """Per-seed values of an arm that differs from ``BASE`` by ``diffs``."""
    return {s: BASE[s] + d for s, d in zip(seeds, diffs)}


def test_compare_to_reference_hand_made() -> None:
    values = {
        "base": arm([0.0] * 5),
        "weighted": arm([0.10, 0.12, 0.09, 0.11, 0.10]),
        "jitter": arm([0.01, -0.02, 0.02, -0.01, 0.00]),
    }
    rows = compare_to_reference(values, "base", "recall")
    assert [r.arm for r in rows] == ["weighted", "jitter"]
    assert all(r.reference == "base" and r.metric == "recall" and r.bootstrap is None for r in rows)
    weighted, jitter = rows
    assert weighted.mean_diff == pytest.approx(0.104) and jitter.mean_diff == pytest.approx(0.0, abs=1e-15)
    p_w = sps.ttest_rel(list(values["weighted"].values()), BASE).pvalue
    p_j = sps.ttest_rel(list(values["jitter"].values()), BASE).pvalue
    assert weighted.seed_test.p_value == pytest.approx(p_w) and p_w < 1e-4 < 0.5 < p_j
    # Holm over the two arms: the smaller p doubled, the larger kept (running max)
    assert weighted.p_holm == pytest.approx(2 * p_w) and jitter.p_holm == pytest.approx(p_j)
    assert weighted.significant and not jitter.significant
    diffs = np.array([0.10, 0.12, 0.09, 0.11, 0.10])
    ref = sps.t.interval(0.95, df=4, loc=diffs.mean(), scale=sps.sem(diffs))
    assert (weighted.interval.low, weighted.interval.high) == pytest.approx(ref, abs=1e-9)


def test_compare_to_reference_holm_can_remove_significance() -> None:
    values = {
        "base": arm([0.0] * 5),
        "a": arm([0.04, 0.00, 0.05, 0.01, 0.03]),
        "b": arm([0.02, 0.04, 0.01, 0.05, 0.01]),
    }
    a, b = compare_to_reference(values, "base", "recall")
    assert a.seed_test.p_value < 0.05 and b.seed_test.p_value < 0.05  # each alone would pass ...
    assert a.p_holm == pytest.approx(2 * b.seed_test.p_value) == b.p_holm  # ... but not both together
    assert not a.significant and not b.significant
    assert compare_to_reference(values, "base", "recall", alpha=0.1)[0].significant


def test_compare_to_reference_uses_shared_seeds_and_wilcoxon() -> None:
    values = {"base": {0: 0.5, 1: 0.6, 2: 0.55, 9: 0.1}, "other": {2: 0.65, 1: 0.7, 0: 0.6, 7: 0.99}}
    [row] = compare_to_reference(values, "base", "acc", seed_test="wilcoxon")
    assert row.mean_diff == pytest.approx(0.1)  # seeds 0, 1, 2 only
    assert row.seed_test.method == "wilcoxon" and row.seed_test.p_value == pytest.approx(0.25)  # exact, n = 3
    assert row.p_holm == pytest.approx(0.25) and not row.significant


def test_compare_to_reference_one_seed_has_no_test() -> None:
    [row] = compare_to_reference({"base": {3: 0.5}, "other": {3: 0.7}}, "base", "recall")
    assert row.mean_diff == pytest.approx(0.2)
    assert row.interval is None and row.seed_test is None and row.bootstrap is None
    assert math.isnan(row.p_holm) and row.significant is False


def test_compare_to_reference_bootstraps_predictions_of_shared_seeds() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, size=60)
    ref_probs, arm_probs = random_runs(rng, 3, 60, 2), random_runs(rng, 3, 60, 2)  # seeds (2, 3, 5) and (0, 2, 5)
    values = {"base": {5: 0.1, 2: 0.2, 3: 0.3}, "other": {5: 0.5, 0: 0.4, 2: 0.7}}
    predictions = {"labels": labels, "probs": {"base": ref_probs, "other": arm_probs}}
    [row] = compare_to_reference(values, "base", "recall", predictions=predictions, positive=1, n_boot=300, seed=4)
    # shared seeds 2 and 5: rows 0 and 2 of the reference, rows 1 and 2 of the arm
    expected = paired_bootstrap("recall", labels, ref_probs[[0, 2]], arm_probs[[1, 2]], n_boot=300, seed=4, positive=1)
    assert row.bootstrap == expected
    assert row.p_holm == expected.p_value  # bootstrap p preferred to the seed test's
    one_seed = {"base": {2: 0.2}, "other": {2: 0.5}}
    one_seed_probs = {"base": ref_probs[0], "other": arm_probs[[1]]}  # an (N, C) matrix counts as one seed
    [single] = compare_to_reference(
        one_seed, "base", "accuracy", predictions={"labels": labels, "probs": one_seed_probs}
    )
    # one seed: the image bootstrap is reported, but nothing is tested (it leaves out the seeds' spread)
    assert single.seed_test is None and single.bootstrap is not None
    assert np.isnan(single.p_holm) and not single.significant


def test_compare_to_reference_rejects_bad_arguments() -> None:
    values = {"base": {0: 0.5, 1: 0.6}, "other": {0: 0.6, 1: 0.7}}
    with pytest.raises(ValueError, match="reference: expected one of the arms"):
        compare_to_reference(values, "missing", "recall")
    with pytest.raises(ValueError, match="seed_test"):
        compare_to_reference(values, "base", "recall", seed_test="z")
    with pytest.raises(ValueError, match=r"values\['other'\]: expected finite"):
        compare_to_reference({"base": {0: 0.5}, "other": {0: float("nan")}}, "base", "recall")
    labels = np.zeros(4, dtype=np.int64)
    probs = {"base": np.full((2, 4, 2), 0.5), "other": np.full((3, 4, 2), 0.5)}
    with pytest.raises(ValueError, match="one probability matrix per seed"):
        compare_to_reference(values, "base", "accuracy", predictions={"labels": labels, "probs": probs})
    with pytest.raises(ValueError, match="metric_fn"):
        compare_to_reference(values, "base", "log_loss", predictions={"labels": labels, "probs": probs})


def test_one_lucky_seed_is_not_significant_but_a_consistent_gain_is() -> None:
    """The two-level bootstrap carries seed noise: an image-only bootstrap would call 1 lucky seed of 3 certain."""
    labels = np.repeat([0, 1], [60, 40])

    def probs_with_recall(hit: bool) -> np.ndarray:
        p = np.tile([0.9, 0.1], (100, 1))
        if hit:
            p[60:] = [0.1, 0.9]
        return p

    ref = np.stack([probs_with_recall(False)] * 3)
    lucky = np.stack([probs_with_recall(True), probs_with_recall(False), probs_with_recall(False)])
    images_only = paired_bootstrap("recall", labels, ref, lucky, n_boot=500, positive=1, resample_seeds=False)
    assert images_only.p_value < 0.01
    values = {"ref": {0: 0.0, 1: 0.0, 2: 0.0}, "arm": {0: 1.0, 1: 0.0, 2: 0.0}}
    (c,) = compare_to_reference(
        values,
        "ref",
        "recall",
        predictions={"labels": labels, "probs": {"ref": ref, "arm": lucky}},
        positive=1,
        n_boot=500,
    )
    assert c.bootstrap is not None and c.bootstrap.p_value > 0.3  # P(no lucky seed drawn) = (2/3)^3
    assert c.p_holm == c.bootstrap.p_value and not c.significant
    steady = np.stack([probs_with_recall(True)] * 3)
    (c,) = compare_to_reference(
        {"ref": values["ref"], "arm": {0: 1.0, 1: 1.0, 2: 1.0}},
        "ref",
        "recall",
        predictions={"labels": labels, "probs": {"ref": ref, "arm": steady}},
        positive=1,
        n_boot=500,
    )
    assert c.significant and c.bootstrap.low > 0.9


def test_the_paired_t_test_and_the_t_quantile_are_scipys_bit_for_bit() -> None:
    """paired_t and t_interval compute what scipy.stats' ttest_rel and t.ppf compute, with scipy.special only
    (importing scipy.stats costs a report half a second): the same bits over 3,000 draws of 2 to 40 seeds,
    near-equal, rounded and exactly shifted values included."""
    from imbalance_lab.stats.comparison import paired_t

    rng = np.random.default_rng(25)
    compared = 0
    for i in range(3000):
        n = int(rng.integers(2, 41))
        x = rng.random(n) * rng.choice([1.0, 1e-3, 100.0])
        y = x + rng.normal(rng.normal() * 0.01, rng.choice([1e-9, 1e-2, 0.3]), n)
        if i % 5 == 0:
            x, y = np.round(x, 2), np.round(y, 2)
        if i % 11 == 0:
            y = x - 0.25  # every difference equal and non-zero: t = ±inf, p = 0
        if np.all(x == y):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's precision-loss warning on near-equal values
            expected = sps.ttest_rel(x, y)
        statistic, p_value = paired_t(x, y)
        assert statistic == float(expected.statistic) and p_value == float(expected.pvalue), (i, x, y)
        compared += 1
    assert compared > 2500
    for n in range(2, 60):
        values = rng.random(n)
        for confidence in (0.5, 0.9, 0.95, 0.99):
            half = float(sps.t.ppf((1 + confidence) / 2, df=n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
            interval = t_interval(values, confidence)
            assert (interval.low, interval.high) == (float(values.mean()) - half, float(values.mean()) + half)
