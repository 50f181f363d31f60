"""Decision rules fitted on a validation set's predictions and applied to any other set's (the layer of
registries, built like :mod:`imbalance_lab.strategies`): a trained model's stored logits are not the end of the
story on imbalanced data, since the decision taken from them can be moved without retraining.

One module per family, pure numpy:

* :mod:`~imbalance_lab.decisions.prior` -- prior shift: logit adjustment (Menon et al. 2021), prior
  correction and its EM estimate of an unknown deployment prior (Saerens et al. 2002);
* :mod:`~imbalance_lab.decisions.thresholds` -- threshold moving for a positive class, and
  :func:`threshold_as_probs`, which turns a thresholded decision back into probabilities whose argmax is it;
* :mod:`~imbalance_lab.decisions.costs` -- expected costs and the Bayes decision;
* :mod:`~imbalance_lab.decisions.calibration` -- temperature scaling (Guo et al. 2017) and a calibration
  report;
* :mod:`~imbalance_lab.decisions.base` -- :data:`DECISION_RULES`, the registry of the four fit-then-apply
  rules (``logit_adjust``, ``prior_correction``, ``threshold``, ``temperature``), each defined in its
  family's module: ``rule.fit(val_labels, val_logits, context)`` returns a :class:`FittedDecision` whose
  ``apply(logits)`` gives an N x C probability matrix whose argmax is the decision.

Conventions (:mod:`~imbalance_lab.decisions.checks`): invalid arguments raise ``ValueError`` in one line; a
threshold ``t`` means "positive when its score is ``>= t``", returned at the midpoint of the thresholds that
decide the set alike; ties choose the largest threshold; a prior is one entry per class summing to 1.
"""

from __future__ import annotations

from imbalance_lab.decisions.base import DECISION_RULES, DecisionContext, DecisionRule, FittedDecision
from imbalance_lab.decisions.calibration import (
    TEMPERATURE_BOUNDS,
    CalibrationReport,
    Temperature,
    apply_temperature,
    calibration_report,
    fit_temperature,
)
from imbalance_lab.decisions.checks import PRIOR_SUM_TOLERANCE
from imbalance_lab.decisions.costs import bayes_decision, expected_cost, expected_cost_matrix
from imbalance_lab.decisions.prior import (
    EstimatedPrior,
    LogitAdjust,
    PriorCorrection,
    em_deployment_prior,
    logit_adjust,
    prior_correction,
)
from imbalance_lab.decisions.thresholds import (
    PROB_EPS,
    TIE_TOLERANCE,
    Threshold,
    threshold_as_probs,
    threshold_for_precision,
    threshold_for_recall,
    threshold_max_fbeta,
    threshold_min_cost,
)

__all__ = [
    "CalibrationReport",
    "DECISION_RULES",
    "DecisionContext",
    "DecisionRule",
    "EstimatedPrior",
    "FittedDecision",
    "LogitAdjust",
    "PRIOR_SUM_TOLERANCE",
    "PROB_EPS",
    "PriorCorrection",
    "TEMPERATURE_BOUNDS",
    "TIE_TOLERANCE",
    "Temperature",
    "Threshold",
    "apply_temperature",
    "bayes_decision",
    "calibration_report",
    "em_deployment_prior",
    "expected_cost",
    "expected_cost_matrix",
    "fit_temperature",
    "logit_adjust",
    "prior_correction",
    "threshold_as_probs",
    "threshold_for_precision",
    "threshold_for_recall",
    "threshold_max_fbeta",
    "threshold_min_cost",
]
