"""Reference predictors every table shows, so no accuracy is read without its floor.

Seed 004's "mock model" predicts the majority class for every image and scores
80 % accuracy on a 4:1 training set; on a 10:1 test set that floor is 90.9 %.
Two baselines are computed exactly (no sampling) from the evaluation set's class
counts and a training prior ``π``:

* ``majority``: always predicts the class with the most training images;
* ``random``: predicts class ``j`` with probability ``π_j``, independently of the
  image. Its expected confusion matrix is ``E[cm_ij] = n_i · π_j``; the metrics
  reported are those of this expected matrix (for ratios such as precision this
  is the ratio of expectations, e.g. precision_j = prevalence of j).
"""

from __future__ import annotations

import warnings

import numpy as np

from imbalance_lab.metrics import (
    accuracy,
    balanced_accuracy,
    per_class_precision_recall_f1,
)

BASELINES = ("majority", "random")


def baseline_confusion(kind: str, eval_counts: np.ndarray, train_counts: np.ndarray) -> np.ndarray:
    """Expected confusion matrix (float C×C, rows true) of a baseline on a set with ``eval_counts``."""
    n = np.asarray(eval_counts, dtype=np.float64)
    prior = np.asarray(train_counts, dtype=np.float64)
    if kind == "majority":
        prior = np.eye(n.size)[int(np.argmax(prior))]
    elif kind == "random":
        prior = prior / prior.sum()
    else:
        raise ValueError(f"kind: expected one of {', '.join(BASELINES)}, got {kind!r}")
    return np.outer(n, prior)


def baseline_metrics(
    kind: str, eval_counts: np.ndarray, train_counts: np.ndarray, positive: int | None
) -> dict[str, float]:
    """The summary's metrics for a baseline (positive-class ones when ``positive`` is given)."""
    cm = baseline_confusion(kind, eval_counts, train_counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a majority predictor never predicts the minority: precision 0 by convention
        precision, recall, f1 = per_class_precision_recall_f1(cm)
    out = {
        "accuracy": accuracy(cm),
        "balanced_accuracy": balanced_accuracy(cm),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
    }
    if positive is not None:
        tp = cm[positive, positive]
        fp = cm[:, positive].sum() - tp
        fn = cm[positive].sum() - tp
        tn = cm.sum() - tp - fp - fn
        out.update(
            precision=float(precision[positive]),
            recall=float(recall[positive]),
            f1=float(f1[positive]),
            tp=float(tp),
            fp=float(fp),
            tn=float(tn),
            fn=float(fn),
        )
    return out
