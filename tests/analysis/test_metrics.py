"""Tests for ``imbalance_lab.metrics`` against scikit-learn references.

Torchmetrics style: each metric has a small reference function built on
``sklearn.metrics``; a table of seeded input cases is built once at import and
every metric is compared with its reference on every case to 1e-9. Where
sklearn cannot compute a value (ranking metrics with a class absent from the
labels) the documented fallback is built from sklearn's binary scores and the
cases that need it are pinned. Corner cases (undefined ratios, nan
conventions, perfect predictions, thresholds, bad inputs) are checked
explicitly afterwards. sklearn references are cached per case so that the
dedicated tests and the ``classification_metrics`` tests share them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest
import sklearn
from sklearn import metrics as skm

from imbalance_lab.metrics import (
    UndefinedMetricWarning,
    accuracy,
    average_precision,
    balanced_accuracy,
    brier,
    classification_metrics,
    confusion_matrix,
    expected_calibration_error,
    fbeta_per_class,
    log_loss,
    macro_fbeta,
    mcc,
    per_class_precision_recall_f1,
    predict,
    roc_auc,
    shot_group_accuracy,
    specificity_per_class,
    threshold_metrics,
    weighted_fbeta,
    weighted_precision_recall_f1,
)
from imbalance_lab.metrics.thresholds import precision_recall_points, roc_points
from imbalance_lab.vocabulary import ALWAYS, SHOT, WITH_POSITIVE

ATOL = 1e-9


# --------------------------------------------------------------------------- #
# Comparison helper
# --------------------------------------------------------------------------- #


def assert_close(ours: Any, ref: Any, name: str, *, allow_nan: bool = False) -> None:
    """Assert ``ours`` equals ``ref`` to ``ATOL`` (exactly for integers); show both on failure.

    NaN is a failure unless ``allow_nan``, and then it must sit at the same places in both.
    """
    a = np.asarray(ours)
    b = np.asarray(ref)
    msg = f"{name}: ours={ours!r} ref={ref!r}"
    assert a.shape == b.shape, msg
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        assert np.array_equal(a, b), msg
    elif allow_nan:
        assert np.array_equal(np.isnan(a), np.isnan(b)), msg
        assert np.all(np.isfinite(a[~np.isnan(a)])), msg
        assert np.allclose(a, b, rtol=0.0, atol=ATOL, equal_nan=True), msg
    else:
        assert np.all(np.isfinite(a)), msg
        assert np.allclose(a, b, rtol=0.0, atol=ATOL), msg


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call one of our metrics with its UndefinedMetricWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*args, **kwargs)


def _undefined_warnings(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call one of our metrics and return its value and the UndefinedMetricWarning messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    return value, [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]


# --------------------------------------------------------------------------- #
# Shared input cases, built once
# --------------------------------------------------------------------------- #

# Training counts per class for the long-tail groups, cut to C entries: many, few,
# medium (100: the upper edge), medium (20: the lower edge), many (101: just above).
TRAIN_COUNT_PATTERN = (500, 19, 100, 20, 101)


@dataclass(frozen=True)
class Case:
    labels: np.ndarray  # int64, shape (N,)
    probs: np.ndarray  # float64, shape (N, C), rows sum to 1
    positive: int  # the class treated as positive / minority

    @property
    def n_classes(self) -> int:
        return self.probs.shape[1]

    @property
    def train_counts(self) -> np.ndarray:
        return np.array(TRAIN_COUNT_PATTERN[: self.n_classes], dtype=np.int64)


def _informative_probs(rng: np.random.Generator, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Dirichlet probabilities tilted towards the true class (so decisions are neither random nor perfect)."""
    alpha = np.ones((labels.shape[0], n_classes)) + 2.0 * np.eye(n_classes)[labels]
    return np.stack([rng.dirichlet(a) for a in alpha])


def _random_case(seed: int, class_freq: list[float], n: int) -> Case:
    rng = np.random.default_rng(seed)
    c = len(class_freq)
    labels = rng.choice(c, size=n, p=class_freq).astype(np.int64)
    probs = _informative_probs(rng, labels, c)
    return Case(labels, probs, positive=int(np.argmin(np.bincount(labels, minlength=c))))


def _binary_from_p1(p1: np.ndarray) -> np.ndarray:
    return np.stack([1.0 - p1, p1], axis=1)


def _build_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for seed in (0, 1, 2):
        cases[f"binary_seed{seed}"] = _random_case(seed, [0.85, 0.15], n=200)
        cases[f"multiclass5_seed{seed}"] = _random_case(100 + seed, [0.5, 0.2, 0.15, 0.1, 0.05], n=300)

    rng = np.random.default_rng(7)
    # 1:100 imbalance: 1000 majority samples, 10 minority samples.
    labels = np.concatenate([np.zeros(1000, np.int64), np.ones(10, np.int64)])
    p1 = np.concatenate([rng.beta(1.0, 8.0, size=1000), rng.beta(3.0, 2.0, size=10)])
    cases["imbalance_1_to_100"] = Case(labels, _binary_from_p1(np.clip(p1, 1e-6, 1 - 1e-6)), positive=1)

    # Class 2 is present in the labels but never the argmax.
    labels = rng.choice(3, size=60).astype(np.int64)
    p = _informative_probs(rng, labels, 3)
    p[:, 2] = 0.5 * np.minimum(p[:, 0], p[:, 1])
    cases["class_never_predicted"] = Case(labels, p / p.sum(axis=1, keepdims=True), positive=2)

    # Class 3 is predicted for some rows but never occurs in the labels.
    labels = rng.choice(3, size=60).astype(np.int64)
    p = rng.dirichlet(np.ones(4), size=60)
    cases["class_absent_from_labels"] = Case(labels, p, positive=3)

    # Every sample belongs to class 1 (of 3).
    labels = np.ones(40, np.int64)
    cases["all_one_class"] = Case(labels, rng.dirichlet(np.ones(3), size=40), positive=1)

    cases["single_sample"] = Case(np.array([2], np.int64), np.array([[0.2, 0.3, 0.5]]), positive=2)

    # Exact ties (dyadic values, rows sum to exactly 1): argmax must take the lowest index.
    tie_probs = np.array(
        [
            [0.5, 0.5, 0.0, 0.0],
            [0.25, 0.25, 0.25, 0.25],
            [0.125, 0.375, 0.375, 0.125],
            [0.375, 0.125, 0.125, 0.375],
            [0.0, 0.5, 0.25, 0.25],
            [0.25, 0.25, 0.5, 0.0],
        ]
    )
    cases["ties"] = Case(np.array([1, 3, 2, 0, 1, 2], np.int64), tie_probs, positive=3)

    # Many tied scores: binary scores on the grid 1/8 .. 7/8, positives and negatives sharing values.
    labels = (rng.uniform(size=120) < 0.25).astype(np.int64)
    p1 = rng.integers(1, 6, size=120) / 8 + labels * rng.integers(0, 3, size=120) / 8
    cases["tied_scores"] = Case(labels, _binary_from_p1(p1), positive=1)

    labels = np.array([0, 1, 2, 2, 1, 0, 2], np.int64)
    cases["perfect"] = Case(labels, np.eye(3)[labels], positive=2)
    return cases


CASES = _build_cases()
CASE_NAMES = list(CASES)
THRESHOLDS = (None, 0.5, 0.25)

# Where sklearn cannot give a number for the one-vs-rest / binary ranking scores
# (it returns nan or raises), the documented fallback is used instead.
RANKING_FALLBACK_CASES = {"class_absent_from_labels", "all_one_class", "single_sample"}


