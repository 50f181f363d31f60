"""Tests for ``imbalance_lab.stats.sequential``.

The capital checked against its formula written out as a plain loop; the
confidence sequence against the capital it is made of, for coverage on
simulated sequences, for nesting and shrinking; the p-value against ``1 / max
capital``; the difference mapping round trip. Sequential experiments are
simulated round by round (3 arms against a reference, 3 to 30 rounds, metrics
with bounded Beta noise): the family-wise rate of false ``better`` / ``worse``
calls under the null is checked against alpha (and shown to be inflated for a
t test repeated after every round), the power under a real difference, and
equivalence under tiny noise. All data are made here from fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from imbalance_lab.stats import holm
from imbalance_lab.stats.sequential import (
    TRUNCATION,
    SequentialDecision,
    anytime_p_value,
    betting_cs,
    capital,
    decide,
    paired_to_unit,
    replay,
    settled,
    unit_to_paired,
)

ALPHA = 0.05
MAX_ROUNDS = 30
MIN_ROUNDS = 3
NOISE_HALF_WIDTH = 0.15
"""Each metric is ``mean + 0.15 (2B - 1)``, ``B ~ Beta(1.75, 1.75)``: sd 0.0707, so a paired difference has sd 0.1."""
NOISE_SHAPE = 1.75


def metric_rounds(rng: np.random.Generator, mean: float, size: int | tuple[int, ...]) -> np.ndarray:
    """A metric per round (e.g. balanced accuracy of one seed): ``mean`` plus bounded, symmetric Beta noise."""
    return mean + NOISE_HALF_WIDTH * (2.0 * rng.beta(NOISE_SHAPE, NOISE_SHAPE, size) - 1.0)


def experiment(rng: np.random.Generator, effects: list[float], rounds: int = MAX_ROUNDS) -> dict[str, np.ndarray]:
    """Paired differences ``arm - reference`` for every round; the reference's seed is shared by all arms."""
    reference = metric_rounds(rng, 0.70, rounds)
    return {f"arm{j}": metric_rounds(rng, 0.70 + effect, rounds) - reference for j, effect in enumerate(effects)}


def run_sequentially(diffs: dict[str, np.ndarray], **kwargs) -> tuple[dict[str, SequentialDecision], int]:
    """The experiment as it would run: after each round call decide; decided arms get no more seeds."""
    received: dict[str, list[float]] = {arm: [] for arm in diffs}
    decisions: dict[str, SequentialDecision] = {}
    for t in range(1, MAX_ROUNDS + 1):
        for arm in diffs:
            if arm not in decisions or decisions[arm].state == "undecided":
                received[arm].append(float(diffs[arm][t - 1]))
        decisions = decide(received, **kwargs, method="betting")
        if t >= MIN_ROUNDS and settled(decisions):
            return decisions, t
    return decisions, MAX_ROUNDS


def reference_capital(x: list[float], m: float, alpha: float, c: float) -> list[float]:
    """The hedged capital written out from the paper's formulas, one observation at a time."""
    k_plus = k_minus = 1.0
    total = 0.0  # running sum of x
    squares = 0.0  # running sum of (x_i - mu_i)^2
    out = []
    for t, xt in enumerate(x, start=1):
        sigma2_before = (0.25 + squares) / t  # sigma2_{t-1} = (1/4 + sum_{i<t} (x_i - mu_i)^2) / t
        lam = math.sqrt(2.0 * math.log(2.0 / alpha) / (sigma2_before * t * math.log(1.0 + t)))
        lam_plus = min(lam, c / m) if m > 0 else lam
        lam_minus = min(lam, c / (1.0 - m)) if m < 1 else lam
        k_plus *= 1.0 + lam_plus * (xt - m)
        k_minus *= 1.0 - lam_minus * (xt - m)
        out.append(0.5 * k_plus + 0.5 * k_minus)
        total += xt
        mu_t = (0.5 + total) / (t + 1)
        squares += (xt - mu_t) ** 2
    return out


def binomial_low(count: int, n: int) -> float:
    """Lower end of the 95 % Clopper-Pearson interval of a rate."""
    return float(sps.binomtest(count, n).proportion_ci(0.95).low)


