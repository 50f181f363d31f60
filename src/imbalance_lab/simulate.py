"""Seed 003's simulation: what a validation loss and the metrics say about a model, by composition.

A binary validation set of ``negatives`` and ``positives``; a model whose scores
are uniform within each class: a negative's score ~ U(0, 0.5 / acc_neg), a
positive's ~ U(1 − 0.5 / acc_pos, 1), so that at the 0.5 threshold the model is
right on a fraction ``acc_neg`` of the negatives and ``acc_pos`` of the positives
(seed 003's ``get_pred_0s`` / ``get_pred_1s``). For each case this gives

- the exact expectation of a loss (its per-example mean within each class by
  numerical integration over the uniform density, then the reduction over the
  set's counts), and of the metrics at the population level: precision, recall,
  F1, accuracy, balanced accuracy and MCC from the expected confusion counts,
  ROC-AUC = P(positive's score > negative's) and PR-AUC (average precision) by
  integration over thresholds;
- a seeded Monte Carlo draw of the whole set, as the seed does, with each
  figure's standard error: for a loss, from the per-example variances within each
  class; for the count metrics, by the delta method over the binomial counts; for
  the rank metrics, over ``repeats`` independent draws (none with one draw).

Losses work on probabilities as Keras does (scores clipped to [ε, 1 − ε],
ε = 1e-7): ``bce``; ``focal`` (Lin et al. 2017, as TensorFlow Addons'
``SigmoidFocalCrossEntropy``: α_t (1 − p_t)^γ · BCE); ``balanced_bce`` (each
class weighted by the inverse of its frequency, so the two classes count alike);
each with ``reduction: mean | sum`` (the seed's focal loss sums: TensorFlow
Addons reduces nothing and a 1-D input is summed over its one axis).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from imbalance_lab.errors import UserError
from imbalance_lab.registry import Registry
from imbalance_lab.vocabulary import higher_is_better

EPS = 1e-7  # Keras' epsilon: probabilities are clipped to [EPS, 1 - EPS]

Accuracy = Annotated[float, Field(ge=0.5, le=1.0)]
Reduction = Literal["mean", "sum"]


@dataclass(frozen=True)
class Case:
    """One validation composition and one model (per-class accuracies at the 0.5 threshold)."""

    negatives: int
    positives: int
    acc_neg: float
    acc_pos: float

    def __post_init__(self) -> None:
        for name in ("negatives", "positives"):
            if getattr(self, name) < 1:
                raise UserError(f"simulate: {name} {getattr(self, name)} must be at least 1")
        for name in ("acc_neg", "acc_pos"):
            value = getattr(self, name)
            if not 0.5 <= value <= 1.0:
                raise UserError(
                    f"simulate: {name} {value} must lie in [0.5, 1] (scores are uniform on an interval "
                    f"that reaches the 0.5 threshold only from one side below accuracy 0.5)"
                )

    @property
    def neg_range(self) -> tuple[float, float]:
        return 0.0, 0.5 / self.acc_neg

    @property
    def pos_range(self) -> tuple[float, float]:
        return 1.0 - 0.5 / self.acc_pos, 1.0

    def label(self) -> str:
        return f"{self.negatives:,}:{self.positives:,}, acc {self.acc_neg:g}/{self.acc_pos:g}"


# --------------------------------------------------------------------------- losses


@dataclass(frozen=True)
class Loss:
    """A per-example loss on probabilities, ``per_example(y, s)``, and how a set's losses are reduced.

    ``class_weights(case)`` (negative, positive) weight each example; a weighted
    mean divides by the sum of weights, as PyTorch's weighted cross-entropy does.
    """

    name: str
    per_example: Callable[[int, np.ndarray], np.ndarray]
    reduction: Reduction = "mean"
    weights: Callable[[Case], tuple[float, float]] = field(default=lambda case: (1.0, 1.0))
    params: dict[str, Any] = field(default_factory=dict)

    def reduce(self, case: Case, neg_mean: float, pos_mean: float) -> float:
        """The set's loss from each class's mean per-example loss."""
        w_neg, w_pos = self.weights(case)
        total = case.negatives * w_neg * neg_mean + case.positives * w_pos * pos_mean
        if self.reduction == "sum":
            return total
        return total / (case.negatives * w_neg + case.positives * w_pos)

    def reduce_var(self, case: Case, neg_var: float, pos_var: float) -> float:
        """Variance of the reduced loss when every example is drawn independently within its class."""
        w_neg, w_pos = self.weights(case)
        var = case.negatives * w_neg**2 * neg_var + case.positives * w_pos**2 * pos_var
        if self.reduction == "sum":
            return var
        return var / (case.negatives * w_neg + case.positives * w_pos) ** 2

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({extra + ', ' if extra else ''}{self.reduction})"


def _clip(s: np.ndarray) -> np.ndarray:
    return np.clip(s, EPS, 1.0 - EPS)


def _bce(y: int, s: np.ndarray) -> np.ndarray:
    s = _clip(np.asarray(s, dtype=np.float64))
    return -np.log(s + EPS) if y == 1 else -np.log(1.0 - s + EPS)


LOSSES: Registry = Registry("loss")


@LOSSES.register
def bce(reduction: Reduction = "mean") -> Loss:
    """Binary cross-entropy, as Keras' BinaryCrossentropy (the seed's validation loss)."""
    return Loss("bce", _bce, reduction)


@LOSSES.register
def focal(
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.25,
    gamma: Annotated[float, Field(ge=0, le=10)] = 2.0,
    reduction: Reduction = "sum",
) -> Loss:
    """Focal loss α_t (1 − p_t)^γ · BCE (Lin et al. 2017); defaults as the seed's TensorFlow Addons call (summed)."""

    def per_example(y: int, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        p_t = s if y == 1 else 1.0 - s
        alpha_t = alpha if y == 1 else 1.0 - alpha
        return alpha_t * (1.0 - p_t) ** gamma * _bce(y, s)

    return Loss("focal", per_example, reduction, params={"alpha": alpha, "gamma": gamma})


@LOSSES.register
def balanced_bce(reduction: Reduction = "mean") -> Loss:
    """Binary cross-entropy with each class weighted by the inverse of its frequency (the classes count alike)."""

    def weights(case: Case) -> tuple[float, float]:
        n = case.negatives + case.positives
        return n / (2 * case.negatives), n / (2 * case.positives)

    return Loss("balanced_bce", _bce, reduction, weights)


def parse_loss(text: str) -> Loss:
    """``name`` or ``name:key=value,key=value`` (e.g. ``focal:alpha=0.25,gamma=2,reduction=mean``)."""
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"simulate --loss {text!r}: expected key=value after the name, e.g. focal:gamma=2")
        try:
            params[key.strip()] = float(value) if key.strip() != "reduction" else value.strip()
        except ValueError:
            raise UserError(f"simulate --loss {text!r}: {key.strip()} must be a number, got {value!r}") from None
    try:
        return LOSSES.create(name.strip(), **params)
    except UserError as err:
        raise UserError(f"simulate --loss {text!r}: {err}") from None


