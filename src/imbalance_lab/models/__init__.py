"""Model factories, registered by name."""

from imbalance_lab.models import backbones, cifar, simple_cnn  # noqa: F401  (registers the models)
from imbalance_lab.models.base import MODELS

__all__ = ["MODELS"]
