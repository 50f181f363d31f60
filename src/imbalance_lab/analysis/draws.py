"""Data draws and training seeds (issue 26): with ``data.resample: per_seed``, how much of each headline metric's
spread over an arm's runs comes from which training images the arm drew and how much from training. The numbers
are :mod:`imbalance_lab.stats.variance`'s (a nested random-effects model, ANOVA estimates, chi-square, MLS and F
intervals); here they are put to the arms, and what they mean is said once, for the report and the notebook."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from imbalance_lab.spec import ExperimentSpec
from imbalance_lab.stats.variance import MIN_LEVELS, VarianceComponents, variance_components


@dataclass(frozen=True)
class DrawVariance:
    """The headline set's variance decomposition: ``components[metric][arm]``, over ``draws`` draws ×
    ``train`` training seeds per draw; ``notes`` say why an arm, or the whole decomposition, is missing."""

    set: str
    draws: int
    train: int
    components: dict[str, dict[str, VarianceComponents]]
    notes: tuple[str, ...] = ()

    def explanation(self) -> str:
        """What the decomposition is, in one paragraph (plain text with `code`)."""
        if not self.components:
            return " ".join(self.notes)
        return (
            f"On the {self.set} set, each arm's runs ({self.draws} data draws × {self.train} training seeds per draw; "
            "`data.resample: per_seed`) split into the variance between draws, σ²_draw (which training images "
            "the arm drew from the pool), and within a draw, σ²_train (initialisation, batch order, the samplers' "
            "draws). Estimates from the mean squares of a nested random-effects ANOVA (method of moments, σ²_draw "
            "truncated at 0), shown as standard deviations in the metric's units; intervals 95 %: exact "
            "chi-square for σ_train, the modified large-sample interval (Ting et al. 1990) for σ_draw, exact F "
            "for the draw's share σ²_draw / (σ²_draw + σ²_train); p tests σ²_draw = 0 (F test). They assume "
            "roughly normal effects, as the t-intervals over seeds do."
        )


def draws_and_train(spec: ExperimentSpec) -> tuple[int, int]:
    """The design's draws and training seeds per draw: ``seeds: {draws, train}``, else one draw per seed."""
    if spec.draws is not None:
        return spec.draws.draws, spec.draws.train
    return len(spec.seeds), 1


def draw_variance(
    spec: ExperimentSpec,
    per_run: Mapping[str, Mapping[int, Mapping[str, float]]],
    metrics: Sequence[str],
    set_name: str,
) -> DrawVariance | None:
    """Each arm's variance decomposition on each of ``metrics``, from ``per_run[arm][seed][metric]`` (``None``
    without ``data.resample: per_seed``).

    Runs are grouped into draws by :meth:`~imbalance_lab.spec.ExperimentSpec.draw_of`; a draw enters when it
    has all its training seeds with a defined value (the design must be balanced), and an arm needs two such
    draws. With fewer than 2 draws or 2 training seeds per draw there is nothing to separate, and the notes say
    so."""
    if spec.data.resample != "per_seed":
        return None
    draws, train = draws_and_train(spec)
    if draws < MIN_LEVELS or train < MIN_LEVELS:
        return DrawVariance(
            set_name,
            draws,
            train,
            {},
            (
                f"The split of the variance into data draws and training needs at least {MIN_LEVELS} draws and "
                f"{MIN_LEVELS} training seeds per draw; this experiment has {draws} draw(s) × {train} training "
                f"seed(s) per draw (give seeds: {{draws: D, train: T}} with D and T at least {MIN_LEVELS}).",
            ),
        )
    components: dict[str, dict[str, VarianceComponents]] = {}
    short: dict[str, list[str]] = {}  # arm -> the metrics it has too few complete draws of
    for metric in metrics:
        for arm, runs in per_run.items():
            by_draw: dict[int, list[float]] = {}
            for seed in sorted(runs):
                draw = spec.draw_of(seed)
                if draw is not None:
                    by_draw.setdefault(draw, []).append(float(runs[seed][metric]))
            complete = [v for v in by_draw.values() if len(v) == train and all(math.isfinite(x) for x in v)]
            if len(complete) < MIN_LEVELS:
                short.setdefault(arm, []).append(metric)
                continue
            components.setdefault(metric, {})[arm] = variance_components(np.asarray(complete))
    notes = tuple(
        f"`{arm}` has fewer than {MIN_LEVELS} draws with all {train} training seeds finished and defined on "
        f"{', '.join(names)}: no decomposition there."
        for arm, names in short.items()
    )
    return DrawVariance(set_name, draws, train, components, notes)