# --------------------------------------------------------------------------- expectations


def _class_moments(loss: Loss, y: int, lo: float, hi: float) -> tuple[float, float]:
    """Mean and variance of the per-example loss for a score ~ U(lo, hi), by numerical integration."""
    from scipy import integrate  # imported where a case is integrated: a report never is

    if hi - lo <= 0:
        value = float(loss.per_example(y, np.array([lo]))[0])
        return value, 0.0
    f = lambda s: float(loss.per_example(y, np.array([s]))[0])  # noqa: E731
    points = [p for p in (EPS, 1 - EPS, 0.5) if lo < p < hi]
    opts = {"limit": 200, "points": points or None, "epsabs": 1e-12, "epsrel": 1e-10}
    mean = integrate.quad(f, lo, hi, **opts)[0] / (hi - lo)
    second = integrate.quad(lambda s: f(s) ** 2, lo, hi, **opts)[0] / (hi - lo)
    return mean, max(second - mean**2, 0.0)


def expected_loss(case: Case, loss: Loss) -> float:
    """The exact expectation of the set's loss."""
    neg = _class_moments(loss, 0, *case.neg_range)[0]
    pos = _class_moments(loss, 1, *case.pos_range)[0]
    return loss.reduce(case, neg, pos)


def _rates(case: Case, threshold: float = 0.5) -> tuple[float, float]:
    """(TPR, FPR) at ``threshold``: P(positive's score > t), P(negative's score > t)."""

    def above(lo: float, hi: float) -> float:
        return 1.0 if threshold < lo else 0.0 if threshold >= hi else (hi - threshold) / (hi - lo)

    return above(*case.pos_range), above(*case.neg_range)


