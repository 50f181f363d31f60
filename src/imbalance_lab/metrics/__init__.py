"""Vectorised classification metrics for imbalanced evaluation sets.

Every metric is computed with numpy array operations from a confusion matrix or
from the label / probability arrays, so one evaluation costs O(C N log N + C^2) (one
sort per class for the ranking metrics) with no Python loop over samples (nor over
thresholds in :func:`threshold_metrics`).
One module per family (checks, counts, ranking, calibration, thresholds, long_tail, classification).
The conventions follow scikit-learn so numbers can be cross-checked against it:

* a ratio whose denominator is 0 (precision of a class never predicted, recall
  of a class absent from the labels, ...) is reported as ``0.0`` and announced
  with one :class:`UndefinedMetricWarning` (sklearn's ``zero_division=0``);
* macro averages run over all ``C`` classes (sklearn's ``average="macro"`` with
  ``labels=range(C)``); weighted averages weight each class by its number of
  true samples (``average="weighted"``);
* balanced accuracy averages recall over the classes present in the labels
  (``sklearn.metrics.balanced_accuracy_score``);
* ranking metrics (:func:`roc_auc`, :func:`average_precision`) follow sklearn
  on a binary task (ROC AUC ``nan`` without positives or negatives, average
  precision 0.0 without positives); their one-vs-rest macro averages skip the
  classes that cannot be scored (where sklearn returns ``nan`` or raises) and
  are ``nan`` when none can, each time with one :class:`UndefinedMetricWarning`;
* "binary" means a positive class: the one given, or class 1 when ``C == 2``.
"""

from __future__ import annotations

from imbalance_lab.metrics.calibration import (
    brier,
    expected_calibration_error,
    log_loss,
)
from imbalance_lab.metrics.checks import UndefinedMetricWarning
from imbalance_lab.metrics.classification import classification_metrics
from imbalance_lab.metrics.counts import (
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    fbeta_per_class,
    macro_fbeta,
    mcc,
    per_class_precision_recall_f1,
    predict,
    specificity_per_class,
    weighted_fbeta,
    weighted_precision_recall_f1,
)
from imbalance_lab.metrics.long_tail import (
    FEW_SHOT_BELOW,
    MANY_SHOT_ABOVE,
    shot_group_accuracy,
)
from imbalance_lab.metrics.ranking import average_precision, roc_auc
from imbalance_lab.metrics.thresholds import threshold_metrics

__all__ = [
    "FEW_SHOT_BELOW",
    "MANY_SHOT_ABOVE",
    "UndefinedMetricWarning",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "brier",
    "classification_metrics",
    "confusion_matrix",
    "expected_calibration_error",
    "fbeta_per_class",
    "log_loss",
    "macro_fbeta",
    "mcc",
    "per_class_precision_recall_f1",
    "predict",
    "roc_auc",
    "shot_group_accuracy",
    "specificity_per_class",
    "threshold_metrics",
    "weighted_fbeta",
    "weighted_precision_recall_f1",
]
