"""The results schema: what one finished run holds, and its files' format.

The trainer produces a :class:`RunResult`; the store writes it as
``result.json`` (everything but the predictions) and ``predictions.npz``
(per evaluation set: ``<set>_labels`` int64 N, ``<set>_probs`` float32 N×C and,
since issue 8, ``<set>_logits`` float32 N×C); analysis and tracking read those
files back. This module knows the format and nothing about training, so the
store and the analysis do not import the trainer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.npz"
MODEL_FILE = "model.pt"  # a run's final weights, with execution.save_weights


class SetPredictions(NamedTuple):
    """One evaluation set's predictions: labels (int64 N), probabilities and logits (float32 N×C).

    ``logits`` is ``None`` for runs stored before logits were kept.
    """

    labels: np.ndarray
    probs: np.ndarray
    logits: np.ndarray | None = None


@dataclass(frozen=True)
class RunResult:
    """Everything one finished (arm, seed) run produced."""

    arm: str
    seed: int
    spec_hash: str
    run_hash: str
    train_counts: dict[str, int]
    classes: dict[str, list[str]]
    history: list[dict[str, Any]]
    metrics: dict[str, dict[str, float]]
    predictions: dict[str, SetPredictions]
    wall_time_s: float
    warnings: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    # images_trained and train_s: this run's own training epochs (not a prefix it branched from) and the seconds
    # they took; like wall_time_s it describes the machine, not the result
    timing: dict[str, float] = field(default_factory=dict)
    # the final state dict (on the CPU) when the spec's execution.save_weights asks for it: stored as model.pt
    weights: dict[str, Any] | None = None
    selected_epoch: int | None = None  # the epoch whose weights were scored (training.select; the last by default)
    stopped_epoch: int | None = None  # the last epoch trained when early stopping ended the run, else None
    # set -> E×N×C float32 logits at the end of every epoch (with a selection study), stored as <set>_epoch_logits
    epoch_logits: dict[str, np.ndarray] | None = None
    # what the run was made with (the spec's run_definition, whose hash is run_hash): a results directory can
    # then say which settings differ when its spec.yaml no longer matches its runs
    definition: dict[str, Any] = field(default_factory=dict)
    # the data draw it trained on (data.resample: per_seed), else None; result.json then also names its
    # training seed (the run's seed) as train_seed, and leaves both out without resampling
    draw: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``result.json`` body (predictions are stored beside it in ``predictions.npz``).

        Undefined metrics (``nan``, e.g. ROC-AUC on a set with one class) become
        ``null``, so the file is strict JSON that any tool can read.
        """
        return strict_json(
            {
                "arm": self.arm,
                "seed": self.seed,
                "spec_hash": self.spec_hash,
                "run_hash": self.run_hash,
                **({} if self.draw is None else {"draw": self.draw, "train_seed": self.seed}),
                "definition": self.definition,
                "train_counts": self.train_counts,
                "classes": self.classes,
                "metrics": self.metrics,
                "history": self.history,
                "selected_epoch": self.selected_epoch,
                "stopped_epoch": self.stopped_epoch,
                "wall_time_s": self.wall_time_s,
                "warnings": self.warnings,
                "provenance": self.provenance,
                "timing": self.timing,
            }
        )

    def prediction_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``predictions.npz``, by key."""
        arrays = prediction_arrays(self.predictions)
        for name, logits in (self.epoch_logits or {}).items():
            arrays[f"{name}_epoch_logits"] = logits
        return arrays


def prediction_arrays(predictions: dict[str, SetPredictions]) -> dict[str, np.ndarray]:
    """``{set: SetPredictions}`` as the flat ``<set>_labels/_probs/_logits`` arrays of ``predictions.npz``."""
    arrays = {}
    for name, pred in predictions.items():
        arrays[f"{name}_labels"] = pred.labels
        arrays[f"{name}_probs"] = pred.probs
        if pred.logits is not None:
            arrays[f"{name}_logits"] = pred.logits
    return arrays


def set_predictions(arrays: dict[str, np.ndarray], name: str) -> SetPredictions:
    """One set's predictions from the arrays of ``predictions.npz`` (logits ``None`` in older runs)."""
    return SetPredictions(arrays[f"{name}_labels"], arrays[f"{name}_probs"], arrays.get(f"{name}_logits"))


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
