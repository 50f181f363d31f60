"""Imbalance strategies, registered by name; each lives in one module and cites its paper. Each implements its
declaration (:mod:`imbalance_lab.declarations.strategies`: parameters, class checks, roles, stages), whose
names are re-exported here."""

from imbalance_lab.declarations.strategies import (
    STRATEGIES,
    RoleClash,
    Stage,
    StrategyDeclaration,
    check_roles,
    check_strategies,
    follows_training,
    owns_step,
)
from imbalance_lab.strategies import (  # noqa: F401  (registers them)
    augmentation,
    class_weight,
    contrastive,
    decoupling,
    effective_number,
    experts,
    focal,
    influence_balanced,
    lade,
    ldam,
    logit_adjustment,
    mixing,
    none,
    resampling,
    sampling,
    sharpness,
    smoothing,
    weight_balancing,
)
from imbalance_lab.strategies.base import EpochContext, StepBatch, Strategy, StrategyPipeline, build_pipeline

__all__ = [
    "STRATEGIES",
    "EpochContext",
    "RoleClash",
    "Stage",
    "StepBatch",
    "Strategy",
    "StrategyDeclaration",
    "StrategyPipeline",
    "build_pipeline",
    "check_roles",
    "check_strategies",
    "follows_training",
    "owns_step",
]
