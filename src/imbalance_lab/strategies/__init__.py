"""Imbalance strategies, registered by name; each lives in one module and cites its paper."""

from imbalance_lab.strategies import (  # noqa: F401  (registers them)
    augmentation,
    class_weight,
    decoupling,
    effective_number,
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
from imbalance_lab.strategies.base import (
    STRATEGIES,
    EpochContext,
    RoleClash,
    Stage,
    StepBatch,
    Strategy,
    StrategyPipeline,
    build_pipeline,
    check_roles,
    check_strategies,
    follows_training,
    owns_step,
)

__all__ = [
    "STRATEGIES",
    "EpochContext",
    "RoleClash",
    "Stage",
    "StepBatch",
    "Strategy",
    "StrategyPipeline",
    "build_pipeline",
    "check_roles",
    "check_strategies",
    "follows_training",
    "owns_step",
]
