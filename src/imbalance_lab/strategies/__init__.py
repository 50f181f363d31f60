"""Imbalance strategies, registered by name; each lives in one module and cites its paper."""

from imbalance_lab.strategies import augmentation, class_weight, none, resampling  # noqa: F401  (registers them)
from imbalance_lab.strategies.base import STRATEGIES, Strategy, StrategyPipeline, build_pipeline

__all__ = ["STRATEGIES", "Strategy", "StrategyPipeline", "build_pipeline"]