def count_metrics(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    """Precision, recall, F1, accuracy, balanced accuracy and MCC from confusion counts (0 where undefined)."""

    def div(a: float, b: float) -> float:
        return a / b if b > 0 else 0.0

    precision, recall = div(tp, tp + fp), div(tp, tp + fn)
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "precision": precision,
        "recall": recall,
        "f1": div(2 * tp, 2 * tp + fp + fn),
        "accuracy": div(tp + tn, tp + fp + fn + tn),
        "balanced_accuracy": (recall + div(tn, tn + fp)) / 2,
        "mcc": div(tp * tn - fp * fn, denominator),
    }


def _roc_auc(case: Case) -> float:
    """P(positive's score > negative's score) for the two uniform densities."""
    (a, b), (c, d) = case.neg_range, case.pos_range

    # P(X > Y), X ~ U(c, d), Y ~ U(a, b): integrate P(Y < x) over x's density
    def below(x: float) -> float:
        return min(max((x - a) / (b - a), 0.0), 1.0)

    from scipy import integrate  # imported where a case is integrated: a report never is

    return integrate.quad(below, c, d, points=[p for p in (a, b) if c < p < d] or None, limit=200)[0] / (d - c)


def _average_precision(case: Case) -> float:
    """Population average precision: ∫ precision(t) d recall(t) over thresholds t (recall falling from 1 to 0)."""
    (a, b), (c, d) = case.neg_range, case.pos_range

    def precision_at(t: float) -> float:
        tpr = (d - t) / (d - c)
        fpr = min(max((b - t) / (b - a), 0.0), 1.0)
        tp, fp = case.positives * tpr, case.negatives * fpr
        return tp / (tp + fp) if tp + fp > 0 else 1.0

    # recall(t) = (d - t)/(d - c) for t in [c, d]: d recall = dt / (d - c)
    from scipy import integrate  # imported where a case is integrated: a report never is

    return integrate.quad(precision_at, c, d, points=[p for p in (a, b) if c < p < d] or None, limit=200)[0] / (d - c)


def expected_metrics(case: Case) -> dict[str, float]:
    """The metrics at the population level (expected confusion counts at the 0.5 threshold; exact ranks)."""
    tpr, fpr = _rates(case)
    tp, fp = case.positives * tpr, case.negatives * fpr
    out = count_metrics(tp, fp, case.positives - tp, case.negatives - fp)
    out["roc_auc"] = _roc_auc(case)
    out["pr_auc"] = _average_precision(case)
    return out


# --------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float | None  # None: not estimable from what was drawn (a rank metric from one draw)


