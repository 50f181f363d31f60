"""The analysis's newer answers as tidy pandas DataFrames (what :class:`imbalance_lab.experiment.Experiment`
hands a notebook): rliable's aggregates, the scores under other test priors and the variance of data draws."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from imbalance_lab.analysis.analyse import Analysis

if TYPE_CHECKING:
    import pandas as pd


def aggregates_frame(analysis: Analysis) -> pd.DataFrame:
    """rliable's aggregates beside the paired tests: one row per set × compared metric × arm with the runs'
    interquartile mean (``iqm``, ``iqm_low``, ``iqm_high``) and P(a run of the arm scores better than a run of
    the reference) (``p_improvement``, ``p_low``, ``p_high``; NaN for the reference itself), 95 %
    stratified-bootstrap intervals (NaN with one run). "Better" follows the metric: lower for costs and
    losses. The formulas: :mod:`imbalance_lab.stats.aggregates`."""
    import pandas as pd

    rows = []
    for set_name, sa in analysis.sets.items():
        for metric, per_arm in sa.aggregates.items():
            for arm, found in per_arm.items():
                iqm, p = found.iqm, found.improvement
                rows.append(
                    {
                        "set": set_name,
                        "metric": metric,
                        "arm": arm,
                        "n_runs": found.n_runs,
                        "iqm": iqm.value,
                        "iqm_low": iqm.interval.low if iqm.interval else math.nan,
                        "iqm_high": iqm.interval.high if iqm.interval else math.nan,
                        "p_improvement": p.value if p else math.nan,
                        "p_low": p.interval.low if p and p.interval else math.nan,
                        "p_high": p.interval.high if p and p.interval else math.nan,
                        "reference": analysis.reference,
                    }
                )
    return pd.DataFrame(rows)


def test_priors_frame(analysis: Analysis) -> pd.DataFrame:
    """Every arm under the test priors of ``evaluation.test_priors`` (empty without it): one row per arm ×
    prior × seed × metric, with the prior's ``label`` (``forward 10``, ``uniform``, ...) and signed
    ``ratio`` (negative: a backward long tail), and ``adapts`` for a derived arm whose rule re-estimates
    each reweighted set's prior. How: :mod:`imbalance_lab.analysis.shifted_priors`."""
    import pandas as pd

    scores = analysis.priors
    rows = []
    if scores is not None:
        for arm, per_metric in scores.values.items():
            for metric, runs in per_metric.items():
                for i, seed in enumerate(scores.seeds[arm]):
                    for j, label in enumerate(scores.labels):
                        rows.append(
                            {
                                "arm": arm,
                                "prior": label,
                                "ratio": scores.ratios[j],
                                "seed": seed,
                                "metric": metric,
                                "value": float(runs[i, j]),
                                "adapts": arm in scores.adapting,
                            }
                        )
    return pd.DataFrame(rows, columns=["arm", "prior", "ratio", "seed", "metric", "value", "adapts"])


def draw_variance_frame(analysis: Analysis) -> pd.DataFrame:
    """With ``data.resample: per_seed`` and ``seeds: {draws, train}``: one row per headline metric × arm of
    the test set, its variance over runs split into data draws and training (``draw_var``, ``train_var``,
    ``draw_share``, each with ``_low`` and ``_high``: 95 % intervals; ``p_value`` tests no draw variance).
    Empty without data draws, or with fewer than 2 draws or 2 training seeds per draw. The formulas:
    :mod:`imbalance_lab.stats.variance`."""
    import pandas as pd

    draws = analysis.draws
    rows = []
    for metric, per_arm in ({} if draws is None else draws.components).items():
        for arm, vc in per_arm.items():
            rows.append(
                {
                    "set": draws.set,
                    "metric": metric,
                    "arm": arm,
                    "draws": vc.draws,
                    "train": vc.train,
                    "mean": vc.mean,
                    **{
                        f"{name}{end}": value
                        for name, point, (low, high) in (
                            ("draw_var", vc.draw_var, vc.draw_var_interval),
                            ("train_var", vc.train_var, vc.train_var_interval),
                            ("draw_share", vc.draw_share, vc.draw_share_interval),
                        )
                        for end, value in (("", point), ("_low", low), ("_high", high))
                    },
                    "p_value": vc.p_value,
                }
            )
    return pd.DataFrame(rows)