def test_case_table_covers_the_advertised_corners() -> None:
    """The shared cases really contain the situations their names claim."""
    for case in CASES.values():
        assert np.allclose(case.probs.sum(axis=1), 1.0, atol=1e-12)
        # log loss is compared without sklearn's different clipping getting in the way
        assert case.probs[np.arange(case.labels.size), case.labels].min() > 1e-12
    imb = CASES["imbalance_1_to_100"]
    assert np.bincount(imb.labels).tolist() == [1000, 10]
    never = CASES["class_never_predicted"]
    assert 2 in never.labels and 2 not in np.argmax(never.probs, axis=1)
    absent = CASES["class_absent_from_labels"]
    assert 3 not in absent.labels and 3 in np.argmax(absent.probs, axis=1)
    assert set(CASES["all_one_class"].labels.tolist()) == {1}
    assert CASES["single_sample"].labels.shape == (1,)
    ties = CASES["ties"].probs
    assert np.any(np.sum(ties == ties.max(axis=1, keepdims=True), axis=1) > 1)
    tied = CASES["tied_scores"]
    shared = np.intersect1d(tied.probs[tied.labels == 1, 1], tied.probs[tied.labels == 0, 1])
    assert shared.size >= 3 and np.unique(tied.probs[:, 1]).size <= 7


# --------------------------------------------------------------------------- #
# Reference implementations (sklearn, plus loop-based predict / ECE / shot groups)
# --------------------------------------------------------------------------- #


def ref_predict(probs: np.ndarray, positive: int | None, threshold: float | None) -> np.ndarray:
    """Row-by-row decision rule; ties go to the lowest index."""
    out = []
    for row in probs.tolist():
        candidates = list(range(len(row)))
        if threshold is not None:
            if row[positive] >= threshold:
                out.append(positive)
                continue
            candidates.remove(positive)
        best = candidates[0]
        for j in candidates[1:]:
            if row[j] > row[best]:
                best = j
        out.append(best)
    return np.array(out, dtype=np.int64)


@cache
def case_predictions(name: str, positive: int | None, threshold: float | None) -> np.ndarray:
    """Reference decisions of a shared case, computed once."""
    return ref_predict(CASES[name].probs, positive, threshold)


def _sk(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call sklearn with its own warnings (e.g. classes absent from y_true) silenced.

    Its input checks are skipped for speed; they do not change the values.
    """
    with warnings.catch_warnings(), sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def ref_confusion_matrix(labels: np.ndarray, preds: np.ndarray, c: int) -> np.ndarray:
    return _sk(skm.confusion_matrix, labels, preds, labels=list(range(c))).astype(np.int64)


def ref_per_class(labels: np.ndarray, preds: np.ndarray, c: int) -> tuple[np.ndarray, ...]:
    p, r, f, _ = _sk(
        skm.precision_recall_fscore_support, labels, preds, labels=list(range(c)), average=None, zero_division=0
    )
    return p, r, f


def ref_macro(labels: np.ndarray, preds: np.ndarray, c: int) -> tuple[float, float, float]:
    p, r, f, _ = _sk(
        skm.precision_recall_fscore_support, labels, preds, labels=list(range(c)), average="macro", zero_division=0
    )
    return float(p), float(r), float(f)


def ref_weighted(labels: np.ndarray, preds: np.ndarray, c: int) -> tuple[float, float, float]:
    p, r, f, _ = _sk(
        skm.precision_recall_fscore_support, labels, preds, labels=list(range(c)), average="weighted", zero_division=0
    )
    return float(p), float(r), float(f)


def ref_fbeta(labels: np.ndarray, preds: np.ndarray, c: int, beta: float, average: str | None) -> Any:
    return _sk(skm.fbeta_score, labels, preds, beta=beta, labels=list(range(c)), average=average, zero_division=0)


def ref_specificity(labels: np.ndarray, preds: np.ndarray, c: int) -> np.ndarray:
    """tn / (tn + fp) read from sklearn's one-vs-rest confusion matrices, 0 where undefined."""
    mcm = _sk(skm.multilabel_confusion_matrix, labels, preds, labels=list(range(c)))
    tn, fp = mcm[:, 0, 0].astype(float), mcm[:, 0, 1].astype(float)
    return np.divide(tn, tn + fp, out=np.zeros(c), where=tn + fp > 0)


def ref_mcc(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(_sk(skm.matthews_corrcoef, labels, preds))


def ref_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(_sk(skm.accuracy_score, labels, preds))


def ref_balanced_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(_sk(skm.balanced_accuracy_score, labels, preds))


def ref_log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(_sk(skm.log_loss, labels, probs, labels=list(range(probs.shape[1]))))


def binary_positive(positive: int | None, c: int) -> int | None:
    return 1 if positive is None and c == 2 else positive


def _ranking_ref(
    labels: np.ndarray,
    probs: np.ndarray,
    positive: int | None,
    binary_score: Callable[..., Any],
    multiclass: Callable[[], Any],
) -> tuple[float, bool]:
    """sklearn's binary / one-vs-rest macro score, or the fallback; returns (value, fallback used).

    Fallback (sklearn returns nan or raises): the mean of sklearn's binary score over the
    classes it can score (no warning from sklearn), nan when there is none.
    """
    c = probs.shape[1]
    k = binary_positive(positive, c)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # sklearn's "undefined" warnings mean: not computable
        try:
            if k is not None:
                return float(binary_score(labels == k, probs[:, k])), False
            return float(multiclass()), False
        except Exception:  # noqa: BLE001 - sklearn raised or warned: use the fallback
            pass
    if k is not None:
        return math.nan, True
    scores = []
    for cls in range(c):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            try:
                scores.append(float(binary_score(labels == cls, probs[:, cls])))
            except Exception:  # noqa: BLE001
                pass
    return (float(np.mean(scores)) if scores else math.nan), True


@cache
def ref_roc_auc(name: str, positive: int | None) -> tuple[float, bool]:
    """sklearn ``roc_auc_score``: binary on ``labels == positive``, else OvR macro with ``labels=range(C)``."""
    case = CASES[name]
    y, p, c = case.labels, case.probs, case.n_classes
    return _ranking_ref(
        y, p, positive, skm.roc_auc_score,
        lambda: skm.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(c))),
    )  # fmt: skip


@cache
def ref_average_precision(name: str, positive: int | None) -> tuple[float, bool]:
    """sklearn ``average_precision_score``: binary on ``labels == positive``, else macro (multi-class y)."""
    case = CASES[name]
    y, p = case.labels, case.probs
    value, fallback = _ranking_ref(
        y, p, positive, skm.average_precision_score, lambda: skm.average_precision_score(y, p, average="macro")
    )
    k = binary_positive(positive, case.n_classes)
    if k is not None and fallback:  # sklearn warns but returns a number (0.0 without positives): ours follows it
        value = float(_sk(skm.average_precision_score, y == k, p[:, k]))
    return value, fallback


@cache
def ref_brier(name: str, positive: int | None) -> float:
    """sklearn ``brier_score_loss``: binary on ``labels == positive``, else multi-class with ``labels=range(C)``."""
    case = CASES[name]
    y, p, c = case.labels, case.probs, case.n_classes
    k = binary_positive(positive, c)
    if k is not None:
        return float(_sk(skm.brier_score_loss, y == k, p[:, k]))
    return float(_sk(skm.brier_score_loss, y, p, labels=list(range(c))))