# --------------------------------------------------------------------------- #
# Capital, confidence sequence, p-value
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("m", [0.0, 0.2, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("c", [0.5, TRUNCATION])
def test_capital_matches_the_formula(m: float, c: float) -> None:
    x = np.random.default_rng(1).beta(2, 3, 25).tolist()
    np.testing.assert_allclose(capital(x, m, 0.05, truncation=c), reference_capital(x, m, 0.05, c), rtol=1e-10)


def test_capital_hand_computed_first_rounds() -> None:
    # t=1: lambda = sqrt(2 log 40 / (1/4 · 1 · log 2)) = 6.53, truncated to 0.75 / 0.5 = 1.5 on both sides:
    # K_1 = (1 + 1.5·0.4)/2 + (1 - 1.5·0.4)/2 = 1 exactly; t=2 only the bet on "above" keeps growing
    k = capital([0.9, 0.9], 0.5, 0.05)
    assert k[0] == pytest.approx(1.0)
    assert k[1] == pytest.approx(0.5 * 1.6 * 1.6 + 0.5 * 0.4 * 0.4)


def test_capital_at_a_mean_far_from_the_data_grows() -> None:
    x = np.random.default_rng(2).beta(8, 2, 100)  # mean 0.8
    k = capital(x, 0.2, 0.05)
    assert k[-1] > 1e6
    assert k[-1] > k[49] > k[9] > 1.0
    assert capital(x, 0.8, 0.05).max() < 20  # at the true mean it stays small


def test_cs_contains_the_true_mean_and_shrinks() -> None:
    x = np.random.default_rng(3).beta(2, 5, 200)
    cs = betting_cs(x, 0.05)
    assert cs.shape == (200, 2)
    assert cs[-1, 0] < 2 / 7 < cs[-1, 1]
    width = cs[:, 1] - cs[:, 0]
    assert width[0] == 1.0
    assert width[-1] < 0.5 * width[19] < 0.5 * width[1]
    assert width[-1] < 0.15


def test_cs_running_intersection_is_nested() -> None:
    x = np.random.default_rng(4).uniform(0.2, 0.9, 150)
    cs = betting_cs(x, 0.1)
    assert np.all(np.diff(cs[:, 0]) >= 0)
    assert np.all(np.diff(cs[:, 1]) <= 0)


def test_cs_is_the_set_where_the_capital_stayed_below_one_over_alpha() -> None:
    x = np.random.default_rng(5).beta(3, 3, 40)
    low, high = betting_cs(x, 0.05, grid=201)[-1]
    for m in np.linspace(0, 1, 201):
        kept = capital(x, m, 0.05).max() < 1 / 0.05
        if kept:
            assert low < m < high or m in (0.0, 1.0)
        elif not low <= m <= high:
            continue
        else:  # only the one-cell widening at each end may hold a rejected candidate
            assert m == pytest.approx(low) or m == pytest.approx(high)


def test_cs_with_constant_observations_closes_around_them() -> None:
    cs = betting_cs([0.3] * 400, 0.05)
    low, high = cs[-1]
    assert low < 0.3 < high
    assert high - low < 0.03


def test_cs_coverage_over_simulated_sequences() -> None:
    rng = np.random.default_rng(6)
    n_sequences, alpha = 400, 0.1
    misses = 0
    for _ in range(n_sequences):
        x = rng.beta(2, 6, 60)  # true mean 0.25
        cs = betting_cs(x, alpha, grid=401)
        misses += bool(np.any((cs[:, 0] > 0.25) | (cs[:, 1] < 0.25)))
    assert binomial_low(misses, n_sequences) <= alpha


def test_p_value_is_one_over_the_running_max_capital() -> None:
    x = np.random.default_rng(7).beta(6, 4, 50)
    k = capital(x, 0.5, 0.05)
    p = anytime_p_value(x, 0.5)
    np.testing.assert_allclose(p, np.minimum(1.0, 1.0 / np.maximum.accumulate(k)), rtol=1e-12)
    assert np.all(np.diff(p) <= 0)
    assert p[-1] < 0.01


def test_p_value_bets_use_their_own_fixed_alpha() -> None:
    x = np.random.default_rng(8).beta(6, 4, 30)
    np.testing.assert_allclose(
        anytime_p_value(x, 0.5, alpha_for_bets=0.01), np.minimum(1, 1 / np.maximum.accumulate(capital(x, 0.5, 0.01)))
    )
    assert not np.allclose(anytime_p_value(x, 0.5, 0.01), anytime_p_value(x, 0.5, 0.2))


def test_empty_values_give_empty_results() -> None:
    assert capital([], 0.5, 0.05).shape == (0,)
    assert betting_cs([], 0.05).shape == (0, 2)
    assert anytime_p_value([], 0.5).shape == (0,)


def test_paired_mapping_round_trips() -> None:
    d = np.array([-1.0, -0.25, 0.0, 0.3, 1.0])
    x = paired_to_unit(d, 1.0)
    np.testing.assert_allclose(x, [0.0, 0.375, 0.5, 0.65, 1.0])
    np.testing.assert_allclose(unit_to_paired(x, 1.0), d)
    np.testing.assert_allclose(unit_to_paired(paired_to_unit(d / 4, 0.25), 0.25), d / 4)
    assert np.isnan(unit_to_paired([np.nan, 0.5], 2.0)[0])


# --------------------------------------------------------------------------- #
# Bad inputs
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: capital([0.2, 1.5], 0.5, 0.05), r"values: .*\[0, 1\], got 1.5 at position 1"),
        (lambda: capital([0.2, float("nan")], 0.5, 0.05), r"values: expected finite numbers.*nan"),
        (lambda: capital([[0.2]], 0.5, 0.05), r"values: expected a 1-D"),
        (lambda: capital([0.2], 1.2, 0.05), r"m: expected a mean in \[0, 1\], got 1.2"),
        (lambda: capital([0.2], 0.5, 0.0), r"alpha: expected a number in \(0, 1\).*got 0.0"),
        (lambda: capital([0.2], 0.5, True), r"alpha: .*got True"),
        (lambda: capital([0.2], 0.5, 0.05, truncation=1.0), r"truncation: .*got 1.0"),
        (lambda: betting_cs([0.2], 0.05, grid=2), r"grid: expected an integer >= 3.*got 2"),
        (lambda: betting_cs([-0.1], 0.05), r"values: .*got -0.1 at position 0"),
        (lambda: anytime_p_value([0.2], -0.5), r"m0: .*got -0.5"),
        (lambda: anytime_p_value([0.2], 0.5, alpha_for_bets=1.5), r"alpha_for_bets: .*got 1.5"),
        (lambda: paired_to_unit([0.5, -2.0], 1.0), r"diffs: expected numbers in \[-1, 1\], got -2.0 at position 1"),
        (lambda: paired_to_unit([0.1], 0.0), r"bound: expected a finite number > 0.*got 0.0"),
        (lambda: paired_to_unit([0.1], float("inf")), r"bound: .*got inf"),
        (lambda: unit_to_paired([1.5], 1.0), r"values: expected numbers in \[0, 1\]"),
        (lambda: decide({}, method="betting"), r"diffs: expected a non-empty mapping"),
        (lambda: decide({"a": [0.1, float("nan")]}, method="betting"), r"diffs\['a'\]: expected finite numbers.*nan"),
        (
            lambda: decide({"a": [0.1, 0.7]}, bound=0.5, method="betting"),
            r"diffs\['a'\]: .*\[-0.5, 0.5\], got 0.7 at position 1 \(bound=0.5 must cover",
        ),
        (lambda: decide({"a": [0.1]}, alpha=1.0, method="betting"), r"alpha: .*got 1.0"),
        (
            lambda: decide({"a": [0.1]}, margin=-0.01, method="betting"),
            r"margin: expected a number in \[0, 1.0\).*got -0.01",
        ),
        (lambda: decide({"a": [0.1]}, margin=float("nan"), method="betting"), r"margin: .*got nan"),
        (lambda: decide({"a": [0.1]}, bound=-1, method="betting"), r"bound: .*got -1"),
        (lambda: decide({"a": [0.1]}, higher_is_better="yes", method="betting"), r"higher_is_better: .*got 'yes'"),
        (
            lambda: decide({"a": [0.1, 0.0, 0.1], "b": [0.0]}, method="betting"),
            r"diffs\['b'\]: undecided after its 1 rounds",
        ),
    ],
)
def test_bad_inputs_raise_one_line_errors(call, match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- #
# Decisions round by round
# --------------------------------------------------------------------------- #


def test_decisions_follow_holm_and_the_bonferroni_sequence_every_round() -> None:
    rng = np.random.default_rng(9)
    for _ in range(5):
        diffs = experiment(rng, [0.15, 0.0, -0.15])
        history = replay(diffs, bound=0.5, method="betting")
        m = len(diffs)
        for t, round_ in enumerate(history, start=1):
            arms = list(round_)
            rejected = dict(zip(arms, holm([round_[a].p_value for a in arms]) <= ALPHA))
            for arm, dec in round_.items():
                if dec.decided_at == t and dec.state in ("better", "worse"):
                    assert rejected[arm]
                    assert (dec.state == "better") == (dec.mean_diff > 0)
                if dec.state == "undecided":
                    assert not rejected[arm]
                    assert dec.rounds == t
                    assert dec.p_value == pytest.approx(
                        anytime_p_value(paired_to_unit(diffs[arm][:t], 0.5), 0.5, ALPHA / m)[-1]
                    )
                    cs = unit_to_paired(betting_cs(paired_to_unit(diffs[arm][:t], 0.5), ALPHA / m)[-1], 0.5)
                    np.testing.assert_allclose([dec.low, dec.high], cs)


def test_a_decided_comparison_stays_decided_and_frozen() -> None:
    diffs = experiment(np.random.default_rng(10), [0.2, 0.0])
    history = replay(diffs, bound=0.5, method="betting")
    first = next(r["arm0"] for r in history if r["arm0"].state != "undecided")
    assert first.state == "better" and first.rounds == first.decided_at
    for later in history[first.decided_at :]:
        assert later["arm0"] == first
    # the same answer from the shorter list the arm really has (it stopped receiving seeds when decided)
    shorter = {"arm0": diffs["arm0"][: first.decided_at], "arm1": diffs["arm1"]}
    assert decide(shorter, bound=0.5, method="betting") == history[-1]


def test_deciding_after_every_round_equals_one_replay() -> None:
    rng = np.random.default_rng(11)
    for effects in ([0.2, 0.0, 0.1], [0.0, 0.0, 0.0], [-0.2, 0.15, 0.0]):
        diffs = experiment(rng, effects)
        decisions, stopped = run_sequentially(diffs, bound=0.5)
        replayed = replay(diffs, bound=0.5, method="betting")[stopped - 1]
        assert decisions == replayed


def test_lower_is_better_flips_the_call() -> None:
    diffs = {"cheaper": (0.12 + 0.01 * np.sin(np.arange(40))).tolist()}
    assert decide(diffs, bound=0.25, method="betting")["cheaper"].state == "better"
    assert decide(diffs, bound=0.25, higher_is_better=False, method="betting")["cheaper"].state == "worse"


def test_no_rounds_is_undecided() -> None:
    dec = decide({"a": [], "b": []}, bound=0.5, method="betting")
    assert not settled(dec)
    assert dec["a"].rounds == 0 and math.isnan(dec["a"].mean_diff) and (dec["a"].low, dec["a"].high) == (-0.5, 0.5)


def test_settled_needs_every_comparison_decided() -> None:
    done = SequentialDecision("a", "better", 5, 5, 0.1, 0.01, 0.2, 0.001)
    open_ = SequentialDecision("b", "undecided", None, 7, 0.0, -0.3, 0.3, 0.9)
    assert settled({"a": done})
    assert not settled({"a": done, "b": open_})


def test_equivalence_is_reached_with_tiny_noise() -> None:
    rng = np.random.default_rng(12)
    diffs = {"same": rng.uniform(-0.002, 0.002, 80), "better": 0.05 + rng.uniform(-0.002, 0.002, 80)}
    dec = decide(diffs, bound=0.1, margin=0.02, method="betting")
    assert dec["same"].state == "equivalent"
    assert dec["same"].decided_at is not None and dec["same"].decided_at < 80
    assert -0.02 < dec["same"].low < 0 < dec["same"].high < 0.02
    assert dec["better"].state == "better"  # a real difference beyond the margin is never "equivalent"


# --------------------------------------------------------------------------- #
# Simulated sequential experiments
# --------------------------------------------------------------------------- #


def test_family_wise_false_calls_stay_below_alpha_under_the_null() -> None:
    # 400 experiments, 3 arms with no true difference, decided after every round from 3 to 30 rounds;
    # bound 0.5 (the differences lie in [-0.3, 0.3]) makes the bets larger than bound 1, a harder case
    rng = np.random.default_rng(13)
    n_experiments = 400
    false_calls = naive_false_calls = 0
    for _ in range(n_experiments):
        diffs = experiment(rng, [0.0, 0.0, 0.0])
        decisions = decide(diffs, bound=0.5, method="betting")  # equals deciding after every round (test above)
        false_calls += any(d.state in ("better", "worse") for d in decisions.values())
        # the same experiment judged by a paired t test after every round, Holm over the arms
        d = np.stack(list(diffs.values()))[:, :MAX_ROUNDS]
        n = np.arange(1, MAX_ROUNDS + 1)
        mean = np.cumsum(d, axis=1) / n
        var = (np.cumsum(d**2, axis=1) - n * mean**2) / np.maximum(n - 1, 1)
        t = mean[:, MIN_ROUNDS - 1 :] / np.sqrt(var[:, MIN_ROUNDS - 1 :] / n[MIN_ROUNDS - 1 :])
        p = 2 * sps.t.sf(np.abs(t), df=n[MIN_ROUNDS - 1 :] - 1)
        naive_false_calls += any(bool(np.any(holm(p[:, k]) <= ALPHA)) for k in range(p.shape[1]))
    assert binomial_low(false_calls, n_experiments) <= ALPHA
    assert false_calls / n_experiments <= ALPHA
    assert binomial_low(naive_false_calls, n_experiments) > ALPHA  # peeking at a fixed-sample test inflates it


def test_power_a_real_difference_is_called_better_within_30_rounds() -> None:
    rng = np.random.default_rng(14)
    n_experiments = 60
    called, rounds = 0, []
    for _ in range(n_experiments):
        decisions = decide(experiment(rng, [0.15, 0.0, 0.0]), bound=0.5, method="betting")
        if decisions["arm0"].state == "better":
            called += 1
            rounds.append(decisions["arm0"].decided_at)
    assert called / n_experiments > 0.8
    assert np.median(rounds) < MAX_ROUNDS


# --------------------------------------------------------------------------- #
# The sequential paired t-test (method "t", the default)
# --------------------------------------------------------------------------- #


def test_the_t_bayes_factor_is_the_integral_it_stands_for():
    """BF = ∫∫ N(x | mu0 + δσ, σ²) N(δ | 0, g) σ⁻¹ dδ dσ / ∫ N(x | mu0, σ²) σ⁻¹ dσ, computed numerically."""
    from scipy import integrate

    from imbalance_lab.stats.sequential import t_e_values

    def normal_pdf(v, mean, sd):  # scipy.stats.norm.pdf's formula, without its per-call cost (the integrands
        return np.exp(-0.5 * ((v - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))  # are called ~10⁵ times)

    x = np.array([0.12, 0.05, 0.2, 0.09])
    for mu0, g in ((0.0, 1.0), (0.1, 0.5)):

        def h1(delta, log_sigma, mu0=mu0, g=g):
            sigma = np.exp(log_sigma)  # dσ / σ = d log σ
            return np.prod(normal_pdf(x, mu0 + delta * sigma, sigma)) * normal_pdf(delta, 0, np.sqrt(g))

        def h0(log_sigma, mu0=mu0):
            sigma = np.exp(log_sigma)
            return np.prod(normal_pdf(x, mu0, sigma))

        num, _ = integrate.dblquad(h1, -8, 2, -12, 12, epsabs=1e-12)
        den, _ = integrate.quad(h0, -8, 2, epsabs=1e-12, limit=200)
        assert t_e_values(x, mu0, g)[-1] == pytest.approx(num / den, rel=1e-5)
    assert t_e_values(x)[0] == 1.0  # one difference says nothing about the spread


def _null_and_power(method_kwargs, n_exp, rng, effect, sd=0.1, arms=3, rounds=30):
    calls, used = 0, []
    for _ in range(n_exp):
        diffs = {f"a{j}": rng.normal(effect if j == 0 else 0.0, sd, rounds).clip(-1, 1) for j in range(arms)}
        decisions = decide(diffs, **method_kwargs)
        if effect == 0:
            calls += any(d.state in ("better", "worse") for d in decisions.values())
        else:
            first = decisions["a0"]
            calls += first.state == "better"
            used.append(first.decided_at or rounds)
    return calls, used


def test_the_t_method_keeps_the_family_wise_error_when_looking_after_every_round():
    from scipy import stats

    rng = np.random.default_rng(11)
    n = 400
    false, _ = _null_and_power({"method": "t"}, n, rng, 0.0)
    assert stats.binomtest(false, n).proportion_ci(0.95).low <= 0.05
    assert false / n <= 0.05 + 0.02


def test_the_t_method_stops_earlier_on_average_than_a_fixed_design_of_the_same_power():
    from scipy import stats

    rng = np.random.default_rng(12)
    n, effect, sd, arms = 200, 0.10, 0.1, 3
    called, used = _null_and_power({"method": "t"}, n, rng, effect, sd, arms)
    power = called / n
    assert power >= 0.9

    def fixed(level, target):  # seeds a paired t-test at level needs for the target power (noncentral t)
        for k in range(2, 200):
            crit = stats.t.ppf(1 - level / 2, k - 1)
            nc = effect * np.sqrt(k) / sd
            if stats.nct.sf(crit, k - 1, nc) + stats.nct.cdf(-crit, k - 1, nc) >= target:
                return k
        return 200

    assert np.mean(used) < fixed(0.05 / arms, power)
