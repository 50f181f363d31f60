"""Tests for ``imbalance_lab.analysis.metrics`` against scikit-learn references.

Torchmetrics style: each metric has a small reference function built on
``sklearn.metrics``; a table of seeded input cases is built once at import and
every metric is compared with its reference on every case to 1e-9. Corner
cases (undefined ratios, perfect predictions, thresholds, bad inputs) are
checked explicitly afterwards.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from sklearn import metrics as skm

from imbalance_lab.analysis.metrics import (
    METRIC_NAMES_ALWAYS,
    METRIC_NAMES_POSITIVE,
    UndefinedMetricWarning,
    accuracy,
    balanced_accuracy,
    classification_metrics,
    confusion_matrix,
    log_loss,
    per_class_precision_recall_f1,
    predict,
)

ATOL = 1e-9


# --------------------------------------------------------------------------- #
# Comparison helper
# --------------------------------------------------------------------------- #


def assert_close(ours: Any, ref: Any, name: str) -> None:
    """Assert ``ours`` equals ``ref`` to ``ATOL`` (exactly for integers); show both on failure."""
    a = np.asarray(ours)
    b = np.asarray(ref)
    msg = f"{name}: ours={ours!r} ref={ref!r}"
    assert a.shape == b.shape, msg
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        assert np.array_equal(a, b), msg
    else:
        assert np.all(np.isfinite(a)), msg
        assert np.allclose(a, b, rtol=0.0, atol=ATOL), msg


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call one of our metrics with its UndefinedMetricWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- #
# Shared input cases, built once
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Case:
    labels: np.ndarray  # int64, shape (N,)
    probs: np.ndarray  # float64, shape (N, C), rows sum to 1
    positive: int  # the class treated as positive / minority

    @property
    def n_classes(self) -> int:
        return self.probs.shape[1]


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

    labels = np.array([0, 1, 2, 2, 1, 0, 2], np.int64)
    cases["perfect"] = Case(labels, np.eye(3)[labels], positive=2)
    return cases


CASES = _build_cases()
CASE_NAMES = list(CASES)
THRESHOLDS = (None, 0.5, 0.25)


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


# --------------------------------------------------------------------------- #
# Reference implementations (sklearn, plus a loop-based predict)
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


def _sk(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call sklearn with its own warnings (e.g. classes absent from y_true) silenced."""
    with warnings.catch_warnings():
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


def ref_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(_sk(skm.accuracy_score, labels, preds))


def ref_balanced_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    return float(_sk(skm.balanced_accuracy_score, labels, preds))


def ref_log_loss(labels: np.ndarray, probs: np.ndarray) -> float:
    return float(_sk(skm.log_loss, labels, probs, labels=list(range(probs.shape[1]))))


def ref_classification_metrics(
    labels: np.ndarray, probs: np.ndarray, positive: int | None, threshold: float | None
) -> dict[str, float]:
    c = probs.shape[1]
    preds = ref_predict(probs, positive, threshold)
    mp, mr, mf = ref_macro(labels, preds, c)
    out: dict[str, float] = {
        "accuracy": ref_accuracy(labels, preds),
        "balanced_accuracy": ref_balanced_accuracy(labels, preds),
        "macro_precision": mp,
        "macro_recall": mr,
        "macro_f1": mf,
        "log_loss": ref_log_loss(labels, probs),
        "n": len(labels),
    }
    if positive is None:
        return out
    y_pos, p_pos = labels == positive, preds == positive
    prec, rec, f1, _ = _sk(
        skm.precision_recall_fscore_support, y_pos, p_pos, labels=[True], average=None, zero_division=0
    )
    tn, fp, fn, tp = _sk(skm.confusion_matrix, y_pos, p_pos, labels=[False, True]).ravel()
    spec = _sk(skm.recall_score, ~y_pos, ~p_pos, zero_division=0)  # recall of the negatives
    out.update(
        precision=float(prec[0]), recall=float(rec[0]), f1=float(f1[0]),
        tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn), specificity=float(spec),
    )  # fmt: skip
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


