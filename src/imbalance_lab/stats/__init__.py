"""Which differences between arms are real: intervals, paired tests, bootstrap, Holm, anytime-valid
sequential tests, and rliable's aggregates over runs (the numerics layer; one module per family: checks,
intervals, bootstrap, comparison, sequential, aggregates).

An experiment trains several *arms* over the same seeds and scores every run on
the same test images, so two sources of noise can be measured:

* **seed noise** -- the spread of a metric over training seeds. Handled by
  :func:`t_interval` / :func:`bootstrap_interval` (one arm) and
  :func:`paired_seed_test` (two arms, paired by seed);
* **test-set noise** -- which images happened to be in the test set. Handled by
  :func:`paired_bootstrap`, which resamples test images (the same draws for
  both arms and every seed), the usual way of comparing two systems scored on
  one test set (Koehn 2004; Dror et al. 2018).

:func:`compare_to_reference` puts both together for a table of arms against a
reference arm and corrects the p-values for the number of arms compared with
:func:`holm`.

Beside the tests, :mod:`~imbalance_lab.stats.aggregates` summarises the runs' distribution as rliable does
(Agarwal et al. 2021): :func:`interquartile_mean`, :func:`probability_of_improvement` and
:func:`performance_profile`, with stratified-bootstrap intervals (:func:`bootstrap_iqm`,
:func:`bootstrap_improvement`).

Conventions shared by every function here:

* pure functions on plain numpy / Python values; results are frozen dataclasses
  holding Python floats;
* no interval and no test is invented from a single seed: those functions
  return ``None`` when fewer than two values are given;
* everything random is drawn from ``np.random.default_rng(seed)``, so the same
  inputs and ``seed`` give the same numbers;
* invalid arguments raise ``ValueError`` naming the parameter, the expected
  values and what was given (as in :mod:`imbalance_lab.metrics`).
"""

from __future__ import annotations

from imbalance_lab.stats.aggregates import (
    Estimate,
    PerformanceProfile,
    bootstrap_improvement,
    bootstrap_iqm,
    interquartile_mean,
    performance_profile,
    probability_of_improvement,
)
from imbalance_lab.stats.bootstrap import BootstrapDiff, ExpectedCost, cost_interval, paired_bootstrap
from imbalance_lab.stats.comparison import Comparison, SeedTest, compare_to_reference, holm, paired_seed_test
from imbalance_lab.stats.intervals import Interval, bootstrap_interval, t_interval

__all__ = [
    "BootstrapDiff",
    "ExpectedCost",
    "Comparison",
    "Estimate",
    "Interval",
    "PerformanceProfile",
    "SeedTest",
    "bootstrap_improvement",
    "bootstrap_interval",
    "bootstrap_iqm",
    "compare_to_reference",
    "cost_interval",
    "holm",
    "interquartile_mean",
    "paired_bootstrap",
    "paired_seed_test",
    "performance_profile",
    "probability_of_improvement",
    "t_interval",
]
