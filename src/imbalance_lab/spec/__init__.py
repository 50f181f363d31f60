"""The experiment spec: one validated object, loaded from YAML or built in Python (a package: one module per
section).

Pydantic checks structure and types; :class:`ExperimentSpec` checks registered names and their
parameters against the registries, and metric names against :mod:`imbalance_lab.vocabulary`. What depends
on the source's classes and sizes (class names, counts, the pool) is checked by
:func:`imbalance_lab.splits.resolve`. Either way the error is one :class:`SpecError` line naming the
field, raised before anything runs. The spec holds settings, not the arithmetic that uses them: the
learning rate per epoch, for one, is the trainer's (:func:`imbalance_lab.train.learning_rate`).

Modules: ``base`` (strict models, names, registered components), ``data`` (sources, classes, split
plans), ``arms`` and ``grids`` (the arms, and the expansion of grid entries into arms), ``model``,
``training`` (schedule, selection, early stopping), ``study`` (the options of the analysis: selection
study, decisions, adaptive seeds), ``execution`` (tracking and execution), ``experiment_spec`` (the whole
spec, its checks across sections and its hashes) and ``loading`` (YAML in, one line out on error).
"""

from __future__ import annotations

from imbalance_lab.spec.arms import ArmSpec, FactorValue
from imbalance_lab.spec.base import STORED, Component, Count, Name, SourceSpec, StrategyStep
from imbalance_lab.spec.data import (
    PLAN_HELP,
    PLAN_KEYS,
    REQUIRED_SETS,
    RESERVED_CLASS_NAMES,
    BalancedPlan,
    ClassRef,
    CountsPlan,
    DataSpec,
    FractionPlan,
    ProfilePlan,
    RatioPlan,
    RepresentativePlan,
    SetPlan,
)
from imbalance_lab.spec.execution import DistributedSpec, ExecutionSpec, TrackingSpec
from imbalance_lab.spec.experiment_spec import ExperimentSpec, definition_differences
from imbalance_lab.spec.grids import GRID_KEYS, expand_grid
from imbalance_lab.spec.loading import build_spec, load_spec
from imbalance_lab.spec.model import MODEL_SETTINGS, ModelSpec, weights_file_digest
from imbalance_lab.spec.study import (
    AdaptiveSeeds,
    CostSpec,
    DecisionsSpec,
    EvaluationSpec,
    SelectionStudySpec,
    StudyRule,
)
from imbalance_lab.spec.training import EarlyStoppingSpec, ScheduleSpec, SelectSpec, TrainingSpec

__all__ = [
    "AdaptiveSeeds",
    "ArmSpec",
    "BalancedPlan",
    "ClassRef",
    "Component",
    "CostSpec",
    "Count",
    "CountsPlan",
    "DataSpec",
    "DecisionsSpec",
    "EarlyStoppingSpec",
    "EvaluationSpec",
    "DistributedSpec",
    "ExecutionSpec",
    "ExperimentSpec",
    "FactorValue",
    "FractionPlan",
    "GRID_KEYS",
    "MODEL_SETTINGS",
    "ModelSpec",
    "Name",
    "PLAN_HELP",
    "PLAN_KEYS",
    "ProfilePlan",
    "REQUIRED_SETS",
    "RESERVED_CLASS_NAMES",
    "RatioPlan",
    "RepresentativePlan",
    "STORED",
    "ScheduleSpec",
    "SelectSpec",
    "SelectionStudySpec",
    "SetPlan",
    "SourceSpec",
    "StrategyStep",
    "StudyRule",
    "TrackingSpec",
    "TrainingSpec",
    "build_spec",
    "definition_differences",
    "expand_grid",
    "load_spec",
    "weights_file_digest",
]