@pytest.mark.parametrize("name", CASE_NAMES)
def test_confusion_matrix_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds = ref_predict(case.probs, None, None)
    ours = confusion_matrix(case.labels, preds, case.n_classes)
    assert ours.dtype == np.int64
    assert_close(ours, ref_confusion_matrix(case.labels, preds, case.n_classes), f"confusion_matrix[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_per_class_precision_recall_f1_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds = ref_predict(case.probs, None, None)
    cm = confusion_matrix(case.labels, preds, case.n_classes)
    ours = _quiet(per_class_precision_recall_f1, cm)
    for metric, o, r in zip(("precision", "recall", "f1"), ours, ref_per_class(case.labels, preds, case.n_classes)):
        assert_close(o, r, f"{metric}[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_accuracy_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds = ref_predict(case.probs, None, None)
    cm = confusion_matrix(case.labels, preds, case.n_classes)
    assert_close(accuracy(cm), ref_accuracy(case.labels, preds), f"accuracy[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_balanced_accuracy_matches_sklearn(name: str) -> None:
    case = CASES[name]
    preds = ref_predict(case.probs, None, None)
    cm = confusion_matrix(case.labels, preds, case.n_classes)
    assert_close(balanced_accuracy(cm), ref_balanced_accuracy(case.labels, preds), f"balanced_accuracy[{name}]")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_log_loss_matches_sklearn(name: str) -> None:
    case = CASES[name]
    assert_close(log_loss(case.labels, case.probs), ref_log_loss(case.labels, case.probs), f"log_loss[{name}]")


DECISION_RULES = [(False, None)] + [(True, t) for t in THRESHOLDS]


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize(
    ("with_positive", "threshold"),
    DECISION_RULES,
    ids=["argmax"] + [f"positive-thr={t}" for t in THRESHOLDS],
)
def test_classification_metrics_matches_sklearn(name: str, with_positive: bool, threshold: float | None) -> None:
    case = CASES[name]
    positive = case.positive if with_positive else None
    ours = _quiet(classification_metrics, case.labels, case.probs, positive=positive, threshold=threshold)
    ref = ref_classification_metrics(case.labels, case.probs, positive, threshold)
    expected_keys = METRIC_NAMES_ALWAYS + (METRIC_NAMES_POSITIVE if with_positive else ())
    assert tuple(ours) == expected_keys
    for key in expected_keys:
        value = ours[key]
        if key in ("n", "tp", "fp", "tn", "fn"):
            assert type(value) is int, f"{key}: expected int, got {type(value).__name__}"
        else:
            assert type(value) is float, f"{key}: expected float, got {type(value).__name__}"
        assert_close(value, ref[key], f"{key}[{name}, positive={positive}, threshold={threshold}]")


# --------------------------------------------------------------------------- #
# Corner cases
# --------------------------------------------------------------------------- #


def test_metric_name_tuples() -> None:
    assert METRIC_NAMES_ALWAYS == (
        "accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1", "log_loss", "n",
    )  # fmt: skip
    assert METRIC_NAMES_POSITIVE == ("precision", "recall", "f1", "tp", "fp", "tn", "fn", "specificity")


def test_no_predicted_positives_gives_precision_zero_and_warns() -> None:
    labels = np.array([0, 0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.7, 0.3], [0.55, 0.45]])
    with pytest.warns(UndefinedMetricWarning, match=r"precision for class\(es\) \[1\]"):
        out = classification_metrics(labels, probs, positive=1)
    assert out["precision"] == 0.0
    assert out["recall"] == 0.0
    assert out["f1"] == 0.0  # defined (fn > 0) and zero
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
        out = classification_metrics(labels, probs, positive=2)
    for key in ("accuracy", "balanced_accuracy", "macro_precision", "macro_recall", "macro_f1",
                "precision", "recall", "f1", "specificity"):  # fmt: skip
        assert out[key] == 1.0, f"{key}={out[key]}"
    assert out["log_loss"] == 0.0
    assert (out["tp"], out["fp"], out["tn"], out["fn"], out["n"]) == (3, 0, 4, 0, 7)


def test_well_defined_metrics_do_not_warn() -> None:
    case = CASES["multiclass5_seed0"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classification_metrics(case.labels, case.probs, positive=case.positive, threshold=0.3)


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
]


@pytest.mark.parametrize(("call", "argument"), [(c, a) for _, c, a in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS])
def test_bad_inputs_raise_value_error_naming_the_argument(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        call()
    msg = str(excinfo.value)
    assert msg.startswith(f"{argument}:"), msg
    assert "expected" in msg and "got" in msg, msg
