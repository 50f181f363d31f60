"""Models as a spec declares them (no torch): the registry, each model's parameters, whether it has
published weights and its task-dependent defaults. :mod:`imbalance_lab.models` implements them.

A model's declaration is a function of the model's arguments (the fixed ``in_channels``, ``image_size``,
``n_outputs`` and, for models with published weights, ``pretrained``; then its parameters). It checks what
it can without building the network (a smallest input) and returns ``None``; it runs again before the
implementation each time the model is built.
"""

from imbalance_lab.declarations.models import (  # noqa: F401  (declares them)
    backbones,
    cifar,
    simple_cnn,
)
from imbalance_lab.declarations.models.base import MODELS, task_defaults

__all__ = ["MODELS", "task_defaults"]
