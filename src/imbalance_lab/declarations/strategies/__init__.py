"""Strategies as a spec declares them (no torch): the registry, the declarations by family, the role and
stage checks. :mod:`imbalance_lab.strategies` implements each declaration."""

from imbalance_lab.declarations.strategies import (  # noqa: F401  (declares them)
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
from imbalance_lab.declarations.strategies.base import (
    ROLE_WORDS,
    STRATEGIES,
    Role,
    RoleClash,
    Stage,
    StrategyDeclaration,
    check_roles,
    check_strategies,
    follows_training,
    owns_step,
)

__all__ = [
    "ROLE_WORDS",
    "STRATEGIES",
    "Role",
    "RoleClash",
    "Stage",
    "StrategyDeclaration",
    "check_roles",
    "check_strategies",
    "follows_training",
    "owns_step",
]