def draw_scores(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One draw of the set's scores (negatives', positives'), as seed 003 draws them."""
    return rng.uniform(*case.neg_range, size=case.negatives), rng.uniform(*case.pos_range, size=case.positives)


def _count_se(tp: float, fp: float, case: Case) -> dict[str, float]:
    """Delta-method standard errors of the count metrics: TP ~ Bin(P, tpr) and FP ~ Bin(N, fpr), independent."""
    n_pos, n_neg = case.positives, case.negatives
    tpr, fpr = tp / n_pos, fp / n_neg
    var_tp, var_fp = n_pos * tpr * (1 - tpr), n_neg * fpr * (1 - fpr)

    def se(grad_tp: float, grad_fp: float) -> float:
        return math.sqrt(grad_tp**2 * var_tp + grad_fp**2 * var_fp)

    out = {}
    s = tp + fp
    out["precision"] = se(fp / s**2, -tp / s**2) if s > 0 else 0.0
    out["recall"] = se(1 / n_pos, 0.0)
    d = tp + fp + n_pos  # F1 = 2TP / (TP + FP + P)
    out["f1"] = se(2 * (fp + n_pos) / d**2, -2 * tp / d**2)
    out["accuracy"] = se(1 / (n_pos + n_neg), -1 / (n_pos + n_neg))
    out["balanced_accuracy"] = se(0.5 / n_pos, -0.5 / n_neg)

    # MCC: numerical gradient (central differences on the counts)
    def mcc(t: float, f: float) -> float:
        return count_metrics(t, f, n_pos - t, n_neg - f)["mcc"]

    h_tp, h_fp = max(1e-3 * n_pos, 1e-6), max(1e-3 * n_neg, 1e-6)
    grad_tp = (mcc(min(tp + h_tp, n_pos), fp) - mcc(max(tp - h_tp, 0), fp)) / (
        min(tp + h_tp, n_pos) - max(tp - h_tp, 0)
    )
    grad_fp = (mcc(tp, min(fp + h_fp, n_neg)) - mcc(tp, max(fp - h_fp, 0))) / (
        min(fp + h_fp, n_neg) - max(fp - h_fp, 0)
    )
    out["mcc"] = se(grad_tp, grad_fp)
    return out


BYTES_PER_DRAWN_IMAGE = 200  # peak memory of one Monte Carlo draw per image of the set (measured: ~170)


def check_draw_fits(case: Case) -> None:
    """Refuse a set whose Monte Carlo draw would not fit in the memory available now, before allocating it."""
    size = case.negatives + case.positives
    need, available = size * BYTES_PER_DRAWN_IMAGE, available_memory()
    if available is not None and need > available:
        raise UserError(
            f"simulate: a validation set of {size:,} images needs about {need / 1e9:,.1f} GB of memory "
            f"for its Monte Carlo draw, but {available / 1e9:,.1f} GB are available; give fewer "
            f"--negatives or --positives (at most about {available // BYTES_PER_DRAWN_IMAGE:,} images "
            f"in all)"
        )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or ``None`` where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def monte_carlo(case: Case, losses: list[Loss], seed: int = 0, repeats: int = 1) -> dict[str, Estimate]:
    """A seeded draw of the set (``repeats`` independent draws averaged): each loss and metric with its SE."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    check_draw_fits(case)
    rng = np.random.default_rng(seed)
    draws: list[dict[str, float]] = []
    loss_var: dict[str, float] = {}
    count_se: dict[str, float] = {}
    for _ in range(repeats):
        neg, pos = draw_scores(case, rng)
        values: dict[str, float] = {}
        for loss in losses:
            per_neg, per_pos = loss.per_example(0, neg), loss.per_example(1, pos)
            values[loss.describe()] = loss.reduce(case, float(per_neg.mean()), float(per_pos.mean()))
            loss_var[loss.describe()] = loss.reduce_var(case, float(per_neg.var()), float(per_pos.var()))
        tp, fp = float((pos > 0.5).sum()), float((neg > 0.5).sum())  # the seed's np.round: 0.5 itself is 0
        values.update(count_metrics(tp, fp, case.positives - tp, case.negatives - fp))
        count_se = _count_se(tp, fp, case)
        labels = np.concatenate([np.zeros(case.negatives), np.ones(case.positives)])
        scores = np.concatenate([neg, pos])
        values["roc_auc"] = float(roc_auc_score(labels, scores))
        values["pr_auc"] = float(average_precision_score(labels, scores))
        draws.append(values)
    out = {}
    for key in draws[0]:
        xs = np.array([d[key] for d in draws])
        if key in loss_var:
            se: float | None = math.sqrt(loss_var[key] / repeats)
        elif key in count_se:
            se = count_se[key] / math.sqrt(repeats)
        else:
            se = float(xs.std(ddof=1) / math.sqrt(repeats)) if repeats > 1 else None
        out[key] = Estimate(float(xs.mean()), se)
    return out


def expected(case: Case, losses: list[Loss]) -> dict[str, float]:
    """Every loss's and metric's exact expectation for the case."""
    return {**{loss.describe(): expected_loss(case, loss) for loss in losses}, **expected_metrics(case)}


def expected_se(case: Case, losses: list[Loss]) -> dict[str, float]:
    """The standard error of one draw's figure around its expectation, from the exact class variances (losses)
    and the binomial counts at their expected values (count metrics); rank metrics are left out."""
    out = {}
    for loss in losses:
        neg_var = _class_moments(loss, 0, *case.neg_range)[1]
        pos_var = _class_moments(loss, 1, *case.pos_range)[1]
        out[loss.describe()] = math.sqrt(loss.reduce_var(case, neg_var, pos_var))
    tpr, fpr = _rates(case)
    out.update(_count_se(case.positives * tpr, case.negatives * fpr, case))
    return out


# --------------------------------------------------------------------------- seed 003's study

SEED_003_CASES = [
    Case(1_000_000, 10_000, 0.999, 0.5),
    Case(1_000_000, 10_000, 0.98, 0.9),
    Case(10_000, 10_000, 0.999, 0.5),
    Case(10_000, 10_000, 0.98, 0.9),
]
# what seed 003 printed (one draw each; the focal runs drew again, so their metrics are other draws)
SEED_003_PRINTED: dict[tuple[int, str], dict[str, float]] = {
    (0, "bce(mean)"): {
        "bce(mean)": 0.313947,
        "precision": 0.8396806918343589,
        "recall": 0.5049,
        "f1": 0.6306126272403673,
    },
    (1, "bce(mean)"): {
        "bce(mean)": 0.3151517,
        "precision": 0.30972900010383136,
        "recall": 0.8949,
        "f1": 0.4601856375183195,
    },
    (2, "bce(mean)"): {
        "bce(mean)": 0.65621394,
        "precision": 0.9976128903918838,
        "recall": 0.5015,
        "f1": 0.6674652292540094,
    },
    (3, "bce(mean)"): {
        "bce(mean)": 0.33528897,
        "precision": 0.9771986970684039,
        "recall": 0.9,
        "f1": 0.9370119729307653,
    },
    (0, "focal(alpha=0.25, gamma=2, sum)"): {
        "focal(alpha=0.25, gamma=2, sum)": 31629.947,
        "precision": 0.835135584761271,
        "recall": 0.502,
        "f1": 0.6270688901380302,
    },
    (1, "focal(alpha=0.25, gamma=2, sum)"): {
        "focal(alpha=0.25, gamma=2, sum)": 32311.969,
        "precision": 0.31202799140857757,
        "recall": 0.9007,
        "f1": 0.46348993979313535,
    },
}


@dataclass(frozen=True)
class Row:
    """One figure of a study: a case, a quantity, its expectation, a Monte Carlo estimate, the seed's."""

    case: Case
    loss: str  # the loss this draw was made for ("" for one draw shared by every loss)
    quantity: str
    expected: float
    estimate: Estimate
    printed: float | None = None
    expected_se: float | None = None  # one draw's standard error around the expectation

    @property
    def z(self) -> float | None:
        """(printed − expected) / SE: how many standard errors of one draw the seed's figure lies from the
        expectation."""
        if self.printed is None or not self.expected_se:
            return None
        return (self.printed - self.expected) / self.expected_se


def study(
    cases: list[Case],
    losses: list[Loss],
    metrics: list[str],
    seed: int = 0,
    repeats: int = 1,
    printed: dict[tuple[int, str], dict[str, float]] | None = None,
) -> list[Row]:
    """Every case × loss: the loss and ``metrics`` as expected and as drawn (one seeded draw per case and loss,
    as seed 003 draws once per call), beside ``printed`` figures where given."""
    rows = []
    for i, case in enumerate(cases):
        for j, loss in enumerate(losses):
            exp, se = expected(case, [loss]), expected_se(case, [loss])
            drawn = monte_carlo(case, [loss], seed=seed + 1000 * i + j, repeats=repeats)
            seen = (printed or {}).get((i, loss.describe()), {})
            for quantity in [loss.describe(), *metrics]:
                rows.append(
                    Row(
                        case,
                        loss.describe(),
                        quantity,
                        exp[quantity],
                        drawn[quantity],
                        seen.get(quantity),
                        se.get(quantity),
                    )
                )
    return rows


METRICS = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "roc_auc", "pr_auc")
"""The vocabulary's metrics this simulation computes from its two score distributions."""