def ref_brier_original(labels: np.ndarray, probs: np.ndarray) -> float:
    """Brier (1950): mean over samples of the squared distance to the one-hot outcome."""
    return float(np.mean(np.sum((probs - np.eye(probs.shape[1])[labels]) ** 2, axis=1)))


def ref_ece(labels: np.ndarray, probs: np.ndarray, n_bins: int) -> float:
    """Guo et al. (2017) ECE with a plain loop over the (lo, hi] bins; the first bin also holds 0."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        in_bin = (confidence <= hi) & ((confidence > lo) if b > 0 else (confidence >= lo))
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return total


def ref_shot_groups(labels: np.ndarray, preds: np.ndarray, train_counts: np.ndarray) -> dict[str, Any]:
    """Liu et al. (2019) groups by explicit comparisons; sklearn macro recall over each group's present classes."""
    out: dict[str, Any] = {}
    members = {
        "many": [c for c, n in enumerate(train_counts.tolist()) if n > 100],
        "medium": [c for c, n in enumerate(train_counts.tolist()) if 20 <= n <= 100],
        "few": [c for c, n in enumerate(train_counts.tolist()) if n < 20],
    }
    for group, classes in members.items():
        present = [c for c in classes if c in set(labels.tolist())]
        out[f"{group}_shot_accuracy"] = (
            float(_sk(skm.recall_score, labels, preds, labels=present, average="macro", zero_division=0))
            if present
            else math.nan
        )
    for group, classes in members.items():
        out[f"{group}_shot_classes"] = classes
    return out