def to_table(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as plain records (for CSV, Markdown and MLflow)."""
    return [
        {
            "negatives": r.case.negatives,
            "positives": r.case.positives,
            "acc_neg": r.case.acc_neg,
            "acc_pos": r.case.acc_pos,
            "draw": r.loss,
            "quantity": r.quantity,
            "expected": r.expected,
            "drawn": r.estimate.value,
            "drawn_se": r.estimate.se,
            "seed_003": r.printed,
            "z": r.z,
        }
        for r in rows
    ]


def records_csv(records: list[dict[str, Any]]) -> str:
    """Records (:func:`to_table`, :func:`sweep`) as CSV text, one column per key."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4f}"


def to_markdown(rows: list[Row], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| case (negatives:positives, acc neg/pos) | draw for | quantity | expected | drawn ± SE | seed 003 | z |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        drawn = _fmt(r.estimate.value) + (f" ± {_fmt(r.estimate.se)}" if r.estimate.se is not None else "")
        z = f"{r.z:+.2f}" if r.z is not None else ""
        lines.append(
            f"| {r.case.label()} | {r.loss} | {r.quantity} | {_fmt(r.expected)} | {drawn} | {_fmt(r.printed)} | {z} |"
        )
    lines += [
        "",
        "Expected: the exact expectation (losses) or the population value (metrics at the 0.5 threshold, "
        "ROC-AUC and PR-AUC). Drawn: one seeded Monte Carlo draw of the whole set per case and loss (as the seed "
        "draws), with its standard error. z: the seed's figure minus the expectation, in standard errors of one "
        "draw.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the sensitivity sweep


@dataclass(frozen=True)
class Scenario:
    """Two models to tell apart on validation: ``before`` and ``after`` per-class accuracies."""

    name: str
    acc_neg: tuple[float, float]
    acc_pos: tuple[float, float]


SCENARIOS = (
    Scenario("recall 0.5 → 0.6, negatives 0.98", (0.98, 0.98), (0.5, 0.6)),
    Scenario("recall 0.5 → 0.6, negatives 0.99 → 0.98", (0.99, 0.98), (0.5, 0.6)),
)
RATIOS = (1, 3, 10, 30, 100, 300, 1000)
SWEEP_QUANTITIES = (
    "bce(mean)",
    "focal(alpha=0.25, gamma=2, mean)",
    "balanced_bce(mean)",
    "pr_auc",
    "f1",
    "balanced_accuracy",
    "mcc",
)


def _draw_se(case: Case, quantity: str, repeats: int, seed: int) -> float:
    """One draw's standard error of a rank metric, from ``repeats`` seeded draws."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    check_draw_fits(case)
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.zeros(case.negatives), np.ones(case.positives)])
    score = average_precision_score if quantity == "pr_auc" else roc_auc_score
    values = [float(score(labels, np.concatenate(draw_scores(case, rng)))) for _ in range(repeats)]
    return float(np.std(values, ddof=1))


def sweep(
    positives: int = 100,
    ratios: tuple[int, ...] = RATIOS,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
    repeats: int = 40,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """For each scenario and validation ratio (negatives = ratio × positives): each quantity before and after,
    the change in its better direction (a loss's fall counts as a gain), one draw's standard error of that
    change when both models are scored on validation sets of this size, and the change in those units (z):
    how plainly the validation set shows the better model."""
    losses = [bce(), focal(reduction="mean"), balanced_bce()]
    records = []
    for s_index, scenario in enumerate(scenarios):
        for ratio in ratios:
            cases = [Case(ratio * positives, positives, n, p) for n, p in zip(scenario.acc_neg, scenario.acc_pos)]
            values = [expected(case, losses) for case in cases]
            ses = [expected_se(case, losses) for case in cases]
            for quantity in SWEEP_QUANTITIES:
                before, after = values[0][quantity], values[1][quantity]
                loss = quantity.split("(")[0] in LOSSES.names()  # a loss of this module's own: lower is better
                sign = -1.0 if loss or not higher_is_better(quantity) else 1.0
                if quantity in ("pr_auc", "roc_auc"):
                    se = [
                        _draw_se(case, quantity, repeats, seed + 7919 * s_index + ratio + k)
                        for k, case in enumerate(cases)
                    ]
                else:
                    se = [ses[0][quantity], ses[1][quantity]]
                se_diff = math.sqrt(se[0] ** 2 + se[1] ** 2)
                gain = sign * (after - before)
                records.append(
                    {
                        "scenario": scenario.name,
                        "ratio": ratio,
                        "negatives": ratio * positives,
                        "positives": positives,
                        "quantity": quantity,
                        "before": before,
                        "after": after,
                        "gain": gain,
                        "se_gain": se_diff,
                        "z": gain / se_diff if se_diff > 0 else math.nan,
                    }
                )
    return records


def sweep_markdown(records: list[dict[str, Any]]) -> str:
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in records):
        mine = [r for r in records if r["scenario"] == scenario]
        ratios = list(dict.fromkeys(r["ratio"] for r in mine))
        lines += [
            f"#### {scenario} ({mine[0]['positives']} positives)",
            "",
            "gain in the better direction, and in standard errors of the gain (z):",
            "",
            "| quantity | " + " | ".join(f"1:{r}" for r in ratios) + " |",
            "|---|" + "---:|" * len(ratios),
        ]
        for quantity in SWEEP_QUANTITIES:
            cells = []
            for ratio in ratios:
                r = next(x for x in mine if x["quantity"] == quantity and x["ratio"] == ratio)
                cells.append(f"{r['gain']:+.4f} ({r['z']:+.1f})")
            lines.append(f"| {quantity} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