def ref_threshold_metrics(
    labels: np.ndarray, probs: np.ndarray, positive: int, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """sklearn on the decisions ``probs[:, positive] >= t``; one column of a multilabel problem per threshold."""
    y_pos = labels == positive
    decisions = probs[:, positive][:, None] >= thresholds[None, :]  # (N, T)
    truth = np.repeat(y_pos[:, None], thresholds.size, axis=1)
    mcm = _sk(skm.multilabel_confusion_matrix, truth, decisions)  # (T, 2, 2): [[tn, fp], [fn, tp]]
    precision, recall, f1, _ = _sk(skm.precision_recall_fscore_support, truth, decisions, average=None, zero_division=0)
    _, specificity, _, _ = _sk(skm.precision_recall_fscore_support, ~truth, ~decisions, average=None, zero_division=0)
    balanced = [_sk(skm.balanced_accuracy_score, y_pos, d) for d in decisions.T]
    acc = [_sk(skm.accuracy_score, y_pos, d) for d in decisions.T]
    return {
        "threshold": thresholds,
        "tp": mcm[:, 1, 1], "fp": mcm[:, 0, 1], "tn": mcm[:, 0, 0], "fn": mcm[:, 1, 0],
        "precision": precision, "recall": recall, "f1": f1, "specificity": specificity,
        "balanced_accuracy": np.array(balanced), "accuracy": np.array(acc),
    }  # fmt: skip


@cache
def ref_multiclass_decision_metrics(name: str, positive: int | None, threshold: float | None) -> dict[str, float]:
    """sklearn values of the all-class count-based metrics for one case and decision rule."""
    if threshold is None:
        positive = None  # a positive class without a threshold leaves the argmax decisions unchanged
    case = CASES[name]
    labels, c = case.labels, case.n_classes
    preds = case_predictions(name, positive, threshold)
    mp, mr, mf = ref_macro(labels, preds, c)
    wp, wr, wf = ref_weighted(labels, preds, c)
    return {
        "accuracy": ref_accuracy(labels, preds),
        "balanced_accuracy": ref_balanced_accuracy(labels, preds),
        "macro_precision": mp, "macro_recall": mr, "macro_f1": mf,
        "weighted_precision": wp, "weighted_recall": wr, "weighted_f1": wf,
        "macro_f2": float(ref_fbeta(labels, preds, c, 2.0, "macro")),
        "mcc": ref_mcc(labels, preds),
    }  # fmt: skip


def ref_positive_decision_metrics(name: str, positive: int, threshold: float | None) -> dict[str, float]:
    """sklearn values of the one-vs-rest metrics of the positive class for one case and decision rule."""
    labels = CASES[name].labels
    preds = case_predictions(name, positive, threshold)
    y_pos, p_pos = labels == positive, preds == positive
    # labels=[False, True]: the recall of False is the specificity of the positive class
    prec, rec, f1, _ = _sk(
        skm.precision_recall_fscore_support, y_pos, p_pos, labels=[False, True], average=None, zero_division=0
    )
    f2 = _sk(skm.fbeta_score, y_pos, p_pos, beta=2.0, labels=[True], average=None, zero_division=0)
    tn, fp, fn, tp = _sk(skm.confusion_matrix, y_pos, p_pos, labels=[False, True]).ravel()
    return {
        "precision": float(prec[1]), "recall": float(rec[1]), "f1": float(f1[1]),
        "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn), "specificity": float(rec[0]), "f2": float(f2[0]),
    }  # fmt: skip


@cache
def ref_classification_metrics(
    name: str, positive: int | None, threshold: float | None, with_train_counts: bool
) -> dict[str, float]:
    case = CASES[name]
    out = dict(ref_multiclass_decision_metrics(name, positive, threshold))
    if positive is not None:
        out.update(ref_positive_decision_metrics(name, positive, threshold))
    out.update(
        log_loss=ref_log_loss(case.labels, case.probs),
        n=len(case.labels),
        roc_auc=ref_roc_auc(name, positive)[0],
        pr_auc=ref_average_precision(name, positive)[0],
        brier=ref_brier(name, positive),
        ece=ref_ece(case.labels, case.probs, 15),
    )
    if with_train_counts:
        preds = case_predictions(name, positive, threshold)
        shots = ref_shot_groups(case.labels, preds, case.train_counts)
        out.update({key: shots[key] for key in SHOT})
    return out


# --------------------------------------------------------------------------- #
# Every metric against its reference on every case
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("threshold", THRESHOLDS, ids=lambda t: f"thr={t}")
def test_predict_matches_reference(name: str, threshold: float | None) -> None:
    case = CASES[name]
    ours = predict(case.probs, positive=case.positive if threshold is not None else None, threshold=threshold)
    ref = ref_predict(case.probs, case.positive, threshold)
    assert ours.dtype == np.int64
    assert_close(ours, ref, f"predict[{name}, threshold={threshold}]")


def _argmax_cm(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Reference argmax decisions of a case and our confusion matrix of them."""
    case = CASES[name]
    preds = case_predictions(name, None, None)
    return preds, confusion_matrix(case.labels, preds, case.n_classes)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_confusion_matrix_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, ours = _argmax_cm(name)
    assert ours.dtype == np.int64
    assert_close(ours, ref_confusion_matrix(case.labels, preds, case.n_classes), f"confusion_matrix[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_per_class_precision_recall_f1_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, cm = _argmax_cm(name)
    ours = _quiet(per_class_precision_recall_f1, cm)
    for metric, o, r in zip(("precision", "recall", "f1"), ours, ref_per_class(case.labels, preds, case.n_classes)):
        assert_close(o, r, f"{metric}[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_accuracy_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, cm = _argmax_cm(name)
    assert_close(accuracy(cm), ref_accuracy(case.labels, preds), f"accuracy[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_balanced_accuracy_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, cm = _argmax_cm(name)
    assert_close(balanced_accuracy(cm), ref_balanced_accuracy(case.labels, preds), f"balanced_accuracy[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_log_loss_matches_sklearn(name: str) -> None:
    case = CASES[name]
    assert_close(log_loss(case.labels, case.probs), ref_log_loss(case.labels, case.probs), f"log_loss[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fbeta_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, cm = _argmax_cm(name)
    c = case.n_classes
    for beta in (0.5, 2.0):
        ref = ref_fbeta(case.labels, preds, c, beta, None)
        assert_close(_quiet(fbeta_per_class, cm, beta), ref, f"fbeta{beta}[{name}]")
    ref_macro_f2 = ref_multiclass_decision_metrics(name, None, None)["macro_f2"]
    assert_close(_quiet(macro_fbeta, cm, 2.0), ref_macro_f2, f"macro_f2[{name}]")
    assert_close(weighted_fbeta(cm, 2.0), ref_fbeta(case.labels, preds, c, 2.0, "weighted"), f"weighted_f2[{name}]")
    assert_close(_quiet(fbeta_per_class, cm, 1), _quiet(per_class_precision_recall_f1, cm)[2], f"fbeta1[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_weighted_precision_recall_f1_matches_sklearn(name: str) -> None:
    _, cm = _argmax_cm(name)
    ref = ref_multiclass_decision_metrics(name, None, None)
    ours = _quiet(weighted_precision_recall_f1, cm)
    for metric, value in zip(("weighted_precision", "weighted_recall", "weighted_f1"), ours):
        assert type(value) is float
        assert_close(value, ref[metric], f"{metric}[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_specificity_per_class_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds, cm = _argmax_cm(name)
    ref = ref_specificity(case.labels, preds, case.n_classes)
    assert_close(_quiet(specificity_per_class, cm), ref, f"specificity_per_class[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_mcc_matches_sklearn(name: str) -> None:
    _, cm = _argmax_cm(name)
    value = _quiet(mcc, cm)
    assert type(value) is float
    assert_close(value, ref_multiclass_decision_metrics(name, None, None)["mcc"], f"mcc[{name}]")


# Which shared cases need the documented fallback (sklearn gives nan, raises or warns).
FALLBACK = {
    ("roc_auc", "ovr"): {"class_absent_from_labels", "all_one_class", "single_sample"},
    ("roc_auc", "positive"): {"class_absent_from_labels", "all_one_class", "single_sample"},
    ("pr_auc", "ovr"): {"class_absent_from_labels", "all_one_class", "single_sample"},
    ("pr_auc", "positive"): {"class_absent_from_labels"},  # no positives: sklearn warns, returns 0.0
}


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("with_positive", [False, True], ids=["ovr", "positive"])
def test_roc_auc_matches_sklearn_or_documented_fallback(name: str, with_positive: bool) -> None:
    case = CASES[name]
    positive = case.positive if with_positive else None
    ref, fallback = ref_roc_auc(name, positive)
    assert fallback == (name in FALLBACK["roc_auc", "ovr" if positive is None else "positive"]), (name, ref)
    ours, messages = _undefined_warnings(roc_auc, case.labels, case.probs, positive)
    assert type(ours) is float
    assert_close(ours, ref, f"roc_auc[{name}, positive={positive}]", allow_nan=True)
    assert len(messages) == (1 if fallback else 0), messages


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("with_positive", [False, True], ids=["ovr", "positive"])
def test_average_precision_matches_sklearn_or_documented_fallback(name: str, with_positive: bool) -> None:
    case = CASES[name]
    positive = case.positive if with_positive else None
    ref, fallback = ref_average_precision(name, positive)
    assert fallback == (name in FALLBACK["pr_auc", "ovr" if positive is None else "positive"]), (name, ref)
    ours, messages = _undefined_warnings(average_precision, case.labels, case.probs, positive)
    assert type(ours) is float
    assert_close(ours, ref, f"average_precision[{name}, positive={positive}]")  # never nan on these cases
    assert len(messages) == (1 if fallback else 0), messages


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("with_positive", [False, True], ids=["multiclass", "positive"])
def test_brier_matches_sklearn(name: str, with_positive: bool) -> None:
    case = CASES[name]
    positive = case.positive if with_positive else None
    ours = brier(case.labels, case.probs, positive)
    assert type(ours) is float
    assert_close(ours, ref_brier(name, positive), f"brier[{name}, positive={positive}]")
    if positive is None:
        # sklearn's scale_by_half="auto": the original multi-class score for C > 2, half of it for C == 2.
        scale = 0.5 if case.n_classes == 2 else 1.0
        assert_close(ours, scale * ref_brier_original(case.labels, case.probs), f"brier_original[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("n_bins", [15, 4, 1])
def test_expected_calibration_error_matches_loop_reference(name: str, n_bins: int) -> None:
    case = CASES[name]
    ours = expected_calibration_error(case.labels, case.probs, n_bins=n_bins)
    assert type(ours) is float
    assert_close(ours, ref_ece(case.labels, case.probs, n_bins), f"ece[{name}, n_bins={n_bins}]")


def _sweep(case: Case) -> np.ndarray:
    """Thresholds 0, 1, above 1, below 0, 0.5 and three exact scores of the positive column."""
    scores = np.unique(case.probs[:, case.positive])
    exact = scores[[0, scores.size // 2, -1]]
    return np.concatenate([[0.0, 1.0, 1.5, -0.25, 0.5], exact])


@pytest.mark.parametrize("name", CASE_NAMES)
def test_threshold_metrics_matches_sklearn(name: str) -> None:
    case = CASES[name]
    thresholds = _sweep(case)
    ours = _quiet(threshold_metrics, case.labels, case.probs, case.positive, thresholds)
    ref = ref_threshold_metrics(case.labels, case.probs, case.positive, thresholds)
    assert list(ours) == list(ref)
    for key, value in ours.items():
        assert value.shape == thresholds.shape
        assert value.dtype == (np.int64 if key in ("tp", "fp", "tn", "fn") else np.float64), key
        assert_close(value, ref[key], f"threshold_metrics[{name}].{key}")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_shot_group_accuracy_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds = case_predictions(name, None, None)
    ours = _quiet(shot_group_accuracy, case.labels, preds, case.train_counts)
    ref = ref_shot_groups(case.labels, preds, case.train_counts)
    assert list(ours) == list(ref)
    for key, value in ours.items():
        if key.endswith("_classes"):
            assert value == ref[key], key
        else:
            assert type(value) is float
            assert_close(value, ref[key], f"{key}[{name}]", allow_nan=True)


# (with positive, threshold, with train counts): every decision rule, with and without long-tail groups.
RULES = [(False, None, False), (False, None, True)] + [(True, t, t == 0.5) for t in THRESHOLDS]
RULE_IDS = ["argmax", "argmax-shots"] + [f"positive-thr={t}{'-shots' if t == 0.5 else ''}" for t in THRESHOLDS]


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize(("with_positive", "threshold", "with_train_counts"), RULES, ids=RULE_IDS)
def test_classification_metrics_matches_sklearn(
    name: str, with_positive: bool, threshold: float | None, with_train_counts: bool
) -> None:
    case = CASES[name]
    positive = case.positive if with_positive else None
    train_counts = case.train_counts if with_train_counts else None
    ours = _quiet(
        classification_metrics,
        case.labels,
        case.probs,
        positive=positive,
        threshold=threshold,
        train_counts=train_counts,
    )
    ref = ref_classification_metrics(name, positive, threshold, with_train_counts)
    expected_keys = ALWAYS + (WITH_POSITIVE if with_positive else ()) + (SHOT if with_train_counts else ())
    assert tuple(ours) == expected_keys
    for key in expected_keys:
        value = ours[key]
        if key in ("n", "tp", "fp", "tn", "fn"):
            assert type(value) is int, f"{key}: expected int, got {type(value).__name__}"
        else:
            assert type(value) is float, f"{key}: expected float, got {type(value).__name__}"
        assert_close(value, ref[key], f"{key}[{name}, positive={positive}, threshold={threshold}]", allow_nan=True)


# --------------------------------------------------------------------------- #
# Corner cases
# --------------------------------------------------------------------------- #


def test_metric_name_tuples() -> None:
    assert ALWAYS == (
        "accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "log_loss", "n",
        "weighted_precision", "weighted_recall", "weighted_f1", "macro_f2", "mcc", "roc_auc", "pr_auc",
        "brier", "ece",
    )  # fmt: skip
    assert WITH_POSITIVE == ("precision", "recall", "f1", "tp", "fp", "tn", "fn", "specificity", "f2")
    assert SHOT == ("many_shot_accuracy", "medium_shot_accuracy", "few_shot_accuracy")


def test_no_predicted_positives_gives_precision_zero_and_warns() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.55, 0.45]])
    out, messages = _undefined_warnings(classification_metrics, labels, probs, positive=1)
    assert len(messages) == 2, messages
    assert re.search(r"precision for class\(es\) \[1\]", messages[0]), messages
    assert "mcc (a single class in the labels or in the predictions)" in messages[1], messages
    assert out["precision"] == 0.0
    assert out["recall"] == 0.0
    assert out["f1"] == 0.0  # defined (fn > 0) and zero
    assert out["f2"] == 0.0
    assert out["mcc"] == 0.0  # every sample predicted 0: undefined, 0.0 as sklearn
    assert (out["tp"], out["fp"], out["tn"], out["fn"]) == (0, 0, 3, 2)
    assert out["specificity"] == 1.0


def test_no_true_positives_in_labels_gives_recall_zero_and_warns() -> None:
    labels = np.array([0, 0, 0, 0])
    preds = np.array([0, 1, 0, 1])
    cm = confusion_matrix(labels, preds, 2)
    with pytest.warns(UndefinedMetricWarning, match=r"recall for class\(es\) \[1\]"):
        precision, recall, f1 = per_class_precision_recall_f1(cm)
    assert recall.tolist() == [0.5, 0.0]
    assert precision.tolist() == [1.0, 0.0]
    assert f1[1] == 0.0
    assert f1[0] == pytest.approx(2 / 3, abs=ATOL)
    assert balanced_accuracy(cm) == 0.5  # only class 0 is present in the labels


def test_undefined_metrics_give_exactly_one_warning_naming_metrics_and_classes() -> None:
    # class 2: in the labels, never predicted; class 3: neither in labels nor predicted
    cm = np.array([[3, 1, 0, 0], [1, 2, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        precision, recall, f1 = per_class_precision_recall_f1(cm)
    ours = [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    msg = str(ours[0].message)
    assert "precision for class(es) [2, 3]" in msg
    assert "recall for class(es) [3]" in msg
    assert "f1 for class(es) [3]" in msg
    assert_close(precision, [3 / 5, 2 / 4, 0.0, 0.0], "precision")
    assert_close(recall, [3 / 4, 2 / 3, 0.0, 0.0], "recall")
    assert_close(f1, [6 / 9, 4 / 7, 0.0, 0.0], "f1")


def test_undefined_specificity_is_zero_and_warns() -> None:
    labels = np.array([1, 1, 1])
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = classification_metrics(labels, probs, positive=1)
    messages = [str(w.message) for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    assert any("specificity" in m for m in messages), messages
    assert any(r"recall for class(es) [0]" in m for m in messages), messages  # class 0 has no true samples
    assert (out["tn"], out["fp"]) == (0, 0)
    assert out["specificity"] == 0.0
    assert out["recall"] == pytest.approx(2 / 3, abs=ATOL)


def test_perfect_predictions_score_one_everywhere_without_warnings() -> None:
    labels = np.array([0, 1, 2, 1, 0, 2, 2])
    probs = np.eye(3)[labels]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = classification_metrics(labels, probs, positive=2, train_counts=np.array([500, 50, 5]))
    for key in ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
                "weighted_precision", "weighted_recall", "weighted_f1", "macro_f2", "mcc", "roc_auc", "pr_auc",
                "precision", "recall", "f1", "specificity", "f2",
                "many_shot_accuracy", "medium_shot_accuracy", "few_shot_accuracy"):  # fmt: skip
        assert out[key] == 1.0, f"{key}={out[key]}"
    assert out["log_loss"] == 0.0 and out["brier"] == 0.0 and out["ece"] == 0.0
    assert (out["tp"], out["fp"], out["tn"], out["fn"], out["n"]) == (3, 0, 4, 0, 7)


def test_well_defined_metrics_do_not_warn() -> None:
    case = CASES["multiclass5_seed0"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classification_metrics(case.labels, case.probs, positive=case.positive, threshold=0.3)
        classification_metrics(case.labels, case.probs, train_counts=case.train_counts)


def test_confusion_matrix_hand_computed() -> None:
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 4)
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    assert_close(cm, expected, "confusion_matrix")


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0.0, [2, 2, 2, 2]),  # everything is positive
        (0.4, [0, 2, 2, 2]),  # 0.4 >= 0.4 is positive
        (0.45, [0, 0, 2, 2]),
        (0.6, [0, 0, 1, 2]),  # row 2 falls back to the best other class (1), not to 2
        (0.7, [0, 0, 1, 1]),
        (1.0, [0, 0, 1, 1]),
    ],
)
def test_predict_threshold_hand_computed(threshold: float, expected: list[int]) -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.1, 0.4], [0.2, 0.3, 0.5], [0.1, 0.25, 0.65]])
    assert predict(probs, positive=2, threshold=threshold).tolist() == expected
    assert predict(probs).tolist() == [0, 0, 2, 2]
    assert predict(probs, positive=2).tolist() == [0, 0, 2, 2]  # positive alone: plain argmax


@pytest.mark.parametrize("positive", [0, 1])
def test_predict_threshold_half_equals_argmax_for_binary(positive: int) -> None:
    rng = np.random.default_rng(3)
    p1 = rng.uniform(size=500)
    p1 = p1[np.abs(p1 - 0.5) > 1e-6]  # no ties
    probs = _binary_from_p1(p1)
    thresholded = predict(probs, positive=positive, threshold=0.5)
    argmax = predict(probs)
    assert 50 < int(argmax.sum()) < 450  # both classes are predicted
    assert_close(thresholded, argmax, f"predict(threshold=0.5, positive={positive})")


def test_predict_argmax_ties_take_lowest_index() -> None:
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert predict(probs).tolist() == [0, 1]
    probs3 = np.array([[0.2, 0.4, 0.4]])
    assert predict(probs3, positive=0, threshold=0.5).tolist() == [1]


def test_threshold_without_positive_is_an_error() -> None:
    probs = np.array([[0.3, 0.7]])
    with pytest.raises(ValueError, match="threshold"):
        predict(probs, threshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        classification_metrics(np.array([1]), probs, threshold=0.5)


def test_log_loss_hand_computed_and_clipped() -> None:
    labels = np.array([0, 1])
    probs = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert log_loss(labels, probs) == pytest.approx((math.log(2) - math.log(0.75)) / 2, abs=ATOL)
    zero = np.array([[0.0, 1.0]])
    assert log_loss(np.array([0]), zero) == pytest.approx(-math.log(1e-15), abs=ATOL)
    assert log_loss(np.array([0]), zero, eps=1e-3) == pytest.approx(-math.log(1e-3), abs=ATOL)


_P = np.array([[0.2, 0.8], [0.6, 0.4]])
_Y = np.array([1, 0])

# Undefined values and their conventions: (id, call, expected value, regex of the one warning or None).
_B3 = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.2, 0.3], [0.55, 0.4, 0.05]])  # labels [0, 1, 0, 1]
_Y3 = np.array([0, 1, 0, 1])
_CM_MISSING = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])  # class 2 neither true nor predicted

UNDEFINED_CASES: list[tuple[str, Callable[[], Any], Any, str | None]] = [
    (
        "roc_auc_binary_no_positives",
        lambda: roc_auc(np.array([0, 0]), _P, positive=1),
        math.nan,
        r"set to nan: roc_auc for positive class 1 \(no positive samples\)",
    ),
    (
        "roc_auc_binary_default_positive_only_positives",
        lambda: roc_auc(np.array([1, 1]), _P),
        math.nan,
        r"roc_auc for positive class 1 \(no negative samples\)",
    ),
    (
        "roc_auc_ovr_skips_absent_class",
        lambda: roc_auc(_Y3, _B3),
        (0.75 + 1.0) / 2,
        r"roc_auc for class\(es\) \[2\] \(no positive samples\); macro average over class\(es\) \[0, 1\] only",
    ),
    (
        "roc_auc_ovr_no_class_scorable",
        lambda: roc_auc(np.array([1, 1]), _B3[:2]),
        math.nan,
        r"set to nan: roc_auc for every class \(no negative samples, no positive samples\)",
    ),
    (
        "pr_auc_binary_no_positives_is_zero_as_sklearn",
        lambda: average_precision(np.array([0, 0]), _P),
        0.0,
        r"set to 0.0: average_precision for positive class 1 \(no positive samples\)",
    ),
    ("pr_auc_binary_only_positives", lambda: average_precision(np.array([1, 1]), _P), 1.0, None),
    (
        "pr_auc_ovr_skips_absent_class",
        lambda: average_precision(_Y3, _B3),
        (5 / 6 + 1.0) / 2,
        r"average_precision for class\(es\) \[2\] \(no positive samples\)",
    ),
    (
        "pr_auc_ovr_all_one_class",
        lambda: average_precision(np.array([1, 1]), _B3[:2]),
        1.0,
        r"average_precision for class\(es\) \[0, 2\]",
    ),
    ("mcc_one_class_predicted", lambda: mcc(np.array([[2, 0], [1, 0]])), 0.0, r"mcc"),
    ("mcc_one_class_in_labels", lambda: mcc(np.array([[0, 0], [1, 2]])), 0.0, r"mcc"),
    ("mcc_perfect", lambda: mcc(np.array([[2, 0, 0], [0, 1, 0], [0, 0, 0]])), 1.0, None),
    (
        "specificity_no_negatives",
        lambda: specificity_per_class(np.array([[0, 0], [1, 2]])),
        [2 / 3, 0.0],
        r"specificity for class\(es\) \[1\] \(no negative samples\)",
    ),
    (
        "fbeta_class_absent_everywhere",
        lambda: fbeta_per_class(_CM_MISSING, 2),
        [5 / 9, 10 / 11, 0.0],
        r"f-beta \(beta=2\) for class\(es\) \[2\]",
    ),
    (
        "macro_fbeta_counts_absent_class_as_zero",
        lambda: macro_fbeta(_CM_MISSING, 2),
        (5 / 9 + 10 / 11) / 3,
        r"f-beta \(beta=2\) for class\(es\) \[2\]",
    ),
    ("weighted_fbeta_never_warns", lambda: weighted_fbeta(_CM_MISSING, 2), (2 * 5 / 9 + 2 * 10 / 11) / 4, None),
    (
        "weighted_precision_unpredicted_class",
        lambda: weighted_precision_recall_f1(np.array([[2, 0], [1, 0]])),
        [4 / 9, 2 / 3, 8 / 15],
        r"precision for class\(es\) \[1\] \(no predicted samples\)",
    ),
    (
        "weighted_precision_absent_class_not_reported",
        lambda: weighted_precision_recall_f1(_CM_MISSING),
        [(2 * 1 + 2 * 2 / 3) / 4, 3 / 4, (2 * 2 / 3 + 2 * 4 / 5) / 4],
        None,
    ),
    (
        "threshold_above_every_score",
        lambda: threshold_metrics(_Y, _P, 1, [1.5, 0.5])["precision"],
        [0.0, 1.0],
        r"precision at threshold\(s\) \[1.5\] \(no predicted positives\)",
    ),
    (
        "shot_group_empty_is_nan_silently",
        lambda: shot_group_accuracy(np.array([0, 1]), np.array([0, 0]), np.array([500, 300]))["medium_shot_accuracy"],
        math.nan,
        None,
    ),
    (
        "shot_group_without_test_classes",
        lambda: shot_group_accuracy(np.array([0, 0]), np.array([0, 1]), np.array([500, 5]))["few_shot_accuracy"],
        math.nan,
        r"set to nan: few_shot_accuracy \(its class\(es\) \[1\] do not occur in the labels\)",
    ),
    ("ece_confident_and_right", lambda: expected_calibration_error(_Y, np.eye(2)[_Y]), 0.0, None),
]


@pytest.mark.parametrize(
    ("call", "expected", "warning"),
    [(c, e, w) for _, c, e, w in UNDEFINED_CASES],
    ids=[n for n, _, _, _ in UNDEFINED_CASES],
)
def test_undefined_value_conventions(call: Callable[[], Any], expected: Any, warning: str | None) -> None:
    value, messages = _undefined_warnings(call)
    assert_close(value, expected, "value", allow_nan=True)
    if warning is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert re.search(warning, messages[0]), messages[0]


def test_threshold_metrics_hand_computed() -> None:
    labels = np.array([0, 1, 1, 0, 1])
    probs = _binary_from_p1(np.array([0.1, 0.4, 0.35, 0.8, 0.9]))
    out, messages = _undefined_warnings(threshold_metrics, labels, probs, 1, [0.35, 0.5, 0.0, 1.01])
    assert out["threshold"].tolist() == [0.35, 0.5, 0.0, 1.01]
    assert out["tp"].tolist() == [3, 1, 3, 0]  # 0.35 >= 0.35 is positive
    assert out["fp"].tolist() == [1, 1, 2, 0]
    assert out["tn"].tolist() == [1, 1, 0, 2]
    assert out["fn"].tolist() == [0, 2, 0, 3]
    assert_close(out["precision"], [3 / 4, 1 / 2, 3 / 5, 0.0], "precision")
    assert_close(out["recall"], [1.0, 1 / 3, 1.0, 0.0], "recall")
    assert_close(out["specificity"], [1 / 2, 1 / 2, 0.0, 1.0], "specificity")
    assert_close(out["f1"], [6 / 7, 2 / 5, 3 / 4, 0.0], "f1")
    assert_close(out["balanced_accuracy"], [3 / 4, 5 / 12, 1 / 2, 1 / 2], "balanced_accuracy")
    assert_close(out["accuracy"], [4 / 5, 2 / 5, 3 / 5, 2 / 5], "accuracy")
    assert len(messages) == 1 and "[1.01]" in messages[0], messages


def test_threshold_metrics_without_positives_warns_once_about_everything() -> None:
    out, messages = _undefined_warnings(threshold_metrics, np.array([0, 0]), _P, 1, [0.5, 0.9])
    assert len(messages) == 1, messages
    for part in ("precision at threshold(s) [0.9]", "recall for positive class 1", "f1 at threshold(s) [0.9]"):
        assert part in messages[0], messages[0]
    assert_close(out["balanced_accuracy"], out["specificity"], "balanced accuracy = specificity")
    assert_close(out["specificity"], [1 / 2, 1.0], "specificity")


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.8])
def test_threshold_metrics_agrees_with_classification_metrics(threshold: float) -> None:
    case = CASES["imbalance_1_to_100"]
    sweep = threshold_metrics(case.labels, case.probs, 1, [threshold])
    single = classification_metrics(case.labels, case.probs, positive=1, threshold=threshold)
    for key in ("tp", "fp", "tn", "fn", "precision", "recall", "f1", "specificity", "accuracy", "balanced_accuracy"):
        assert_close(sweep[key][0], single[key], f"{key}[threshold={threshold}]")


def test_ranking_metrics_hand_computed_with_ties() -> None:
    y, s = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert_close(roc_auc(y, _binary_from_p1(s)), 0.75, "roc_auc")
    assert_close(average_precision(y, _binary_from_p1(s)), 0.5 * 1.0 + 0.5 * 2 / 3, "average_precision")
    # a positive tied with a negative at 0.5: half a pair for the AUC, one threshold for the AP
    y, s = np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.2, 0.9])
    assert_close(roc_auc(y, _binary_from_p1(s)), 3.5 / 4, "roc_auc ties")
    assert_close(average_precision(y, _binary_from_p1(s)), 0.5 * 1.0 + 0.5 * 2 / 3, "average_precision ties")
    # positive=0 scores column 0 against labels == 0
    assert_close(roc_auc(y, _binary_from_p1(s), positive=0), 3.5 / 4, "roc_auc positive=0")


def test_expected_calibration_error_hand_computed() -> None:
    labels = np.array([0, 0, 0, 2, 1])
    probs = np.array([[0.4, 0.3, 0.3], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.45, 0.55, 0.0]])
    # bin (0, 0.5]: one right at 0.4; bin (0.5, 1]: 3 of 4 right at mean confidence 0.7125
    assert_close(expected_calibration_error(labels, probs, n_bins=2), 0.2 * 0.6 + 0.8 * 0.0375, "ece")
    # a confidence of exactly 0.5 falls in (0, 0.5], not in (0.5, 1]
    edge = np.array([[0.5, 0.5], [0.0, 1.0]])
    assert_close(expected_calibration_error(np.array([0, 0]), edge, n_bins=2), 0.5 * 0.5 + 0.5 * 1.0, "ece edge")
    # a confidence of 0 (an all-zero row) belongs to the first bin
    assert_close(expected_calibration_error(np.array([0]), np.zeros((1, 2))), 1.0, "ece zero confidence")


def test_brier_hand_computed() -> None:
    labels = np.array([0, 2])
    probs = np.array([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]])
    assert_close(brier(labels, probs), 0.375, "brier multi-class")
    assert_close(brier(labels, probs, positive=2), (0.25**2 + 0.5**2) / 2, "brier positive")
    # for C == 2 the default is the binary score of class 1: half the multi-class sum
    assert_close(brier(_Y, _P), 0.5 * ref_brier_original(_Y, _P), "brier binary")


def test_mcc_hand_computed() -> None:
    cm = np.array([[5, 1], [2, 2]])  # tn, fp / fn, tp
    assert_close(mcc(cm), (2 * 5 - 1 * 2) / math.sqrt(3 * 4 * 6 * 7), "mcc")


def test_shot_group_accuracy_hand_computed() -> None:
    labels = np.array([0, 0, 1, 1, 2, 3, 3])
    preds = np.array([0, 1, 1, 0, 2, 3, 0])
    out, messages = _undefined_warnings(shot_group_accuracy, labels, preds, [101, 100, 20, 19, 0])
    assert messages == []
    assert out == {
        "many_shot_accuracy": 0.5,
        "medium_shot_accuracy": 0.75,  # classes 1 (1/2) and 2 (1/1)
        "few_shot_accuracy": 0.5,  # class 3 (1/2); class 4 has no test sample and is left out
        "many_shot_classes": [0],
        "medium_shot_classes": [1, 2],
        "few_shot_classes": [3, 4],
    }


def test_new_metrics_warn_once_per_call() -> None:
    case = CASES["class_absent_from_labels"]
    _, never_predicted_cm = _argmax_cm("class_never_predicted")
    for fn, args in (
        (fbeta_per_class, (np.zeros((3, 3)), 2)),
        (specificity_per_class, (np.zeros((3, 3)),)),
        (roc_auc, (case.labels, case.probs)),
        (average_precision, (case.labels, case.probs)),
        (weighted_precision_recall_f1, (never_predicted_cm,)),
    ):
        _, messages = _undefined_warnings(fn, *args)
        assert len(messages) == 1, (fn.__name__, messages)


def test_warnings_point_at_the_callers_line() -> None:
    calls: list[Callable[[], Any]] = [
        lambda: roc_auc(np.array([0, 0]), _P, positive=1),
        lambda: average_precision(_Y3, _B3),
        lambda: mcc(np.array([[2, 0], [1, 0]])),
        lambda: fbeta_per_class(_CM_MISSING, 2),
        lambda: macro_fbeta(_CM_MISSING, 2),
        lambda: specificity_per_class(np.array([[0, 0], [1, 2]])),
        lambda: weighted_precision_recall_f1(np.array([[2, 0], [1, 0]])),
        lambda: threshold_metrics(_Y, _P, 1, [1.5]),
        lambda: shot_group_accuracy(np.array([0, 0]), np.array([0, 1]), np.array([500, 5])),
        lambda: classification_metrics(np.array([1, 1]), _B3[:2], train_counts=[500, 50, 5]),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        ours = [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]
        elsewhere = [(w.filename, str(w.message)) for w in ours if w.filename != __file__]
        if call is calls[-1]:
            # per_class_precision_recall_f1's warning points at its direct caller, classification_metrics
            assert len(elsewhere) == 1 and "precision for class(es) [2]" in elsewhere[0][1], elsewhere
            elsewhere = []
        assert ours and not elsewhere, elsewhere


def test_ranking_in_class_blocks_gives_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import imbalance_lab.metrics.ranking as metrics_module

    case = CASES["multiclass5_seed1"]
    whole = (roc_auc(case.labels, case.probs), average_precision(case.labels, case.probs))
    monkeypatch.setattr(metrics_module, "RANKING_BLOCK", 2 * case.labels.size)  # two classes per block
    blocks = (roc_auc(case.labels, case.probs), average_precision(case.labels, case.probs))
    assert_close(blocks, whole, "ranking in blocks of classes")


BAD_INPUTS: list[tuple[str, Callable[[], Any], str]] = [
    ("cm_labels_2d", lambda: confusion_matrix(np.zeros((2, 2), np.int64), np.zeros(4, np.int64), 2), "labels"),
    ("cm_labels_float", lambda: confusion_matrix(np.array([0.0, 1.0]), np.array([0, 1]), 2), "labels"),
    ("cm_labels_out_of_range", lambda: confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2), "labels"),
    ("cm_predictions_negative", lambda: confusion_matrix(np.array([0, 1]), np.array([0, -1]), 2), "predictions"),
    ("cm_length_mismatch", lambda: confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 2), "predictions"),
    ("cm_n_classes_zero", lambda: confusion_matrix(np.array([0]), np.array([0]), 0), "n_classes"),
    ("predict_probs_1d", lambda: predict(np.array([0.2, 0.8])), "probs"),
    ("predict_probs_one_column", lambda: predict(np.ones((3, 1))), "probs"),
    ("predict_probs_above_one", lambda: predict(np.array([[0.2, 1.5]])), "probs"),
    ("predict_positive_out_of_range", lambda: predict(_P, positive=2, threshold=0.5), "positive"),
    ("predict_threshold_out_of_range", lambda: predict(_P, positive=1, threshold=1.5), "threshold"),
    ("per_class_cm_not_square", lambda: per_class_precision_recall_f1(np.zeros((2, 3))), "cm"),
    ("per_class_cm_negative", lambda: per_class_precision_recall_f1(np.array([[1, -1], [0, 1]])), "cm"),
    ("accuracy_cm_empty", lambda: accuracy(np.zeros((2, 2), np.int64)), "cm"),
    ("balanced_accuracy_cm_1d", lambda: balanced_accuracy(np.array([1, 2])), "cm"),
    ("log_loss_length_mismatch", lambda: log_loss(np.array([0, 1, 1]), _P), "labels"),
    ("log_loss_label_equals_c", lambda: log_loss(np.array([0, 2]), _P), "labels"),
    ("log_loss_probs_nan", lambda: log_loss(_Y, np.array([[np.nan, 1.0], [0.5, 0.5]])), "probs"),
    ("log_loss_probs_negative", lambda: log_loss(_Y, np.array([[-0.1, 1.1], [0.5, 0.5]])), "probs"),
    ("log_loss_eps_zero", lambda: log_loss(_Y, _P, eps=0.0), "eps"),
    ("metrics_labels_empty", lambda: classification_metrics(np.array([], np.int64), _P), "labels"),
    ("metrics_probs_3d", lambda: classification_metrics(_Y, _P[None]), "probs"),
    ("metrics_labels_2d", lambda: classification_metrics(_Y[:, None], _P), "labels"),
    ("metrics_positive_out_of_range", lambda: classification_metrics(_Y, _P, positive=-1), "positive"),
    ("metrics_train_counts_length", lambda: classification_metrics(_Y, _P, train_counts=[5, 5, 5]), "train_counts"),
    ("fbeta_beta_zero", lambda: fbeta_per_class(np.eye(2), 0), "beta"),
    ("fbeta_beta_negative", lambda: macro_fbeta(np.eye(2), -1.0), "beta"),
    ("fbeta_beta_inf", lambda: weighted_fbeta(np.eye(2), math.inf), "beta"),
    ("fbeta_beta_bool", lambda: fbeta_per_class(np.eye(2), True), "beta"),
    ("fbeta_cm_not_square", lambda: fbeta_per_class(np.zeros((2, 3)), 2), "cm"),
    ("weighted_cm_empty", lambda: weighted_precision_recall_f1(np.zeros((2, 2))), "cm"),
    ("weighted_fbeta_cm_empty", lambda: weighted_fbeta(np.zeros((2, 2)), 2), "cm"),
    ("specificity_cm_negative", lambda: specificity_per_class(np.array([[1, -1], [0, 1]])), "cm"),
    ("mcc_cm_empty", lambda: mcc(np.zeros((3, 3), np.int64)), "cm"),
    ("roc_auc_positive_out_of_range", lambda: roc_auc(_Y, _P, positive=2), "positive"),
    ("roc_auc_length_mismatch", lambda: roc_auc(np.array([0, 1, 1]), _P), "labels"),
    ("pr_auc_probs_nan", lambda: average_precision(_Y, np.array([[np.nan, 1.0], [0.5, 0.5]])), "probs"),
    ("pr_auc_positive_float", lambda: average_precision(_Y, _P, positive=1.0), "positive"),
    ("brier_positive_bool", lambda: brier(_Y, _P, positive=True), "positive"),
    ("brier_probs_1d", lambda: brier(_Y, np.array([0.2, 0.8])), "probs"),
    ("ece_n_bins_zero", lambda: expected_calibration_error(_Y, _P, n_bins=0), "n_bins"),
    ("ece_n_bins_float", lambda: expected_calibration_error(_Y, _P, n_bins=2.5), "n_bins"),
    ("thresholds_positive_none", lambda: threshold_metrics(_Y, _P, None, [0.5]), "positive"),
    ("thresholds_2d", lambda: threshold_metrics(_Y, _P, 1, np.zeros((2, 2))), "thresholds"),
    ("thresholds_empty", lambda: threshold_metrics(_Y, _P, 1, []), "thresholds"),
    ("thresholds_nan", lambda: threshold_metrics(_Y, _P, 1, [0.5, np.nan]), "thresholds"),
    ("thresholds_strings", lambda: threshold_metrics(_Y, _P, 1, ["0.5"]), "thresholds"),
    ("shots_train_counts_negative", lambda: shot_group_accuracy(_Y, _Y, [5, -1]), "train_counts"),
    ("shots_train_counts_float", lambda: shot_group_accuracy(_Y, _Y, [5.0, 10.0]), "train_counts"),
    ("shots_train_counts_2d", lambda: shot_group_accuracy(_Y, _Y, [[5, 10]]), "train_counts"),
    ("shots_labels_beyond_counts", lambda: shot_group_accuracy(np.array([0, 2]), _Y, [5, 10]), "labels"),
    ("shots_predictions_length", lambda: shot_group_accuracy(_Y, np.array([0]), [5, 10]), "predictions"),
]


@pytest.mark.parametrize(("call", "argument"), [(c, a) for _, c, a in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS])
def test_bad_inputs_raise_value_error_naming_the_argument(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        call()
    msg = str(excinfo.value)
    assert msg.startswith(f"{argument}:"), msg
    assert "expected" in msg and "got" in msg, msg


@pytest.mark.parametrize("seed", range(40))
def test_precision_recall_and_roc_points_are_scikit_learns(seed: int) -> None:
    """The report's curves without importing scikit-learn: the same points, bit for bit, with ties (scores on
    a coarse grid), all-tied scores, one positive or one negative, and sizes from 2 to 400."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    labels = (rng.random(n) < rng.uniform(0.05, 0.95)).astype(np.int64)
    labels[rng.integers(n)], labels[rng.integers(n)] = 1, 0  # both classes present (at n = 2, maybe the same slot)
    grid = [None, 3, 10, 1][seed % 4]  # continuous, coarse ties, fine ties, every score equal
    scores = rng.random(n) if grid is None else np.round(rng.random(n) * grid) / grid if grid > 1 else np.full(n, 0.5)
    if labels.sum() == 0 or labels.sum() == n:
        labels[0], labels[-1] = 1, 0
    recall, precision = precision_recall_points(labels, scores)
    ref_precision, ref_recall, _ = skm.precision_recall_curve(labels, scores)
    np.testing.assert_array_equal(recall, ref_recall)
    np.testing.assert_array_equal(precision, ref_precision)
    fpr, tpr = roc_points(labels, scores)
    ref_fpr, ref_tpr, _ = skm.roc_curve(labels, scores)
    np.testing.assert_array_equal(fpr, ref_fpr)
    np.testing.assert_array_equal(tpr, ref_tpr)


def test_curve_points_refuse_what_has_no_curve() -> None:
    with pytest.raises(ValueError, match="at least one positive"):
        precision_recall_points(np.zeros(4, int), np.linspace(0, 1, 4))
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_points(np.ones(4, int), np.linspace(0, 1, 4))
    with pytest.raises(ValueError, match="labels must be 0/1"):
        roc_points(np.array([0, 2]), np.array([0.1, 0.2]))
